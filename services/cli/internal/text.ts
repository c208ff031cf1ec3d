/**
 * Text for a terminal or a log line: control characters escaped, so that nothing read from a file, a server or the
 * environment can move the cursor, clear the screen, set the window title, ring the bell or start a line of its own.
 *
 * @internal
 */

// C0 controls, DEL and C1 controls (U+009B is a one-character CSI on terminals that honour C1), the line and
// paragraph separators, and the bidirectional controls that reorder what a line shows.
/* eslint-disable no-control-regex -- matching control characters is the point */
const controls = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g
const controlsButNewline =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/* eslint-enable no-control-regex */

const named: Readonly<Record<string, string>> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" }

const escapeOne = (char: string): string => {
  const known = named[char]
  if (known !== undefined) return known
  const code = char.charCodeAt(0)
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`
}

/**
 * Escapes every control character, line breaks included, as a JavaScript string would write it (`\n`, `\x1b`,
 * `\u202e`): for text from outside (an id, a message, a path) placed inside a line.
 *
 * @internal
 */
export const escape = (text: string): string => text.replace(controls, escapeOne)

/**
 * Escapes every control character but the line break: for whole lines the command line composed, as a last guard.
 *
 * @internal
 */
export const escapeLines = (text: string): string => text.replace(controlsButNewline, escapeOne)

/**
 * Whether the text holds a control character other than the line break.
 *
 * @internal
 */
export const hasControl = (text: string): boolean => text.search(controlsButNewline) >= 0

// Select Graphic Rendition: the colours and weights `@effect/cli` gives its help and messages.
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const sgr = /\u001b\[[0-9;]*m/g

/**
 * Removes colours and weights (SGR sequences), for output that is not a terminal.
 *
 * @internal
 */
export const stripStyles = (text: string): string => text.replace(sgr, "")

/**
 * Escapes every control character but the line break and colours and weights (SGR sequences): for help on a
 * terminal.
 *
 * @internal
 */
export const escapeKeepingStyles = (text: string): string => {
  let out = ""
  let last = 0
  for (const match of text.matchAll(sgr)) {
    out += escapeLines(text.slice(last, match.index)) + match[0]
    last = match.index + match[0].length
  }
  return out + escapeLines(text.slice(last))
}

/**
 * A JSON line for a terminal: `JSON.stringify` leaves DEL, the C1 controls and the line separators as they are;
 * they are written as `\u` escapes, which JSON reads back as the same characters.
 *
 * @internal
 */
export const jsonLine = (value: unknown): string =>
  JSON.stringify(value).replace(
    /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`
  )

/**
 * A word as a POSIX shell reads it back: as it is when it holds only characters a shell leaves alone, else in
 * single quotes (`'my runs.db'`), so that a command printed for people to copy runs as printed.
 *
 * @internal
 */
export const shellWord = (text: string): string =>
  /^[A-Za-z0-9_/.,:@%+=-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`
