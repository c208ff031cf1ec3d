/**
 * Text formatting shared by the terminal report (`RunReport.format`), the HTML report (`RunReportHtml`) and the
 * pages that draw runs live: durations and counts as people read them. Every function here stands alone (it uses
 * only its arguments, the language's globals and the other functions of this module), so that the HTML pages can
 * carry its source to the browser.
 *
 * @internal
 */

/**
 * Milliseconds for people: `850 ms`, `4.20 s`, `2 min 05 s`.
 *
 * @internal
 */
export const formatMillis = (millis: number): string => {
  const ms = Math.round(millis)
  if (ms < 1000) return `${ms} ms`
  const centiseconds = Math.round(millis / 10)
  if (centiseconds < 6000) return `${(centiseconds / 100).toFixed(2)} s`
  const seconds = Math.round(millis / 1000)
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`
}

/**
 * A count with thousands separators (`12,345`), and at most 4 decimals for the rare fractional figure (a cost).
 *
 * @internal
 */
export const formatCount = (n: number): string => n.toLocaleString("en-US", { maximumFractionDigits: 4 })

/**
 * A ratio as a percentage: `0.364` is `36.4%`.
 *
 * @internal
 */
export const formatPercent = (x: number, digits = 1): string => `${(x * 100).toFixed(digits)}%`
