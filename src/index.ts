/**
 * The agent contract. An agent is a service: a `Context.Tag` whose service is an `Agent<In, Out, E>`, and its
 * factory builds one instance (from a `Layer`, or from an `Effect`). The engine builds an instance afresh for every
 * task attempt.
 *
 * @since 0.1.0
 */
export * as Agent from "./Agent.js"

/**
 * The errors the engine reports for one task: it timed out, its agent could not be built, its input or its output
 * did not match the schema, one of its own options was invalid, the budget had no room for it, or its team reached
 * no consensus. They appear inside a task's result, never as the failure of a whole run. The errors that do fail a
 * run or a team definition, before anything starts, are `RunOptionsError` and `TeamOptionsError`.
 *
 * @since 0.1.0
 */
export * as AgentError from "./AgentError.js"

/**
 * The identity of one agent instance: the agent, the run, the task and the attempt it was built for. The engine
 * provides it to the agent's factory layer, so logs, spans and prompts can carry a name no other instance has.
 *
 * @since 0.1.0
 */
export * as AgentInstance from "./AgentInstance.js"

/**
 * Folds over a run's results into one value. Partial results are normal: the ready-made aggregates read the
 * successes and say what is missing rather than fail.
 *
 * @since 0.1.0
 */
export * as Aggregate from "./Aggregate.js"

/**
 * A budget of tokens, cost and requests shared by the tasks of a run, or by several runs when the app provides one
 * as a layer. It works by reserve-then-settle: a task reserves its estimated usage before it starts, and settles
 * with what it really used when it ends. A task that does not fit fails with `BudgetExceeded` without calling its
 * agent; running tasks always finish.
 *
 * @since 0.1.0
 */
export * as Budget from "./Budget.js"

/**
 * When a team agrees: the transcript of a team's discussion (`Message`, `Round`) and the rules that decide, at the
 * end of each round, whether the team agrees and on what (`supervisor`, `majority`, `quorum`, `when`). `Team` runs
 * the discussion; `decide` is the rule applied to one round.
 *
 * @since 0.1.0
 */
export * as Consensus from "./Consensus.js"

/**
 * The fan-out engine. It runs one task per agent instance, many at once under a concurrency limit, keeps each
 * task's failure or timeout to itself, and returns a report with every task's result in input order.
 *
 * @since 0.1.0
 */
export * as Executor from "./Executor.js"

/**
 * Settings of the `Executor`: the default concurrency and per-task timeout of its runs, and the schemas every way
 * a setting enters goes through (run options, layers, configuration, the command line, the HTTP API). Each run may
 * override the settings; a task's own timeout overrides both.
 *
 * @since 0.1.0
 */
export * as ExecutorConfig from "./ExecutorConfig.js"

/**
 * The engine's metrics. Every one is tagged with `agent` (the agent's name) where it is updated, and the model
 * counters with `model` too; task ids are never tags. Ambient labels set with `Effect.tagMetrics` around a run are
 * added as well.
 *
 * @since 0.1.0
 */
export * as ExecutorMetrics from "./ExecutorMetrics.js"

/**
 * A limit on requests and tokens per interval, shared by every task of a run, or by several runs when the app
 * provides one as a layer. Built on Effect's `RateLimiter`: a task attempt waits until it fits, before its agent
 * is built and before its timeout starts.
 *
 * @since 0.1.0
 */
export * as RateLimit from "./RateLimit.js"

/**
 * Retries of failed task attempts: which errors are worth another attempt (rate limits, timeouts, 5xx, connection
 * errors), how long a provider asked to wait (Retry-After), and the `Schedule` the engine follows between attempts.
 * Every attempt gets a fresh agent instance.
 *
 * @since 0.1.0
 */
export * as Retry from "./Retry.js"

/**
 * What happens in runs, as it happens: a run starts, tasks are queued, start, are retried, end (succeeded,
 * failed, timed out, interrupted), and the run finishes. Provide `RunEvent.layer()` and every run of the app
 * publishes its events; any number of subscribers follow them with `RunEvent.stream` (a progress bar, a log, a
 * dashboard, a test). Each subscriber has a bounded buffer: one that falls behind loses its oldest events and
 * never slows a run.
 *
 * @since 0.1.0
 */
export * as RunEvent from "./RunEvent.js"

/**
 * A journal of runs, so that a run that stops (a crash, a deploy, `kill -9`) resumes where it stopped and no
 * finished agent is called again. It records each task's final result under its run id and task id, with a hash of
 * the task's input, and gives them back when the run resumes. This module is the port and its reference layer in
 * memory; `effect-parallel-agents/store` keeps the journal in SQLite or PostgreSQL.
 *
 * @since 0.1.0
 */
export * as RunJournal from "./RunJournal.js"

/**
 * What a run returns: every task's result in input order, a summary by outcome, the aggregate, and stats people
 * read at a glance (wall time against the sequential sum, speedup, parallel efficiency, duration percentiles, queue
 * wait, success rate), with a terminal table to print them.
 *
 * @since 0.1.0
 */
export * as RunReport from "./RunReport.js"

/**
 * A run report as one self-contained HTML page: the summary and stats, a timeline with one lane per concurrency slot
 * and one bar per task (coloured by outcome, with its details on hover), the tasks that never started, and a
 * histogram of task durations. Styles and script are inline and a Content-Security-Policy forbids loading anything,
 * so the page opens offline or as a CI artifact. The engine never loads this module: import it where a page is
 * wanted.
 *
 * @since 0.1.0
 */
export * as RunReportHtml from "./RunReportHtml.js"

/**
 * A running tally of a run's results: tasks by outcome, busy time, duration percentiles, queue wait, retries and
 * usage, for the run and for each agent. Results are added one at a time as they end, in any order, and the tally
 * keeps counts, not results: it costs the same for ten tasks or ten million. The engine keeps one per run for its
 * report and its events; the command line's progress line and summary, and reports built from a stream of
 * results, read one too, so every figure is counted in one place.
 *
 * @since 0.1.0
 */
export * as RunTally from "./RunTally.js"

/**
 * What a run of teams found, and a final agent that reads it: `findings` splits the results into the conclusions of
 * the teams that agreed and the teams that are missing (with why), and `synthesize` hands them to a synthesizer
 * agent, run as one task through the `Executor`.
 *
 * @since 0.1.0
 */
export * as Synthesis from "./Synthesis.js"

/**
 * A unit of work: an id, an input, and optionally a timeout of its own and labels.
 *
 * @since 0.1.0
 */
export * as Task from "./Task.js"

/**
 * The JSONL task file: one JSON object per line, numbered from 1, blank lines skipped. Each line becomes a task
 * whose id is the object's `id` (a string or a number) or else its line number, with the line number in its `line`
 * label. A line that is not JSON, or not a JSON object, is a bad line: it still becomes a task, which `input` makes
 * fail on its own with its message, so the run goes on and the line is reported: so is a line that is not UTF-8,
 * nests deeper than `maxDepth` or is longer than `maxLineBytes`. Each result is written back as one JSON line
 * (`resultLine`).
 *
 * @since 0.1.0
 */
export * as TaskFile from "./TaskFile.js"

/**
 * Partial output of a running task, for people watching a run live: an agent that writes its answer bit by bit (a
 * model that streams its text, a long report) emits each bit with `emit`, and the engine publishes it as
 * `TaskOutput` run events tagged with the task and the attempt. Bits are coalesced per attempt and published at
 * most every `interval` or every `maxChars` characters, so a fast writer never floods the events; what is left is
 * published when the attempt ends, before the event that ends the task. The task's result is not affected.
 *
 * @since 0.1.0
 */
export * as TaskOutput from "./TaskOutput.js"

/**
 * The outcome of one task: `Succeeded`, `Failed`, `TimedOut` or `Interrupted`, with the task, the agent instance
 * that ran it, the attempt, when it started and how long it took. `Failed` keeps the whole `Cause`.
 *
 * @since 0.1.0
 */
export * as TaskResult from "./TaskResult.js"

/**
 * Teams of agents that discuss one task until they agree. A team's members are agents built fresh for every team
 * run; they take turns over a transcript local to that run, round after round, until the team's consensus rule
 * holds (`Consensus`: a supervisor approves, a majority or a quorum agrees, a predicate) or the round limit ends the
 * run with `NoConsensus`. A team is an agent factory, so teams fan out through the `Executor` like any task;
 * `Synthesis` hands what the teams found to a final agent.
 *
 * @since 0.1.0
 */
export * as Team from "./Team.js"

/**
 * What agents consume from their model provider: requests, input and output tokens, and cost. Model adapters
 * record each response's usage with `record`; the engine adds it up per task (every attempt counted), and it feeds
 * the task's result, the run's report, the token and request metrics, and the run's budget.
 *
 * @since 0.1.0
 */
export * as Usage from "./Usage.js"
