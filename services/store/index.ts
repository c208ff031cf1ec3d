/**
 * The run journal (`RunJournal`) in a SQL database through `@effect/sql`: SQLite in one file (`layerSqlite`, with
 * `@effect/sql-libsql`: no server, nothing to compile), or PostgreSQL (`layerPg`, with `@effect/sql-pg`) for a
 * journal several processes share. `@effect/sql`'s migrator creates its tables. Records made at the same time are
 * written together, one statement per batch (group commit), and each caller resumes once its batch is committed.
 *
 * @since 0.1.0
 */
export * as SqlRunJournal from "./SqlRunJournal.js"
