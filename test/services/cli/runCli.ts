/**
 * The command line run in this process, with its output captured (`Cli.run` prints everything, `@effect/cli`'s help
 * and messages included, through `Output`), over JSONL files in a temporary directory.
 */
import { FetchHttpClient, FileSystem } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { ConfigProvider, Effect, Layer } from "effect"
import { createServer } from "node:http"
import * as Cli from "../../../services/cli/Cli.js"
import * as Output from "../../../services/cli/Output.js"
import * as ServeCommand from "../../../services/cli/ServeCommand.js"

/** Node's HTTP server for `serve`, as the executable gives it. */
export const serverFactory = Layer.succeed(
  ServeCommand.ServerFactory,
  (address) => NodeHttpServer.layer(createServer, { port: address.port, host: address.host })
)

/** Runs the command line in this process, with its output captured and the given settings. */
export const runCli = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const stdout: Array<string> = []
    const stderr: Array<string> = []
    const output = Output.Output.of({
      stdout: (text) => Effect.sync(() => stdout.push(text)),
      stderr: (text) => Effect.sync(() => stderr.push(text)),
      interactive: false,
      columns: () => 0
    })
    const code = yield* Cli.run(["node", "parallel-agents", ...args]).pipe(
      Effect.provideService(Output.Output, output),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ AGENT_MODEL: "offline", ...env }))))
    )
    return { code, stdout: stdout.join(""), stderr: stderr.join("") }
  }).pipe(Effect.provide(Layer.merge(FetchHttpClient.layer, serverFactory)))

/** A JSONL file of tasks in a temporary directory. */
export const withInput = (lines: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const directory = yield* fs.makeTempDirectoryScoped()
    const file = `${directory}/tasks.jsonl`
    yield* fs.writeFileString(file, lines.join("\n") + "\n")
    return { directory, file }
  })
