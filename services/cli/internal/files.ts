/**
 * The files of a run, checked before any of them is touched: the input is opened and read, the results file and the
 * report may not name the input or each other (links resolved), and the report's directory must take a new file.
 * The results are written whole lines at a time; the report goes to a temporary file in its directory, renamed
 * over the target, so that a crash leaves the old report or the new one, never a part.
 *
 * @internal
 */
import type * as PlatformError from "@effect/platform/Error"
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as Random from "effect/Random"
import * as Scope from "effect/Scope"

/** A file of the run that cannot be used: `message` says which and why. @internal */
export class FileError extends Data.TaggedError("FileError")<{ readonly message: string }> {}

/**
 * What a file-system error says (`ENOENT: no such file or directory`), without the call and path Node.js adds (the
 * message names the file) or the file descriptor of the method.
 *
 * @internal
 */
export const describe = (error: PlatformError.PlatformError): string => {
  const description = error.description ?? (error._tag === "SystemError" ? error.reason : error.message)
  return description.replace(/, \w+ '.*'$/s, "")
}

/**
 * The file a path names once links are resolved: its real path, or, for a path that does not exist yet, the real
 * path of its nearest existing directory joined with the rest.
 */
const resolveLinks = (fs: FileSystem.FileSystem, path: Path.Path, file: string): Effect.Effect<string> =>
  fs.realPath(file).pipe(
    Effect.catchAll(() => {
      const parent = path.dirname(file)
      return parent === file
        ? Effect.succeed(file)
        : Effect.map(resolveLinks(fs, path, parent), (real) => path.join(real, path.basename(file)))
    })
  )

/** The file's device and inode, when it exists: two paths with the same are one file (hard links included). */
const identity = (fs: FileSystem.FileSystem, file: string) =>
  fs.stat(file).pipe(
    Effect.map((info) => Option.map(info.ino, (ino) => `${info.dev}:${ino}`)),
    Effect.orElseSucceed(() => Option.none<string>())
  )

/** A file given on the command line: the flag that named it, its path as resolved, and its path with links resolved. */
interface Named {
  readonly flag: string
  readonly file: string
  /** What the file is to the flag, when it is not the file the flag names: `, the journal's own`. */
  readonly note: string
  readonly real: string
  readonly identity: Option.Option<string>
}

const named = (fs: FileSystem.FileSystem, path: Path.Path, flag: string, file: string, note = "") =>
  Effect.all({
    flag: Effect.succeed(flag),
    file: Effect.succeed(file),
    note: Effect.succeed(note),
    real: resolveLinks(fs, path, file),
    identity: identity(fs, file)
  })

const same = (a: Named, b: Named) =>
  a.real === b.real || (Option.isSome(a.identity) && Option.isSome(b.identity) && a.identity.value === b.identity.value)

/**
 * Checks the run's files before any is touched: no two of input, results and report are one file; the input can be
 * opened and read; the report's directory takes a new file. `show` shows a path to people. Returns the report's
 * real path (a link is replaced in its target, not overwritten with a file).
 *
 * @internal
 */
export const check = Effect.fnUntraced(function*(options: {
  readonly input: string
  readonly output: Option.Option<string>
  readonly report: Option.Option<string>
  /** The run journal (`--journal`), when there is one. */
  readonly journal?: Option.Option<string> | undefined
  readonly show: (file: string) => string
}) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const files: Array<Named> = [yield* named(fs, path, "--input", options.input)]
  if (Option.isSome(options.output)) files.push(yield* named(fs, path, "--output", options.output.value))
  if (Option.isSome(options.report)) files.push(yield* named(fs, path, "--report", options.report.value))
  if (options.journal !== undefined && Option.isSome(options.journal)) {
    files.push(yield* named(fs, path, "--journal", options.journal.value))
    // SQLite's side files are the journal too: results written over its WAL lose what it recorded.
    for (const side of ["-wal", "-shm", "-journal"]) {
      files.push(yield* named(fs, path, "--journal", options.journal.value + side, ", the journal's own"))
    }
  }
  for (const [i, a] of files.entries()) {
    for (const b of files.slice(i + 1)) {
      if (a.flag !== b.flag && same(a, b)) {
        return yield* new FileError({
          message: `${a.flag} and ${b.flag} name the same file (${options.show(b.file)}${b.note}): ${
            a.flag === "--input" ? "it would be overwritten before it is read" : "one would overwrite the other"
          }. Give another ${b.flag}.`
        })
      }
    }
  }
  yield* readable(fs, options.input, options.show)
  const report = files.find((file) => file.flag === "--report")
  if (report !== undefined) yield* writable(fs, path, report.real, options.show(report.file))
  return Option.map(Option.fromNullable(report), (file) => file.real)
})

/** Opens the input and reads from it, so that a file that cannot be read is found before any output is touched. */
const readable = (fs: FileSystem.FileSystem, input: string, show: (file: string) => string) =>
  Effect.scoped(Effect.gen(function*() {
    const handle = yield* fs.open(input, { flag: "r" })
    yield* handle.read(new Uint8Array(1))
  })).pipe(
    Effect.mapError((error) => new FileError({ message: `cannot read the input ${show(input)}: ${describe(error)}` }))
  )

const temporaryName = (path: Path.Path, target: string) =>
  Effect.map(
    Random.nextIntBetween(0, 36 ** 6),
    (n) => path.join(path.dirname(target), `.${path.basename(target)}.${n.toString(36).padStart(6, "0")}.tmp`)
  )

/**
 * Checks that the report can be written: its target is not a directory, and its directory takes a new file (one is
 * created and removed).
 */
const writable = (fs: FileSystem.FileSystem, path: Path.Path, target: string, shown: string) =>
  Effect.gen(function*() {
    const info = yield* Effect.option(fs.stat(target))
    // It is replaced by a rename: a directory, a device or a pipe there stays as it is.
    if (Option.isSome(info) && info.value.type !== "File") {
      return yield* new FileError({
        message: `cannot write the report to ${shown}: it is ${
          info.value.type === "Directory" ? "a directory" : "not a regular file"
        }`
      })
    }
    // A file it may not write (read-only) is refused as the results file is, not replaced by a rename, which the
    // directory alone allows.
    if (Option.isSome(info)) {
      yield* Effect.scoped(fs.open(target, { flag: "a" })).pipe(
        Effect.mapError((error) =>
          new FileError({ message: `cannot write the report to ${shown}: ${describe(error)}` })
        )
      )
    }
    const probe = yield* temporaryName(path, target)
    yield* fs.writeFileString(probe, "", { flag: "wx" }).pipe(
      Effect.zipRight(fs.remove(probe)),
      Effect.mapError((error) => new FileError({ message: `cannot write the report to ${shown}: ${describe(error)}` }))
    )
  })

/**
 * Writes a file whole: to a temporary file in its directory, then renamed over it. On failure the temporary file is
 * removed and the target is as it was.
 *
 * @internal
 */
export const writeWhole = (target: string, text: string): Effect.Effect<
  void,
  PlatformError.PlatformError,
  FileSystem.FileSystem | Path.Path
> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const temporary = yield* temporaryName(path, target)
    yield* fs.writeFileString(temporary, text, { flag: "wx" }).pipe(
      Effect.zipRight(fs.rename(temporary, target)),
      Effect.onError(() => Effect.ignore(fs.remove(temporary)))
    )
  })

/**
 * The results file of a run, for the scope. It is checked now (it can be opened for writing: not a folder, not
 * read-only), without being touched, and replaced when the run writes its first line (`write`), or at its end for a
 * run of no lines (`replace`): a run that fails before its first line (a journal it cannot read back) leaves the
 * previous results as they were. Writes are whole lines, and fail with the path named.
 *
 * @internal
 */
export interface Results {
  readonly write: (text: string) => Effect.Effect<void, FileError>
  /** Replaces the file (with an empty one) if no line was written yet. */
  readonly replace: Effect.Effect<void, FileError>
  /** Whether the file was replaced yet. */
  readonly replaced: () => boolean
}

/** @internal */
export const openResults = (
  file: string,
  shown: string
): Effect.Effect<Results, FileError, FileSystem.FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const scope = yield* Effect.scope
    const fail = (error: PlatformError.PlatformError) =>
      new FileError({ message: `cannot write the results to ${shown}: ${describe(error)}` })
    // Opened to append, which creates a missing file and truncates nothing: the file can take the results.
    yield* Effect.scoped(fs.open(file, { flag: "a" })).pipe(Effect.mapError(fail))
    let handle: FileSystem.File | undefined
    const open = Effect.suspend(() =>
      handle !== undefined ? Effect.succeed(handle) : Effect.tap(
        Scope.extend(fs.open(file, { flag: "w" }), scope),
        (opened) =>
          Effect.sync(() => {
            handle = opened
          })
      )
    ).pipe(Effect.mapError(fail))
    return {
      write: (text: string) =>
        Effect.flatMap(open, (handle) => Effect.mapError(handle.writeAll(encoder.encode(text)), fail)),
      replace: Effect.asVoid(open),
      replaced: () => handle !== undefined
    }
  })

// TextEncoder is a global of every runtime the command line runs on; the project's libraries do not declare it.
declare const TextEncoder: new() => { encode(text: string): Uint8Array }
const encoder = new TextEncoder()
