/**
 * Processes of the cluster tests: runners and coordinators (`node --import tsx` on the sources) and the bundled
 * executable, their output read as it comes (so they never block on a full pipe), killed with SIGKILL when the test's
 * scope closes (whatever ended the test: a timeout included), and waited for only up to a deadline.
 */
import type { CommandExecutor } from "@effect/platform"
import { Command } from "@effect/platform"
import type { Scope } from "effect"
import { Effect, Ref, Schedule, Stream } from "effect"
import * as fs from "node:fs"
import { createRequire } from "node:module"
import * as path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"
import { inject } from "vitest"

export const root = fileURLToPath(new URL("../../..", import.meta.url))
const tsx = pathToFileURL(createRequire(import.meta.url).resolve("tsx")).href

/** A test script of this folder (`runner`, `coordinator`). */
export const script = (name: string) => path.join(root, "test", "services", "cluster", `${name}.ts`)
/** The bundled executable, as `npm run build` makes it (test/globalSetup.ts). */
export const bin = inject("bin")

export interface Proc {
  readonly pid: number
  readonly kill: (signal: "SIGKILL" | "SIGTERM") => Effect.Effect<void>
  /** Its exit code (-1 when a signal ended it), waited for at most `seconds`; a process still running dies the test. */
  readonly exited: (seconds: number) => Effect.Effect<number>
  /** What it wrote on stdout and stderr so far. */
  readonly output: Effect.Effect<string>
}

/** Starts `node <file> ...args` with these variables, through tsx for a TypeScript file. */
export const start = (file: string, env: Record<string, string>, args: ReadonlyArray<string> = []): Effect.Effect<
  Proc,
  never,
  CommandExecutor.CommandExecutor | Scope.Scope
> =>
  Effect.gen(function*() {
    const process = yield* Command.make("node", ...(file.endsWith(".ts") ? ["--import", tsx] : []), file, ...args).pipe(
      Command.env({ TSX_TSCONFIG_PATH: path.join(root, "tsconfig.json"), ...env }),
      Command.start,
      Effect.orDie
    )
    // Runs before the release of `Command.start` (which sends SIGTERM and waits for the exit without a deadline):
    // a process still running when the test ends is killed outright.
    yield* Effect.addFinalizer(() => Effect.ignore(process.kill("SIGKILL")))
    const output = yield* Ref.make("")
    const drain = (stream: typeof process.stdout) =>
      stream.pipe(
        Stream.decodeText(),
        Stream.runForEach((text) => Ref.update(output, (all) => all + text)),
        Effect.ignore,
        Effect.forkScoped
      )
    yield* drain(process.stdout)
    yield* drain(process.stderr)
    const name = `${path.basename(file)} ${args.join(" ")}`.trim()
    return {
      pid: process.pid,
      kill: (signal) => Effect.ignore(process.kill(signal)),
      exited: (seconds) =>
        // A process ended by a signal has no exit code: -1.
        Effect.orElseSucceed(process.exitCode, () => -1).pipe(
          Effect.timeout(`${seconds} seconds`),
          Effect.catchTag("TimeoutException", () =>
            Effect.flatMap(Ref.get(output), (text) =>
              Effect.dieMessage(
                `${name} (pid ${process.pid}) did not exit within ${seconds} s; its output:\n${text.slice(-4000)}`
              )))
        ),
      output: Ref.get(output)
    }
  })

/** Polls until `f` is true, at most `seconds`; on timeout, dies with `explain`'s account of the state. */
export const until = (
  what: string,
  seconds: number,
  f: Effect.Effect<boolean, unknown>,
  explain?: Effect.Effect<string>
) =>
  f.pipe(
    Effect.orDie,
    Effect.repeat({ schedule: Schedule.spaced("100 millis"), until: (done) => done }),
    Effect.timeout(`${seconds} seconds`),
    Effect.catchTag("TimeoutException", () =>
      Effect.flatMap(
        explain ?? Effect.succeed(""),
        (state) =>
          Effect.dieMessage(`timed out after ${seconds} s waiting for ${what}${state === "" ? "" : `\n${state}`}`)
      ))
  )

/** A call of the test runners' `echo` agent, as runner.ts logs it. */
export interface Call {
  readonly event: "start" | "end"
  readonly runId: string
  readonly taskId: string
  readonly port: string
  readonly at: number
  readonly pid: number
}

/** Every agent call logged by the runners (one file per runner process). */
export const readCalls = (directory: string): Array<Call> =>
  fs.readdirSync(directory).filter((file) => file.startsWith("calls-")).flatMap((file) => {
    const pid = Number(file.slice("calls-".length, -".log".length))
    return fs.readFileSync(path.join(directory, file), "utf8").split("\n").filter((line) => line !== "").map(
      (line): Call => {
        const [event, runId, taskId, port, at] = line.split("\t")
        return { event: event as Call["event"], runId: runId!, taskId: taskId!, port: port!, at: Number(at), pid }
      }
    )
  })

/**
 * The most calls under way at once, over `calls` (only those that start at or after `from`, if given); a call with
 * no end ends at `endOf` (its runner was killed).
 */
export const peakOverlap = (calls: ReadonlyArray<Call>, endOf: (call: Call) => number, from = -Infinity): number => {
  // A runner's log is in the order of its calls, so a call's end is the next end of the same task on the same
  // runner after its start (a task whose call was interrupted may be called again there).
  const key = (call: Call) => `${call.pid}/${call.runId}/${call.taskId}`
  const open = new Map<string, Array<{ readonly start: Call; end: number | undefined }>>()
  const spans: Array<{ readonly start: Call; end: number | undefined }> = []
  for (const call of calls) {
    const waiting = open.get(key(call)) ?? []
    open.set(key(call), waiting)
    if (call.event === "start") {
      const span = { start: call, end: undefined }
      spans.push(span)
      waiting.push(span)
    } else {
      const span = waiting.shift()
      if (span !== undefined) span.end = call.at
    }
  }
  const events = spans.filter(({ start }) => start.at >= from).flatMap(({ end, start }) => [
    { at: start.at, delta: 1 },
    { at: end ?? endOf(start), delta: -1 }
  ])
  // At the same millisecond, an end comes before a start: a slot freed and taken again.
  events.sort((a, b) => a.at - b.at || a.delta - b.delta)
  let running = 0
  let peak = 0
  for (const { delta } of events) peak = Math.max(peak, running += delta)
  return peak
}
