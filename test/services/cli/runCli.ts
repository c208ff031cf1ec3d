/**
 * The command line run in this process, with its output and the `Console` captured, over JSONL files in a temporary
 * directory.
 */
import { FetchHttpClient, FileSystem } from "@effect/platform"
import type { Console } from "effect"
import { ConfigProvider, Effect } from "effect"
import * as Cli from "../../../services/cli/Cli.js"
import * as Output from "../../../services/cli/Output.js"

/** Runs the command line in this process, with its output and the `Console` captured and the given settings. */
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
    // @effect/cli prints usage errors with the Console.
    const console = yield* Effect.console
    const captured: Console.Console = {
      ...console,
      log: (...lines) => Effect.sync(() => stderr.push(lines.join(" "))),
      error: (...lines) => Effect.sync(() => stderr.push(lines.join(" ")))
    }
    const code = yield* Cli.run(["node", "parallel-agents", ...args]).pipe(
      Effect.provideService(Output.Output, output),
      Effect.withConsole(captured),
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ AGENT_MODEL: "offline", ...env }))))
    )
    return { code, stdout: stdout.join(""), stderr: stderr.join("") }
  }).pipe(Effect.provide(FetchHttpClient.layer))

/** A JSONL file of tasks in a temporary directory. */
export const withInput = (lines: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const directory = yield* fs.makeTempDirectoryScoped()
    const file = `${directory}/tasks.jsonl`
    yield* fs.writeFileString(file, lines.join("\n") + "\n")
    return { directory, file }
  })
