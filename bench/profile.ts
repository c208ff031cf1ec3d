/**
 * Reads a `.cpuprofile` written by `node --cpu-prof` and prints its top frames: by self time (where the CPU was),
 * and by total time (the frame and everything it called, each frame counted once per sample however deep it
 * recurses), and self time by module (the file a frame is in: `effect/internal/fiberRuntime.js`, `src/internal/...`,
 * or V8's own entries such as `(garbage collector)`). `node build/bench/profile.js <file.cpuprofile> [rows]` (20 rows
 * by default). Paths are shortened to the package or the repository folder.
 */
import * as Fs from "node:fs"

interface Node {
  readonly id: number
  readonly callFrame: {
    readonly functionName: string
    readonly url: string
    readonly lineNumber: number
  }
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<Node>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const shorten = (url: string) => {
  const modules = url.lastIndexOf("node_modules/")
  if (modules >= 0) return url.slice(modules + "node_modules/".length).replace(/\/dist\/(esm|cjs)\//, "/")
  const build = url.indexOf("/build/")
  if (build >= 0) return url.slice(build + "/build/".length)
  return url.replace(/^file:\/\//, "")
}

/** V8's own entries (`(garbage collector)`, `(program)`) keep their name; other frames without a script get one. */
const builtIn = (functionName: string) =>
  functionName.startsWith("(") ? functionName : `(${functionName || "anonymous"})`

const moduleOf = (node: Node) =>
  node.callFrame.url === "" ? builtIn(node.callFrame.functionName) : shorten(node.callFrame.url)

const frameOf = (node: Node) => {
  const { functionName, lineNumber, url } = node.callFrame
  return url === ""
    ? builtIn(functionName)
    : `${functionName || "(anonymous)"} ${shorten(url)}:${lineNumber + 1}`
}

export const summarize = (profile: Profile, rows: number): string => {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]))
  const parent = new Map<number, number>()
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id)
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  const modules = new Map<string, number>()
  let all = 0
  profile.samples.forEach((id, i) => {
    const micros = profile.timeDeltas[i] ?? 0
    all += micros
    const node = byId.get(id)!
    const name = frameOf(node)
    self.set(name, (self.get(name) ?? 0) + micros)
    modules.set(moduleOf(node), (modules.get(moduleOf(node)) ?? 0) + micros)
    const seen = new Set<string>()
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = frameOf(byId.get(at)!)
      if (seen.has(frame)) continue
      seen.add(frame)
      total.set(frame, (total.get(frame) ?? 0) + micros)
    }
  })
  const idle = new Set(["(idle)", "(root)", "(program)", "(garbage collector)"])
  const table = (title: string, map: Map<string, number>, skip: (name: string) => boolean) =>
    [
      `${title}`,
      "",
      "| ms | % | frame |",
      "| --- | --- | --- |",
      ...[...map].filter(([name]) => !skip(name)).sort((a, b) => b[1] - a[1]).slice(0, rows).map(([name, micros]) =>
        `| ${(micros / 1000).toFixed(0)} | ${(micros / all * 100).toFixed(1)} | \`${name}\` |`
      )
    ].join("\n")
  const busy = all - (self.get("(idle)") ?? 0)
  return [
    `${(all / 1000).toFixed(0)} ms sampled, ${(busy / 1000).toFixed(0)} ms not idle; GC ${
      ((self.get("(garbage collector)") ?? 0) / 1000).toFixed(0)
    } ms`,
    table("Self time", self, (name) => name === "(idle)"),
    table("Self time by module", modules, (name) => name === "(idle)"),
    table("Total time (inclusive)", total, (name) => idle.has(name) || name.startsWith("(anonymous) "))
  ].join("\n\n")
}

const [file, rows] = process.argv.slice(2)
if (file === undefined) throw new Error("usage: node build/bench/profile.js <file.cpuprofile> [rows]")
console.log(summarize(JSON.parse(Fs.readFileSync(file, "utf8")) as Profile, Number(rows ?? 20)))
