/**
 * The dashboard: one page, with no build step and nothing loaded from anywhere, that lists the runs, starts a run
 * from a form (agent, JSONL pasted or uploaded, concurrency) and draws a selected run live from its event stream:
 * counters by outcome, in flight, throughput and tokens, the text each running task is writing, and the HTML
 * report's timeline growing as tasks end (drawn by the report's own code, `RunReportHtml.script`).
 *
 * @since 0.1.0
 */
import * as RunReportHtml from "../../src/RunReportHtml.js"

/**
 * The Content-Security-Policy the page is served with: its own inline script and styles, requests to its own
 * origin, nothing else.
 *
 * @category constructors
 * @since 0.1.0
 */
export const contentSecurityPolicy =
  "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; " +
  "img-src data: blob:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

/**
 * The page. `base` is the path the API's groups are mounted under (`""` at the root).
 *
 * @category constructors
 * @since 0.1.0
 */
export const html = (options?: { readonly base?: string | undefined }): string =>
  `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>effect-parallel-agents</title>
<style>${RunReportHtml.styles}</style></head><body data-base="${options?.base ?? ""}"></body></html>`
