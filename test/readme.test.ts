import { Command } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const readme = fs.readFileSync(path.join(root, "README.md"), "utf8")

/** The first `ts` code block after a heading. */
const codeAfter = (heading: string): string => {
  const section = readme.slice(readme.indexOf(heading))
  const match = section.match(/```ts\n([\s\S]*?)```/)
  assert.isNotNull(match, `no ts block after ${heading}`)
  return match![1]!
}

describe("README", () => {
  it.live("the short example runs and prints what its comments say", () =>
    Effect.gen(function*() {
      const code = codeAfter("## A short example")
      // Written inside the repository (build/ is ignored by git) so that it resolves the package like an example.
      const file = path.join(root, "build", "readme", "short-example.ts")
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, code)
      const output = yield* Command.make("node", "--import", "tsx", file).pipe(
        Command.workingDirectory(root),
        Command.string
      )
      const expected = [...code.matchAll(/console\.log\(report\.\w+\)\s+\/\/ (.*)/g)].map((m) => m[1]!)
      assert.strictEqual(expected.length, 2)
      const printed = output.trim().split("\n")
      assert.deepStrictEqual(printed, expected)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.live("the team example runs and prints what its comments say", () =>
    Effect.gen(function*() {
      const code = codeAfter("## Teams")
      const file = path.join(root, "build", "readme", "team-example.ts")
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, code)
      const output = yield* Command.make("node", "--import", "tsx", file).pipe(
        Command.workingDirectory(root),
        Command.string
      )
      const expected = [...code.matchAll(/console\.log\(.*\)\s+\/\/ (.*)/g)].map((m) => m[1]!)
      assert.strictEqual(expected.length, 5)
      assert.deepStrictEqual(output.trim().split("\n"), expected)
    }).pipe(Effect.provide(NodeContext.layer)))

  it("names the two set-up commands, and they are the package's scripts", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
    assert.include(readme, "npm ci && npm start")
    assert.include(readme, "npm test")
    assert.strictEqual(
      pkg.scripts.start,
      "tsx services/bin/parallel-agents.ts run --input examples/data/documents.jsonl --agent classify " +
        "--output results.jsonl --report run-report.html"
    )
    assert.strictEqual(pkg.scripts.test, "vitest run")
    // What npm start writes is not committed.
    const ignored = fs.readFileSync(path.join(root, ".gitignore"), "utf8").split("\n")
    assert.includeMembers(ignored, ["/results.jsonl", "/run-report.html"])
  })

  it("the parallel-agents executable is the command line's entry, bundled by npm run build, and the README documents it", () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, "package.json"), "utf8"))
    assert.strictEqual(pkg.bin["parallel-agents"], "./build/bin/parallel-agents.js")
    const source = fs.readFileSync(path.join(root, "services", "bin", "parallel-agents.ts"), "utf8")
    assert.isTrue(source.startsWith("#!/usr/bin/env node\n"))
    const section = readme.slice(readme.indexOf("## Command line"), readme.indexOf("## Model agents"))
    for (
      const flag of ["--input", "--agent", "--concurrency", "--timeout", "--retries", "--output", "--report", "--json"]
    ) {
      assert.include(section, `| \`${flag}`, flag)
    }
    for (const code of ["0", "1", "2", "130"]) assert.include(section, `| \`${code}\` |`)
  })
})
