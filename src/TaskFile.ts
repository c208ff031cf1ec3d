/**
 * The JSONL task file: one JSON object per line, numbered from 1, blank lines skipped. Each line becomes a task
 * whose id is the object's `id` (a string or a number) or else its line number, with the line number in its `line`
 * label. A line that is not JSON, or not a JSON object, is a bad line: it still becomes a task, which `input` makes
 * fail on its own with its message, so the run goes on and the line is reported: so is a line that is not UTF-8,
 * nests deeper than `maxDepth` or is longer than `maxLineBytes`. Each result is written back as one JSON line
 * (`resultLine`).
 *
 * @since 0.1.0
 */
import type { PlatformError } from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import * as Option from "effect/Option"
import * as ParseResult from "effect/ParseResult"
import * as Predicate from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as Stream from "effect/Stream"
import type * as AgentError from "./AgentError.js"
import * as Task from "./Task.js"
import * as TaskResult from "./TaskResult.js"
import * as Usage from "./Usage.js"

// =============================================================================
// models
// =============================================================================

/**
 * The value of a good line: a JSON object.
 *
 * @category models
 * @since 0.1.0
 */
export type JsonObject = { readonly [key: string]: unknown }

/**
 * A line that holds no task: not JSON, or JSON but not an object. It is the input of that line's task, which
 * `input` rejects with `message`.
 *
 * @category models
 * @since 0.1.0
 */
export class BadLine extends Schema.TaggedClass<BadLine>("effect-parallel-agents/TaskFile/BadLine")("BadLine", {
  /** The line's number, from 1. */
  line: Schema.Number,
  /**
   * What is wrong with it: `not JSON: ...`, `not a JSON object: ...`, `not UTF-8 ...`, `nested deeper than ...` or
   * `longer than ...`.
   */
  message: Schema.String
}) {}

/**
 * The input of a task read from a task file: the line's object, or the `BadLine` it was.
 *
 * @category models
 * @since 0.1.0
 */
export type Input = JsonObject | BadLine

/**
 * @category guards
 * @since 0.1.0
 */
export const isBadLine = (u: unknown): u is BadLine => u instanceof BadLine

// =============================================================================
// reading
// =============================================================================

const JsonObject = Schema.declare((u: unknown): u is JsonObject => Predicate.isRecord(u), {
  identifier: "JsonObject",
  message: (issue) => `not a JSON object: got ${kindOf(issue.actual)}`
})

const kindOf = (value: unknown): string =>
  value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`

const decodeJson = Schema.decodeEither(Schema.parseJson(JsonObject))

/** Parser messages quote the line: long lines are cut. */
const maxMessage = 200

const messageOf = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  const message = issue?.message ?? String(error)
  // Only `Schema.parseJson`'s transformation fails with a `Transformation` issue: the line is not JSON.
  const text = issue?._tag === "Transformation" ? `not JSON: ${message}` : message
  return text.length > maxMessage ? `${text.slice(0, maxMessage)}…` : text
}

// The line's id: the object's `id` when it is a non-empty string or a number, none when it is missing, `null` or
// `""`, and a message for any other value (an object, an array, `true`), which would otherwise be dropped unseen.
const idOf = (value: JsonObject): string | undefined | { readonly bad: string } => {
  const id = value.id
  if (id === undefined || id === null || id === "") return undefined
  if (typeof id === "string" || (typeof id === "number" && Number.isFinite(id))) return String(id)
  const shown = JSON.stringify(id) ?? String(id)
  return {
    bad: `at ["id"]: expected a string or a number, got ${shown.length > 40 ? `${shown.slice(0, 40)}…` : shown}`
  }
}

/**
 * Whether a line holds nothing but whitespace: such lines are skipped, and keep their number.
 *
 * @category guards
 * @since 0.1.0
 */
export const isBlank = (text: string): boolean => text.trim() === ""

/**
 * Decodes one line, numbered `line` from 1, with `Schema.parseJson`: the line's object, or the `BadLine` it is. A
 * byte order mark at the start of line 1 is ignored.
 *
 * @category constructors
 * @since 0.1.0
 */
export const decodeLine = (text: string, line: number): Either.Either<JsonObject, BadLine> => {
  const json = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
  if (nestsDeeper(json, maxDepth)) {
    return Either.left(new BadLine({ line, message: `nested deeper than ${maxDepth} levels of arrays and objects` }))
  }
  // A line that is a JSON object is what `decodeJson` makes of it (its `JSON.parse`, then the object check), without
  // the schema's steps (1.3 -> 0.5 µs for a line of the bench's documents); any other line goes through it, for its
  // message.
  const value = parsed(json)
  return Predicate.isRecord(value)
    ? Either.right(value)
    : Either.mapLeft(decodeJson(json), (error) => new BadLine({ line, message: messageOf(error) }))
}

const parsed = (json: string): unknown => {
  try {
    return JSON.parse(json)
  } catch {
    return undefined
  }
}

/**
 * How deep a line's arrays and objects may nest. A deeper line is a bad line: its value could not be described in
 * an error message, or sent to a model, without running out of stack.
 *
 * @category config
 * @since 0.1.0
 */
export const maxDepth = 256

// Whether the JSON text opens more than `max` arrays and objects at once (brackets inside strings do not count). A
// text shorter than `max` cannot.
const nestsDeeper = (text: string, max: number): boolean => {
  if (text.length <= max) return false
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i)
    if (inString) {
      if (char === 0x5c) i++
      else if (char === 0x22) inString = false
    } else if (char === 0x22) {
      inString = true
    } else if (char === 0x5b || char === 0x7b) {
      if (++depth > max) return true
    } else if (char === 0x5d || char === 0x7d) {
      depth--
    }
  }
  return false
}

/**
 * The task of one line, numbered `line` from 1: its id is the object's `id` (a non-empty string or a finite
 * number), or else (no `id`, `null`, `""`) the line number; its `line` label is the line number. A bad line's task
 * has the line number as its id and the `BadLine` as its input: a line that is not a JSON object, or whose `id` is
 * anything else (an object, an array, `true`).
 *
 * @category constructors
 * @since 0.1.0
 */
export const taskOf = (text: string, line: number): Task.Task<Input> => {
  const labels = { line: String(line) }
  return Either.match(decodeLine(text, line), {
    onLeft: (bad): Task.Task<Input> => Task.make({ id: String(line), input: bad, labels }),
    onRight: (value): Task.Task<Input> => {
      const id = idOf(value)
      return typeof id === "object"
        ? Task.make({ id: String(line), input: new BadLine({ line, message: id.bad }), labels })
        : Task.make({ id: id ?? String(line), input: value, labels })
    }
  })
}

/**
 * The tasks of a stream of lines, the first numbered 1. Blank lines are skipped (and counted in the numbering); a
 * bad line becomes a task that `input` rejects, and the stream goes on.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromLines = <E, R>(lines: Stream.Stream<string, E, R>): Stream.Stream<Task.Task<Input>, E, R> =>
  lines.pipe(
    Stream.zipWithIndex,
    Stream.filterMap(([text, index]) => isBlank(text) ? Option.none() : Option.some(taskOf(text, index + 1)))
  )

/**
 * The tasks of a stream of text, cut into lines at `\n` or `\r\n` (see `fromLines`); a lone `\r` is part of its line.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromText = <E, R>(text: Stream.Stream<string, E, R>): Stream.Stream<Task.Task<Input>, E, R> =>
  fromLines(Stream.splitLines(text))

/**
 * The tasks of a task file, read as UTF-8 as the stream is pulled (see `fromLines`); a byte order mark is ignored.
 *
 * **Example** (Running an agent over a task file)
 *
 * ```ts
 * import { Executor, TaskFile } from "effect-parallel-agents"
 * import { Schema, Stream } from "effect"
 *
 * const results = Executor.stream(TaskFile.fromFile("tasks.jsonl"), classifier, {
 *   input: TaskFile.input(Schema.Struct({ text: Schema.String })),
 *   concurrency: 100
 * }).pipe(Stream.map((result) => JSON.stringify(TaskFile.resultLine(result))))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromFile = (path: string): Stream.Stream<Task.Task<Input>, PlatformError, FileSystem.FileSystem> =>
  Stream.unwrap(Effect.map(FileSystem.FileSystem, (fs) => fromBytes(fs.stream(path))))

/**
 * The longest line read, in bytes: a longer line is a bad line, and its bytes past this are skipped unread into
 * memory.
 *
 * @category config
 * @since 0.1.0
 */
export const maxLineBytes = 16 * 1024 * 1024

/**
 * The tasks of a stream of bytes, cut into lines at `\n` or `\r\n`, each decoded as UTF-8 on its own (see
 * `fromLines`). A line that is not UTF-8, or is longer than `maxLineBytes`, is a bad line; a byte order mark at the
 * start of line 1 is ignored.
 *
 * @category constructors
 * @since 0.1.0
 */
export const fromBytes = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Task.Task<Input>, E, R> =>
  splitBytes(bytes).pipe(
    Stream.zipWithIndex,
    Stream.filterMap(([bytes, index]) => {
      const line = index + 1
      if (typeof bytes === "number") {
        return Option.some(badTask(line, `longer than ${maxLineBytes} bytes (${bytes} bytes)`))
      }
      const text = decodeUtf8(bytes)
      if (text === undefined) return Option.some(badTask(line, "not UTF-8: the line holds an invalid byte sequence"))
      return isBlank(text) ? Option.none() : Option.some(taskOf(text, line))
    })
  )

/**
 * Counts the tasks in a stream of bytes as `fromBytes` reads them (the lines that are not blank), without decoding
 * their JSON.
 *
 * @category constructors
 * @since 0.1.0
 */
export const countTasks = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Effect.Effect<number, E, R> =>
  splitBytes(bytes).pipe(
    Stream.runFold(0, (n, bytes) => {
      if (typeof bytes === "number") return n + 1
      const blank = isBlankAscii(bytes)
      if (blank !== undefined) return blank ? n : n + 1
      const text = decodeUtf8(bytes)
      return text === undefined || !isBlank(text) ? n + 1 : n
    })
  )

// Whether a line is blank, from its bytes, when they tell without decoding them: `false` at its first ASCII byte that
// is not whitespace (a line that is not UTF-8 is not blank either), `true` when all of it is ASCII whitespace (what
// `trim` removes), `undefined` when a non-ASCII byte comes first (Unicode whitespace, say: the text decides).
const isBlankAscii = (bytes: Uint8Array): boolean | undefined => {
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!
    if (byte === 0x20 || (byte >= 0x09 && byte <= 0x0d)) continue
    return byte < 0x80 ? false : undefined
  }
  return true
}

const badTask = (line: number, message: string): Task.Task<Input> =>
  Task.make({ id: String(line), input: new BadLine({ line, message }), labels: { line: String(line) } })

// TextDecoder is a global of every runtime the engine runs on; the project's libraries do not declare it.
declare const TextDecoder: new(
  label: string,
  options: { readonly fatal: boolean; readonly ignoreBOM: boolean }
) => { decode(bytes: Uint8Array): string }
// A byte order mark is kept in the text, so that only line 1's is skipped (by `decodeLine`), as `fromText` does.
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true })

const decodeUtf8 = (bytes: Uint8Array): string | undefined => {
  try {
    return utf8.decode(bytes)
  } catch {
    return undefined
  }
}

// The lines of a stream of bytes, cut at \n or \r\n as `Stream.splitLines` cuts text: each line's bytes, or, for a line
// longer than `maxLineBytes`, its length (its bytes are dropped as they come).
const splitBytes = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Uint8Array | number, E, R> =>
  Stream.suspend(() => {
    let pending: Array<Uint8Array> = []
    let pendingLength = 0
    const line = (last: Uint8Array): Uint8Array | number => {
      const length = pendingLength + last.length
      let whole = last
      if (length > maxLineBytes + 1) return length
      if (pending.length > 0) {
        whole = new Uint8Array(length)
        let offset = 0
        for (const piece of pending) {
          whole.set(piece, offset)
          offset += piece.length
        }
        whole.set(last, offset)
      }
      const text = whole.length > 0 && whole[whole.length - 1] === 0x0d ? whole.subarray(0, whole.length - 1) : whole
      return text.length > maxLineBytes ? text.length : text
    }
    const push = (chunk: Uint8Array): Array<Uint8Array | number> => {
      const lines: Array<Uint8Array | number> = []
      let start = 0
      for (let end = chunk.indexOf(0x0a); end >= 0; end = chunk.indexOf(0x0a, start)) {
        lines.push(line(chunk.subarray(start, end)))
        pending = []
        pendingLength = 0
        start = end + 1
      }
      if (start < chunk.length) {
        const rest = chunk.length - start
        // Past the limit (and its \r), a line's bytes are only counted.
        if (pendingLength + rest <= maxLineBytes + 1) pending.push(chunk.slice(start))
        else pending = []
        pendingLength += rest
      }
      return lines
    }
    const end = (): Array<Uint8Array | number> => pendingLength > 0 ? [line(new Uint8Array(0))] : []
    return Stream.concat(
      Stream.mapConcat(bytes, push),
      Stream.suspend(() => Stream.fromIterable(end()))
    )
  })

const Line = Schema.Unknown.pipe(Schema.filter((input) => isBadLine(input) ? input.message : true))

/**
 * The input schema of a run over a task file: a bad line fails with its message (`not JSON: ...`), and a line's
 * object is decoded with `schema`. Give it as the run's `input`, so that a bad line's task ends `Failed` with an
 * `AgentInputError` and the run goes on.
 *
 * @category combinators
 * @since 0.1.0
 */
export const input = <A, I, R>(schema: Schema.Schema<A, I, R>): Schema.Schema<A, unknown, R> =>
  Schema.compose(Line, schema, { strict: false })

/**
 * The line of a task read from a task file (its `line` label), `undefined` for any other task.
 *
 * @category getters
 * @since 0.1.0
 */
export const lineOf = (task: Task.Task<unknown>): number | undefined => {
  const line = task.labels.line
  return line === undefined ? undefined : Number(line)
}

// =============================================================================
// results
// =============================================================================

const Issue = Schema.Struct({
  path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
  message: Schema.String
})

/**
 * The JSON line of one result: `line` (its line in the task file), `id`, `status`, then `value` or `error` (with
 * `errorTag`, and `issues` when the line was bad input, or `reason`), `attempts`, `durationMillis`, `agent` (the
 * agent instance) and, when there was any, `usage` and `retries`; `replayed` when the result was read back from a
 * run journal (a resumed run) rather than run again.
 *
 * @category models
 * @since 0.1.0
 */
export const ResultLine = Schema.Struct({
  line: Schema.optional(Schema.Number),
  id: Schema.String,
  status: Schema.Literal("Succeeded", "Failed", "TimedOut", "Interrupted"),
  value: Schema.optional(Schema.Unknown),
  error: Schema.optional(Schema.String),
  errorTag: Schema.optional(Schema.String),
  issues: Schema.optional(Schema.Array(Issue)),
  reason: Schema.optional(Schema.String),
  attempts: Schema.Number,
  durationMillis: Schema.Number,
  agent: Schema.optional(Schema.String),
  usage: Schema.optional(Schema.Struct({
    requests: Schema.Number,
    inputTokens: Schema.Number,
    outputTokens: Schema.Number,
    cost: Schema.optional(Schema.Number)
  })),
  retries: Schema.optional(Schema.Number),
  replayed: Schema.optional(Schema.Boolean)
})

/**
 * @category models
 * @since 0.1.0
 */
export interface ResultLine extends Schema.Schema.Type<typeof ResultLine> {}

const isInputError = (error: unknown): error is AgentError.AgentInputError =>
  Predicate.isTagged(error, "AgentInputError")

const hasTag = (error: unknown): error is { readonly _tag: string } =>
  Predicate.hasProperty(error, "_tag") && typeof error._tag === "string"

/**
 * The line of a result, its fields in the order they are written (see `ResultLine`). `line` is left out for a task
 * not read from a task file; `usage` leaves out a cost of 0.
 *
 * @category constructors
 * @since 0.1.0
 */
export const resultLine = (result: TaskResult.TaskResult<unknown, unknown>): ResultLine => {
  // Assigned one field at a time, in the order they are written: one small object, where spreading optional parts
  // made several and left the line as a dictionary (a line is made for every result a run writes).
  const out: { -readonly [K in keyof ResultLine]: ResultLine[K] } = {} as ResultLine
  const line = lineOf(result.task)
  if (line !== undefined) out.line = line
  out.id = result.taskId
  out.status = result._tag
  switch (result._tag) {
    case "Succeeded":
      out.value = result.value
      break
    case "Failed": {
      out.error = TaskResult.message(result)
      const error = result.error
      if (hasTag(error)) out.errorTag = error._tag
      if (isInputError(error)) out.issues = error.issues
      break
    }
    case "TimedOut":
    case "Interrupted":
      out.error = TaskResult.message(result)
      out.reason = result.reason
      break
  }
  out.attempts = result.attempt
  out.durationMillis = result.durationMillis
  if (result.agent !== undefined) out.agent = result.agent
  const usage = result.usage
  if (!Usage.isEmpty(usage)) {
    out.usage = usage.cost > 0
      ? usage
      : { requests: usage.requests, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens }
  }
  if (result.failedAttempts.length > 0) out.retries = result.failedAttempts.length
  if (result.replayed) out.replayed = true
  return out
}
