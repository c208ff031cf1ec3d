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
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Equal from "effect/Equal"
import * as ExecutionStrategy from "effect/ExecutionStrategy"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Scope from "effect/Scope"
import * as RunJournal from "../../../src/RunJournal.js"
import * as RunStore from "../../http/RunStore.js"
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
 * by another process is a usage error. The lock file is deleted when the scope ends (`acquireRunLock`).
 *
 * @internal
 */
export const lockRun = Effect.fnUntraced(function*(
  opened: Effect.Effect.Success<ReturnType<typeof open>>,
  options: { readonly command: string; readonly runId: string }
) {
  // Waits a moment: `parallel-agents runs` takes a run's lock for an instant to tell whether it is running.
  const held = yield* acquireRunLock(opened, options.runId, { wait: 2000 }).pipe(
    Effect.catchAll((error) => usage(options.command, error.message))
  )
  if (!held) {
    return yield* usage(
      options.command,
      `run ${options.runId} is going on in another process (it holds the run's lock in ${opened.shown}): let it ` +
        `end, or stop it, before you run it again`
    )
  }
})

/** Why a run's lock could not be taken (not that another process holds it: that is `false`). @internal */
export class RunLockError extends Data.TaggedError("RunLockError")<{ readonly message: string }> {}

/**
 * Takes the lock of a run for the scope: `true` once held, `false` when another process (or connection) holds it.
 * Held, the lock file is deleted when the scope ends, before the lock is let go, so that the locks folder keeps no
 * file per run. That is safe because a process only ever counts as holding the lock when the file it locked is the
 * one at the lock's path: it opens the file first, keeping it open, locks it, then checks that the path still names
 * that file (its device and inode). A process that was waiting on a file that was deleted meanwhile gets a lock on
 * a file no one else will ever open; it lets it go and tries again, on the file now at the path. So a lock file is
 * only deleted by the process that holds it, and never while another process holds it.
 *
 * @internal
 */
export const acquireRunLock = (
  opened: Effect.Effect.Success<ReturnType<typeof open>>,
  runId: string,
  options: { readonly wait: number }
): Effect.Effect<boolean, RunLockError, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = lockFile(path, opened.file, runId)
    yield* fs.makeDirectory(path.dirname(file), { recursive: true }).pipe(
      Effect.mapError((error) =>
        new RunLockError({
          message: `cannot create the folder of the journal's locks ${path.dirname(file)}: ${error.message}`
        })
      )
    )
    const outer = yield* Effect.scope
    // A few tries: each one that finds its file gone was a process ending its run (and deleting its file) while
    // this one waited; more than that in a row would be a bug.
    for (let attempt = 0; attempt < 20; attempt++) {
      const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
      const outcome = yield* Effect.gen(function*() {
        const handle = yield* fs.open(file, { flag: "a" })
        const mine = yield* handle.stat
        // Whether the path no longer names the file this process opened.
        const moved = Effect.map(
          Effect.option(fs.stat(file)),
          (now) =>
            Option.isSome(mine.ino) && (Option.isNone(now) || now.value.dev !== mine.dev ||
              !Option.getEquivalence(Equal.equals)(now.value.ino, mine.ino))
        )
        // SQLite itself may refuse a file deleted while it waited for its lock (`SQLITE_IOERR_FSTAT`): try again then.
        const held = yield* opened.store.lockSqlite(file, { wait: options.wait }).pipe(
          Effect.catchAll((error) =>
            Effect.flatMap(moved, (yes) => yes ? Effect.succeed("moved" as const) : Effect.fail(error))
          )
        )
        if (held === "moved") return held
        if (Option.isNone(held)) return "busy" as const
        if (Option.isNone(mine.ino)) return "held" as const // No inodes here: the file is kept, as it was.
        if (yield* moved) return "moved" as const
        // Deleted while the lock is still held (finalizers run in reverse order: this one before the lock's).
        yield* Effect.addFinalizer(() => Effect.ignore(fs.remove(file)))
        return "held" as const
      }).pipe(
        Scope.extend(scope),
        Effect.mapError((error) => new RunLockError({ message: `cannot lock run ${runId}: ${error.message}` })),
        Effect.onError(() => Scope.close(scope, Exit.void))
      )
      if (outcome === "held") return true
      yield* Scope.close(scope, Exit.void)
      if (outcome === "busy") return false
    }
    return yield* new RunLockError({
      message: `cannot lock run ${runId}: its lock file ${file} was replaced 20 times in a row`
    })
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
 * out; a run whose lock file does not exist is not running.
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
    // Held here for an instant, the lock file of a run no process runs (one killed with `kill -9`) is deleted.
    return !(yield* Effect.scoped(acquireRunLock(opened, runId, { wait: 0 })))
  }).pipe(Effect.orElseSucceed(() => false))

/**
 * The store of `serve --journal`, holding each of its runs' lock while the run goes (`acquireRunLock`), as `run`
 * does: a `parallel-agents run --resume` of a run the server is running is refused, and the other way round. The
 * lock is taken when the run's record is first saved (`running`) and let go, its file deleted, when its final record
 * is saved or the server stops. A run whose lock another process holds fails to start (`RunStoreError`). The lock is
 * taken without waiting more than 100 ms: `libsql` waits on the server's only thread.
 *
 * @internal
 */
export const lockingStore = (
  opened: Effect.Effect.Success<ReturnType<typeof open>>,
  store: RunStore.Service
): Effect.Effect<RunStore.Service, never, FileSystem.FileSystem | Path.Path | Scope.Scope> =>
  Effect.gen(function*() {
    const outer = yield* Effect.scope
    const platform = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    const held = new Map<string, Scope.CloseableScope>()
    const release = (runId: string) =>
      Effect.suspend(() => {
        const scope = held.get(runId)
        held.delete(runId)
        return scope === undefined ? Effect.void : Scope.close(scope, Exit.void)
      })
    const lock = (runId: string) =>
      Effect.gen(function*() {
        if (held.has(runId)) return
        const scope = yield* Scope.fork(outer, ExecutionStrategy.sequential)
        const taken = yield* acquireRunLock(opened, runId, { wait: 100 }).pipe(
          Scope.extend(scope),
          Effect.provide(platform),
          Effect.either
        )
        if (taken._tag === "Right" && taken.right) {
          held.set(runId, scope)
          return
        }
        yield* Scope.close(scope, Exit.void)
        return yield* new RunStore.RunStoreError({
          operation: "save",
          description: taken._tag === "Left"
            ? taken.left.message
            : `run ${runId} is going on in another process (it holds the run's lock in ${opened.shown})`
        })
      })
    return RunStore.RunStore.of({
      ...store,
      save: (info) =>
        info.state === "running"
          ? Effect.zipRight(lock(info.id), store.save(info))
          : Effect.ensuring(store.save(info), release(info.id))
    })
  })
