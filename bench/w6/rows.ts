/**
 * W6, model-call throughput: the rows, what they share, and the sample a child prints. Every HTTP row runs the
 * CLI's `classify` agent (its system prompt, its prompt, its output schema) over the same documents against the
 * same loopback server (`server.ts`); the CLI row runs the offline model through the command line.
 */

/** The server's latency, and so each call's. */
export const LATENCY_MILLIS = 50

/** The model every HTTP row names. The loopback server answers for any. */
export const MODEL = "gpt-4o-mini"

export type RowName =
  | "library-openai"
  | "library-compat"
  | "openai-sdk"
  | "langchain"
  | "cli-compat"
  | "cli-offline"
  | "agent-offline"

export interface Row {
  readonly name: RowName
  /** What runs, for the table. */
  readonly title: string
  /** Whether its calls go to the loopback server. */
  readonly http: boolean
  readonly concurrency: number
  /** The time one call takes: the server's latency, or the offline model's. */
  readonly callMillis: number
  readonly sizes: ReadonlyArray<number>
  readonly quickSizes: ReadonlyArray<number>
}

const httpRow = (name: RowName, title: string): Row => ({
  name,
  title,
  http: true,
  concurrency: 256,
  callMillis: LATENCY_MILLIS,
  sizes: [10_000],
  quickSizes: [2_000]
})

export const rows: ReadonlyArray<Row> = [
  httpRow("library-openai", "`openai:` (Responses, `@effect/ai-openai`) through `Executor.run`"),
  httpRow("library-compat", "`compat:` (chat completions) through `Executor.run`"),
  httpRow("openai-sdk", "`openai` SDK `chat.completions.create` under `p-limit` (the floor)"),
  httpRow("langchain", "LangChain.js `ChatOpenAI.withStructuredOutput(...).batch`"),
  httpRow(
    "cli-compat",
    "the CLI with `AGENT_MODEL=compat:...` against the same server, from a JSONL file, results to a file (reported)"
  ),
  {
    name: "cli-offline",
    title: "the CLI, offline model (`AGENT_OFFLINE_LATENCY=\"1 millis\"`), results to a file",
    http: false,
    concurrency: 100,
    callMillis: 1,
    sizes: [10_000, 100_000],
    quickSizes: [10_000, 20_000]
  },
  {
    name: "agent-offline",
    title: "the floor of `cli-offline`: the `classify` agent alone on the offline model (1 ms), `Effect.forEach` at " +
      "the same concurrency, no engine, no command line, nothing read or written",
    http: false,
    concurrency: 100,
    callMillis: 1,
    sizes: [100_000],
    quickSizes: [20_000]
  }
]

/** The ideal makespan: `ceil(N / C)` rounds of one call. */
export const idealMillis = (row: Row, size: number): number => Math.ceil(size / row.concurrency) * row.callMillis

/** The documents: `{ text }`, each ending in its number, as `examples/data/documents.jsonl`. */
export const documentText = (i: number): string => `Sample document number ${i}`

// The `classify` agent's request, written out for the rows that do not load the library (the library row checks
// that these are still the agent's own, and fails if they drift).
/** The `classify` agent's system prompt. */
export const SYSTEM = "You classify the sentiment of short documents."

/** The `classify` agent's prompt for one document. */
export const prompt = (text: string): string =>
  `Classify the sentiment of this document as positive or negative.\n\nDocument: ${text}`

/** The name of the `classify` agent's output object. */
export const OBJECT_NAME = "Classification"

/** The JSON schema of the `classify` agent's output, as the library sends it (`response_format.json_schema.schema`). */
export const JSON_SCHEMA = {
  type: "object",
  required: ["label"],
  properties: { label: { type: "string", enum: ["positive", "negative"] } },
  additionalProperties: false,
  description: "The sentiment of a document"
} as const

/** What one child prints at exit. */
export interface W6Sample {
  /** From just before the run to just after, in milliseconds. */
  readonly workMillis: number
  /**
   * When the run ended, before its results are checked: milliseconds since 1970 (`performance.timeOrigin` +
   * `performance.now()`), which the parent compares with the time it started the child.
   */
  readonly endedAt: number
  /** User plus system CPU of the whole process, in microseconds. */
  readonly cpuMicros: number
  /** Peak RSS of the whole process, in KiB. */
  readonly maxRssKiB: number
  /** Results, and how many of them succeeded with a label of the schema. */
  readonly results: number
  readonly succeeded: number
  /** Tokens the row accounted (the library and the CLI from their reports; the others from the responses). */
  readonly inputTokens: number
  readonly outputTokens: number
}

/** One row's run: resolves when every document has its result. */
export type RunRow = (options: {
  readonly size: number
  readonly concurrency: number
  /** `http://127.0.0.1:<port>/v1`, for the HTTP rows. */
  readonly baseUrl: string
}) => Promise<Omit<W6Sample, "workMillis" | "endedAt" | "cpuMicros" | "maxRssKiB">>
