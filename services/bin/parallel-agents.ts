#!/usr/bin/env node
/**
 * The `parallel-agents` executable: the command line (`Cli.run`) on Node.js, with the process's stdout and stderr,
 * its file system, an HTTP client for real model endpoints, and logs on stderr. Ctrl-C interrupts the run, which
 * then stops its agents, writes what is under way and prints the summary; a second Ctrl-C exits at once.
 *
 *   npx tsx services/bin/parallel-agents.ts run --input tasks.jsonl --agent classify --output results.jsonl
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Cli from "../cli/Cli.js"
import * as Output from "../cli/Output.js"

const write = (stream: NodeJS.WriteStream) => (text: string) =>
  Effect.sync(() => {
    stream.write(text)
  })

const output = Output.layer({
  stdout: write(process.stdout),
  stderr: write(process.stderr),
  interactive: process.stderr.isTTY === true,
  columns: () => process.stderr.columns ?? 0
})

// A reader that stops early (`| head`) closes stdout: the results have nowhere to go, so the run ends there,
// quietly, as a process killed by SIGPIPE would.
process.stdout.on("error", () => process.exit(Cli.ExitCode.TasksFailed))

// The first Ctrl-C interrupts the run (NodeRuntime.runMain's handler); the second exits at once. Under npm or tsx, one
// Ctrl-C may reach the process twice (from the terminal, and relayed by its parent) within a few milliseconds: a
// second signal that soon is the same Ctrl-C.
process.once("SIGINT", () => {
  const first = Date.now()
  const again = () => {
    if (Date.now() - first < 100) process.once("SIGINT", again)
    else process.exit(Cli.ExitCode.Interrupted)
  }
  process.once("SIGINT", again)
})

Cli.run(process.argv).pipe(
  Effect.provide(Layer.mergeAll(
    output,
    NodeContext.layer,
    NodeHttpClient.layerUndici,
    // Logs (`--log-level debug` shows a line per task) go to stderr: stdout carries results only.
    Logger.replace(Logger.defaultLogger, Logger.prettyLogger({ stderr: true }))
  )),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true, teardown: Cli.teardown })
)
