import { Command } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

/** Runs an example the way the README says, `tsx examples/<name>.ts`, and returns its output and exit code. */
const runExample = (name: string) =>
  Effect.scoped(
    Effect.gen(function*() {
      const process = yield* Command.make("node", "--import", "tsx", `examples/${name}.ts`).pipe(
        Command.workingDirectory(root),
        Command.start
      )
      const [stdout, stderr, exitCode] = yield* Effect.all([
        Stream.mkString(Stream.decodeText(process.stdout)),
        Stream.mkString(Stream.decodeText(process.stderr)),
        process.exitCode
      ], { concurrency: "unbounded" })
      return { lines: stdout.trimEnd().split("\n"), stderr, exitCode }
    })
  ).pipe(Effect.provide(NodeContext.layer))

describe("examples", () => {
  it.live("classify-and-summarize prints the seed's verification block, then the speedup", () =>
    Effect.gen(function*() {
      const { exitCode, lines, stderr } = yield* runExample("classify-and-summarize")
      assert.strictEqual(exitCode, 0, stderr)
      assert.deepStrictEqual(lines.slice(0, 5), [
        "Total: 20",
        "Success: 20",
        "Failed: 0",
        "Labels: ['positive', 'negative', 'positive', 'negative', 'positive']",
        "Summaries: 20 of 20"
      ])
      const timing = lines[5]!.match(
        /^Wall time: [\d.]+ m?s for 40 agent calls \(sequential: ([\d.]+) s, ([\d.]+)x faster\)$/
      )
      assert.isNotNull(timing, lines[5])
      // 40 calls of 100 ms take 4 s one after another; two runs of 5 at once take about 400 ms (10x). The bound
      // is loose because the machine may be busy with other tests.
      assert.isAtLeast(Number(timing![1]), 4)
      assert.isAtLeast(Number(timing![2]), 2)
    }))

  it.live("partial-failure reports the failed task and aggregates the successes", () =>
    Effect.gen(function*() {
      const { exitCode, lines, stderr } = yield* runExample("partial-failure")
      assert.strictEqual(exitCode, 0, stderr)
      assert.deepStrictEqual(lines.slice(0, 3), ["Total: 20", "Success: 19", "Failed: 1"])
      assert.match(
        lines[3]!,
        /^Failed task: doc-7 \(classifier#\w+\/doc-7\/1\): ModelRefused: the model refused: document 7 is not/
      )
      assert.strictEqual(lines[4], "Labels over the 19 successes: positive 10, negative 9 (1 missing)")
    }))

  it.live("agent-factory keeps every instance's state to itself and releases every session", () =>
    Effect.gen(function*() {
      const { exitCode, lines, stderr } = yield* runExample("agent-factory")
      assert.strictEqual(exitCode, 0, stderr)
      const output = lines.join("\n")
      assert.strictEqual(lines.filter((line) => line.includes("3 notes, all its own")).length, 5)
      assert.match(output, /researcher#demo\/t4\/1 {2}deep-dive {2}timed out after \d+ ms, its session released/)
      assert.include(output, "Sessions opened: 6, closed: 6, open now: 0")
      assert.include(output, "Session pool built: 1 time, shared by every instance")
      assert.include(output, "Scratchpad notes seen by another instance: 0")
    }))
})
