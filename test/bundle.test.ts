/**
 * The `parallel-agents` executable as users get it: one bundle (`bundle.config.mjs`), built by `npm run build` into
 * build/bin, named by package.json's `bin` and shipped by its `files`. The process tests start the same bundle
 * (test/globalSetup.ts builds it for them); this suite checks the bundle itself: it is whole (it imports nothing
 * from node_modules but the native packages left out on purpose), and a run loads its own few files, not the
 * library's modules one by one.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import { isBuiltin } from "node:module"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { inject } from "vitest"
import { root, run, tempDirectory } from "./services/cli/process.js"

const bin = inject("bin")
const folder = path.dirname(bin)

// What `bundle.config.mjs` leaves to Node's resolution, and why, is written there; this is the list it must keep to.
const external = ["libsql", "pg-native", "bufferutil", "utf-8-validate", "msgpackr-extract"]

/**
 * The modules a file of the bundle imports or requires by name (not its own `./chunk-...js`): its static imports and
 * re-exports (at the start of a line, as esbuild writes them), and `import("...")`, `require("...")` and esbuild's
 * `__require("...")` calls outside comments.
 */
const bareImports = (text: string): Array<string> => {
  const found: Array<string> = []
  for (const line of text.split("\n")) {
    if (/^\s*(\*|\/\/|\/\*)/.test(line)) continue
    const patterns = [
      /^(?:import|export|\})[^"\n]*\bfrom\s*"([^"\n]+)"/g,
      /^import\s*"([^"\n]+)"/g,
      /(?<![\w$])(?:import|require|__require)\(\s*"([^"\n]+)"\s*\)/g
    ]
    for (const pattern of patterns) {
      for (const match of line.matchAll(pattern)) {
        if (!match[1]!.startsWith("./")) found.push(match[1]!)
      }
    }
  }
  return found
}

describe("the bundled executable", () => {
  it("npm run build bundles it into build/bin, which package.json's bin names and its files ship", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
    assert.strictEqual(pkg.bin["parallel-agents"], "./build/bin/parallel-agents.js")
    assert.include(pkg.files, "build/bin")
    assert.match(pkg.scripts.build, /^tsc -b .* && node bundle\.config\.mjs$/)
    assert.include(pkg.scripts.clean, "build/bin")
    assert.isDefined(pkg.devDependencies.esbuild)
  })

  it("starts with the shebang, and imports only Node's modules, its own chunks and the native packages left out", () => {
    assert.isTrue(fs.readFileSync(bin, "utf8").startsWith("#!/usr/bin/env node\n"))
    const files = fs.readdirSync(folder).filter((file) => file.endsWith(".js"))
    assert.isAbove(files.length, 1)
    const outside = new Set<string>()
    for (const file of files) {
      for (const specifier of bareImports(fs.readFileSync(path.join(folder, file), "utf8"))) {
        // Node's own modules, with or without `node:` (CommonJS packages in the bundle require them by bare name); a
        // `node:` module of a later Node (undici's `node:sqlite`, required only when used) is no package either.
        if (!specifier.startsWith("node:") && !isBuiltin(specifier)) outside.add(specifier)
      }
    }
    assert.deepStrictEqual([...outside].filter((specifier) => !external.includes(specifier)), [])
  })

  it("carries the notices of the packages it bundles, each with its version and license", () => {
    const notices = fs.readFileSync(path.join(folder, "LICENSES.txt"), "utf8")
    const lock = JSON.parse(fs.readFileSync(path.join(root, "package-lock.json"), "utf8"))
    for (const name of ["effect", "@effect/cli", "@effect/platform", "@effect/ai", "fast-check", "undici"]) {
      assert.include(notices, `== ${name} ${lock.packages[`node_modules/${name}`].version} (MIT) ==`, name)
    }
    assert.include(notices, "Permission is hereby granted, free of charge")
  })

  it.scopedLive("a run loads the bundle's own files only: none from node_modules, none of the sources", () =>
    Effect.gen(function*() {
      const directory = yield* tempDirectory
      const log = path.join(directory, "loaded.txt")
      const hooks = path.join(directory, "hooks.mjs")
      fs.writeFileSync(
        hooks,
        `import { appendFileSync } from "node:fs"\n` +
          `export async function load(url, context, next) {\n` +
          `  appendFileSync(${JSON.stringify(log)}, url + "\\n")\n` +
          `  return next(url, context)\n` +
          `}\n`
      )
      const register = path.join(directory, "register.mjs")
      fs.writeFileSync(
        register,
        `import { register } from "node:module"\nregister(${JSON.stringify(pathToFileURL(hooks).href)})\n`
      )
      const output = path.join(directory, "results.jsonl")
      const input = path.join(root, "examples", "data", "documents.jsonl")
      const { exitCode, stderr } = yield* run(
        ["run", "--input", input, "--agent", "classify", "--output", output],
        { directory, env: { NODE_OPTIONS: `--import ${pathToFileURL(register).href}` } }
      )
      assert.strictEqual(exitCode, 0, stderr)
      assert.strictEqual(fs.readFileSync(output, "utf8").trimEnd().split("\n").length, 40)
      const loaded = fs.readFileSync(log, "utf8").trimEnd().split("\n").filter((url) => url.startsWith("file:"))
      const own = pathToFileURL(folder).href + "/"
      assert.deepStrictEqual(loaded.filter((url) => !url.startsWith(own)), [])
      // The hook saw the run: its entry, and chunks beside it.
      assert.include(loaded, pathToFileURL(bin).href)
      assert.isAbove(loaded.length, 1)
    }).pipe(Effect.provide(NodeContext.layer)))
})
