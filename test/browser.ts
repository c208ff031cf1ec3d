import { assert } from "@effect/vitest"
import type { Scope } from "effect"
import { Effect } from "effect"
import * as fs from "node:fs"
import type { Browser, Page } from "playwright-core"
import { chromium } from "playwright-core"

/** Debian's Chromium, which the browser tests drive with playwright-core. */
export const executablePath = "/usr/bin/chromium"

const installHint = "install it with `apt-get install -y chromium` (Debian), or run `bash .ci/run`, which does"

/** Whether Chromium is missing here: then the browser tests are skipped, unless `REQUIRE_BROWSER` is set. */
export const missing = !fs.existsSync(executablePath)

const required = Boolean(process.env["REQUIRE_BROWSER"])

/** The note to add to a browser test's name (reporters do not print a skipped test's note, so it goes there). */
export const skipped = missing && !required ? ` [skipped: ${executablePath} is missing; ${installHint}]` : ""

if (skipped !== "") process.stderr.write(`Skipping the browser tests: ${executablePath} is missing; ${installHint}\n`)

/** Skips the test when Chromium is missing, or fails it when `REQUIRE_BROWSER` says it must be there. */
export const requireBrowser = (ctx: { readonly skip: (note?: string) => void }): void => {
  if (!missing) return
  if (required) assert.fail(`REQUIRE_BROWSER is set but ${executablePath} is missing: ${installHint}`)
  ctx.skip(`${executablePath} is missing: ${installHint}`)
}

/** Chromium, headless and offline-minded, closed with the scope. */
export const launch: Effect.Effect<Browser, never, Scope.Scope> = Effect.acquireRelease(
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

/** The errors a page reports (console errors, uncaught exceptions), collected as they happen. */
export const collectErrors = (page: Page): Array<string> => {
  const errors: Array<string> = []
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`)
  })
  page.on("pageerror", (error) => errors.push(`page: ${error.message}`))
  return errors
}

/** A phone: 390 by 844 CSS pixels, touch, at 3x. */
export const phone = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true }

/**
 * What a page looks like on a phone, measured in the page: how much wider than the screen it is, the meters whose
 * label runs out of its box, and the smallest text of its charts, in CSS pixels as drawn.
 */
export const phoneLayout = (page: Page) =>
  Effect.promise(() =>
    page.evaluate(() => {
      const doc = (globalThis as any).document
      const overflow = doc.documentElement.scrollWidth - (globalThis as any).innerWidth
      const meters: Array<string> = []
      for (const meter of doc.querySelectorAll(".meter")) {
        const box = meter.getBoundingClientRect()
        const label = meter.querySelector("span").getBoundingClientRect()
        if (label.right > box.right + 0.5 || label.bottom > box.bottom + 0.5) meters.push(meter.textContent)
      }
      let smallest = Infinity
      for (const text of doc.querySelectorAll(".chart text")) {
        const scale = text.ownerSVGElement.getScreenCTM().a
        const size = parseFloat((globalThis as any).getComputedStyle(text).fontSize) * scale
        if (size < smallest) smallest = size
      }
      return { overflow, meters, smallest }
    })
  )
