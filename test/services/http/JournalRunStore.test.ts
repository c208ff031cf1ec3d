import { Effect } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import * as SqlRunJournal from "../../../services/store/SqlRunJournal.js"
import { restartSuite } from "./restartSuite.js"

restartSuite({
  name: "SQLite",
  store: Effect.map(
    Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "runs-store-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    ),
    (dir) => ({ open: () => SqlRunJournal.layerSqlite({ filename: path.join(dir, "runs.db") }) })
  )
})
