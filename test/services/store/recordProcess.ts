/**
 * A process of the cross-process tests: opens the SQLite journal in the file named by its first argument and
 * records one result under the task id of its second, then exits 0, or 1 with the error on stderr.
 */
import { Effect } from "effect"
import * as SqlRunJournal from "../../../services/store/SqlRunJournal.js"
import * as RunJournal from "../../../src/RunJournal.js"
import { entryOf } from "./fixtures.js"

const [filename, taskId] = process.argv.slice(2)

Effect.runPromise(
  Effect.flatMap(RunJournal.RunJournal, (journal) => journal.record("run", entryOf(taskId!))).pipe(
    Effect.provide(SqlRunJournal.layerSqlite({ filename: filename! }))
  )
).then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`${error}\n`)
    process.exit(1)
  }
)
