import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Config,
  ConfigProvider,
  Context,
  Duration,
  Effect,
  Exit,
  Fiber,
  Layer,
  Logger,
  Metric,
  Option,
  Ref,
  Schedule,
  Schema,
  Stream,
  Supervisor,
  TestClock,
  Tracer
} from "effect"
import * as Os from "node:os"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as Agent from "../src/Agent.js"
import * as AgentError from "../src/AgentError.js"
import * as AgentInstance from "../src/AgentInstance.js"
import * as Aggregate from "../src/Aggregate.js"
import * as Executor from "../src/Executor.js"
import * as ExecutorConfig from "../src/ExecutorConfig.js"
import * as ExecutorMetrics from "../src/ExecutorMetrics.js"
import * as RunEvent from "../src/RunEvent.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"
import { uniqueName, withClock } from "./utils.js"

const provide = <A, E, R>(effect: Effect.Effect<A, E, R>, options?: ExecutorConfig.Options) =>
  Effect.provide(effect, Executor.layer(options))

describe("Executor", () => {
  describe("results", () => {
    it.effect("reports every task in input order, with instance, attempt, start and duration", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("upper", (s: string) => `${s.length * 10} millis`, (s) => s.toUpperCase())
        const inputs = ["ccc", "a", "bb", "dddd", "e"]
        const report = yield* withClock(Executor.run(Task.fromIterable(inputs), agent.factory, { runId: "r1" }))
        assert.deepStrictEqual(report.results.map((r) => r.taskId), ["0", "1", "2", "3", "4"])
        assert.deepStrictEqual(RunReportValues(report.results), ["CCC", "A", "BB", "DDDD", "E"])
        assert.deepStrictEqual(report.results.map((r) => r.agent), inputs.map((_, i) => `upper#r1/${i}/1`))
        assert.deepStrictEqual(report.results.map((r) => r.attempt), [1, 1, 1, 1, 1])
        assert.deepStrictEqual(report.results.map((r) => r.durationMillis), [30, 10, 20, 40, 10])
        assert.deepStrictEqual(report.results.map((r) => r.startedAt), [0, 0, 0, 0, 0])
        assert.deepStrictEqual(report.summary, { total: 5, succeeded: 5, failed: 0, timedOut: 0, interrupted: 0 })
        assert.strictEqual(report.runId, "r1")
        assert.strictEqual(report.agent, "upper")
      }).pipe(provide, Effect.provide(Layer.empty)))

    it.effect("an empty run reports nothing and builds nothing", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("noop", (n: number) => n)
        const report = yield* Executor.run([], agent.factory)
        assert.deepStrictEqual(report.summary, { total: 0, succeeded: 0, failed: 0, timedOut: 0, interrupted: 0 })
        assert.strictEqual((yield* agent.stats).builds, 0)
      }).pipe(provide))

    it.effect("keeps typed failures and defects to their task, with the whole cause", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "mixed",
          run: (n: number) =>
            n === 1
              ? Effect.fail({ _tag: "RateLimited" as const, n })
              : n === 2
              ? Effect.die(new Error("boom"))
              : Effect.succeed(n)
        })
        const report = yield* Executor.run(Task.fromIterable([0, 1, 2, 3]), agent.factory, { concurrency: 2 })
        assert.deepStrictEqual(report.results.map((r) => r._tag), ["Succeeded", "Failed", "Failed", "Succeeded"])
        const failed = report.results[1]!
        assert(TaskResult.isFailed(failed))
        assert.deepStrictEqual(Cause.failureOption(failed.cause), Option.some({ _tag: "RateLimited" as const, n: 1 }))
        const died = report.results[2]!
        assert(TaskResult.isFailed(died))
        assert(Cause.isDie(died.cause))
        assert.strictEqual((Cause.squash(died.cause) as Error).message, "boom")
        assert.strictEqual(TaskResult.message(died), "boom")
        assert.deepStrictEqual(report.summary, { total: 4, succeeded: 2, failed: 2, timedOut: 0, interrupted: 0 })
        const stats = yield* agent.stats
        assert.strictEqual(stats.builds, 4)
        assert.strictEqual(stats.releases, 4)
      }).pipe(provide))

    it.effect("an agent that interrupts itself is reported Interrupted and the run goes on", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "quitter",
          run: (n: number) => n === 0 ? Effect.interrupt : Effect.succeed(n)
        })
        const report = yield* Executor.run(Task.fromIterable([0, 1, 2]), agent.factory, { concurrency: 1 })
        assert.deepStrictEqual(report.results.map((r) => r._tag), ["Interrupted", "Succeeded", "Succeeded"])
        const first = report.results[0]!
        assert(TaskResult.isInterrupted(first))
        assert.strictEqual(first.reason, "Interrupted")
        assert.isTrue(first.started)
      }).pipe(provide))

    it.effect("aggregates the results", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "label",
          run: (n: number) => n % 5 === 4 ? Effect.fail("no label") : Effect.succeed({ label: n % 2 ? "odd" : "even" })
        })
        const report = yield* Executor.run(Task.fromIterable([0, 1, 2, 3, 4, 5]), agent.factory, {
          aggregate: Aggregate.struct({
            labels: Aggregate.countBy((value: { readonly label: string }) => value.label),
            split: Aggregate.partition()
          })
        })
        assert.deepStrictEqual(report.aggregate.labels, { even: 2, odd: 3 })
        assert.strictEqual(report.aggregate.split.succeeded.length, 5)
        assert.deepStrictEqual(report.aggregate.split.failed.map((r) => r.taskId), ["4"])
      }).pipe(provide))
  })

  it.effect("a quorum outside 0..1 fails the run with RunOptionsError before any task starts", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.succeed(uniqueName("quorum"), (n: number) => n)
      for (const ratio of [1.5, -1, NaN]) {
        const error = yield* Effect.flip(
          Executor.run(Task.fromIterable([1, 2]), agent.factory, {
            aggregate: Aggregate.struct({ quorum: Aggregate.quorum(ratio) })
          })
        )
        assert.strictEqual(error._tag, "RunOptionsError")
        assert.strictEqual(error.option, "aggregate")
        assert.strictEqual(error.description, `quorum: Aggregate.quorum: expected a ratio from 0 to 1, got ${ratio}`)
      }
      assert.strictEqual((yield* agent.stats).builds, 0)
    }).pipe(provide))

  it.effect("a task list holding something that is not a task fails with RunOptionsError naming its position", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.succeed(uniqueName("not-a-task"), (n: number) => n)
      const cases: ReadonlyArray<readonly [ReadonlyArray<unknown>, string]> = [
        [[null], "expected a task at position 0 (an object with an id), got null"],
        [
          [Task.make({ id: "a", input: 1 }), undefined],
          "expected a task at position 1 (an object with an id), got undefined"
        ],
        [
          [Task.make({ id: "a", input: 1 }), Task.make({ id: "b", input: 2 }), 3],
          "expected a task at position 2 (an object with an id), got 3"
        ],
        [[{ input: 1 }], "expected a task at position 0 (an object with an id), got an object without an id"]
      ]
      for (const [tasks, description] of cases) {
        const error = yield* Effect.flip(Executor.run(tasks as ReadonlyArray<Task.Task<number>>, agent.factory))
        assert.strictEqual(error._tag, "RunOptionsError")
        assert.strictEqual(error.option, "tasks")
        assert.strictEqual(error.description, description)
      }
      const one = yield* Effect.flip(Executor.runOne(null as unknown as Task.Task<number>, agent.factory))
      assert.strictEqual(one._tag, "RunOptionsError")
      assert.strictEqual(one.description, "expected a task at position 0 (an object with an id), got null")
      assert.strictEqual((yield* agent.stats).builds, 0)
    }).pipe(provide))

  it.effect("a stream of tasks holding something that is not a task: the tasks before it are reported, then the stream fails naming its position", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.succeed(uniqueName("not-a-task-stream"), (n: number) => n)
      const tasks = [
        Task.make({ id: "a", input: 1 }),
        Task.make({ id: "b", input: 2 }),
        null,
        Task.make({ id: "c", input: 3 })
      ]
      // In chunks of one task, and in one chunk (the tasks before it in that chunk go in too).
      for (const source of [Stream.rechunk(1), Stream.rechunk(4)]) {
        const seen: Array<string> = []
        const exit = yield* Executor.stream(
          Stream.fromIterable(tasks as ReadonlyArray<Task.Task<number>>).pipe(source),
          agent.factory,
          { concurrency: 1 }
        ).pipe(
          Stream.runForEach((result) => Effect.sync(() => seen.push(`${result.taskId}:${result._tag}`))),
          Effect.exit
        )
        assert.strictEqual(seen.length, 2, seen.join())
        assert.strictEqual(seen[0], "a:Succeeded")
        assert.match(seen[1]!, /^b:/)
        assert(Exit.isFailure(exit))
        const error = Cause.failureOption(exit.cause)
        assert(Option.isSome(error))
        assert.strictEqual((error.value as AgentError.RunOptionsError).option, "tasks")
        assert.strictEqual(
          (error.value as AgentError.RunOptionsError).description,
          "expected a task at position 2 (an object with an id), got null"
        )
      }
    }).pipe(provide))

  describe("fresh agents", () => {
    it.effect("builds one instance per task, never shares its state, and releases every one", () =>
      Effect.gen(function*() {
        class Counter extends Context.Tag("Counter")<Counter, Agent.Agent<number, number>>() {}
        const released = yield* Ref.make(0)
        const CounterLive = Layer.scoped(
          Counter,
          Effect.gen(function*() {
            let calls = 0
            yield* Effect.addFinalizer(() => Ref.update(released, (n) => n + 1))
            return Agent.make({
              name: "counter",
              run: (n: number) =>
                Effect.gen(function*() {
                  calls++
                  yield* Effect.sleep(Duration.millis(n))
                  return calls
                })
            })
          })
        )
        const report = yield* withClock(
          Executor.run(Task.fromIterable([30, 10, 20, 5, 15, 25]), Agent.factory(Counter, CounterLive), {
            concurrency: 3
          })
        )
        // Every instance saw exactly one call: nothing leaked from another task.
        assert.deepStrictEqual(RunReportValues(report.results), [1, 1, 1, 1, 1, 1])
        assert.strictEqual(yield* Ref.get(released), 6)
      }).pipe(provide))

    it.effect("gives each instance a unique name the factory can read", () =>
      Effect.gen(function*() {
        class Named extends Context.Tag("named")<Named, Agent.Agent<string, string>>() {}
        const NamedLive = Layer.effect(
          Named,
          Effect.map(AgentInstance.AgentInstance, (instance) =>
            Agent.make({
              name: "named",
              run: (input: string) =>
                Effect.succeed(`${instance.agent}|${instance.runId}|${instance.taskId}|${instance.attempt}|${input}`)
            }))
        )
        const report = yield* Executor.run(
          Task.fromIterable(["a", "b"], { id: (input) => `task-${input}` }),
          Agent.factory(Named, NamedLive),
          { runId: "run-7" }
        )
        assert.deepStrictEqual(RunReportValues(report.results), ["named|run-7|task-a|1|a", "named|run-7|task-b|1|b"])
        assert.deepStrictEqual(report.results.map((r) => r.agent), ["named#run-7/task-a/1", "named#run-7/task-b/1"])
      }).pipe(provide))

    it.effect("builds the app's shared clients once and the agent layer once per task", () =>
      Effect.gen(function*() {
        class Client extends Context.Tag("Client")<Client, { readonly call: (s: string) => Effect.Effect<string> }>() {}
        class Echo extends Context.Tag("Echo")<Echo, Agent.Agent<string, string>>() {}
        const clientBuilds = yield* Ref.make(0)
        const agentBuilds = yield* Ref.make(0)
        const ClientLive = Layer.effect(
          Client,
          Effect.as(Ref.update(clientBuilds, (n) => n + 1), { call: (s: string) => Effect.succeed(`echo:${s}`) })
        )
        const EchoLive = Layer.effect(
          Echo,
          Effect.gen(function*() {
            const client = yield* Client
            yield* Ref.update(agentBuilds, (n) => n + 1)
            return Agent.make({ name: "echo", run: client.call })
          })
        )
        const report = yield* Executor.run(Task.fromIterable(["x", "y", "z"]), Agent.factory(Echo, EchoLive)).pipe(
          Effect.provide(ClientLive)
        )
        assert.deepStrictEqual(RunReportValues(report.results), ["echo:x", "echo:y", "echo:z"])
        assert.strictEqual(yield* Ref.get(clientBuilds), 1)
        assert.strictEqual(yield* Ref.get(agentBuilds), 3)
      }).pipe(provide))

    it.effect("builds composed layers (the general path) fresh per task too", () =>
      Effect.gen(function*() {
        class Memory extends Context.Tag("Memory")<Memory, { readonly items: Array<string> }>() {}
        class Notes extends Context.Tag("Notes")<Notes, Agent.Agent<string, number>>() {}
        const releases = yield* Ref.make(0)
        const MemoryLive = Layer.scoped(
          Memory,
          Effect.zipRight(
            Effect.addFinalizer(() => Ref.update(releases, (n) => n + 1)),
            Effect.sync(() => ({ items: [] as Array<string> }))
          )
        )
        const NotesLive = Layer.effect(
          Notes,
          Effect.map(Memory, (memory) =>
            Agent.make({
              name: "notes",
              run: (s: string) =>
                Effect.sync(() => {
                  memory.items.push(s)
                  return memory.items.length
                })
            }))
        ).pipe(Layer.provide(MemoryLive))
        const report = yield* Executor.run(Task.fromIterable(["a", "b", "c"]), Agent.factory(Notes, NotesLive), {
          concurrency: 1
        })
        assert.deepStrictEqual(RunReportValues(report.results), [1, 1, 1])
        assert.strictEqual(yield* Ref.get(releases), 3)
      }).pipe(provide))

    it.effect("a factory that fails with a typed error fails its task with AgentBuildError", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "fragile",
          build: (instance) => instance.taskId === "1" ? Effect.fail("no credentials") : Effect.void,
          run: (n: number) => Effect.succeed(n)
        })
        const report = yield* Executor.run(Task.fromIterable([0, 1, 2]), agent.factory)
        const failed = report.results[1]!
        assert(TaskResult.isFailed(failed))
        const error = Cause.squash(failed.cause)
        assert(error instanceof AgentError.AgentBuildError)
        assert.strictEqual(error.cause, "no credentials")
        assert.strictEqual(error.taskId, "1")
        assert.include(error.message, "building the agent for task 1 failed: no credentials")
        assert.deepStrictEqual(report.summary.succeeded, 2)
      }).pipe(provide))

    it.effect("a factory that dies is a build failure too: AgentBuildError with the defect", () =>
      Effect.gen(function*() {
        class Bad extends Context.Tag("Bad")<Bad, Agent.Agent<number, number>>() {}
        const defect = new Error("misconfigured")
        for (
          const factory of [
            Agent.factory(Bad, Layer.effect(Bad, Effect.die(defect))),
            Agent.effect(Bad, Effect.die(defect)),
            Agent.scoped(Bad, Effect.die(defect))
          ]
        ) {
          const report = yield* Executor.run(Task.fromIterable([0]), factory, { runId: "r" })
          const failed = report.results[0]!
          assert(TaskResult.isFailed(failed))
          const error = Cause.squash(failed.cause)
          assert(error instanceof AgentError.AgentBuildError, String(error))
          assert(error.cause instanceof Error)
          assert.strictEqual(error.cause.message, "misconfigured")
          assert.strictEqual(
            error.message,
            "Bad#r/0/1: building the agent for task 0 failed: the factory died: misconfigured"
          )
        }
      }).pipe(provide))
  })

  describe("forks", () => {
    it.effect("fibers an agent forks and leaves running end with their attempt; daemons do not", () =>
      Effect.gen(function*() {
        const alive = new Set<string>()
        const ended: Array<string> = []
        const recorded: Array<string> = []
        const forked = (name: string) =>
          Effect.onInterrupt(
            Effect.zipRight(Effect.sync(() => alive.add(name)), Effect.never),
            () => Effect.sync(() => (alive.delete(name), ended.push(name)))
          )
        let attempts = 0
        let daemon: Fiber.RuntimeFiber<never> | undefined
        const agent = yield* TestAgent.make({
          name: "forker",
          run: (n: number) =>
            Effect.gen(function*() {
              const attempt = n === 3 ? ++attempts : 1
              yield* Effect.fork(forked(`${n}/${attempt}`))
              if (n === 0) daemon = yield* Effect.forkDaemon(forked("daemon"))
              yield* Effect.sleep(n === 9 ? "1 second" : "10 millis")
              // Task 3 fails its first attempt after forking; the retry forks again.
              if (n === 3 && attempt === 1) return yield* Effect.fail({ status: 503 })
              recorded.push(`${n}/${attempt}: ${[...alive].filter((name) => name !== "daemon").sort().join(" ")}`)
              return n
            })
        })
        const fiber = yield* Effect.fork(
          Executor.run(Task.fromIterable([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), agent.factory, {
            concurrency: 2,
            retry: { schedule: Schedule.spaced("5 millis"), times: 1 }
          })
        )
        yield* TestClock.adjust("200 millis")
        // Only the last task is still running: its fork is the only one alive, besides the daemon.
        assert.deepStrictEqual([...alive].sort(), ["9/1", "daemon"])
        assert.include(ended, "3/1")
        yield* TestClock.adjust("1 second")
        const report = yield* Fiber.join(fiber)
        assert.strictEqual(report.summary.succeeded, 10)
        assert.deepStrictEqual([...alive], ["daemon"])
        yield* Fiber.interrupt(daemon!)
        assert.sameMembers(ended.filter((name) => name !== "daemon"), [
          "0/1",
          "1/1",
          "2/1",
          "3/1",
          "3/2",
          "4/1",
          "5/1",
          "6/1",
          "7/1",
          "8/1",
          "9/1"
        ])
        // While an agent runs, the forks alive are those of the tasks running then, its own included.
        for (const line of recorded) {
          const [task, forks] = line.split(": ")
          assert.include(forks!.split(" "), task!, line)
          assert.isAtMost(forks!.split(" ").length, 2, line)
        }
      }).pipe(provide))
  })

  describe("concurrency", () => {
    it.effect("never runs more agents at once than the concurrency", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("slow", "100 millis", (n: number) => n)
        const report = yield* withClock(
          Executor.run(Task.fromIterable(Array.from({ length: 10 }, (_, i) => i)), agent.factory, { concurrency: 3 })
        )
        const stats = yield* agent.stats
        assert.strictEqual(stats.peakRunning, 3)
        assert.strictEqual(report.stats.peakInFlight, 3)
        assert.strictEqual(report.stats.concurrency, 3)
        // 10 tasks of 100 ms, 3 at a time: 4 waves.
        assert.strictEqual(Duration.toMillis(report.stats.wallTime), 400)
        assert.strictEqual(Duration.toMillis(report.stats.busyTime), 1000)
        assert.strictEqual(report.stats.speedup, 2.5)
        assert.closeTo(report.stats.efficiency, 2.5 / 3, 1e-9)
      }).pipe(provide))

    it.effect("runs every task at once when unbounded", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("wide", "1 second", (n: number) => n)
        const report = yield* withClock(
          Executor.run(Task.fromIterable(Array.from({ length: 50 }, (_, i) => i)), agent.factory, {
            concurrency: "unbounded"
          })
        )
        assert.strictEqual((yield* agent.stats).peakRunning, 50)
        assert.strictEqual(Duration.toMillis(report.stats.wallTime), 1000)
        assert.strictEqual(report.stats.efficiency, 1)
      }).pipe(provide))

    it.effect("the parallel run takes about the longest task, the sequential one their sum", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("doc", (ms: number) => Duration.millis(ms), (ms) => ms)
        const latencies = [100, 300, 200, 250, 150]
        const parallel = yield* withClock(Executor.run(Task.fromIterable(latencies), agent.factory, { concurrency: 5 }))
        const sequential = yield* withClock(
          Executor.run(Task.fromIterable(latencies), agent.factory, { concurrency: 1 })
        )
        assert.strictEqual(Duration.toMillis(parallel.stats.wallTime), 300)
        assert.strictEqual(Duration.toMillis(sequential.stats.wallTime), 1000)
        assert.strictEqual(Duration.toMillis(parallel.stats.busyTime), 1000)
      }).pipe(provide))

    it.effect("rejects a concurrency that is not a positive integer, before any task starts", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("never", (n: number) => n)
        for (const concurrency of [0, -1, 2.5, Number.NaN, Number.POSITIVE_INFINITY, 10_000_000]) {
          const exit = yield* Effect.exit(Executor.run(Task.fromIterable([1]), agent.factory, { concurrency }))
          assert(Exit.isFailure(exit))
          const error = Cause.squash(exit.cause)
          assert(error instanceof AgentError.RunOptionsError)
          assert.strictEqual(error.option, "concurrency")
          assert.include(error.message, "expected a whole number from 1 to 1,000,000, or \"unbounded\"")
        }
        assert.strictEqual((yield* agent.stats).builds, 0)
      }).pipe(provide))

    it.effect("rejects task ids that repeat in a list, naming them and their positions, before any task starts", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("never-dup", (n: number) => n)
        const positions = Task.fromIterable([1, 2, 3, 4])
        const cases: ReadonlyArray<readonly [ReadonlyArray<Task.Task<number>>, string]> = [
          // Ids that are positions up to the last task, which repeats one of them.
          [[...positions, Task.make({ id: "1", input: 5 })], "\"1\" (tasks 1 and 4)"],
          // Two lists of positions put together.
          [[...positions, ...Task.fromIterable([5, 6])], "\"0\" (tasks 0 and 4), \"1\" (tasks 1 and 5)"],
          [
            [Task.make({ id: "a", input: 1 }), Task.make({ id: "b", input: 2 }), Task.make({ id: "a", input: 3 })],
            "\"a\" (tasks 0 and 2)"
          ]
        ]
        for (const [tasks, named] of cases) {
          const exit = yield* Effect.exit(Executor.run(tasks, agent.factory))
          assert(Exit.isFailure(exit))
          const error = Cause.squash(exit.cause)
          assert(error instanceof AgentError.RunOptionsError)
          assert.strictEqual(error.option, "tasks")
          assert.include(error.message, `task ids must be unique within a run: ${named}`)
        }
        assert.strictEqual((yield* agent.stats).builds, 0)
        // Ids that are positions, and ids of any other kind, run when each is used once.
        const unique = [...positions, Task.make({ id: "x", input: 5 }), Task.make({ id: "4", input: 6 })]
        assert.strictEqual((yield* withClock(Executor.run(unique, agent.factory))).summary.succeeded, 6)
      }).pipe(provide))

    it.effect("rejects a timeout or deadline that is not a duration, before any task starts", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("never-either", (n: number) => n)
        const cases: ReadonlyArray<readonly ["timeout" | "deadline", Duration.DurationInput]> = [
          ["timeout", Number.NaN],
          ["timeout", -5],
          ["timeout", 0],
          ["timeout", "0 seconds"],
          ["timeout", "-5 seconds"],
          ["timeout", "garbage" as Duration.DurationInput],
          ["deadline", "soon" as Duration.DurationInput],
          ["deadline", Number.NaN]
        ]
        for (const [option, value] of cases) {
          const exit = yield* Effect.exit(Executor.run(Task.fromIterable([1]), agent.factory, { [option]: value }))
          assert(Exit.isFailure(exit))
          const error = Cause.squash(exit.cause)
          assert(error instanceof AgentError.RunOptionsError)
          assert.strictEqual(error.option, option)
          assert.include(error.message, "expected a duration longer than zero")
        }
        assert.strictEqual((yield* agent.stats).builds, 0)
        // Every form of a duration reads the same: text with a unit, a short unit, a number of milliseconds.
        for (const timeout of ["2 seconds", "2s", "2000", 2000, Duration.seconds(2)] as const) {
          const report = yield* withClock(
            Executor.run(Task.fromIterable([1]), agent.factory, { timeout: timeout as Duration.DurationInput })
          )
          assert.strictEqual(report.summary.succeeded, 1, String(timeout))
        }
      }).pipe(provide))
  })

  describe("timeouts", () => {
    it.live("a task that ends after its timeout is TimedOut, however late the timer ran (a blocked event loop)", () =>
      Effect.gen(function*() {
        // Each agent holds the event loop for 60 ms of wall time, which no timer can cut: the watchdog only runs
        // once the agent has ended, by when its 20 ms timeout is long past. Such a task never counts as done in time.
        const busyFor = (millis: number) => {
          const until = Date.now() + millis
          while (Date.now() < until) {
            // spin
          }
        }
        const agent = yield* TestAgent.make({
          name: "blocking",
          run: (n: number) => Effect.zipRight(Effect.yieldNow(), Effect.sync(() => (busyFor(n), n)))
        })
        const slow = yield* Executor.run(Task.fromIterable(Array.from({ length: 12 }, () => 60)), agent.factory, {
          concurrency: 4,
          timeout: "20 millis",
          retry: { times: 0 }
        })
        assert.deepStrictEqual(slow.summary, { total: 12, succeeded: 0, failed: 0, timedOut: 12, interrupted: 0 })
        assert.isTrue(slow.results.every((result) => result.durationMillis >= 20))
        // The same agents within a generous timeout all succeed.
        const quick = yield* Executor.run(Task.fromIterable([1, 1, 1, 1]), agent.factory, { timeout: "10 seconds" })
        assert.strictEqual(quick.summary.succeeded, 4)
      }).pipe(provide))

    it.effect("interrupts a hung agent at its timeout, releases it, and reports how long it ran", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "hang",
          run: (n: number) => n === 1 ? Effect.never : Effect.succeed(n)
        })
        const fiber = yield* Effect.fork(
          Executor.run(Task.fromIterable([0, 1, 2]), agent.factory, { timeout: "1 second" })
        )
        yield* TestClock.adjust("999 millis")
        assert.isNull(fiber.unsafePoll())
        const before = yield* agent.stats
        assert.strictEqual(before.releases, 2)
        yield* TestClock.adjust("1 millis")
        const report = yield* Fiber.join(fiber)
        const timedOut = report.results[1]!
        assert(TaskResult.isTimedOut(timedOut))
        assert.strictEqual(timedOut.reason, "TaskTimeout")
        assert.strictEqual(timedOut.durationMillis, 1000)
        assert.strictEqual(Duration.toMillis(timedOut.timeout), 1000)
        assert(timedOut.error instanceof AgentError.AgentTimeout)
        assert.include(timedOut.error.message, "task 1 was stopped by its timeout (1s)")
        const stats = yield* agent.stats
        assert.strictEqual(stats.builds, 3)
        assert.strictEqual(stats.releases, 3)
        assert.strictEqual(stats.running, 0)
      }).pipe(provide))

    it.effect("a slot goes on with its next tasks after a timeout", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({
          name: "alternate",
          run: (n: number) => n % 2 === 0 ? Effect.never : Effect.as(Effect.sleep("10 millis"), n)
        })
        const report = yield* withClock(
          Executor.run(Task.fromIterable([0, 1, 2, 3, 4, 5]), agent.factory, { concurrency: 1, timeout: "100 millis" })
        )
        assert.deepStrictEqual(report.results.map((r) => r._tag), [
          "TimedOut",
          "Succeeded",
          "TimedOut",
          "Succeeded",
          "TimedOut",
          "Succeeded"
        ])
        assert.deepStrictEqual(report.results.map((r) => r.startedAt), [0, 100, 110, 210, 220, 320])
        assert.strictEqual(Duration.toMillis(report.stats.wallTime), 330)
        const stats = yield* agent.stats
        assert.strictEqual(stats.builds, 6)
        assert.strictEqual(stats.releases, 6)
      }).pipe(provide))

    it.effect("a task's own timeout overrides the run's", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("wait", "300 millis", (n: number) => n)
        const tasks = [
          Task.make({ id: "short", input: 0, timeout: "100 millis" }),
          Task.make({ id: "default", input: 1 }),
          Task.make({ id: "long", input: 2, timeout: "1 second" })
        ]
        const report = yield* withClock(Executor.run(tasks, agent.factory, { timeout: "200 millis" }))
        assert.deepStrictEqual(report.results.map((r) => [r._tag, r.durationMillis]), [
          ["TimedOut", 100],
          ["TimedOut", 200],
          ["Succeeded", 300]
        ])
      }).pipe(provide))

    it.effect("a task whose own timeout is not a duration fails alone, with the value, and its agent is never built", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("wait", "100 millis", (n: number) => n)
        // What the types allow, or what arrives from untyped data such as a JSON file.
        const bad: ReadonlyArray<[string, Duration.DurationInput]> = [
          ["word", "soon" as Duration.DurationInput],
          ["nan", NaN],
          ["negative", -1],
          ["negative-string", "-2 seconds"]
        ]
        const tasks = [
          Task.make({ id: "first", input: 0, timeout: "1 second" }),
          ...bad.map(([id, timeout], i) => Task.make({ id, input: i + 1, timeout })),
          Task.make({ id: "last", input: 9 })
        ]
        const report = yield* withClock(
          Executor.run(tasks, agent.factory, { concurrency: 2, retry: { times: 3 }, runId: "r" })
        )
        assert.deepStrictEqual(report.results.map((r) => r._tag), [
          "Succeeded",
          "Failed",
          "Failed",
          "Failed",
          "Failed",
          "Succeeded"
        ])
        assert.deepStrictEqual(report.summary, { total: 6, succeeded: 2, failed: 4, timedOut: 0, interrupted: 0 })
        const failed = report.results.filter(TaskResult.isFailed)
        assert.isTrue(failed.every((r) => !r.started && r.attempt === 0 && r.durationMillis === 0))
        const errors = failed.map((r) => r.error as AgentError.TaskOptionsError)
        assert.deepStrictEqual(errors.map((e) => [e._tag, e.taskId, e.option]), [
          ["TaskOptionsError", "word", "timeout"],
          ["TaskOptionsError", "nan", "timeout"],
          ["TaskOptionsError", "negative", "timeout"],
          ["TaskOptionsError", "negative-string", "timeout"]
        ])
        assert.strictEqual(
          errors[0]!.message,
          `wait: task word was not started: invalid option "timeout": expected a duration longer than zero, such as ` +
            `"30 seconds", "30s", "500ms", "2m", or a number of milliseconds, got "soon"`
        )
        assert.include(errors[1]!.message, "got NaN")
        assert.include(errors[3]!.message, `got "-2 seconds"`)
        const stats = yield* agent.stats
        assert.deepStrictEqual([stats.builds, stats.releases], [2, 2])
      }).pipe(provide))

    it.effect("uses the executor's default timeout", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.make({ name: "stuck", run: (_: number) => Effect.never })
        const report = yield* withClock(Executor.run(Task.fromIterable([0]), agent.factory))
        assert.deepStrictEqual(report.results.map((r) => [r._tag, r.durationMillis]), [["TimedOut", 250]])
      }).pipe((effect) => provide(effect, { timeout: "250 millis" })))

    it.effect("the run's deadline stops running tasks and reports those it kept from starting", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("slowpoke", "400 millis", (n: number) => n)
        // Two at a time: 0 and 1 end at 400 ms, 2 and 3 at 800 ms, 4 and 5 are cut at 1000 ms, 6 never starts.
        const report = yield* withClock(
          Executor.run(Task.fromIterable([0, 1, 2, 3, 4, 5, 6]), agent.factory, {
            concurrency: 2,
            deadline: "1 second"
          })
        )
        assert.deepStrictEqual(report.results.map((r) => r._tag), [
          "Succeeded",
          "Succeeded",
          "Succeeded",
          "Succeeded",
          "TimedOut",
          "TimedOut",
          "Interrupted"
        ])
        const cut = report.results[4]!
        assert(TaskResult.isTimedOut(cut))
        assert.strictEqual(cut.reason, "RunDeadline")
        assert.strictEqual(cut.durationMillis, 200)
        assert.strictEqual(Duration.toMillis(cut.timeout), 1000)
        assert.include(cut.error.message, "stopped by the run's deadline")
        const unstarted = report.results[6]!
        assert(TaskResult.isInterrupted(unstarted))
        assert.strictEqual(unstarted.reason, "RunDeadline")
        assert.isFalse(unstarted.started)
        assert.strictEqual(unstarted.attempt, 0)
        assert.isUndefined(unstarted.agent)
        assert.strictEqual(Duration.toMillis(report.stats.wallTime), 1000)
        assert.deepStrictEqual(report.summary, { total: 7, succeeded: 4, failed: 0, timedOut: 2, interrupted: 1 })
        const stats = yield* agent.stats
        assert.strictEqual(stats.builds, 6)
        assert.strictEqual(stats.releases, 6)
      }).pipe(provide))
  })

  describe("interruption", () => {
    it.effect("interrupting the run interrupts every running agent and releases every instance", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("long", "1 minute", (n: number) => n)
        const fiber = yield* Effect.fork(
          Executor.run(Task.fromIterable(Array.from({ length: 20 }, (_, i) => i)), agent.factory, { concurrency: 4 })
        )
        yield* TestClock.adjust("90 seconds")
        const during = yield* agent.stats
        assert.strictEqual(during.builds, 8)
        assert.strictEqual(during.running, 4)
        yield* Fiber.interrupt(fiber)
        const after = yield* agent.stats
        assert.strictEqual(after.builds, 8)
        assert.strictEqual(after.releases, 8)
        assert.strictEqual(after.running, 0)
        yield* TestClock.adjust("10 minutes")
        assert.strictEqual((yield* agent.stats).builds, 8)
      }).pipe(provide))

    // A plain run settles a task where its attempt ends (no mask on the task's fiber); a run that retries settles it
    // on the task's fiber. Either way an interrupted run counts each running task once, as interrupted.
    for (const [form, options] of [["plain", {}], ["retrying", { retry: { times: 2 } }]] as const) {
      it.effect(`interrupting a ${form} run counts each running task once, as interrupted`, () =>
        Effect.gen(function*() {
          const name = uniqueName(`interrupted-${form}`)
          const agent = yield* TestAgent.make({ name, run: (n: number) => Effect.as(Effect.sleep("1 minute"), n) })
          const fiber = yield* Effect.fork(
            Executor.run(Task.fromIterable(Array.from({ length: 20 }, (_, i) => i)), agent.factory, {
              concurrency: 4,
              ...options
            })
          )
          yield* TestClock.adjust("90 seconds")
          yield* Fiber.interrupt(fiber)
          const tagged = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>) =>
            metric.pipe(Metric.tagged("agent", name))
          assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksStarted))).count, 8)
          assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksSucceeded))).count, 4)
          assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksInterrupted))).count, 4)
          assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksInFlight))).value, 0)
          assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.taskDuration))).count, 8)
          assert.strictEqual((yield* agent.stats).releases, 8)
          yield* TestClock.adjust("10 minutes")
          assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksInterrupted))).count, 4)
          assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksStarted))).count, 8)
        }).pipe(provide))
    }
  })

  describe("schemas", () => {
    const Doc = Schema.Struct({ text: Schema.String, words: Schema.Number })
    const Label = Schema.Struct({ label: Schema.Literal("positive", "negative") })

    it.effect("a task whose input does not decode fails on its own, naming the path, and its agent is not built", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("classify", (doc: typeof Doc.Type) => doc.text.length)
        const tasks = Task.fromIterable<unknown>([
          { text: "fine", words: 1 },
          { text: 7, words: 1 },
          { text: "fine too", words: 2 }
        ])
        const report = yield* Executor.run(tasks, agent.factory, { input: Doc })
        assert.deepStrictEqual(report.results.map((r) => r._tag), ["Succeeded", "Failed", "Succeeded"])
        const failed = report.results[1]!
        assert(TaskResult.isFailed(failed))
        const error = Cause.squash(failed.cause)
        assert(error instanceof AgentError.AgentInputError)
        assert.deepStrictEqual(error.path, ["text"])
        assert.include(error.message, "the input of task 1 does not match the schema: at [\"text\"]: Expected string")
        assert.strictEqual((yield* agent.stats).builds, 2)
      }).pipe(provide))

    it.effect("reports every problem in an input, each with its path", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("classify", (doc: typeof Doc.Type) => doc.text.length)
        const report = yield* Executor.run(Task.fromIterable<unknown>([{ text: 1, words: "x" }]), agent.factory, {
          input: Doc
        })
        const failed = report.results[0]!
        assert(TaskResult.isFailed(failed))
        const error = Cause.squash(failed.cause)
        assert(error instanceof AgentError.AgentInputError)
        assert.deepStrictEqual(error.issues.map((issue) => issue.path), [["text"], ["words"]])
        assert.include(error.message, "at [\"text\"]: Expected string, actual 1; at [\"words\"]: Expected number")
      }).pipe(provide))

    it.effect("an output that does not decode fails its task, naming the path", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.succeed("model", (n: number) => ({ label: n === 1 ? "maybe" : "positive" }))
        const report = yield* Executor.run(Task.fromIterable([0, 1]), agent.factory, { output: Label })
        const ok = report.results[0]!
        assert(TaskResult.isSucceeded(ok))
        assert.deepStrictEqual(ok.value, { label: "positive" as const })
        const failed = report.results[1]!
        assert(TaskResult.isFailed(failed))
        const error = Cause.squash(failed.cause)
        assert(error instanceof AgentError.AgentOutputError)
        assert.deepStrictEqual(error.path, ["label"])
        assert.include(error.message, "the output of task 1 does not match the schema")
      }).pipe(provide))
  })

  describe("configuration", () => {
    const withEnv = (env: Record<string, string>) =>
      Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

    it.effect("reads AGENT_CONCURRENCY and AGENT_TIMEOUT", () =>
      Effect.gen(function*() {
        const config = yield* Effect.provide(
          Effect.map(Executor.Executor, (executor) => executor.config),
          Executor.layerConfig()
        ).pipe(withEnv({ AGENT_CONCURRENCY: "7", AGENT_TIMEOUT: "30 seconds" }))
        assert.strictEqual(config.concurrency, 7)
        assert.strictEqual(Duration.toMillis(config.timeout!), 30_000)
        const unbounded = yield* Effect.provide(ExecutorConfig.ExecutorConfig, ExecutorConfig.layerConfig()).pipe(
          withEnv({ AGENT_CONCURRENCY: "unbounded" })
        )
        assert.strictEqual(unbounded.concurrency, "unbounded")
      }))

    it.effect("a value given to layerConfig is used without reading its key: a malformed one it overrides is no error", () =>
      Effect.gen(function*() {
        const given = yield* Effect.provide(
          ExecutorConfig.ExecutorConfig,
          ExecutorConfig.layerConfig({ concurrency: Config.succeed(3), timeout: Config.succeed(Duration.seconds(5)) })
        ).pipe(withEnv({ AGENT_CONCURRENCY: "abc", AGENT_TIMEOUT: "abc" }))
        assert.strictEqual(given.concurrency, 3)
        assert.strictEqual(Duration.toMillis(given.timeout!), 5000)
        // The key not given is still read, and still checked.
        const exit = yield* Effect.exit(
          Effect.provide(ExecutorConfig.ExecutorConfig, ExecutorConfig.layerConfig({ concurrency: Config.succeed(3) }))
            .pipe(withEnv({ AGENT_CONCURRENCY: "abc", AGENT_TIMEOUT: "abc" }))
        )
        assert(Exit.isFailure(exit))
        assert.include(String(Cause.squash(exit.cause)), "AGENT_TIMEOUT")
      }))

    it.effect("defaults to min(32, cpus + 4) and no timeout", () =>
      Effect.gen(function*() {
        const config = yield* Effect.provide(ExecutorConfig.ExecutorConfig, ExecutorConfig.layerConfig()).pipe(
          withEnv({})
        )
        // Node 20 has no `navigator`: the CPU count comes from `os` all the same.
        assert.strictEqual(ExecutorConfig.availableParallelism(), Os.availableParallelism())
        assert.strictEqual(config.concurrency, Math.min(32, Os.availableParallelism() + 4))
        assert.isUndefined(config.timeout)
        assert.strictEqual(ExecutorConfig.defaultConcurrency(2), 6)
        assert.strictEqual(ExecutorConfig.defaultConcurrency(64), 32)
      }))

    it.effect("a malformed AGENT_CONCURRENCY is a configuration error naming the key", () =>
      Effect.gen(function*() {
        for (const value of ["abc", "0", "-3", "1.5", ""]) {
          const exit = yield* Effect.exit(
            Effect.provide(ExecutorConfig.ExecutorConfig, ExecutorConfig.layerConfig()).pipe(
              withEnv({ AGENT_CONCURRENCY: value })
            )
          )
          assert(Exit.isFailure(exit))
          assert.include(Cause.pretty(exit.cause), "AGENT_CONCURRENCY")
        }
      }))

    it.effect("values given to layerConfig win over the configuration", () =>
      Effect.gen(function*() {
        const config = yield* Effect.provide(
          ExecutorConfig.ExecutorConfig,
          ExecutorConfig.layerConfig({ concurrency: ExecutorConfig.concurrencyConfig("MY_CONCURRENCY") })
        ).pipe(withEnv({ AGENT_CONCURRENCY: "7", MY_CONCURRENCY: "3" }))
        assert.strictEqual(config.concurrency, 3)
      }))

    it.effect("runs use the executor's concurrency unless they give their own", () =>
      Effect.gen(function*() {
        const agent = yield* TestAgent.sleep("cfg", "10 millis", (n: number) => n)
        const tasks = Task.fromIterable(Array.from({ length: 12 }, (_, i) => i))
        const byDefault = yield* withClock(Executor.run(tasks, agent.factory))
        assert.strictEqual(byDefault.stats.peakInFlight, 4)
        const own = yield* withClock(Executor.run(tasks, agent.factory, { concurrency: 6 }))
        assert.strictEqual(own.stats.peakInFlight, 6)
      }).pipe((effect) => provide(effect, { concurrency: 4 })))
  })

  describe("metrics", () => {
    it.effect("counts tasks by outcome and records durations, tagged by agent", () =>
      Effect.gen(function*() {
        const name = uniqueName("metered")
        const agent = yield* TestAgent.make({
          name,
          run: (n: number) =>
            n === 0 ? Effect.fail("nope") : n === 1 ? Effect.never : Effect.as(Effect.sleep("20 millis"), n)
        })
        yield* withClock(Executor.run(Task.fromIterable([0, 1, 2, 3]), agent.factory, { timeout: "1 second" }))
        const tagged = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>) =>
          metric.pipe(Metric.tagged("agent", name))
        assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksStarted))).count, 4)
        assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksSucceeded))).count, 2)
        assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksFailed))).count, 1)
        assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksTimedOut))).count, 1)
        assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksInterrupted))).count, 0)
        assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksInFlight))).value, 0)
        const durations = yield* Metric.value(tagged(ExecutorMetrics.taskDuration))
        assert.strictEqual(durations.count, 4)
        assert.strictEqual(durations.max, 1000)
        assert.strictEqual(durations.sum, 0 + 1000 + 20 + 20)
      }).pipe(provide))

    it.effect("the series of an agent and its ambient labels are its own, whatever characters the names hold", () =>
      Effect.gen(function*() {
        const base = uniqueName("labelled")
        // An agent whose name holds control characters, and another whose name with its ambient label could be
        // written the same way: two series, never one.
        const odd = `${base}\u0000k\u0001v`
        const plain = yield* TestAgent.make({ name: base, run: (n: number) => Effect.succeed(n) })
        const strange = yield* TestAgent.make({ name: odd, run: (n: number) => Effect.succeed(n) })
        yield* Executor.run(Task.fromIterable([1, 2]), plain.factory).pipe(Effect.tagMetrics("k", "v"))
        yield* Executor.run(Task.fromIterable([1, 2, 3]), strange.factory)
        const count = (agent: string, ...extra: ReadonlyArray<[string, string]>) =>
          Effect.map(
            Metric.value(extra.reduce(
              (metric, [key, value]) => metric.pipe(Metric.tagged(key, value)),
              ExecutorMetrics.tasksSucceeded.pipe(Metric.tagged("agent", agent))
            )),
            (counter) => counter.count
          )
        assert.strictEqual(yield* count(base, ["k", "v"]), 2)
        assert.strictEqual(yield* count(odd), 3)
      }).pipe(provide))
  })
})

const RunReportValues = <A, E>(results: ReadonlyArray<TaskResult.TaskResult<A, E>>): Array<A> =>
  results.map((result) => {
    assert(TaskResult.isSucceeded(result), `expected success, got ${result._tag}: ${TaskResult.message(result)}`)
    return result.value
  })

describe("Executor.runOne", () => {
  it.effect("runs one task with the run's options: a fresh instance per attempt, its retries, its timeout", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.make({
        name: "single",
        run: (n: number, instance) =>
          n === 0 ? Effect.never : instance.attempt === 1 ? Effect.fail({ status: 503 }) : Effect.succeed(n * 2)
      })
      const retried = yield* withClock(
        Executor.runOne(Task.make({ id: "a", input: 21 }), agent.factory, {
          runId: "one",
          retry: { schedule: Schedule.spaced("1 second"), times: 2 }
        })
      )
      assert(TaskResult.isSucceeded(retried))
      assert.deepStrictEqual([retried.value, retried.attempt, retried.index, retried.agent], [
        42,
        2,
        0,
        "single#one/a/2"
      ])
      assert.strictEqual(retried.failedAttempts.length, 1)
      const hung = yield* withClock(
        Executor.runOne(Task.make({ id: "b", input: 0 }), agent.factory, { timeout: "2 seconds" })
      )
      assert(TaskResult.isTimedOut(hung))
      assert.strictEqual(hung.durationMillis, 2000)
      const stats = yield* agent.stats
      assert.strictEqual(stats.builds, 3)
      assert.strictEqual(stats.releases, 3)
      const bad = yield* Effect.flip(Executor.runOne(Task.make({ id: "c", input: 1 }), agent.factory, { timeout: 0 }))
      assert.strictEqual(bad.option, "timeout")
    }).pipe(Effect.provide(Executor.layer())))

  it.effect("publishes a run of one's events, counts its metrics and spans it as a run does", () =>
    Effect.gen(function*() {
      const name = uniqueName("single-observed")
      const agent = yield* TestAgent.sleep(name, "1 second", (n: number) => n + 1)
      const events = yield* RunEvent.subscribe
      const collected = yield* Effect.fork(
        Stream.runCollect(Stream.takeUntil(events, RunEvent.RunEvent.$is("RunFinished")))
      )
      const spans: Array<Tracer.Span> = []
      const tracer = yield* Effect.map(Effect.tracer, (tracer) =>
        Tracer.make({
          span: (...args) => {
            const span = tracer.span(...args)
            spans.push(span)
            return span
          },
          context: (f, fiber) => tracer.context(f, fiber)
        }))
      const result = yield* withClock(
        Executor.runOne(Task.make({ id: "x", input: 1 }), agent.factory, { runId: "solo", timeout: "5 seconds" }).pipe(
          Effect.withTracer(tracer)
        )
      )
      assert(TaskResult.isSucceeded(result))
      assert.deepStrictEqual([result.value, result.index, result.durationMillis, result.agent], [
        2,
        0,
        1000,
        `${name}#solo/x/1`
      ])
      const all = Chunk.toArray(yield* Fiber.join(collected))
      assert.deepStrictEqual(all.map((event) => event._tag), [
        "RunStarted",
        "TaskQueued",
        "TaskStarted",
        "TaskSucceeded",
        "RunFinished"
      ])
      const started = all[0]!
      assert(started._tag === "RunStarted")
      assert.deepStrictEqual([started.runId, started.total, started.concurrency], ["solo", 1, 1])
      const finished = all[4]!
      assert(finished._tag === "RunFinished")
      assert.deepStrictEqual([finished.summary.succeeded, finished.wallMillis], [1, 1000])
      const tagged = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>) => metric.pipe(Metric.tagged("agent", name))
      assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksStarted))).count, 1)
      assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksSucceeded))).count, 1)
      assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksFailed))).count, 0)
      assert.strictEqual((yield* Metric.value(tagged(ExecutorMetrics.tasksInFlight))).value, 0)
      const runOne = spans.find((span) => span.name === "Executor.runOne")!
      const task = spans.find((span) => span.name === "Executor.task")!
      assert.deepStrictEqual(
        ["agent", "runId", "taskId"].map((key) => runOne.attributes.get(key)),
        [name, "solo", "x"]
      )
      assert(task.parent._tag === "Some")
      assert.strictEqual(task.parent.value.spanId, runOne.spanId)
      assert.strictEqual(task.attributes.get("outcome"), "Succeeded")
      assert.strictEqual(runOne.status._tag, "Ended")
    }).pipe(Effect.provide(Layer.mergeAll(Executor.layer(), RunEvent.layer({ capacity: 64 }))), Effect.scoped))

  it.effect("stops the agent at its timeout or the deadline; one that ignores it is left within the grace", () =>
    Effect.gen(function*() {
      const logs: Array<string> = []
      const logger = Logger.make(({ message }) => void logs.push(String(message)))
      const agent = yield* TestAgent.make({
        name: "single-stubborn",
        run: (n: number) =>
          n === 0
            ? Effect.uninterruptible(Effect.as(Effect.sleep("1 hour"), n))
            : Effect.as(Effect.sleep(`${n} seconds`), n)
      })
      const run = (input: number, options: Executor.StreamOptions<AgentError.AgentError>) =>
        withClock(Executor.runOne(Task.make({ id: `t${input}`, input }), agent.factory, options), "10 seconds")
      const timedOut = yield* run(3, { timeout: "2 seconds" })
      assert(TaskResult.isTimedOut(timedOut))
      assert.deepStrictEqual([timedOut.reason, timedOut.durationMillis], ["TaskTimeout", 2000])
      const deadline = yield* run(3, { timeout: "5 seconds", deadline: "1 second" })
      assert(TaskResult.isTimedOut(deadline))
      assert.deepStrictEqual([deadline.reason, deadline.durationMillis], ["RunDeadline", 1000])
      const inTime = yield* run(1, { timeout: "2 seconds", deadline: "5 seconds" })
      assert(TaskResult.isSucceeded(inTime))
      assert.strictEqual((yield* agent.stats).running, 0)
      // Told to stop at its timeout, it goes on: the task waits for it within the grace (5 seconds), then is
      // reported without it.
      const fiber = yield* Effect.fork(
        Executor.runOne(Task.make({ id: "s", input: 0 }), agent.factory, { timeout: "1 second" }).pipe(
          Effect.provide(Logger.replace(Logger.defaultLogger, logger))
        )
      )
      yield* TestClock.adjust("1 second")
      assert.isNull(yield* Fiber.poll(fiber).pipe(Effect.map(Option.getOrNull)))
      yield* TestClock.adjust("5 seconds")
      const stubborn = yield* Fiber.join(fiber)
      assert(TaskResult.isTimedOut(stubborn))
      assert.isTrue(logs.some((line) => line.includes("did not stop within 5s of its timeout; it is left running")))
      const releases = (yield* agent.stats).releases
      yield* TestClock.adjust("1 hour")
      assert.strictEqual((yield* agent.stats).releases, releases + 1)
      assert.isTrue(logs.some((line) => line.includes("The agent left running after its timeout has stopped")))
    }).pipe(Effect.provide(Executor.layer())))

  it.effect("interrupting a run of one interrupts its agent and releases it; no fiber outlives a run of one", () =>
    Effect.gen(function*() {
      const agent = yield* TestAgent.sleep("single-interrupted", (n: number) => `${n} hours`, (n: number) => n)
      const supervisor = yield* Supervisor.track
      const fiber = yield* Effect.fork(
        Executor.runOne(Task.make({ id: "i", input: 1 }), agent.factory, { timeout: "2 hours" }).pipe(
          Effect.supervised(supervisor)
        )
      )
      yield* TestClock.adjust("1 second")
      assert.strictEqual((yield* agent.stats).running, 1)
      yield* Fiber.interrupt(fiber)
      const stats = yield* agent.stats
      assert.deepStrictEqual([stats.running, stats.builds, stats.releases], [0, 1, 1])
      // Ended (its deadline's sleeper stopped with it), timed out, or left running past its grace and then ended.
      const ended = yield* withClock(
        Executor.runOne(Task.make({ id: "e", input: 1 }), agent.factory, { timeout: "2 hours" }).pipe(
          Effect.supervised(supervisor)
        )
      )
      assert(TaskResult.isSucceeded(ended))
      const live = () =>
        Effect.map(supervisor.value, (fibers) => fibers.filter((fiber) => fiber.unsafePoll() === null).length)
      assert.strictEqual(yield* live(), 0)
      const timedOut = yield* withClock(
        Executor.runOne(Task.make({ id: "t", input: 3 }), agent.factory, { timeout: "2 hours" }).pipe(
          Effect.supervised(supervisor)
        ),
        "3 hours"
      )
      assert(TaskResult.isTimedOut(timedOut))
      assert.strictEqual(yield* live(), 0)
    }).pipe(Effect.provide(Executor.layer())))
})
