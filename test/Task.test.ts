import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer } from "effect"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as Executor from "../src/Executor.js"
import * as RunJournal from "../src/RunJournal.js"
import * as RunReportHtml from "../src/RunReportHtml.js"
import * as Task from "../src/Task.js"
import * as TaskFile from "../src/TaskFile.js"

describe("Task", () => {
  describe("make", () => {
    it("keeps the id and the input, and has no timeout and empty frozen labels by default", () => {
      const input = { text: "hello" }
      const task = Task.make({ id: "doc-1", input })
      assert.strictEqual(task.id, "doc-1")
      assert.strictEqual(task.input, input)
      assert.isUndefined(task.timeout)
      assert.deepStrictEqual(task.labels, {})
      assert.isTrue(Object.isFrozen(task.labels))
    })

    it("decodes the timeout to a Duration", () => {
      const fromString = Task.make({ id: "a", input: 0, timeout: "2 seconds" })
      assert(fromString.timeout !== undefined && Duration.isDuration(fromString.timeout))
      assert.strictEqual(Duration.toMillis(fromString.timeout), 2000)
      const fromNumber = Task.make({ id: "b", input: 0, timeout: 1500 })
      assert.strictEqual(Duration.toMillis(fromNumber.timeout!), 1500)
      const fromDuration = Task.make({ id: "c", input: 0, timeout: Duration.minutes(1) })
      assert.strictEqual(Duration.toMillis(fromDuration.timeout!), 60_000)
    })

    it("does not throw on a timeout that is not a duration: the task keeps none, and the run reports it", () => {
      // What the types allow, or what arrives from untyped data such as a JSON file.
      // Zero too: as with the run's timeout, it would stop the task before it starts.
      for (
        const timeout of ["soon" as Duration.DurationInput, NaN, -1, "-2 seconds" as const, 0, "0 seconds" as const]
      ) {
        const task = Task.make({ id: "a", input: 0, timeout })
        assert.isUndefined(task.timeout)
        assert.include(Task.timeoutError(task), "expected a duration")
      }
      assert.isUndefined(Task.timeoutError(Task.make({ id: "b", input: 0, timeout: "1 millis" })))
      const tasks = Task.fromIterable([1, 2], { timeout: "whenever" as Duration.DurationInput })
      assert.isTrue(tasks.every((task) => task.timeout === undefined && Task.timeoutError(task) !== undefined))
    })

    it.effect("a task object not made here (from JavaScript) whose timeout is not a duration fails on its own", () =>
      Effect.gen(function*() {
        // Its timeout was never checked: "soon" died the whole run in Duration.toMillis, and 0 timed it out at once.
        const tasks = [
          { id: "a", input: "x", timeout: "soon", labels: {} },
          { id: "b", input: "y", timeout: 0, labels: {} },
          { id: "c", input: "z", timeout: "1 hour", labels: {} }
        ] as unknown as ReadonlyArray<Task.Task<string>>
        const agent = yield* TestAgent.succeed("upper", (s: string) => s.toUpperCase())
        const report = yield* Executor.run(tasks, agent.factory)
        assert.deepStrictEqual(
          report.results.map((r) => r._tag === "Failed" ? (r.error as any).option : r._tag),
          ["timeout", "timeout", "Succeeded"]
        )
        assert.strictEqual((yield* agent.stats).builds, 1)
      }).pipe(Effect.provide(Executor.layer())))

    it("keeps the labels it is given", () => {
      const task = Task.make({ id: "a", input: 0, labels: { lang: "en", source: "web" } })
      assert.deepStrictEqual(task.labels, { lang: "en", source: "web" })
    })

    it("does not share labels between tasks made without them", () => {
      const a = Task.make({ id: "a", input: 0 })
      const b = Task.make({ id: "b", input: 1 })
      // The shared default must not be writable, or one task could change another's labels.
      assert.throws(() => {
        ;(a.labels as Record<string, string>).lang = "en"
      })
      assert.deepStrictEqual(b.labels, {})
    })
  })

  describe("fromIterable", () => {
    it("makes one task per input, with ids from their positions", () => {
      const tasks = Task.fromIterable(["a", "b", "c"])
      assert.deepStrictEqual(tasks.map((task) => task.id), ["0", "1", "2"])
      assert.deepStrictEqual(tasks.map((task) => task.input), ["a", "b", "c"])
      assert.isTrue(tasks.every((task) => task.timeout === undefined))
      assert.isTrue(tasks.every((task) => Object.isFrozen(task.labels) && Object.keys(task.labels).length === 0))
    })

    it.effect("makes an id that is not a string one, as ids from JSON data are: a durable run and its page take them", () =>
      Effect.gen(function*() {
        // `JSON.parse` gives `any`, so an id function that reads a number compiles.
        const rows = JSON.parse(`[{"id": 1, "text": "a"}, {"id": 2, "text": "b"}]`)
        const tasks = Task.fromIterable(rows as ReadonlyArray<{ readonly text: string }>, { id: (row: any) => row.id })
        assert.deepStrictEqual(tasks.map((task) => task.id), ["1", "2"])
        assert.strictEqual(Task.make({ id: 7 as any, input: 0 }).id, "7")
        const agent = yield* TestAgent.succeed("upper", (row: { readonly text: string }) => row.text.toUpperCase())
        const report = yield* Executor.run(tasks, agent.factory, { durable: { runId: "json-ids" } })
        assert.deepStrictEqual(report.summary, { total: 2, succeeded: 2, failed: 0, timedOut: 0, interrupted: 0 })
        assert.deepStrictEqual(report.results.map((result) => TaskFile.resultLine(result).id), ["1", "2"])
        assert.include(RunReportHtml.toHtml(report), `data-task-id="2"`)
      }).pipe(Effect.provide(Layer.mergeAll(Executor.layer(), RunJournal.layerMemory))))

    it("returns no tasks for no inputs", () => {
      assert.deepStrictEqual(Task.fromIterable([]), [])
    })

    it("passes the input and its index to the id and labels functions", () => {
      const idCalls: Array<[string, number]> = []
      const labelCalls: Array<[string, number]> = []
      const tasks = Task.fromIterable(["x", "y", "z"], {
        id: (input, index) => {
          idCalls.push([input, index])
          return `${input}-${index * 10}`
        },
        labels: (input, index) => {
          labelCalls.push([input, index])
          return { letter: input, parity: index % 2 === 0 ? "even" : "odd" }
        }
      })
      assert.deepStrictEqual(tasks.map((task) => task.id), ["x-0", "y-10", "z-20"])
      assert.deepStrictEqual(tasks.map((task) => task.labels), [
        { letter: "x", parity: "even" },
        { letter: "y", parity: "odd" },
        { letter: "z", parity: "even" }
      ])
      assert.deepStrictEqual(idCalls, [["x", 0], ["y", 1], ["z", 2]])
      assert.deepStrictEqual(labelCalls, [["x", 0], ["y", 1], ["z", 2]])
    })

    it("gives every task the shared timeout", () => {
      const tasks = Task.fromIterable([1, 2, 3], { timeout: "250 millis" })
      assert.deepStrictEqual(tasks.map((task) => Duration.toMillis(task.timeout!)), [250, 250, 250])
    })

    it("reads any iterable once, such as a generator", () => {
      let pulled = 0
      function* inputs() {
        for (const word of ["alpha", "beta", "gamma"]) {
          pulled++
          yield word
        }
      }
      const tasks = Task.fromIterable(inputs(), { id: (word) => word })
      assert.strictEqual(pulled, 3)
      assert.deepStrictEqual(tasks.map((task) => [task.id, task.input]), [
        ["alpha", "alpha"],
        ["beta", "beta"],
        ["gamma", "gamma"]
      ])
      const fromSet = Task.fromIterable(new Set([10, 20]))
      assert.deepStrictEqual(fromSet.map((task) => [task.id, task.input]), [["0", 10], ["1", 20]])
      const fromMap = Task.fromIterable(new Map([["k", 1]]))
      assert.deepStrictEqual(fromMap.map((task) => task.input), [["k", 1]])
    })
  })

  describe("isTask", () => {
    it("recognises tasks and nothing else", () => {
      assert.isTrue(Task.isTask(Task.make({ id: "a", input: 1 })))
      assert.isTrue(Task.isTask(Task.fromIterable([1])[0]))
      assert.isFalse(Task.isTask({ id: "a", input: 1, timeout: undefined, labels: {} }))
      assert.isFalse(Task.isTask(null))
      assert.isFalse(Task.isTask(undefined))
      assert.isFalse(Task.isTask("task"))
    })
  })

  describe("toJSON", () => {
    it("gives a plain object with the timeout formatted", () => {
      const task = Task.make({ id: "a", input: { n: 1 }, timeout: "1500 millis", labels: { lang: "en" } })
      assert.deepStrictEqual(JSON.parse(JSON.stringify(task)), {
        id: "a",
        input: { n: 1 },
        timeout: "1s 500ms",
        labels: { lang: "en" }
      })
    })

    it("leaves the timeout out when there is none", () => {
      const json = JSON.parse(JSON.stringify(Task.make({ id: "b", input: [1, 2] })))
      assert.deepStrictEqual(json, { id: "b", input: [1, 2], labels: {} })
    })
  })
})
