import { assert, describe, it } from "@effect/vitest"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..")

/** The engine's barrel and the barrel of each group of services/, each its own export path. */
const barrels = [
  "src",
  "services/models",
  "services/testing",
  "services/cli",
  "services/http",
  "services/store",
  "services/cluster"
]

interface Export {
  readonly name: string
  readonly doc: string
}

/** The modules of a folder: its `.ts` files other than the barrel, read from disk so new files are seen. */
const modulesOf = (folder: string): Array<string> =>
  fs.readdirSync(path.join(root, folder), { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".ts") && !entry.name.endsWith(".d.ts"))
    .map((entry) => entry.name.slice(0, -".ts".length))
    .filter((name) => name !== "index")

const block = /\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*export \* as (\w+) from "\.\/(\w+)\.js"\n?/y

/** Parses a barrel that holds only doc-commented `export * as X from "./X.js"` statements; fails on anything else. */
const parseBarrel = (folder: string): Array<Export> => {
  const source = fs.readFileSync(path.join(root, folder, "index.ts"), "utf8")
  // The barrel may start with its own header comment, which is followed by an export like every other block.
  const exports: Array<Export> = []
  let offset = source.match(/^\s*/)![0].length
  while (offset < source.length) {
    block.lastIndex = offset
    const match = block.exec(source)
    assert(
      match !== null,
      `${folder}/index.ts: expected a /** doc comment */ then \`export * as X from "./X.js"\` at: ` +
        JSON.stringify(source.slice(offset, offset + 80))
    )
    const [all, doc, name, file] = match
    assert.strictEqual(name, file, `${folder}/index.ts exports ./${file}.js as ${name}`)
    exports.push({ name: name!, doc: doc! })
    offset += all.length
    offset += source.slice(offset).match(/^\s*/)![0].length
  }
  return exports
}

const checkBarrel = (folder: string) => {
  const exports = parseBarrel(folder)
  const names = exports.map((e) => e.name)
  const modules = modulesOf(folder)

  const missing = modules.filter((module) => !names.includes(module))
  assert.deepStrictEqual(missing, [], `${folder}/index.ts does not export: ${missing.join(", ")}`)
  const extra = names.filter((name) => !modules.includes(name))
  assert.deepStrictEqual(extra, [], `${folder}/index.ts exports modules that do not exist: ${extra.join(", ")}`)
  assert.strictEqual(new Set(names).size, names.length, `${folder}/index.ts exports a module twice`)

  const sorted = [...names].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
  assert.deepStrictEqual(names, sorted, `${folder}/index.ts is not sorted by name`)

  for (const { doc, name } of exports) {
    assert.match(doc, /@since \d+\.\d+\.\d+/, `${folder}/index.ts: the comment of ${name} has no @since`)
    const text = doc.replace(/^\s*\*\s?/gm, "").replace(/@since.*/s, "").trim()
    assert.isAbove(text.length, 0, `${folder}/index.ts: the comment of ${name} has no summary`)
  }
  return names
}

/** A module's header: the doc comment it starts with. */
const headerOf = (folder: string, name: string): string => {
  const source = fs.readFileSync(path.join(root, folder, `${name}.ts`), "utf8")
  const match = source.match(/^\/\*\*((?:(?!\*\/)[\s\S])*)\*\//)
  assert.isNotNull(match, `${folder}/${name}.ts does not start with a /** header comment */`)
  return match![1]!
}

describe("barrels", () => {
  it("each export is preceded by its module's header comment, word for word", () => {
    for (const folder of barrels) {
      for (const { doc, name } of parseBarrel(folder)) {
        assert.strictEqual(doc, headerOf(folder, name), `${folder}/index.ts: the comment of ${name} is not its header`)
      }
    }
  })

  it("src/index.ts exports every module of src/ (not internal/), sorted, each with a doc comment", () => {
    const names = checkBarrel("src")
    assert.include(names, "Executor")
    assert.notInclude(names, "internal")
  })

  it("each group of services/ has a barrel that exports every module of the group, sorted, each with a doc comment", () => {
    assert.include(checkBarrel("services/models"), "LanguageModelAgent")
    assert.include(checkBarrel("services/testing"), "TestAgent")
    assert.include(checkBarrel("services/cli"), "Cli")
    assert.include(checkBarrel("services/store"), "SqlRunJournal")
    assert.include(checkBarrel("services/cluster"), "AgentTask")
  })

  it("the barrels' namespaces are the modules themselves", async () => {
    for (const folder of barrels) {
      const barrel = await import(/* @vite-ignore */ path.join(root, folder, "index.ts"))
      for (const name of modulesOf(folder)) {
        const module = await import(/* @vite-ignore */ path.join(root, folder, `${name}.ts`))
        assert.strictEqual((barrel as Record<string, unknown>)[name], module, `${folder}/index.ts: ${name}`)
      }
    }
  })
})
