/**
 * The dashboard: one page, with no build step and nothing loaded from anywhere, that lists the runs, starts a run
 * from a form (agent, JSONL pasted or uploaded, concurrency) and draws a selected run live from its event stream:
 * counters by outcome, in flight, throughput and tokens, the text each running task is writing, and the HTML
 * report's timeline growing as tasks end (drawn by the report's own code, `RunReportHtml.script`).
 *
 * @since 0.1.0
 */
export * as Dashboard from "./Dashboard.js"

/**
 * The runs service's store (`RunStore`) over the run journal (`RunJournal`), so that runs and their results survive
 * a restart: with the journal in a SQLite file or PostgreSQL (`effect-parallel-agents/store`), a server started
 * again lists the runs of the one before, reads their results in the order they were recorded, their reports and
 * their events. Each run's record is kept with the run in the journal (its options), each result as the run's
 * entry for its task; the results of the runs of this process are also kept in memory while they run, so that
 * readers following a run live do not read the journal again.
 *
 * A run the journal holds that its record says is running, but that no runs service of this process runs, was
 * going when its process stopped: `Runs` shows it as `interrupted`, with the results it had recorded.
 *
 * @since 0.1.0
 */
export * as JournalRunStore from "./JournalRunStore.js"

/**
 * Where the runs service keeps its runs: each run's record (`Runs.RunInfo`) and its results, in the order they
 * ended. `layerMemory` keeps them in the process and forgets the oldest finished runs past a limit; a durable store
 * (a journal over `@effect/sql`) implements the same five operations, so that runs and their results survive a
 * restart. What only a live run has (its fiber, its event log, its readers) stays in the runs service.
 *
 * @since 0.1.0
 */
export * as RunStore from "./RunStore.js"

/**
 * The runs service behind the HTTP API: it starts runs of registered agents, each on a fiber of its own in the
 * service's scope (never in the fiber of the request that started it, so a client that disconnects stops
 * nothing), records each run's events for any number of readers, and keeps its record and results in the
 * `RunStore`. Cancelling a run stops it gracefully (the run's `stop` option): its running agents are interrupted
 * and released, and every task gets its result (those stopped are `Interrupted` with reason `Stopped`). Closing the
 * service's scope (a server shutting down) cancels the runs still going, the same way.
 *
 * @since 0.1.0
 */
export * as Runs from "./Runs.js"

/**
 * The HTTP API of runs, as `@effect/platform` `HttpApi` groups to mount in an API of your own: `Runs` (start a run
 * of a registered agent, list, read, follow and cancel runs), `Metrics` (Prometheus text), `Dashboard` (the page
 * at `/`) and `Docs` (`/openapi.json`). Every group but `Dashboard` needs a bearer token (`Authorization`). `Api`
 * is all of them, as `parallel-agents serve` serves them. Handlers: `RunsServer`.
 *
 * @since 0.1.0
 */
export * as RunsApi from "./RunsApi.js"

/**
 * The handlers of `RunsApi` over the `Runs` service, the bearer-token check, and a ready server. Mount the groups
 * in an `HttpApi` of your own and provide `layer(api)` and `layerAuthorization`; or serve the whole API with
 * `layerServer()` on an `HttpServer` of your choice (`parallel-agents serve` uses Node's on 127.0.0.1). Request
 * bodies have a size limit; the token is compared in constant time and never logged, sent or published.
 *
 * @since 0.1.0
 */
export * as RunsServer from "./RunsServer.js"
