import { assert, describe, it } from "@effect/vitest"
import { FastCheck } from "effect"
import { DeadlineHeap, type Entry } from "../../src/internal/deadlines.js"

interface Item extends Entry {
  readonly id: number
}

const makeItem = (id: number): Item => ({ id, deadline: Infinity, heapIndex: -1 })

type Op =
  | { readonly _tag: "insert"; readonly id: number; readonly deadline: number }
  | { readonly _tag: "remove"; readonly id: number }
  | { readonly _tag: "popExpired"; readonly now: number }
  | { readonly _tag: "drain"; readonly now: number }

const poolSize = 24

// Weighted towards inserts, so that the heap grows deep enough for entries to move between subtrees.
const op: FastCheck.Arbitrary<Op> = FastCheck.oneof(
  {
    weight: 6,
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("insert" as const),
      id: FastCheck.integer({ min: 0, max: poolSize - 1 }),
      // A small range, so that equal deadlines are common.
      deadline: FastCheck.integer({ min: 0, max: 100 })
    })
  },
  {
    weight: 3,
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("remove" as const),
      id: FastCheck.integer({ min: 0, max: poolSize - 1 })
    })
  },
  {
    weight: 2,
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("popExpired" as const),
      now: FastCheck.integer({ min: -5, max: 105 })
    })
  },
  {
    weight: 1,
    arbitrary: FastCheck.record({
      _tag: FastCheck.constant("drain" as const),
      now: FastCheck.integer({ min: -5, max: 105 })
    })
  }
)

/** The model: the entries in the heap, with their deadlines. */
type Model = Map<Item, number>

const earliest = (model: Model): number => Math.min(...model.values())

/** A cheap check for the hot loop: chai assertions cost too much to run thousands of times per property. */
const check = (condition: boolean, message: () => string): void => {
  if (!condition) assert.fail(message())
}

const checkAgainstModel = (heap: DeadlineHeap<Item>, pool: ReadonlyArray<Item>, model: Model) => {
  check(heap.size === model.size, () => `size ${heap.size}, expected ${model.size}`)
  const byIndex = new Map<number, Item>()
  for (const item of pool) {
    if (model.has(item)) {
      check(item.deadline === model.get(item), () => `entry ${item.id} has deadline ${item.deadline}`)
      check(
        item.heapIndex >= 0 && item.heapIndex < heap.size,
        () => `entry ${item.id} is in the heap at ${item.heapIndex}`
      )
      byIndex.set(item.heapIndex, item)
    } else {
      check(item.heapIndex === -1, () => `entry ${item.id} is not in the heap but has heapIndex ${item.heapIndex}`)
    }
  }
  // Every entry in the heap has its own position, and no entry is earlier than the one above it.
  check(byIndex.size === model.size, () => "two entries share a position")
  for (const [index, item] of byIndex) {
    if (index > 0) {
      const parent = byIndex.get((index - 1) >> 1)!
      check(parent.deadline <= item.deadline, () => `entry ${parent.id} is above the earlier entry ${item.id}`)
    }
  }
  const top = heap.peek()
  if (model.size === 0) {
    check(top === undefined, () => "peek on an empty heap")
  } else {
    check(top !== undefined && model.has(top) && top.deadline === earliest(model), () => "peek is not the earliest")
  }
}

/** Pops one entry and checks it against the model: the earliest one, expired at `now`, never a removed one. */
const popOne = (heap: DeadlineHeap<Item>, model: Model, now: number): Item | undefined => {
  const popped = heap.popExpired(now)
  if (model.size === 0 || earliest(model) > now) {
    check(popped === undefined, () => `entry ${popped!.id} popped, but nothing has expired at ${now}`)
    return undefined
  }
  check(popped !== undefined, () => `nothing popped, but an entry expired at ${now}`)
  const item = popped!
  check(model.has(item), () => `entry ${item.id} popped, but it was not in the heap`)
  check(item.deadline === earliest(model), () => `entry ${item.id} popped, but it is not the earliest`)
  check(item.deadline <= now, () => `entry ${item.id} popped before its deadline`)
  check(item.heapIndex === -1, () => `entry ${item.id} popped, but has heapIndex ${item.heapIndex}`)
  model.delete(item)
  return item
}

describe("DeadlineHeap", () => {
  // fast-check keeps arrays to about 10 elements unless told otherwise; a deep heap needs many more operations.
  const ops = FastCheck.array(op, { maxLength: 300, size: "max" })

  it.prop("behaves like a sorted list under random insert, remove and popExpired", [ops], ([ops]) => {
    const heap = new DeadlineHeap<Item>()
    const pool = Array.from({ length: poolSize }, (_, id) => makeItem(id))
    const model: Model = new Map()
    for (const step of ops) {
      switch (step._tag) {
        case "insert": {
          const item = pool[step.id]!
          // An entry is in the heap at most once: the engine removes it before arming it again.
          if (!model.has(item)) {
            heap.insert(item, step.deadline)
            model.set(item, step.deadline)
          }
          break
        }
        case "remove": {
          const item = pool[step.id]!
          heap.remove(item)
          model.delete(item)
          check(item.heapIndex === -1, () => `entry ${item.id} removed, but has heapIndex ${item.heapIndex}`)
          break
        }
        case "popExpired": {
          popOne(heap, model, step.now)
          break
        }
        case "drain": {
          const deadlines: Array<number> = []
          let popped: Item | undefined
          while ((popped = popOne(heap, model, step.now)) !== undefined) deadlines.push(popped.deadline)
          check(
            deadlines.every((d, i) => i === 0 || deadlines[i - 1]! <= d),
            () => `drained out of order: ${deadlines}`
          )
          for (const deadline of model.values()) {
            check(deadline > step.now, () => `an entry expired at ${step.now} was left in the heap`)
          }
          break
        }
      }
      checkAgainstModel(heap, pool, model)
    }
  }, { fastCheck: { numRuns: 300 } })

  const deadlines = FastCheck.array(FastCheck.integer({ min: -1000, max: 1000 }), { maxLength: 100, size: "max" })

  it.prop("pops every entry in deadline order", [deadlines], ([deadlines]) => {
    const heap = new DeadlineHeap<Item>()
    const items = deadlines.map((deadline, id) => {
      const item = makeItem(id)
      heap.insert(item, deadline)
      return item
    })
    const popped: Array<number> = []
    let item: Item | undefined
    while ((item = heap.popExpired(Infinity)) !== undefined) popped.push(item.deadline)
    assert.deepStrictEqual(popped, [...deadlines].sort((a, b) => a - b))
    assert.strictEqual(heap.size, 0)
    assert.isTrue(items.every((i) => i.heapIndex === -1))
  })

  it("popExpired includes an entry whose deadline is exactly now", () => {
    const heap = new DeadlineHeap<Item>()
    const item = makeItem(0)
    heap.insert(item, 100)
    assert.isUndefined(heap.popExpired(99))
    assert.strictEqual(heap.size, 1)
    assert.strictEqual(heap.popExpired(100), item)
    assert.strictEqual(heap.size, 0)
  })

  it("removing an entry twice, or one never inserted, changes nothing", () => {
    const heap = new DeadlineHeap<Item>()
    const a = makeItem(0)
    const b = makeItem(1)
    const never = makeItem(2)
    heap.insert(a, 10)
    heap.insert(b, 20)
    heap.remove(a)
    heap.remove(a)
    heap.remove(never)
    assert.strictEqual(heap.size, 1)
    assert.strictEqual(heap.peek(), b)
    assert.strictEqual(b.heapIndex, 0)
  })

  it("an entry removed and inserted again takes its new deadline", () => {
    const heap = new DeadlineHeap<Item>()
    const a = makeItem(0)
    const b = makeItem(1)
    heap.insert(a, 10)
    heap.insert(b, 20)
    heap.remove(a)
    heap.insert(a, 30)
    assert.strictEqual(heap.popExpired(25), b)
    assert.isUndefined(heap.popExpired(25))
    assert.strictEqual(heap.popExpired(30), a)
  })
})
