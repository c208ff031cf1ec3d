import { NodeContext } from "@effect/platform-node"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import { chromium } from "playwright-core"
import { runExample } from "./utils.js"

const executablePath = "/usr/bin/chromium"
const installHint = "install it with `apt-get install -y chromium` (Debian), or run `bash .ci/run`, which does"
const missing = !fs.existsSync(executablePath)
const required = Boolean(process.env["REQUIRE_BROWSER"])
// Reporters do not print a skipped test's note, so the reason goes in its name.
const skipped = missing && !required ? ` [skipped: ${executablePath} is missing; ${installHint}]` : ""
if (skipped !== "") process.stderr.write(`Skipping the browser test: ${executablePath} is missing; ${installHint}\n`)

const launch = Effect.acquireRelease(
  Effect.promise(() =>
    chromium.launch({
      executablePath,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic"
      ]
    })
  ),
  (browser) => Effect.promise(() => browser.close())
)

describe("RunReport HTML in a browser", () => {
  it.live(`the example's report shows 20 bars, a bar's details on hover, and no errors${skipped}`, (ctx) => {
    if (missing) {
      if (required) assert.fail(`REQUIRE_BROWSER is set but ${executablePath} is missing: ${installHint}`)
      ctx.skip(`${executablePath} is missing: ${installHint}`)
    }
    return Effect.gen(function*() {
      const directory = yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped()
      const { exitCode, lines, stderr } = yield* runExample("sequential-vs-parallel", { directory })
      assert.strictEqual(exitCode, 0, stderr)
      const file = path.join(fs.realpathSync(directory), "sequential-vs-parallel.html")
      assert.strictEqual(lines.at(-1), `HTML report: ${file}`)
      const url = pathToFileURL(file).href

      const browser = yield* launch
      const page = yield* Effect.promise(() => browser.newPage({ viewport: { width: 1200, height: 900 } }))
      const errors: Array<string> = []
      const blocked: Array<string> = []
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(`console: ${message.text()}`)
      })
      page.on("pageerror", (error) => errors.push(`page: ${error.message}`))
      page.on("requestfailed", (request) => blocked.push(request.url()))
      yield* Effect.promise(() =>
        page.route("**/*", (route) => route.request().url() === url ? route.continue() : route.abort())
      )
      yield* Effect.promise(() => page.goto(url))

      const bars = page.locator(".bar")
      assert.strictEqual(yield* Effect.promise(() => bars.count()), 20)
      const tip = page.locator("#tip")
      assert.isFalse(yield* Effect.promise(() => tip.isVisible()))

      // Hover the failed task's bar, then a successful one: the tooltip follows with each one's details.
      const failed = page.locator(".bar-failed")
      assert.strictEqual(yield* Effect.promise(() => failed.count()), 1)
      yield* Effect.promise(() => failed.hover())
      assert.isTrue(yield* Effect.promise(() => tip.isVisible()))
      const failedText = yield* Effect.promise(() => tip.innerText())
      assert.match(failedText, /^q-13\nagent: answerer#\w+\/q-13\/1\noutcome: failed\nstart: \+\d+ ms\n/)
      assert.match(failedText, /\nduration: \d+ ms\nerror: the model is overloaded \(question 13\)$/)

      const succeeded = page.locator(".bar-succeeded[data-task-id=\"q-0\"]")
      yield* Effect.promise(() => succeeded.hover())
      const text = yield* Effect.promise(() => tip.innerText())
      assert.match(text, /^q-0\nagent: answerer#\w+\/q-0\/1\noutcome: succeeded\nstart: \+\d+ ms\nduration: \d+ ms$/)
      // The tooltip is on screen, next to the pointer, and the bar is outlined.
      const box = yield* Effect.promise(() => tip.boundingBox())
      assert.isNotNull(box)
      assert.isAbove(box!.width, 100)
      assert.include(yield* Effect.promise(() => succeeded.getAttribute("class")), "active")

      // Leaving the chart hides it.
      yield* Effect.promise(() => page.locator("h1").hover())
      assert.isFalse(yield* Effect.promise(() => tip.isVisible()))

      assert.deepStrictEqual(errors, [])
      assert.deepStrictEqual(blocked, [], "the page requested something other than itself")
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  })
})
