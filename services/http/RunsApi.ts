/**
 * The HTTP API of runs, as `@effect/platform` `HttpApi` groups to mount in an API of your own: `Runs` (start a run
 * of a registered agent, list, read, follow and cancel runs), `Metrics` (Prometheus text), `Dashboard` (the page
 * at `/`) and `Docs` (`/openapi.json`). Every group but `Dashboard` needs a bearer token (`Authorization`). `Api`
 * is all of them, as `parallel-agents serve` serves them. Handlers: `RunsServer`.
 *
 * @since 0.1.0
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiError from "@effect/platform/HttpApiError"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSchema from "@effect/platform/HttpApiSchema"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import * as Duration from "effect/Duration"
import * as Either from "effect/Either"
import * as ParseResult from "effect/ParseResult"
import * as Schema from "effect/Schema"
import type * as AST from "effect/SchemaAST"
import * as ExecutorConfig from "../../src/ExecutorConfig.js"
import * as Runs from "./Runs.js"

// =============================================================================
// security
// =============================================================================

/**
 * The request has no bearer token, or not the server's: `401`, with what was wrong and what the endpoint needs (never
 * the token, the server's or the one sent).
 *
 * @category errors
 * @since 0.1.0
 */
export class Unauthorized extends Schema.TaggedError<Unauthorized>("effect-parallel-agents/RunsApi/Unauthorized")(
  "Unauthorized",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 401, description: "No bearer token, or not the server's" })
) {}

/**
 * The bearer token every endpoint but the dashboard page and the docs needs: `Authorization: Bearer <token>`. A
 * request without it, or with another, gets `401` and starts nothing.
 *
 * @category services
 * @since 0.1.0
 */
export class Authorization extends HttpApiMiddleware.Tag<Authorization>()(
  "effect-parallel-agents/RunsApi/Authorization",
  {
    failure: Unauthorized,
    security: {
      bearer: HttpApiSecurity.bearer.pipe(
        HttpApiSecurity.annotate(
          OpenApi.Description,
          "The server's token: AGENT_HTTP_TOKEN, or the one it printed when it started"
        )
      )
    }
  }
) {}

// =============================================================================
// models
// =============================================================================

/**
 * The request body was larger than the server accepts.
 *
 * @category errors
 * @since 0.1.0
 */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>(
  "effect-parallel-agents/RunsApi/PayloadTooLarge"
)(
  "PayloadTooLarge",
  { limit: Schema.Number },
  HttpApiSchema.annotations({ status: 413, description: "The request body is larger than the limit, in bytes" })
) {
  get message(): string {
    return `the request body is larger than ${this.limit} bytes`
  }
}

const decodeDuration = (input: number | string, ast: AST.AST) =>
  Either.match(ExecutorConfig.decodeTimeout(input), {
    onLeft: (description) => ParseResult.fail(new ParseResult.Type(ast, input, description)),
    onRight: ParseResult.succeed
  })

/**
 * A duration above 0: a number of milliseconds, or a string such as `"30 seconds"` or `"500 millis"`. It is sent
 * back as milliseconds.
 *
 * @category models
 * @since 0.1.0
 */
export const DurationInput: Schema.Schema<Duration.Duration, number | string> = Schema.transformOrFail(
  Schema.Union(Schema.Number, Schema.String),
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => decodeDuration(input, ast),
    encode: (duration) => ParseResult.succeed(Duration.toMillis(duration))
  }
).annotations({ identifier: "Duration" })

/** A duration in the URL: a number of milliseconds, or a string such as `30 seconds`; sent as milliseconds. */
const DurationParam: Schema.Schema<Duration.Duration, string> = Schema.transformOrFail(
  Schema.String,
  Schema.DurationFromSelf,
  {
    strict: true,
    decode: (input, _, ast) => decodeDuration(input, ast),
    encode: (duration) => ParseResult.succeed(String(Duration.toMillis(duration)))
  }
).annotations({ identifier: "DurationParam" })

// What a count must be, with what came: a failed refinement's message is otherwise "Expected <its description>".
const expected = (what: string) => (issue: ParseResult.ParseIssue) => ({
  message: `expected ${what}, got ${String(issue.actual)}`,
  override: true
})

const Concurrency = Schema.Int.pipe(Schema.greaterThanOrEqualTo(1)).annotations({
  description: "How many agents run at once (at most the server's limit)",
  message: expected("a whole number, 1 or more")
})

const Retries = Schema.Int.pipe(Schema.between(0, 10)).annotations({
  description: "How many times a task is retried after a rate limit, a 5xx, a connection error or a timeout",
  message: expected("a whole number from 0 to 10")
})

/**
 * A run asked for in JSON: the agent, the tasks (JSON objects, each decoded with the agent's input schema; its
 * `id`, a string or a number, is the task's id, else its position from 1) and the run's options.
 *
 * @category models
 * @since 0.1.0
 */
export const StartRequest = Schema.Struct({
  agent: Schema.String.annotations({ description: "The name of a registered agent (GET /agents)" }),
  tasks: Schema.Array(Schema.Unknown).pipe(Schema.minItems(1)).annotations({
    description: "The tasks: JSON objects the agent's input schema decodes",
    message: (issue) => ({
      message: Array.isArray(issue.actual) && issue.actual.length === 0
        ? "expected at least one task, got none"
        : "expected an array of tasks",
      override: true
    })
  }),
  concurrency: Schema.optional(Concurrency),
  timeout: Schema.optional(DurationInput).annotations({ description: "How long one attempt of a task may run" }),
  retries: Schema.optional(Retries),
  deadline: Schema.optional(DurationInput).annotations({ description: "How long the whole run may take" })
}).annotations({ identifier: "StartRequest" })

/**
 * @category models
 * @since 0.1.0
 */
export interface StartRequest extends Schema.Schema.Type<typeof StartRequest> {}

/**
 * The options of a run given in the URL: needed with a JSONL body (`agent` then required); with a JSON body they
 * fill in what the body leaves out.
 *
 * @category models
 * @since 0.1.0
 */
export const StartParams = Schema.Struct({
  agent: Schema.optional(Schema.String),
  concurrency: Schema.optional(Schema.compose(Schema.NumberFromString, Concurrency)),
  timeout: Schema.optional(DurationParam),
  retries: Schema.optional(Schema.compose(Schema.NumberFromString, Retries)),
  deadline: Schema.optional(DurationParam)
})

/**
 * The media type of a JSONL body: one task (a JSON object) per line.
 *
 * @category models
 * @since 0.1.0
 */
export const jsonlContentType = "application/x-ndjson"

const RunId = HttpApiSchema.param("id", Schema.String)

/** An event's number, as the SSE `id` gave it: decimal digits only (`Number` reads `0x10` and `1e1` too). */
const LastEventId = Schema.String.pipe(
  Schema.filter((id) =>
    /^[0-9]{1,15}$/.test(id) || `expected a decimal whole number (the id of an event), got ${JSON.stringify(id)}`
  ),
  Schema.compose(Schema.NumberFromString)
)

// =============================================================================
// groups
// =============================================================================

/**
 * Runs: `POST /runs` starts one (`202` with its record), `GET /runs` lists them, `GET /runs/{id}` reads one,
 * `DELETE /runs/{id}` cancels one, `GET /runs/{id}/results` streams its results as JSONL (those so far, then each
 * as it ends, until the run ends), `GET /runs/{id}/report` is its HTML report, `GET /runs/{id}/events` its events
 * as Server-Sent Events, and `GET /agents` lists the agents it can run.
 *
 * @category models
 * @since 0.1.0
 */
export class RunsGroup extends HttpApiGroup.make("runs")
  .add(
    HttpApiEndpoint.post("start", "/runs")
      .setUrlParams(StartParams)
      .setPayload(Schema.Union(StartRequest, HttpApiSchema.Text({ contentType: jsonlContentType })))
      .addSuccess(Runs.RunInfo, { status: 202 })
      .addError(Runs.AgentNotFound)
      .addError(Runs.ConcurrencyTooHigh)
      .addError(PayloadTooLarge)
      .annotate(OpenApi.Summary, "Start a run")
      .annotate(
        OpenApi.Description,
        "Starts a run of a registered agent and answers at once with its record. The tasks come as JSON " +
          "(`StartRequest`) or as JSONL (`application/x-ndjson`: one JSON object per line, with the agent and the " +
          "options in the URL). A task whose object does not fit the agent's input schema fails on its own, naming " +
          "the path, and the run goes on; a body that does not fit gets 400 with the path of what is wrong, and a " +
          "concurrency above the server's maximum 400 with the maximum (`ConcurrencyTooHigh`)."
      )
  )
  .add(
    HttpApiEndpoint.get("list", "/runs")
      .addSuccess(Schema.Array(Runs.RunInfo))
      .annotate(OpenApi.Summary, "List the runs, the most recent first")
  )
  .add(
    HttpApiEndpoint.get("get")`/runs/${RunId}`
      .addSuccess(Runs.RunInfo)
      .addError(Runs.RunNotFound)
      .annotate(OpenApi.Summary, "Read a run: its state, options, tasks by outcome and stats")
      .annotate(
        OpenApi.Description,
        "`state` is `running`, `finished`, `cancelled`, `failed` or `interrupted`. With a durable store " +
          "(`serve --journal`), runs survive a restart: a run that was going when its server stopped (a crash, a " +
          "`kill -9`) is `interrupted`: `summary` counts the results it had recorded, `endedAt` is when the last " +
          "of them was, `error` says so, and its results, report and events (replayed from its results, then the " +
          "stream ends) stay readable. It is not resumed."
      )
  )
  .add(
    HttpApiEndpoint.del("cancel")`/runs/${RunId}`
      .addSuccess(Runs.RunInfo)
      .addError(Runs.RunNotFound)
      .annotate(OpenApi.Summary, "Cancel a run")
      .annotate(
        OpenApi.Description,
        "Stops the run: its running agents are interrupted and released, tasks not started never start, and every " +
          "task gets its result (those stopped are `Interrupted` with reason `Stopped`). Answers with the record " +
          "once the run has stopped."
      )
  )
  .add(
    HttpApiEndpoint.get("results")`/runs/${RunId}/results`
      .addSuccess(HttpApiSchema.Text({ contentType: jsonlContentType }))
      .addError(Runs.RunNotFound)
      .annotate(OpenApi.Summary, "The run's results, one JSON line per task, as they end")
      .annotate(
        OpenApi.Description,
        "Streamed: the results so far, then each one as its task ends, until the run ends. Each line is " +
          "`TaskFile.ResultLine`: line, id, status, value or error, attempts, durationMillis, agent, usage."
      )
  )
  .add(
    HttpApiEndpoint.get("report")`/runs/${RunId}/report`
      .addSuccess(HttpApiSchema.Text({ contentType: "text/html" }))
      .addError(Runs.RunNotFound)
      .annotate(OpenApi.Summary, "The run's HTML report, of the tasks that ended so far")
  )
  .add(
    HttpApiEndpoint.get("events")`/runs/${RunId}/events`
      .setHeaders(Schema.Struct({
        "last-event-id": Schema.optional(LastEventId)
      }))
      .addSuccess(HttpApiSchema.Text({ contentType: "text/event-stream" }))
      .addError(Runs.RunNotFound)
      .annotate(OpenApi.Summary, "The run's events, as Server-Sent Events")
      .annotate(
        OpenApi.Description,
        "A stream (`text/event-stream`) of the run's `RunEvent`s: each has an `id` (its number in the run), an " +
          "`event` (its `_tag`) and its JSON as `data` (a task's events without `_tag` and `runId`; a task's end " +
          "with its result line without `id`, `status` and, when its `TaskStarted` named it, `agent`, plus " +
          "`startedAt` and `slot`). " +
          "`Last-Event-ID` (a decimal whole number, else 400) resumes after that event (one past the end of the " +
          "run's log gets its `RunFinished` again once it has ended). A comment is sent every few seconds to keep the connection open. The stream " +
          "ends when the run ends. A run of a server " +
          "before a restart (`serve --journal`) replays its start, each result it recorded in the order they were " +
          "recorded, and its end, then the stream ends; its events are numbered after the live log's last, so a " +
          "number of the live log (which is gone) gets the replay from its start, and one of the replay resumes " +
          "right after it."
      )
  )
  .add(
    HttpApiEndpoint.get("agents", "/agents")
      .addSuccess(Schema.Array(Runs.AgentInfo))
      .annotate(OpenApi.Summary, "The agents the server can run")
  )
  .addError(HttpApiError.InternalServerError)
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Runs")
  .annotate(OpenApi.Description, "Start, follow and cancel runs of agents")
{}

/**
 * `GET /metrics`: the app's metrics (the engine's `ExecutorMetrics` among them) in Prometheus' text format.
 *
 * @category models
 * @since 0.1.0
 */
export class MetricsGroup extends HttpApiGroup.make("metrics")
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4" }))
      .annotate(OpenApi.Summary, "Metrics in Prometheus' text format")
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Metrics")
{}

/**
 * `GET /`: the dashboard, one page that lists the runs, starts one from a form and draws a run live. It needs no
 * token to load; it asks for one to call the API.
 *
 * @category models
 * @since 0.1.0
 */
export class DashboardGroup extends HttpApiGroup.make("dashboard")
  .add(
    HttpApiEndpoint.get("dashboard", "/")
      .addSuccess(HttpApiSchema.Text({ contentType: "text/html" }))
      .annotate(OpenApi.Summary, "The dashboard page")
  )
  .annotate(OpenApi.Title, "Dashboard")
{}

/**
 * `GET /openapi.json`: the API's OpenAPI document. (`/docs`, the page that shows it, is served by the server.)
 *
 * @category models
 * @since 0.1.0
 */
export class DocsGroup extends HttpApiGroup.make("docs")
  .add(
    HttpApiEndpoint.get("openapi", "/openapi.json")
      .addSuccess(Schema.Unknown)
      .annotate(OpenApi.Summary, "The OpenAPI document of this API")
  )
  .middleware(Authorization)
  .annotate(OpenApi.Title, "Docs")
{}

/**
 * The whole API, as `parallel-agents serve` serves it.
 *
 * @category models
 * @since 0.1.0
 */
export class Api extends HttpApi.make("effect-parallel-agents")
  .add(RunsGroup)
  .add(MetricsGroup)
  .add(DashboardGroup)
  .add(DocsGroup)
  .annotate(OpenApi.Title, "effect-parallel-agents")
  .annotate(OpenApi.Version, "0.1.0")
  .annotate(
    OpenApi.Description,
    "Start runs of agents, follow them live, cancel them and read their results. Every endpoint but the " +
      "dashboard page needs the server's bearer token."
  )
{}
