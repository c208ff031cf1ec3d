/**
 * The command line, `parallel-agents`, on `@effect/cli`: the root command and its subcommands `run` (`RunCommand`),
 * `serve` (`ServeCommand`) and `runner` (`RunnerCommand`), `run` to run it on `argv` and get its exit code, and the
 * `teardown` that exits the process with that code. `parallel-agents run --input tasks.jsonl --agent classify` runs a
 * built-in agent over a JSONL file of tasks; `parallel-agents serve` serves the HTTP API and the dashboard;
 * `parallel-agents runner` joins a cluster as a runner.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"

/**
 * The flags of `parallel-agents run`, on `@effect/cli` `Options`: each parsed and checked, so that a bad value is a
 * usage error that says what was expected, before any task runs.
 *
 * @since 0.1.0
 */
export * as Flags from "./Flags.js"

/**
 * Where the command line writes: the output port. `stdout` carries data only (result lines without `--output`, the
 * `--json` summary); `stderr` carries what people read (progress, failed lines, the summary). The program that runs
 * the command line provides it: `services/bin/parallel-agents.ts` on Node.js, a capturing double in tests.
 *
 * @since 0.1.0
 */
export * as Output from "./Output.js"

/**
 * `parallel-agents run`: streams a JSONL task file (`TaskFile`) through a built-in agent (`AgentRegistry`) with
 * `Executor.stream`, writes one JSON line per task as it ends, shows progress, and prints a summary. A line that is
 * not JSON or does not fit the agent's input schema fails on its own, with its line number. Ctrl-C stops the run
 * (the engine's `stop`): running agents are interrupted and released, a task waiting to retry ends at once, every
 * task under way is written as `Interrupted` (reason `Stopped`) beside every finished result, and the summary is
 * printed.
 *
 * @since 0.1.0
 */
export * as RunCommand from "./RunCommand.js"

/**
 * `parallel-agents runner`: joins a cluster (`AgentRunner.launch`) as a runner that hosts the built-in agents
 * (`AgentRegistry`) by name, with the language model the command line uses (`AGENT_MODEL`, the offline model by
 * default), and runs the tasks coordinators send it until Ctrl-C or SIGTERM; then it lets its running tasks finish
 * and hands its shards to the other runners. Settings come from configuration: `DATABASE_URL`, `RUNNER_HOST`,
 * `RUNNER_PORT`, `RUNNER_CONCURRENCY` and the `CLUSTER_*` settings every process shares (`ClusterConfig`); the
 * flags `--host`, `--port` and `--concurrency` take precedence. The cluster's modules are loaded when the runner
 * starts: the rest of the command line does not need their optional peers.
 *
 * @since 0.1.0
 */
export * as RunnerCommand from "./RunnerCommand.js"

/**
 * `parallel-agents runs`: lists the runs a journal holds (`run --journal`), the most recently started first, with
 * their agent, when they started, how many times, their state (`finished`, `deadline` when its deadline cut it
 * short, `running`, `stopped`), and their recorded results by outcome.
 * `--json` prints one JSON object per run instead.
 *
 * @since 0.1.0
 */
export * as RunsCommand from "./RunsCommand.js"

/**
 * `parallel-agents serve`: the HTTP API and the dashboard (`effect-parallel-agents/http`) on Node.js, on 127.0.0.1
 * by default, running the built-in agents (`classify`, `summarize`, and `explain`, which streams its answer) on the
 * model configuration chooses. It prints where it listens and, when no token is configured (`AGENT_HTTP_TOKEN`),
 * the one it made up, once, in the dashboard's address. Ctrl-C stops it: runs still going are cancelled, their
 * agents released.
 *
 * @since 0.1.0
 */
export * as ServeCommand from "./ServeCommand.js"

/**
 * The summary of a `parallel-agents run`: the outcomes, the wall time against the time one after another, the model
 * and its tokens, and where the results and the report went. Printed for people on stderr, or with `--json` as one
 * JSON object, the last line on stdout.
 *
 * @since 0.1.0
 */
export * as Summary from "./Summary.js"
