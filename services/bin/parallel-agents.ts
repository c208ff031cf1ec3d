#!/usr/bin/env node
/**
 * The `parallel-agents` executable: the command line (`Cli.run`) on Node.js, with the process's stdout and stderr,
 * its file system, an HTTP client for real model endpoints, Node's HTTP server for `serve`, and logs on stderr. Ctrl-C interrupts the run, which
 * then stops its agents, writes what is under way and prints the summary; a second Ctrl-C exits at once.
 *
 *   npx tsx services/bin/parallel-agents.ts run --input tasks.jsonl --agent classify --output results.jsonl
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Fs from "node:fs"
import * as Tty from "node:tty"
import * as V8 from "node:v8"
import * as Cli from "../cli/Cli.js"
import * as HttpClientLazy from "../cli/internal/httpClient.js"
import * as Progress from "../cli/internal/progress.js"
import * as Text from "../cli/internal/text.js"
import * as Output from "../cli/Output.js"
import * as RunCommand from "../cli/RunCommand.js"
import * as ServeCommand from "../cli/ServeCommand.js"
import * as ModelHttpClient from "../models/ModelHttpClient.js"

// A run of many tasks allocates fast and keeps little: V8 would let the heap grow to about four times what its last
// full collection found alive, so peak memory grew with the size of the input although what is alive did not.
// Growing it by at most two times keeps the peak flat (bench/README.md, "The offline command line, round 9"), unless
// the user set the factor (on Node's command line or in NODE_OPTIONS). Unlike the young generation's size, which
// only Node's command line sets, this flag applies when set here.
if (
  ![...process.execArgv, ...(process.env.NODE_OPTIONS ?? "").split(/\s+/)].some((flag) =>
    /heap[-_]growing[-_]percent/.test(flag)
  )
) {
  V8.setFlagsFromString("--heap-growing-percent=100")
}

// A stream whose reader went (see below) is destroyed: nothing more is written to it.
const write = (stream: NodeJS.WriteStream) => (text: string) =>
  Effect.sync(() => {
    if (!stream.destroyed) stream.write(text)
  })

const interactive = process.stderr.isTTY === true

const output = Output.layer({
  stdout: write(process.stdout),
  stderr: write(process.stderr),
  interactive,
  columns: () => process.stderr.columns ?? 0
})

// Logs (`--log-level debug` shows a line per task) go to stderr, as logfmt lines with every control character
// escaped (a task id or a server's message cannot drive the terminal); on a terminal, over the progress bar, which
// the next tick draws again. stdout carries results only.
const logger = Logger.map(Logger.logfmtLogger, (line) => {
  if (process.stderr.destroyed) return
  process.stderr.write(`${interactive ? Progress.clearLine : ""}${Text.escape(line)}\n`)
})

// A reader that stops early (`| head`) closes stdout: the results have nowhere to go, so the run ends there,
// quietly, as a process killed by SIGPIPE would.
process.stdout.on("error", () => process.exit(Cli.ExitCode.TasksFailed))
// stderr carries only what people read (progress, messages, the summary): a reader of it that goes early
// (`2>&1 | head`, a log collector that dies) takes those with it, not the run, whose results go on to their file. An
// error left unhandled here killed the process at its next progress line, with its results file replaced by an
// empty one.
process.stderr.on("error", () => {})

// Whether a signal has already set the run stopping (a SIGTERM, or a Ctrl-C below).
let stopping = false
process.once("SIGTERM", () => {
  stopping = true
})

// The first Ctrl-C interrupts the run (NodeRuntime.runMain's handler); the second exits at once. Under npm or tsx, one
// Ctrl-C may reach the process twice (from the terminal, and relayed by its parent) within a few milliseconds: a
// second signal that soon is the same Ctrl-C.
process.once("SIGINT", () => {
  stopping = true
  const first = Date.now()
  const again = () => {
    if (Date.now() - first < 100) process.once("SIGINT", again)
    else process.exit(Cli.ExitCode.Interrupted)
  }
  process.once("SIGINT", again)
})

// A terminal that closes (a lost SSH session) sends SIGHUP, whose default kills the process where it stands: no
// report, no summary, a journaled run not marked. On a terminal it stops the run as SIGTERM does (NodeRuntime.runMain's
// handler). A process with no terminal (`nohup`, `... > log 2>&1 < /dev/null &`) was started to outlive one: it
// ignores SIGHUP. (Node.js resets an ignored SIGHUP to its default when it starts, so `nohup` alone did not keep it.)
// A hangup often comes more than once (from the kernel, and relayed by the shell in between), or after a Ctrl-C: only
// a run not yet stopping is stopped. A second SIGTERM would meet Node.js's default, which runMain's handler, gone after
// the first signal, leaves in place: the process killed mid-stop (exit 143), its summary and report not written.
const onTerminal = process.stdin.isTTY === true || process.stdout.isTTY === true || process.stderr.isTTY === true
process.on("SIGHUP", () => {
  if (onTerminal && !stopping) {
    stopping = true
    process.kill(process.pid, "SIGTERM")
  }
})

// Node.js 20 restores the settings of each terminal it started on when it exits, and aborts (exit code 134, or 139)
// when that fails because the terminal is gone (a closed SSH session): nodejs/node#51519, fixed in Node.js 24
// (nodejs/node#58200). A descriptor that was a terminal at the start and is no longer one (its terminal hung up) is
// closed at exit: Node.js then leaves it alone, and the process exits with its own code.
const terminals = [0, 1, 2].filter((fd) => Tty.isatty(fd))
process.on("exit", () => {
  for (const fd of terminals) {
    if (!Tty.isatty(fd)) Either.try(() => Fs.closeSync(fd))
  }
})

Cli.run(process.argv).pipe(
  Effect.provide(Layer.mergeAll(
    output,
    NodeContext.layer,
    // The HTTP client (undici) and server are loaded when they are first used: a run on the offline model uses
    // neither, and would keep their modules in its heap for as long as it runs.
    HttpClientLazy.lazy(Layer.unwrapEffect(
      Effect.map(
        Effect.promise(() => import("@effect/platform-node/NodeHttpClient")),
        (NodeHttpClient) => NodeHttpClient.layerUndici
      )
    )),
    // A run calls a model server over a pool of as many kept-alive connections as it has agents at once, built on
    // its first request.
    Layer.succeed(
      RunCommand.ModelClient,
      ({ connections }) => HttpClientLazy.lazy(Layer.orDie(ModelHttpClient.layer({ connections })))
    ),
    Layer.succeed(ServeCommand.ServerFactory, (address) =>
      Layer.unwrapEffect(
        Effect.map(
          Effect.promise(() => Promise.all([import("@effect/platform-node/NodeHttpServer"), import("node:http")])),
          ([NodeHttpServer, Http]) =>
            NodeHttpServer.layer(Http.createServer, { port: address.port, host: address.host })
        )
      )),
    Logger.replace(Logger.defaultLogger, logger)
  )),
  NodeRuntime.runMain({ disableErrorReporting: true, disablePrettyLogger: true, teardown: Cli.teardown })
)
