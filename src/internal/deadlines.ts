/**
 * A min-heap of armed deadlines, indexed so that an entry can be removed in O(log n) when its task ends first.
 * It holds at most one entry per running task, so its size is bounded by the run's concurrency.
 *
 * @internal
 */
export interface Entry {
  /** When the entry expires, in the run clock's milliseconds; `Infinity` when disarmed. */
  deadline: number
  /** Position in the heap, `-1` when not in it. */
  heapIndex: number
}

/** @internal */
export class DeadlineHeap<A extends Entry> {
  private readonly items: Array<A> = []

  get size(): number {
    return this.items.length
  }

  peek(): A | undefined {
    return this.items[0]
  }

  insert(entry: A, deadline: number): void {
    if (entry.heapIndex >= 0) this.remove(entry)
    entry.deadline = deadline
    entry.heapIndex = this.items.length
    this.items.push(entry)
    this.up(entry.heapIndex)
  }

  remove(entry: A): void {
    const index = entry.heapIndex
    if (index < 0) return
    const last = this.items.pop()!
    entry.heapIndex = -1
    if (index < this.items.length) {
      this.items[index] = last
      last.heapIndex = index
      this.down(index)
      this.up(last.heapIndex)
    }
  }

  /** Removes and returns the earliest entry if it expired at `now`. */
  popExpired(now: number): A | undefined {
    const top = this.items[0]
    if (top === undefined || top.deadline > now) return undefined
    this.remove(top)
    return top
  }

  private up(index: number): void {
    const items = this.items
    const entry = items[index]!
    while (index > 0) {
      const parentIndex = (index - 1) >> 1
      const parent = items[parentIndex]!
      if (parent.deadline <= entry.deadline) break
      items[index] = parent
      parent.heapIndex = index
      index = parentIndex
    }
    items[index] = entry
    entry.heapIndex = index
  }

  private down(index: number): void {
    const items = this.items
    const length = items.length
    const entry = items[index]!
    for (;;) {
      const left = 2 * index + 1
      if (left >= length) break
      const right = left + 1
      const child = right < length && items[right]!.deadline < items[left]!.deadline ? right : left
      const childEntry = items[child]!
      if (childEntry.deadline >= entry.deadline) break
      items[index] = childEntry
      childEntry.heapIndex = index
      index = child
    }
    items[index] = entry
    entry.heapIndex = index
  }
}
