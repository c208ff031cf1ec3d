import { Agent, Executor, Task, TaskResult } from "../src/index.js"
import { Context, Effect, Layer, FiberRef } from "effect"
class A extends Context.Tag("a")<A, Agent.Agent<number, number>>() {}
const Live = Layer.succeed(A, Agent.make({ name: "a", run: (n: number) => n === 3 ? Effect.die(new Error("boom")) : n === 4 ? (() => { throw new Error("sync throw") })() : Effect.succeed(n * 2) }))
const tries: Array<[string, any]> = [
  ["concurrency 0", { concurrency: 0 }],
  ["concurrency -1", { concurrency: -1 }],
  ["concurrency NaN", { concurrency: NaN }],
  ["concurrency Infinity", { concurrency: Infinity }],
  ["concurrency 1.5", { concurrency: 1.5 }],
  ["timeout -1", { timeout: -1 }],
  ["timeout 'abc'", { timeout: "abc" }],
  ["timeout Infinity", { timeout: Infinity }],
  ["retries ok", { concurrency: 2 }],
]
const prog = Effect.gen(function*() {
  for (const [name, opts] of tries) {
    const r = yield* Effect.either(Executor.run(Task.fromIterable([1, 2, 3, 4, 5]), Agent.factory(A, Live), opts))
    if (r._tag === "Left") console.log(name, "=> Left", String(r.left))
    else console.log(name, "=> ", r.right.summary, r.right.results.map((x) => x._tag === "Succeeded" ? x.value : TaskResult.message(x)).join(" | "))
  }
  // duplicate ids
  const dup = yield* Effect.either(Executor.run([Task.make({ id: "x", input: 1 }), Task.make({ id: "x", input: 2 })], Agent.factory(A, Live)))
  console.log("dup", dup._tag, dup._tag === "Left" ? String(dup.left) : dup.right.summary)
})
Effect.runPromise(Effect.provide(prog, Executor.layer())).catch((e) => console.error("THROWN", e))
