/**
 * The command line, `parallel-agents`, on `@effect/cli`. `parallel-agents run --input tasks.jsonl --agent classify`
 * streams a JSONL file of tasks through a built-in agent (`AgentRegistry`) with `Executor.stream`, writes one JSON
 * line per task as it ends, shows progress, and prints a summary. A line that is not JSON or does not fit the
 * agent's input schema fails on its own, with its line number. Ctrl-C stops the run: running agents are
 * interrupted and released, every finished result is written, and the summary is printed.
 *
 * @since 0.1.0
 */
export * as Cli from "./Cli.js"
