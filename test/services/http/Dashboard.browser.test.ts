import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import type { Page } from "playwright-core"
import * as Runs from "../../../services/http/Runs.js"
import * as TestAgent from "../../../services/testing/TestAgent.js"
import { collectErrors, launch, phone, phoneLayout, requireBrowser, skipped } from "../../browser.js"
import * as Server from "./server.js"

const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

/** Lets the page reach the server only: any other request is blocked and recorded. */
const onlyServer = (page: Page, server: Server.TestServer, blocked: Array<string>) =>
  promise(() =>
    page.route("**/*", (route) => {
      const url = route.request().url()
      if (url.startsWith(server.baseUrl)) return route.continue()
      blocked.push(url)
      return route.abort()
    })
  )

/** Opens the dashboard with the token in the address, letting it reach the server only. */
const open = (page: Page, server: Server.TestServer, blocked: Array<string>) =>
  Effect.gen(function*() {
    yield* onlyServer(page, server, blocked)
    yield* promise(() => page.goto(`${server.baseUrl}/#token=${Server.token}`))
    yield* promise(() => page.locator("#agent option").first().waitFor({ state: "attached" }))
  })

const text = (page: Page, selector: string) => promise(() => page.locator(selector).innerText())

/** Starts a run from the form and waits until the page shows it. */
const startFromForm = (page: Page, agent: string, lines: ReadonlyArray<unknown>, concurrency: number) =>
  Effect.gen(function*() {
    const before = yield* text(page, "#run-title").pipe(Effect.orElseSucceed(() => ""))
    yield* promise(() => page.selectOption("#agent", agent))
    yield* promise(() => page.fill("#tasks", lines.map((line) => JSON.stringify(line)).join("\n")))
    yield* promise(() => page.fill("#concurrency", String(concurrency)))
    yield* promise(() => page.click("#start"))
    yield* promise(() =>
      page.waitForFunction(
        (before) => {
          const title = (globalThis as any).document.getElementById("run-title").textContent
          return title !== "" && title !== before
        },
        before
      )
    )
    return (yield* text(page, "#run-title")).match(/^Run (\w+)/)![1]!
  })

const waitText = (page: Page, selector: string, expected: string | RegExp, timeout = 30_000) =>
  promise(() =>
    page.waitForFunction(
      ([selector, source, flags]) => {
        const element = (globalThis as any).document.querySelector(selector)
        return element !== null && new RegExp(source, flags).test(element.textContent)
      },
      [
        selector,
        typeof expected === "string" ? `^${expected.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$` : expected.source,
        typeof expected === "string" ? "" : expected.flags
      ] as const,
      { timeout }
    )
  )

const docs = (n: number) => Array.from({ length: n }, (_, i) => ({ text: `document number ${i}` }))

describe("Dashboard in a browser", () => {
  it.scopedLive(
    `start, watch, cancel, reload, streamed text, a phone; no errors, nothing off the server${skipped}`,
    (ctx) => {
      requireBrowser(ctx)
      return Effect.gen(function*() {
        const sleepy = yield* TestAgent.make({
          name: "sleepy",
          run: (input: { readonly ms: number }) => Effect.as(Effect.sleep(input.ms), input.ms)
        })
        const server = yield* Server.start({
          latency: "300 millis",
          agents: [
            Runs.agent({
              name: "sleepy",
              description: "sleeps",
              input: Schema.Struct({ ms: Schema.Number }),
              factory: sleepy.factory
            })
          ]
        })
        const browser = yield* launch
        const page = yield* promise(() => browser.newPage({ viewport: { width: 1280, height: 900 } }))
        const errors = collectErrors(page)
        const blocked: Array<string> = []
        yield* open(page, server, blocked)
        // The token went from the address to the tab's storage.
        assert.notInclude(page.url(), Server.token)

        // Start a run from the form, its tasks uploaded as a JSONL file: the counters move to the final summary,
        // the timeline has a bar per task.
        yield* promise(() =>
          page.setInputFiles("#file", {
            name: "tasks.jsonl",
            mimeType: "application/x-ndjson",
            buffer: Buffer.from(docs(12).map((line) => JSON.stringify(line)).join("\n"))
          })
        )
        yield* promise(() =>
          page.waitForFunction(() => (globalThis as any).document.getElementById("tasks").value.includes("number 11"))
        )
        yield* promise(() => page.fill("#concurrency", "4"))
        yield* promise(() => page.click("#start"))
        yield* waitText(page, "#run-title", /^Run \w+: classify$/)
        const first = (yield* text(page, "#run-title")).match(/^Run (\w+)/)![1]!
        yield* waitText(page, "#run-state", "finished")
        yield* waitText(page, "#c-succeeded", "12")
        yield* waitText(page, "#c-done", "12 / 12")
        assert.strictEqual(yield* text(page, "#c-in-flight"), "0")
        assert.match(yield* text(page, "#c-tokens"), /^[\d,]+ \/ [\d,]+$/)
        assert.strictEqual(yield* promise(() => page.locator("#timeline .bar-succeeded").count()), 12)
        // A bar names its task and agent instance (the agent from the task's TaskStarted: its end leaves it out).
        const details = yield* promise(() => page.locator("#timeline .bar-succeeded title").first().textContent())
        assert.match(details ?? "", new RegExp(`^\\d+\nagent: classifier#${first}/`))
        assert.include(yield* text(page, `#runs li[data-run-id="${first}"]`), "finished")

        // The report opens from memory in a new tab.
        const [report] = yield* promise(() => Promise.all([page.context().waitForEvent("page"), page.click("#report")]))
        yield* promise(() => report.waitForLoadState())
        assert.strictEqual(yield* promise(() => report.locator(".bar").count()), 12)
        yield* promise(() => report.close())

        // Cancel another run mid-way: the agents stop, the run is cancelled.
        const second = yield* startFromForm(page, "sleepy", Array.from({ length: 6 }, () => ({ ms: 60_000 })), 2)
        yield* waitText(page, "#c-in-flight", "2")
        yield* promise(() => page.click("#cancel"))
        yield* waitText(page, "#run-state", "cancelled")
        yield* waitText(page, "#c-in-flight", "0")
        const cancelled = yield* server.client.runs.get({ path: { id: second } })
        assert.strictEqual(cancelled.state, "cancelled")
        const stats = yield* sleepy.stats
        assert.deepStrictEqual([stats.builds, stats.releases], [2, 2])

        // Reload mid-run: the page comes back to the run and restores what it had, then follows it to its end.
        const third = yield* startFromForm(page, "classify", docs(30), 2)
        yield* waitText(page, "#c-done", /^([4-9]|[12]\d) \/ 30$/)
        yield* promise(() => page.reload())
        yield* waitText(page, "#run-title", new RegExp(`^Run ${third}`))
        yield* waitText(page, "#c-done", /^([4-9]|[123]\d) \/ 30$/, 5_000)
        yield* waitText(page, "#c-done", "30 / 30")
        yield* waitText(page, "#run-state", "finished")
        assert.strictEqual(yield* promise(() => page.locator("#timeline .bar-succeeded").count()), 30)

        // A running task's streamed text appears before the task ends.
        yield* startFromForm(page, "explain", [{ text: "the harbour at dawn with its boats" }], 1)
        yield* promise(() =>
          page.waitForFunction(
            () => {
              const doc = (globalThis as any).document
              const written = doc.querySelector("#outputs li .text")
              return written !== null && written.textContent.trim().split(/\s+/).length >= 2 &&
                doc.getElementById("c-done").textContent === "0 / 1"
            },
            undefined,
            { timeout: 20_000 }
          )
        )
        yield* waitText(page, "#c-done", "1 / 1")

        // On a phone: nothing runs off the screen, the timeline's labels stay readable.
        const mobile = yield* promise(() => browser.newPage(phone))
        const mobileErrors = collectErrors(mobile)
        yield* open(mobile, server, blocked)
        yield* promise(() => mobile.locator(`#runs li[data-run-id="${first}"]`).click())
        yield* waitText(mobile, "#c-done", "12 / 12")
        const layout = yield* phoneLayout(mobile)
        assert.isAtMost(layout.overflow, 0)
        assert.isAtLeast(layout.smallest, 9)

        assert.deepStrictEqual([...errors, ...mobileErrors], [])
        assert.deepStrictEqual(blocked, [], "the page requested something off the server")
      })
    },
    { timeout: 180_000 }
  )

  it.scopedLive(`/docs shows the API with no network: its script is inline, it asks for nothing${skipped}`, (ctx) => {
    requireBrowser(ctx)
    return Effect.gen(function*() {
      const server = yield* Server.start()
      const browser = yield* launch
      const page = yield* promise(() => browser.newPage({ viewport: { width: 1280, height: 900 } }))
      const errors = collectErrors(page)
      const blocked: Array<string> = []
      yield* onlyServer(page, server, blocked)
      yield* promise(() => page.goto(`${server.baseUrl}/docs`))
      yield* promise(() => page.getByText("Start a run").first().waitFor({ timeout: 30_000 }))
      yield* promise(() => page.getByText("The run's events, as Server-Sent Events").first().waitFor())
      assert.deepStrictEqual(errors, [])
      assert.deepStrictEqual(blocked, [], "the docs requested something off the server")
    })
  }, { timeout: 90_000 })
})
