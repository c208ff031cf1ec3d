/**
 * A real PostgreSQL server for tests: a fresh data directory, `postgres` on a free loopback port, trust
 * authentication, no durability settings (fsync off), stopped and deleted when the scope closes. It uses the
 * server binaries on this machine (Debian's PostgreSQL, on the PATH or under /usr/lib/postgresql/<version>/bin);
 * PostgreSQL refuses to run as root, so as root the server runs as the `postgres` user.
 */
import type { Scope } from "effect"
import { Effect } from "effect"
import { type ChildProcess, execFileSync, spawn } from "node:child_process"
import * as fs from "node:fs"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"

export interface Server {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string
  readonly port: number
  /** Creates a database on the server and returns its URL. */
  readonly createDatabase: (name: string) => Promise<string>
}

/** Where a server binary is: on the PATH, else in the newest /usr/lib/postgresql/<version>/bin. */
export const binary = (name: string): string | undefined => {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const candidate = path.join(dir, name)
    if (dir !== "" && fs.existsSync(candidate)) return candidate
  }
  const root = "/usr/lib/postgresql"
  if (!fs.existsSync(root)) return undefined
  const versions = fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))
  for (const version of versions) {
    const candidate = path.join(root, version, "bin", name)
    if (fs.existsSync(candidate)) return candidate
  }
  return undefined
}

/** Whether this machine can start a server (the binaries are installed). */
export const available = (): boolean => binary("postgres") !== undefined && binary("initdb") !== undefined

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.on("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo
      server.close(() => resolve(port))
    })
  })

const isRoot = typeof process.getuid === "function" && process.getuid() === 0

/** Runs a server binary, as `postgres` when this process is root. */
const command = (file: string, args: ReadonlyArray<string>): [string, Array<string>] =>
  isRoot ? ["runuser", ["-u", "postgres", "--", file, ...args]] : [file, [...args]]

const waitForReady = (log: string, child: ChildProcess, timeoutMillis: number): Promise<void> =>
  new Promise((resolve, reject) => {
    const started = Date.now()
    const poll = () => {
      const text = fs.existsSync(log) ? fs.readFileSync(log, "utf8") : ""
      if (text.includes("database system is ready to accept connections")) return resolve()
      if (child.exitCode !== null) return reject(new Error(`postgres exited with ${child.exitCode}:\n${text}`))
      if (Date.now() - started > timeoutMillis) return reject(new Error(`postgres did not start:\n${text}`))
      setTimeout(poll, 50)
    }
    poll()
  })

const postmasterPid = (data: string): number | undefined => {
  try {
    const pid = Number(fs.readFileSync(path.join(data, "postmaster.pid"), "utf8").split("\n")[0])
    return Number.isInteger(pid) && pid > 0 ? pid : undefined
  } catch {
    return undefined
  }
}

const signal = (pid: number | undefined, name: NodeJS.Signals) => {
  if (pid === undefined) return
  try {
    process.kill(pid, name)
  } catch {
    // already gone
  }
}

/** Starts a server; `stop` shuts it down and deletes its data directory. */
export const start = async (): Promise<Server & { readonly stop: () => Promise<void> }> => {
  const initdb = binary("initdb")
  const postgres = binary("postgres")
  if (initdb === undefined || postgres === undefined) {
    throw new Error("PostgreSQL is not installed: `apt-get install -y postgresql` (Debian), or run `bash .ci/run`")
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pg-test-"))
  const data = path.join(dir, "data")
  const log = path.join(dir, "server.log")
  if (isRoot) execFileSync("chown", ["-R", "postgres", dir])
  const [initFile, initArgs] = command(initdb, [
    "-D",
    data,
    "-A",
    "trust",
    "-U",
    "postgres",
    "-E",
    "UTF8",
    "--locale=C",
    "--no-sync"
  ])
  execFileSync(initFile, initArgs, { stdio: "pipe" })
  const port = await freePort()
  const [file, args] = command(postgres, [
    "-D",
    data,
    "-p",
    String(port),
    "-h",
    "127.0.0.1",
    "-k",
    dir,
    "-c",
    "fsync=off",
    "-c",
    "synchronous_commit=off",
    "-c",
    "full_page_writes=off",
    "-c",
    "max_connections=200"
  ])
  const out = fs.openSync(log, "a")
  const child = spawn(file, args, { stdio: ["ignore", out, out] })
  fs.closeSync(out)
  const kill = () => {
    signal(postmasterPid(data), "SIGKILL")
    child.kill("SIGKILL")
  }
  process.once("exit", kill)
  try {
    await waitForReady(log, child, 60_000)
  } catch (error) {
    kill()
    throw error
  }
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  const psql = binary("psql")
  return {
    url,
    port,
    createDatabase: async (name) => {
      if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`)
      if (psql === undefined) throw new Error("psql is not installed")
      execFileSync(psql, ["-h", "127.0.0.1", "-p", String(port), "-U", "postgres", "-c", `CREATE DATABASE ${name}`], {
        stdio: "pipe"
      })
      return `postgres://postgres@127.0.0.1:${port}/${name}`
    },
    stop: () =>
      new Promise<void>((resolve) => {
        process.removeListener("exit", kill)
        const done = () => {
          fs.rmSync(dir, { recursive: true, force: true })
          resolve()
        }
        if (child.exitCode !== null) return done()
        child.once("exit", done)
        // The postmaster itself (the child may be `runuser`, which does not pass signals on). SIGINT is
        // PostgreSQL's fast shutdown: running transactions are rolled back and clients disconnected.
        const pid = postmasterPid(data)
        signal(pid ?? child.pid, "SIGINT")
        setTimeout(() => {
          signal(pid, "SIGKILL")
          child.kill("SIGKILL")
        }, 10_000).unref()
      })
  }
}

/** A server for the life of a scope. */
export const server: Effect.Effect<Server, never, Scope.Scope> = Effect.acquireRelease(
  Effect.promise(start),
  (server) => Effect.promise(server.stop)
)
