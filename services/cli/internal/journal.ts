/**
 * The run journal of the command line: a SQLite file (`SqlRunJournal.layerSqlite`), `--journal <file>` or
 * `.parallel-agents/journal.db` in the working directory by default. The store's module is loaded when a journal is
 * opened, so that a command line without its optional peers (`@effect/sql`, `@effect/sql-libsql`) still runs
 * without one.
 *
 * @internal
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as RunJournal from "../../../src/RunJournal.js"
import * as Output from "../Output.js"
import * as internal from "./exit.js"
import * as Text from "./text.js"

/**
 * Where the journal is when `--journal` is not given, relative to the working directory.
 *
 * @internal
 */
export const defaultFile = ".parallel-agents/journal.db"

const storePeers = "@effect/sql @effect/sql-libsql @effect/experimental"

/** A usage or setup error of `command`: its message on stderr (escaped), and exit code 2. */
const usage = (command: string, message: string) =>
  Effect.flatMap(Output.Output, (output) => output.stderr(`parallel-agents ${command}: ${Text.escape(message)}\n`))
    .pipe(
      Effect.zipRight(Effect.fail(new internal.CliExit({ code: internal.ExitCode.Usage })))
    )

/**
 * Opens the journal for the scope. `file` is `--journal`; without it, the default file. A journal that does not
 * exist is created, with its folder, when `create` is set. With `create` unset (resuming, listing), a journal that does not exist is a usage error
 * rather than a new empty file. Returns the journal and its path as given.
 *
 * @internal
 */
export const open = Effect.fnUntraced(function*(options: {
  readonly command: string
  readonly file: Option.Option<string>
  readonly create: boolean
}) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const shown = Option.getOrElse(options.file, () => defaultFile)
  const file = path.resolve(shown)
  const exists = yield* Effect.orElseSucceed(fs.exists(file), () => false)
  if (!exists && !options.create) {
    return yield* usage(
      options.command,
      `no journal at ${shown}: there is nothing to resume or list there (a run records one with --journal ${shown})`
    )
  }
  const info = exists ? yield* Effect.option(fs.stat(file)) : Option.none()
  if (Option.isSome(info) && info.value.type === "Directory") {
    return yield* usage(options.command, `${shown} is a folder, not a journal: give a file, such as ${shown}/runs.db`)
  }
  // Listing or resuming reads a journal: an empty file there (a results file of no lines, say) would be made one.
  if (!options.create && Option.isSome(info) && info.value.type === "File" && info.value.size === BigInt(0)) {
    return yield* usage(options.command, `${shown} is empty: it is not a journal (a run records one with --journal)`)
  }
  if (!exists) {
    yield* fs.makeDirectory(path.dirname(file), { recursive: true }).pipe(
      Effect.catchAll((error) =>
        usage(options.command, `cannot create the journal's folder ${path.dirname(shown)}: ${error.message}`)
      )
    )
  }
  const SqlRunJournal = yield* Effect.tryPromise({
    try: () => import("../../store/SqlRunJournal.js"),
    catch: (error) => error
  }).pipe(
    Effect.catchAll((error) =>
      usage(
        options.command,
        `a journal needs the optional peers of effect-parallel-agents/store (npm install ${storePeers}): ` +
          (error instanceof Error ? error.message : String(error))
      )
    )
  )
  const context = yield* Layer.build(SqlRunJournal.layerSqlite({ filename: file })).pipe(
    Effect.catchAll((error) => usage(options.command, `cannot open the journal ${shown}: ${error.message}`))
  )
  return { journal: Context.get(context, RunJournal.RunJournal), file, shown, store: SqlRunJournal }
})

/**
 * Holds the lock of a run of the journal for the scope, so that two processes never run one run at once: both would
 * call the agents of the tasks left (paying twice) and write one results file over the other. The lock is a SQLite
 * file's own lock (`SqlRunJournal.lockSqlite`), in a folder beside the journal (`.journal.db.locks/<run-id>`): the
 * operating system releases it with the process, so a run killed with `kill -9` can be resumed at once. A run held
 * by another process is a usage error.
 *
 * @internal
 */
export const lockRun = Effect.fnUntraced(function*(
  opened: Effect.Effect.Success<ReturnType<typeof open>>,
  options: { readonly command: string; readonly runId: string }
) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const file = lockFile(path, opened.file, options.runId)
  yield* fs.makeDirectory(path.dirname(file), { recursive: true }).pipe(
    Effect.catchAll((error) =>
      usage(options.command, `cannot create the folder of the journal's locks ${path.dirname(file)}: ${error.message}`)
    )
  )
  // Waits a moment: `parallel-agents runs` takes a run's lock for an instant to tell whether it is running.
  const held = yield* opened.store.lockSqlite(file, { wait: 2000 }).pipe(
    Effect.catchAll((error) => usage(options.command, `cannot lock run ${options.runId}: ${error.message}`))
  )
  if (Option.isNone(held)) {
    return yield* usage(
      options.command,
      `run ${options.runId} is going on in another process (it holds the run's lock in ${opened.shown}): let it ` +
        `end, or stop it, before you run it again`
    )
  }
})

/** The lock file of a run: `.journal.db.locks/<run-id>.lock` beside the journal. */
const lockFile = (path: Path.Path, journal: string, runId: string) =>
  path.join(
    path.dirname(journal),
    `.${path.basename(journal)}.locks`,
    // A file name from any run id: letters, digits, '_' and '-' as they are, anything else (a '.', a '/') by its code.
    `${runId.replace(/[^A-Za-z0-9_-]/g, (char) => `.${char.codePointAt(0)!.toString(16)}.`)}.lock`
  )

/**
 * Whether another process is running the run now: it holds the run's lock (`lockRun`). Taken for an instant to find
 * out; a run whose lock file does not exist (a run of the HTTP API, say) is not running here.
 *
 * @internal
 */
export const isRunning = (
  opened: Effect.Effect.Success<ReturnType<typeof open>>,
  runId: string
): Effect.Effect<boolean, never, FileSystem.FileSystem | Path.Path> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = lockFile(path, opened.file, runId)
    if (!(yield* Effect.orElseSucceed(fs.exists(file), () => false))) return false
    return Option.isNone(yield* Effect.scoped(opened.store.lockSqlite(file)))
  }).pipe(Effect.orElseSucceed(() => false))
