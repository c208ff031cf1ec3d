import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { endForks } from "../../src/internal/run.js"

describe("endForks", () => {
  it.effect("interrupts the fibers a fiber forked and left running, and nothing when there are none", () =>
    Effect.gen(function*() {
      const ended: Array<string> = []
      const forked = (name: string) => Effect.onInterrupt(Effect.never, () => Effect.sync(() => ended.push(name)))
      const daemons: Array<Fiber.RuntimeFiber<never>> = []
      const parent = yield* Effect.fork(Effect.gen(function*() {
        const self = yield* Effect.withFiberRuntime<Fiber.RuntimeFiber<unknown, unknown>>((fiber) =>
          Effect.succeed(fiber as Fiber.RuntimeFiber<unknown, unknown>)
        )
        assert.isUndefined(endForks(self))
        yield* Effect.fork(forked("a"))
        yield* Effect.fork(forked("b"))
        daemons.push(yield* Effect.forkDaemon(forked("daemon")))
        // Let them start: a fiber interrupted before its first step runs no finalizer.
        yield* Effect.yieldNow()
        yield* endForks(self)!
        return endForks(self)
      }))
      const after = yield* Fiber.join(parent)
      assert.sameMembers(ended, ["a", "b"])
      assert.isUndefined(after)
      yield* Fiber.interruptAll(daemons)
    }))

  it.effect("without the runtime's set of children, asks the fiber for them", () =>
    Effect.gen(function*() {
      const child = yield* Effect.fork(Effect.never)
      const fiber = { children: Effect.succeed([child]) } as unknown as Fiber.RuntimeFiber<unknown, unknown>
      yield* endForks(fiber)!
      const exit = yield* Fiber.await(child)
      assert.isTrue(exit._tag === "Failure")
    }))
})
