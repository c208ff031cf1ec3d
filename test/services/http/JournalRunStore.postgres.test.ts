import { afterAll, assert, beforeAll } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as SqlRunJournal from "../../../services/store/SqlRunJournal.js"
import * as Postgres from "../../postgres.js"
import { restartSuite } from "./restartSuite.js"

/**
 * The HTTP API over a journal in a real PostgreSQL (test/postgres.ts), a database of its own per test. Where the
 * server cannot start the tests are skipped with the reason, unless REQUIRE_POSTGRES is set (CI): then they fail.
 */

const required = Boolean(process.env["REQUIRE_POSTGRES"])
let unavailable: string | undefined = Postgres.available()
  ? undefined
  : "PostgreSQL is not installed; install it with `apt-get install -y postgresql`, or run `bash .ci/run`"

let server: Awaited<ReturnType<typeof Postgres.start>> | undefined
beforeAll(async () => {
  if (unavailable === undefined) {
    try {
      server = await Postgres.start()
    } catch (error) {
      unavailable = `PostgreSQL did not start: ${error instanceof Error ? error.message : String(error)}`
    }
  }
}, 120_000)
afterAll(() => server?.stop(), 30_000)

let databases = 0

restartSuite({
  name: "PostgreSQL",
  skip: () => {
    if (unavailable !== undefined && required) assert.fail(`REQUIRE_POSTGRES is set but ${unavailable}`)
    return unavailable
  },
  store: Effect.map(
    Effect.promise(() => server!.createDatabase(`runs_${++databases}_${Math.random().toString(36).slice(2, 8)}`)),
    (url) => ({ open: () => SqlRunJournal.layerPg({ url: Redacted.make(url) }) })
  )
})
