import { assert, describe, it } from "@effect/vitest"
import { Cause, Option, pipe } from "effect"
import * as AgentInstance from "../src/AgentInstance.js"
import * as Aggregate from "../src/Aggregate.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"

let nextIndex = 0
const meta = (): TaskResult.Meta => {
  const index = nextIndex++
  const id = String(index)
  return {
    task: Task.make({ id, input: index }),
    index,
    instance: AgentInstance.make({ agent: "voter", runId: "r", taskId: id, attempt: 1 }),
    startedAt: 0,
    durationMillis: 10
  }
}

const ok = <A>(value: A): TaskResult.TaskResult<A, string> => TaskResult.succeeded(meta(), value)
const failed = <A = never>(error = "failed"): TaskResult.TaskResult<A, string> =>
  TaskResult.failed(meta(), Cause.fail(error))
const timedOut = <A = never>(): TaskResult.TaskResult<A, string> =>
  TaskResult.timedOut(meta(), { reason: "TaskTimeout", timeout: 100 })
const interrupted = <A = never>(): TaskResult.TaskResult<A, string> =>
  TaskResult.interrupted(meta(), { reason: "Interrupted" })

const votesFor = (...labels: ReadonlyArray<string>) => labels.map((label) => ok({ label }))
const byLabel = (value: { readonly label: string }) => value.label

describe("Aggregate", () => {
  describe("make and run", () => {
    it("folds the results in order from the initial state", () => {
      const seen = Aggregate.make(
        [] as ReadonlyArray<string>,
        (state, result: TaskResult.TaskResult<number, string>) => [...state, `${result._tag}:${result.taskId}`]
      )
      const results = [ok(1), failed<number>(), ok(2)]
      const ids = results.map((r) => r.taskId)
      assert.deepStrictEqual(Aggregate.run(seen, results), [
        `Succeeded:${ids[0]}`,
        `Failed:${ids[1]}`,
        `Succeeded:${ids[2]}`
      ])
    })

    it("returns the initial state for no results", () => {
      assert.strictEqual(Aggregate.run(Aggregate.make(42, (n: number) => n + 1), []), 42)
    })

    it("run is dual", () => {
      const total = Aggregate.make(
        0,
        (sum, result: TaskResult.TaskResult<number, string>) => result._tag === "Succeeded" ? sum + result.value : sum
      )
      const results = [ok(1), ok(2), timedOut<number>(), ok(4)]
      assert.strictEqual(Aggregate.run(total, results), 7)
      assert.strictEqual(pipe(total, Aggregate.run(results)), 7)
      assert.strictEqual(total.pipe(Aggregate.run(results)), 7)
    })

    it("run reads any iterable", () => {
      function* results() {
        yield ok(1)
        yield ok(2)
      }
      assert.deepStrictEqual(Aggregate.run(Aggregate.successes<number>(), results()), [1, 2])
    })

    it("isAggregate recognises aggregates and nothing else", () => {
      assert.isTrue(Aggregate.isAggregate(Aggregate.successes()))
      assert.isTrue(Aggregate.isAggregate(Aggregate.make(0, (n: number) => n)))
      assert.isTrue(Aggregate.isAggregate(Aggregate.map(Aggregate.quorum(0.5), (q) => q.reached)))
      assert.isFalse(Aggregate.isAggregate({ start: () => ({ step: () => {}, done: () => 0 }) }))
      assert.isFalse(Aggregate.isAggregate(undefined))
    })
  })

  describe("fromFold", () => {
    it("starts a new fold for every run", () => {
      let starts = 0
      const count = Aggregate.fromFold(() => {
        starts++
        let n = 0
        return {
          step: (_: TaskResult.TaskResult<unknown, unknown>) => {
            n++
          },
          done: () => n
        }
      })
      assert.strictEqual(starts, 0)
      assert.strictEqual(Aggregate.run(count, [ok(1), ok(2), failed()]), 3)
      assert.strictEqual(Aggregate.run(count, [ok(1)]), 1)
      assert.strictEqual(starts, 2)
    })
  })

  describe("map", () => {
    it("transforms the value, data-first and data-last", () => {
      const results = [ok(3), ok(4), failed<number>()]
      const count = Aggregate.map(Aggregate.successes<number>(), (values) => values.length)
      assert.strictEqual(Aggregate.run(count, results), 2)
      const sum = Aggregate.successes<number>().pipe(Aggregate.map((values) => values.reduce((a, b) => a + b, 0)))
      assert.strictEqual(Aggregate.run(sum, results), 7)
    })

    it("maps once per run, after every step", () => {
      const calls: Array<number> = []
      const mapped = Aggregate.map(Aggregate.successes<number>(), (values) => {
        calls.push(values.length)
        return values.length
      })
      Aggregate.run(mapped, [ok(1), ok(2)])
      Aggregate.run(mapped, [ok(1)])
      assert.deepStrictEqual(calls, [2, 1])
    })
  })

  describe("struct", () => {
    it("runs every field over the same results in one pass", () => {
      const both = Aggregate.struct({
        values: Aggregate.successes<{ readonly label: string }>(),
        counts: Aggregate.countBy(byLabel),
        quorum: Aggregate.quorum(0.5)
      })
      const results = [...votesFor("a", "b", "a"), failed<{ readonly label: string }>()]
      const value = Aggregate.run(both, results)
      assert.deepStrictEqual(Object.keys(value), ["values", "counts", "quorum"])
      assert.deepStrictEqual(value.values, [{ label: "a" }, { label: "b" }, { label: "a" }])
      assert.deepStrictEqual(value.counts, { a: 2, b: 1 })
      assert.strictEqual(value.quorum.succeeded, 3)
      assert.strictEqual(value.quorum.total, 4)
    })

    it("an empty struct gives an empty object", () => {
      assert.deepStrictEqual(Aggregate.run(Aggregate.struct({}), [ok(1)]), {})
    })
  })

  describe("successes", () => {
    it("keeps the successful values in input order", () => {
      const results = [ok("a"), failed<string>(), ok("b"), timedOut<string>(), interrupted<string>(), ok("c")]
      assert.deepStrictEqual(Aggregate.run(Aggregate.successes<string>(), results), ["a", "b", "c"])
    })
  })

  describe("countBy", () => {
    it("counts the successful values by key, ignoring the rest", () => {
      const results = [...votesFor("spam", "ham", "spam", "spam"), failed<{ readonly label: string }>(), timedOut()]
      assert.deepStrictEqual(Aggregate.run(Aggregate.countBy(byLabel), results), { spam: 3, ham: 1 })
    })

    it("counts keys that are also names of Object.prototype members", () => {
      const results = votesFor("constructor", "toString", "constructor", "__proto__", "valueOf")
      const counts = Aggregate.run(Aggregate.countBy(byLabel), results)
      assert.deepStrictEqual(
        Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)),
        [["__proto__", 1], ["constructor", 2], ["toString", 1], ["valueOf", 1]]
      )
    })
  })

  describe("partition", () => {
    it("splits the values from the results that did not succeed, in input order", () => {
      const f = failed<number>("x")
      const t = timedOut<number>()
      const i = interrupted<number>()
      const results = [ok(1), f, ok(2), t, i, ok(3)]
      const parts = Aggregate.run(Aggregate.partition<number, string>(), results)
      assert.deepStrictEqual(parts.succeeded, [1, 2, 3])
      assert.strictEqual(parts.failed.length, 3)
      assert.strictEqual(parts.failed[0], f)
      assert.strictEqual(parts.failed[1], t)
      assert.strictEqual(parts.failed[2], i)
    })
  })

  describe("majority", () => {
    const vote = (results: ReadonlyArray<TaskResult.TaskResult<{ readonly label: string }, string>>) =>
      Aggregate.run(Aggregate.majority(byLabel), results)

    it("names the key chosen by more than half of the votes cast", () => {
      const result = vote(votesFor("yes", "no", "yes"))
      assert.deepStrictEqual(result.winner, Option.some("yes"))
      assert.deepStrictEqual(result.votes, { yes: 2, no: 1 })
      assert.strictEqual(result.cast, 3)
      assert.strictEqual(result.missing, 0)
    })

    it("a unanimous single vote wins", () => {
      assert.deepStrictEqual(vote(votesFor("only")).winner, Option.some("only"))
    })

    it("a tie has no winner", () => {
      const result = vote(votesFor("yes", "no", "no", "yes"))
      assert.deepStrictEqual(result.winner, Option.none())
      assert.deepStrictEqual(result.votes, { yes: 2, no: 2 })
    })

    it("exactly half is not a majority", () => {
      assert.deepStrictEqual(vote(votesFor("a", "a", "b", "c")).winner, Option.none())
    })

    it("a plurality is not a majority", () => {
      const result = vote(votesFor("a", "a", "b", "c", "d"))
      assert.deepStrictEqual(result.winner, Option.none())
      assert.deepStrictEqual(result.votes, { a: 2, b: 1, c: 1, d: 1 })
    })

    it("counts tasks that did not succeed as missing, not as votes", () => {
      const results = [
        ...votesFor("a", "a"),
        failed<{ readonly label: string }>(),
        timedOut<{ readonly label: string }>(),
        interrupted<{ readonly label: string }>(),
        ...votesFor("b")
      ]
      const result = vote(results)
      // 2 of the 3 votes cast, even though only 2 of the 6 tasks.
      assert.deepStrictEqual(result.winner, Option.some("a"))
      assert.strictEqual(result.cast, 3)
      assert.strictEqual(result.missing, 3)
    })

    it("no votes cast has no winner", () => {
      const result = vote([failed(), timedOut()])
      assert.deepStrictEqual(result.winner, Option.none())
      assert.deepStrictEqual(result.votes, {})
      assert.strictEqual(result.cast, 0)
      assert.strictEqual(result.missing, 2)
      assert.deepStrictEqual(vote([]), { winner: Option.none(), votes: {}, cast: 0, missing: 0 })
    })

    it("a key named like an Object.prototype member can win", () => {
      const result = vote(votesFor("constructor", "constructor", "other"))
      assert.deepStrictEqual(result.winner, Option.some("constructor"))
      assert.strictEqual(result.votes["constructor"], 2)
    })
  })

  describe("quorum", () => {
    it("is reached when at least the ratio of tasks succeeded", () => {
      const q = Aggregate.run(Aggregate.quorum(0.75), [ok(1), ok(2), ok(3), failed()])
      assert.deepStrictEqual(q, { reached: true, succeeded: 3, total: 4, ratio: 0.75, required: 0.75 })
    })

    it("is not reached below the ratio", () => {
      const q = Aggregate.run(Aggregate.quorum(0.75), [ok(1), ok(2), timedOut(), interrupted()])
      assert.deepStrictEqual(q, { reached: false, succeeded: 2, total: 4, ratio: 0.5, required: 0.75 })
    })

    it("counts every task, whatever its outcome, in the total", () => {
      const q = Aggregate.run(Aggregate.quorum(0.2), [ok(1), failed(), timedOut(), interrupted(), failed()])
      assert.strictEqual(q.total, 5)
      assert.strictEqual(q.succeeded, 1)
      assert.strictEqual(q.ratio, 0.2)
      assert.isTrue(q.reached)
    })

    it("zero tasks never reach a quorum, even a zero one", () => {
      assert.deepStrictEqual(Aggregate.run(Aggregate.quorum(0.5), []), {
        reached: false,
        succeeded: 0,
        total: 0,
        ratio: 0,
        required: 0.5
      })
      assert.isFalse(Aggregate.run(Aggregate.quorum(0), []).reached)
    })

    it("a quorum of 1 needs every task", () => {
      assert.isTrue(Aggregate.run(Aggregate.quorum(1), [ok(1), ok(2)]).reached)
      assert.isFalse(Aggregate.run(Aggregate.quorum(1), [ok(1), ok(2), failed()]).reached)
    })

    it("a ratio outside 0..1 (or NaN) is never reached, and says why", () => {
      for (const ratio of [1.5, -1, NaN, Infinity]) {
        const q = Aggregate.run(Aggregate.quorum(ratio), [ok(1), ok(2)])
        assert.isFalse(q.reached, String(ratio))
        assert.strictEqual(
          Aggregate.problemOf(Aggregate.quorum(ratio)),
          `Aggregate.quorum: expected a ratio from 0 to 1, got ${ratio}`
        )
      }
      assert.isUndefined(Aggregate.problemOf(Aggregate.quorum(0.5)))
      assert.isUndefined(Aggregate.problemOf(Aggregate.successes()))
    })

    it("the problem of a quorum is kept through map and struct", () => {
      assert.strictEqual(
        Aggregate.problemOf(Aggregate.map(Aggregate.quorum(2), (q) => q.reached)),
        "Aggregate.quorum: expected a ratio from 0 to 1, got 2"
      )
      assert.strictEqual(
        Aggregate.problemOf(Aggregate.struct({ values: Aggregate.successes(), vote: Aggregate.quorum(-0.5) })),
        "vote: Aggregate.quorum: expected a ratio from 0 to 1, got -0.5"
      )
    })
  })

  describe("fresh state", () => {
    it("one aggregate value can run twice with independent state", () => {
      const all = Aggregate.struct({
        values: Aggregate.successes<{ readonly label: string }>(),
        counts: Aggregate.countBy(byLabel),
        vote: Aggregate.majority(byLabel),
        split: Aggregate.partition<{ readonly label: string }, string>(),
        quorum: Aggregate.quorum(0.5),
        labels: Aggregate.map(Aggregate.successes<{ readonly label: string }>(), (values) => values.map(byLabel))
      })
      const first = Aggregate.run(all, [...votesFor("a", "a", "b"), failed()])
      const second = Aggregate.run(all, votesFor("c"))
      assert.deepStrictEqual(second.values, [{ label: "c" }])
      assert.deepStrictEqual(second.counts, { c: 1 })
      assert.deepStrictEqual(second.vote, { winner: Option.some("c"), votes: { c: 1 }, cast: 1, missing: 0 })
      assert.deepStrictEqual(second.split, { succeeded: [{ label: "c" }], failed: [] })
      assert.deepStrictEqual(second.quorum, { reached: true, succeeded: 1, total: 1, ratio: 1, required: 0.5 })
      assert.deepStrictEqual(second.labels, ["c"])
      // The first run's values were not touched by the second.
      assert.deepStrictEqual(first.counts, { a: 2, b: 1 })
      assert.deepStrictEqual(first.vote.winner, Option.some("a"))
      assert.strictEqual(first.values.length, 3)
      assert.strictEqual(first.split.failed.length, 1)
    })

    it("start() gives independent folds that can be interleaved", () => {
      const aggregate = Aggregate.countBy(byLabel)
      const one = aggregate.start()
      const two = aggregate.start()
      one.step(ok({ label: "x" }))
      two.step(ok({ label: "y" }))
      one.step(ok({ label: "x" }))
      assert.deepStrictEqual(one.done(), { x: 2 })
      assert.deepStrictEqual(two.done(), { y: 1 })
    })
  })
})
