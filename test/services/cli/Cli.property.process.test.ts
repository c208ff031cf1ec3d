/**
 * The command line against generated files and flags, as a hostile user would run it: JSONL files of valid, torn,
 * binary, deeply nested, huge, non-UTF-8, blank and wrong-shaped lines, with duplicate and hostile ids, CRLF and a
 * byte order mark, under generated flag sets (usage errors among them), each run as a real process. For every case:
 * the input is never changed; the results are valid JSONL with exactly one line per task line; the exit code is the
 * README's; nothing printed holds a control character (stdout and stderr are not terminals, so not even the
 * progress bar's); only bad lines are reported as `line N:`. Seeded: a failure names its case, which the same seed
 * generates again.
 */
import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import * as Text from "../../../services/cli/internal/text.js"
import type * as Summary from "../../../services/cli/Summary.js"
import { run, tempDirectory } from "./process.js"

const seed = 18_013
const cases = 30

// =============================================================================
// lines
// =============================================================================

/** A generated line: its bytes, and whether the command line must take it as a task, reject it, or skip it. */
interface Line {
  readonly kind: string
  readonly bytes: Uint8Array
  readonly outcome: "good" | "bad" | "blank"
}

const encoder = new TextEncoder()
const line = (kind: string, text: string, outcome: Line["outcome"]): Line => ({
  kind,
  bytes: encoder.encode(text),
  outcome
})

const hostileId = fc.constantFrom(
  "\u001b[2J\u001b[H",
  "\u001b]0;pwned\u0007",
  "a\r\nline 99: bad input: forged",
  "\u009b31mred",
  "\u202eevil",
  "bell\u0007",
  "x".repeat(3_000),
  "dup",
  "dup",
  "7"
)

const id = fc.oneof(
  hostileId,
  fc.string({ maxLength: 12 }),
  fc.integer({ min: -5, max: 50 })
)

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: "binary", maxLength: 40 }),
  fc.constantFrom("Sample document number 3", "\u001b[2J\u0007", "é€𝄞 🙂")
)

const good: fc.Arbitrary<Line> = fc.record({ id: fc.option(id, { nil: undefined }), text }).map((fields) =>
  line(
    "good",
    JSON.stringify(fields.id === undefined ? { text: fields.text } : { id: fields.id, text: fields.text }),
    "good"
  )
)

const torn: fc.Arbitrary<Line> = fc.tuple(good, fc.double({ min: 0.05, max: 0.95, noNaN: true })).map(([whole, at]) => {
  const text = new TextDecoder().decode(whole.bytes)
  return line("torn", text.slice(0, Math.max(1, Math.floor(text.length * at))), "bad")
})

// Bytes with no line break, starting with one that is neither blank nor valid UTF-8.
const binary: fc.Arbitrary<Line> = fc.uint8Array({ minLength: 1, maxLength: 60 }).map((bytes) => ({
  kind: "binary",
  bytes: Uint8Array.from([0xff, ...bytes.filter((byte) => byte !== 0x0a)]),
  outcome: "bad"
}))

const nested: fc.Arbitrary<Line> = fc.constantFrom(20, 300, 10_000).map((depth) =>
  line(
    `nested ${depth}`,
    `{"text": "deep", "x": ${"[".repeat(depth)}${"]".repeat(depth)}}`,
    depth <= 256 ? "good" : "bad"
  )
)

const huge: fc.Arbitrary<Line> = fc.boolean().map((valid) =>
  valid
    ? line("huge", JSON.stringify({ text: "y".repeat(200_000) }), "good")
    : line("huge garbage", "z".repeat(200_000), "bad")
)

const wrongShape: fc.Arbitrary<Line> = fc.constantFrom(
  `{"txt": "a typo"}`,
  `{"text": 5}`,
  `[1, 2]`,
  `42`,
  `"text"`,
  `null`,
  `{"id": "\\u001b[2J", "text": null}`
).map((text) => line("wrong shape", text, "bad"))

const blank: fc.Arbitrary<Line> = fc.constantFrom("", "   ", "\t", " \t ").map((text) => line("blank", text, "blank"))

const anyLine = fc.oneof(
  { arbitrary: good, weight: 6 },
  { arbitrary: torn, weight: 2 },
  { arbitrary: binary, weight: 2 },
  { arbitrary: nested, weight: 1 },
  { arbitrary: huge, weight: 1 },
  { arbitrary: wrongShape, weight: 2 },
  { arbitrary: blank, weight: 2 }
)

interface File {
  readonly lines: ReadonlyArray<Line>
  readonly crlf: boolean
  readonly bom: boolean
  readonly finalNewline: boolean
}

const file: fc.Arbitrary<File> = fc.record({
  lines: fc.array(anyLine, { minLength: 1, maxLength: 6 }),
  crlf: fc.boolean(),
  bom: fc.boolean(),
  finalNewline: fc.boolean()
})

const bytesOf = (file: File): Uint8Array => {
  const end = Uint8Array.from(file.crlf ? [0x0d, 0x0a] : [0x0a])
  const parts = [
    Uint8Array.from(file.bom ? [0xef, 0xbb, 0xbf] : []),
    ...file.lines.flatMap((line, i) =>
      i < file.lines.length - 1 || file.finalNewline ? [line.bytes, end] : [line.bytes]
    )
  ]
  const bytes = new Uint8Array(parts.reduce((n, part) => n + part.length, 0))
  parts.reduce((offset, part) => {
    bytes.set(part, offset)
    return offset + part.length
  }, 0)
  return bytes
}

// =============================================================================
// flags
// =============================================================================

interface Flags {
  readonly agent: string
  readonly concurrency: ReadonlyArray<string>
  readonly output: boolean
  readonly report: boolean
  readonly json: boolean
  readonly extra: ReadonlyArray<string>
  readonly debug: boolean
  /** What makes it a usage error, if anything. */
  readonly usage: string | undefined
}

const flags: fc.Arbitrary<Flags> = fc.record({
  agent: fc.constantFrom("classify", "summarize", "x\u001b[2Jtranslate"),
  concurrency: fc.constantFrom<ReadonlyArray<string>>(
    [],
    ["-c", "1"],
    ["-c", "2"],
    ["--concurrency", "7"],
    [
      "-c",
      "0"
    ],
    ["-c", "10000000"],
    ["-c", "2", "-c", "3"],
    ["--concurrency"]
  ),
  output: fc.boolean(),
  report: fc.boolean(),
  json: fc.boolean(),
  extra: fc.subarray(["--retries", "0", "--timeout", "30s", "--deadline", "5m", "--progress-interval", "20ms"]).map(
    // Flags go in pairs: keep the pairs whole.
    (picked) =>
      ["--retries", "--timeout", "--deadline", "--progress-interval"].flatMap((flag, i) =>
        picked.includes(flag) ? [flag, ["0", "30s", "5m", "20ms"][i]!] : []
      )
  ),
  debug: fc.boolean()
}).map((flags) => ({
  ...flags,
  usage: !flags.agent.startsWith("classify") && !flags.agent.startsWith("summarize")
    ? "unknown agent"
    : ["0", "10000000"].includes(flags.concurrency[1] ?? "") || flags.concurrency.length !== 2 &&
        flags.concurrency.length !== 0
    ? `concurrency ${flags.concurrency.join(" ")}`
    : undefined
}))

const argsOf = (flags: Flags): Array<string> => [
  ...(flags.debug ? ["--log-level", "debug"] : []),
  "run",
  "-i",
  "tasks.jsonl",
  "-a",
  flags.agent,
  ...flags.extra,
  ...(flags.output ? ["-o", "results.jsonl"] : []),
  ...(flags.report ? ["--report", "report.html"] : []),
  ...(flags.json ? ["--json"] : []),
  // Last, so that `--concurrency` with no value is at the end.
  ...flags.concurrency
]

// =============================================================================
// the property
// =============================================================================

const describeCase = (index: number, file: File, flags: Flags) =>
  `case ${index} (seed ${seed}): parallel-agents ${JSON.stringify(argsOf(flags))} over ${
    JSON.stringify(file.lines.map((line) => `${line.kind}: ${new TextDecoder().decode(line.bytes).slice(0, 80)}`))
  } crlf=${file.crlf} bom=${file.bom} finalNewline=${file.finalNewline}`

const check = (index: number, file: File, flags: Flags) =>
  Effect.gen(function*() {
    const where = describeCase(index, file, flags)
    const directory = yield* tempDirectory
    const input = path.join(directory, "tasks.jsonl")
    const bytes = bytesOf(file)
    fs.writeFileSync(input, bytes)
    const { exitCode, stderr, stdout } = yield* run(argsOf(flags), {
      directory,
      env: { AGENT_OFFLINE_LATENCY: "1 millis" }
    })

    assert.deepStrictEqual(new Uint8Array(fs.readFileSync(input)), bytes, `the input changed: ${where}`)
    assert.isFalse(Text.hasControl(stdout), `a control character on stdout: ${where}\n${JSON.stringify(stdout)}`)
    assert.isFalse(Text.hasControl(stderr), `a control character on stderr: ${where}\n${JSON.stringify(stderr)}`)

    if (flags.usage !== undefined) {
      assert.strictEqual(exitCode, 2, `${flags.usage}: ${where}\n${stderr}`)
      assert.strictEqual(stdout, "", where)
      assert.deepStrictEqual(fs.readdirSync(directory), ["tasks.jsonl"], where)
      return
    }

    const numbered = file.lines.map((line, i) => ({ ...line, number: i + 1 }))
    const tasks = numbered.filter((line) => line.outcome !== "blank")
    const bad = new Set(tasks.filter((line) => line.outcome === "bad").map((line) => line.number))
    assert.strictEqual(exitCode, bad.size > 0 ? 1 : 0, `exit code: ${where}\n${stderr}`)

    const text = flags.output ? fs.readFileSync(path.join(directory, "results.jsonl"), "utf8") : stdout
    const rows = text.split("\n")
    assert.strictEqual(rows.pop(), "", `the results end with a line break: ${where}`)
    if (flags.json && !flags.output) {
      const summary = JSON.parse(rows.pop()!) as Summary.Summary
      assert.strictEqual(summary.exitCode, exitCode, where)
      assert.strictEqual(summary.badInput, bad.size, where)
    }
    const results = rows.map((row) =>
      JSON.parse(row) as { line: number; id: string; status: string; errorTag?: string }
    )
    assert.deepStrictEqual(
      results.map((result) => result.line).sort((a, b) => a - b),
      tasks.map((line) => line.number),
      `one result line per task line: ${where}`
    )
    for (const result of results) {
      if (bad.has(result.line)) {
        assert.deepStrictEqual([result.status, result.errorTag], ["Failed", "AgentInputError"], where)
      } else {
        assert.strictEqual(result.status, "Succeeded", `line ${result.line}: ${where}`)
      }
    }

    const reported = stderr.split("\n").flatMap((row) => {
      const match = row.match(/^line (\d+): /)
      return match === null ? [] : [Number(match[1])]
    })
    assert.isTrue(reported.every((number) => bad.has(number)), `a forged "line N:" on stderr: ${where}\n${stderr}`)
    assert.strictEqual(reported.length, bad.size, `each bad line reported once: ${where}\n${stderr}`)
    if (flags.report) {
      assert.match(fs.readFileSync(path.join(directory, "report.html"), "utf8"), /<\/html>\n?$/, where)
    }
    if (flags.debug) assert.include(stderr, "level=DEBUG", where)
  }).pipe(Effect.scoped)

describe("parallel-agents (a process): generated files and flags", () => {
  it.live(
    `${cases} cases: the input unchanged, one result line per task line, the README's exit code, no control character`,
    () =>
      Effect.forEach(
        fc.sample(fc.tuple(file, flags), { seed, numRuns: cases }).map(([file, flags], index) => ({
          file,
          flags,
          index
        })),
        ({ file, flags, index }) => check(index, file, flags),
        { concurrency: 2, discard: true }
      ).pipe(Effect.provide(NodeContext.layer)),
    900_000
  )
})
