/**
 * The command line as people run it: the `parallel-agents` executable (bundled, as `npm run build` makes it) in a
 * process of its own, over JSONL files in a temporary directory.
 */
import { Command, FileSystem } from "@effect/platform"
import { Effect, Fiber, Schedule, Stream } from "effect"
import * as fs from "node:fs"
import { fileURLToPath } from "node:url"
import { inject } from "vitest"

export const root = fileURLToPath(new URL("../../..", import.meta.url))
// The bundled executable, as `npm run build` makes it (test/globalSetup.ts).
const bin = inject("bin")

export interface ResultLine {
  readonly line: number
  readonly id: string
  readonly status: string
  readonly value?: unknown
  readonly error?: string
  readonly errorTag?: string
  readonly reason?: string
  readonly attempts?: number
  readonly retries?: number
}

/**
 * Starts `parallel-agents <args>` in `directory`, with the offline model unless `env` says otherwise; `wrap` is a
 * command that runs it (`setpriv ...`, `sh -c 'ulimit ...; exec "$@"' sh`). `done` waits for it to exit and returns
 * its exit code and output.
 */
export const start = (args: ReadonlyArray<string>, options: {
  readonly directory: string
  readonly env?: Record<string, string> | undefined
  readonly wrap?: ReadonlyArray<string> | undefined
}) =>
  Effect.gen(function*() {
    const [command, ...rest] = [...(options.wrap ?? []), "node", bin, ...args]
    const process = yield* Command.make(command!, ...rest).pipe(
      Command.workingDirectory(options.directory),
      Command.env({
        AGENT_MODEL: "offline",
        OPENAI_API_KEY: "",
        OPENAI_BASE_URL: "",
        ...options.env
      }),
      Command.start
    )
    const stdout = yield* Effect.fork(Stream.mkString(Stream.decodeText(process.stdout)))
    const stderr = yield* Effect.fork(Stream.mkString(Stream.decodeText(process.stderr)))
    const done = Effect.all({
      exitCode: process.exitCode,
      stdout: Fiber.join(stdout),
      stderr: Fiber.join(stderr),
      exitedAt: Effect.sync(() => Date.now())
    })
    // What it wrote, once its output ends (for a process killed by a signal, whose exit code is an error).
    const output = Effect.all({ stdout: Fiber.join(stdout), stderr: Fiber.join(stderr) })
    return { process, done, output }
  })

export const run = (args: ReadonlyArray<string>, options: Parameters<typeof start>[1]) =>
  Effect.flatMap(start(args, options), ({ done }) => done)

export const readLines = (file: string): Array<ResultLine> =>
  fs.existsSync(file)
    ? fs.readFileSync(file, "utf8").split("\n").filter((line) => line !== "").map((line) => JSON.parse(line))
    : []

/** Waits until the results file has at least `n` lines (polling: the process writes it). */
export const untilLines = (file: string, n: number) =>
  Effect.sync(() => readLines(file).length).pipe(
    Effect.repeat({ schedule: Schedule.spaced("50 millis"), until: (count) => count >= n }),
    Effect.timeoutFail({ duration: "30 seconds", onTimeout: () => new Error(`${file} never had ${n} lines`) })
  )

export const tempDirectory = Effect.flatMap(FileSystem.FileSystem, (fs) => fs.makeTempDirectoryScoped())

export const writeLines = (file: string, lines: ReadonlyArray<string>) =>
  Effect.sync(() => fs.writeFileSync(file, lines.join("\n") + "\n"))

export const documents = (n: number) =>
  Array.from({ length: n }, (_, i) => JSON.stringify({ text: `Sample document number ${i}` }))
