import { NodeContext } from "@effect/platform-node"
import * as FileSystem from "@effect/platform/FileSystem"
import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { pathToFileURL } from "node:url"
import type { Page } from "playwright-core"
import { collectErrors, launch, phone, phoneLayout, requireBrowser, skipped } from "./browser.js"
import { runExample } from "./utils.js"

/** The example's report, written to a temporary directory, as a file URL. */
const exampleReport = Effect.gen(function*() {
  const directory = yield* (yield* FileSystem.FileSystem).makeTempDirectoryScoped()
  const { exitCode, lines, stderr } = yield* runExample("sequential-vs-parallel", { directory })
  assert.strictEqual(exitCode, 0, stderr)
  const file = path.join(fs.realpathSync(directory), "sequential-vs-parallel.html")
  assert.strictEqual(lines.at(-1), `HTML report: ${file}`)
  return pathToFileURL(file).href
})

/** Opens the file, letting the page load nothing but itself; what it tried to load goes to `blocked`. */
const open = (page: Page, url: string, blocked: Array<string>) =>
  Effect.gen(function*() {
    page.on("requestfailed", (request) => blocked.push(request.url()))
    yield* Effect.promise(() =>
      page.route("**/*", (route) => route.request().url() === url ? route.continue() : route.abort())
    )
    yield* Effect.promise(() => page.goto(url))
  })

describe("RunReportHtml in a browser", () => {
  it.live(`the example's report shows 20 bars, a bar's details on hover, and no errors${skipped}`, (ctx) => {
    requireBrowser(ctx)
    return Effect.gen(function*() {
      const url = yield* exampleReport
      const browser = yield* launch
      const page = yield* Effect.promise(() => browser.newPage({ viewport: { width: 1200, height: 900 } }))
      const errors = collectErrors(page)
      const blocked: Array<string> = []
      yield* open(page, url, blocked)

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

  it.live(`on a phone, nothing runs off the screen and the charts' labels stay readable${skipped}`, (ctx) => {
    requireBrowser(ctx)
    return Effect.gen(function*() {
      const url = yield* exampleReport
      const browser = yield* launch
      const page = yield* Effect.promise(() => browser.newPage(phone))
      const errors = collectErrors(page)
      const blocked: Array<string> = []
      yield* open(page, url, blocked)
      const layout = yield* phoneLayout(page)
      // The page is no wider than the screen (the charts scroll sideways in their own box).
      assert.isAtMost(layout.overflow, 0)
      // The wall and busy time labels stay inside their meters.
      assert.deepStrictEqual(layout.meters, [])
      // Chart labels of at least 9 CSS pixels, where they shrank to 3 before.
      assert.isAtLeast(layout.smallest, 9)
      // The charts scroll: the timeline is wider than its box, and its box no wider than the screen.
      const scroll = yield* Effect.promise(() =>
        page.locator("#timeline .chart-scroll").evaluate((element) => ({
          client: element.clientWidth,
          scroll: element.scrollWidth
        }))
      )
      assert.isAbove(scroll.scroll, scroll.client)
      assert.isAtMost(scroll.client, 390)
      // A bar's details on a tap.
      yield* Effect.promise(() => page.locator(".bar-failed").tap())
      assert.deepStrictEqual(errors, [])
      assert.deepStrictEqual(blocked, [])
    }).pipe(Effect.scoped, Effect.provide(NodeContext.layer))
  })
})
