/**
 * The bytes a piece of work allocates, the garbage included: V8's sampling heap profiler, with the objects the
 * scavenger and the full GC collected, summed by function and by module (`w6/alloc.ts`, `perTask.ts`).
 */
import * as Inspector from "node:inspector/promises"

interface Node {
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number }
  readonly selfSize: number
  readonly children: ReadonlyArray<Node>
}

export interface Allocations {
  readonly total: number
  readonly byFunction: Map<string, number>
  readonly byModule: Map<string, number>
}

/** Samples what `work` allocates, every `samplingInterval` bytes on average. */
export const sample = async (work: () => Promise<unknown>, samplingInterval: number): Promise<Allocations> => {
  const session = new Inspector.Session()
  session.connect()
  await session.post("HeapProfiler.startSampling", {
    samplingInterval,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true
  })
  await work()
  const { profile } = await session.post("HeapProfiler.stopSampling") as { readonly profile: { readonly head: Node } }
  session.disconnect()
  const byFunction = new Map<string, number>()
  const byModule = new Map<string, number>()
  let total = 0
  const walk = (node: Node) => {
    const frame = node.callFrame
    const url = frame.url.replace(/.*node_modules\//, "").replace(/.*\/build\//, "")
    const name = `${frame.functionName || "(anonymous)"} ${url}:${frame.lineNumber + 1}`
    total += node.selfSize
    byFunction.set(name, (byFunction.get(name) ?? 0) + node.selfSize)
    byModule.set(url, (byModule.get(url) ?? 0) + node.selfSize)
    for (const child of node.children) walk(child)
  }
  walk(profile.head)
  return { total, byFunction, byModule }
}

/** The largest `rows` entries, each divided by `per`, one a line. */
export const top = (sizes: Iterable<readonly [string, number]>, per: number, rows: number) =>
  [...sizes].sort((a, b) => b[1] - a[1]).slice(0, rows).map(([name, size]) =>
    `${(size / per).toFixed(0).padStart(8)}  ${name}`
  ).join("\n")
