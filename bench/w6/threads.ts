/**
 * Where an HTTP row's work time goes: `node build/bench/w6/threads.js <size> <row>...` starts the W6 server, runs
 * each row's child at 0 and at `size` documents, and prints, for each, the work time and the CPU time of the
 * client's main thread (its JavaScript and the part of garbage collection done on it), of its other threads (V8's
 * garbage-collector and compiler helpers, libuv), and of the server, from `/proc` (Linux only; 10 ms ticks). The
 * client's threads are sampled every 20 ms until it exits, so the last 20 ms of a child may be missed.
 */
import { spawn } from "node:child_process"
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import type { W6Sample } from "./rows.js"

const here = Path.dirname(fileURLToPath(import.meta.url))
const [sizeArg, ...rows] = process.argv.slice(2)
const size = Number(sizeArg)
if (!Number.isInteger(size) || size <= 0 || rows.length === 0) {
  process.stderr.write(
    "usage: node build/bench/w6/threads.js <size> <row>... (rows: library-compat, openai-sdk, ...)\n"
  )
  process.exit(2)
}

/** User plus system CPU, in milliseconds, of `/proc/<path>/stat` (a process, or `<pid>/task/<tid>`). */
const cpuMillis = (path: string): number => {
  const fields = Fs.readFileSync(`/proc/${path}/stat`, "utf8").split(") ")[1]!.split(" ")
  return (Number(fields[11]) + Number(fields[12])) * 10
}

const server = spawn(process.execPath, [Path.join(here, "server.js"), "50"], { stdio: ["ignore", "pipe", "inherit"] })
const port = await new Promise<number>((resolve) => {
  let out = ""
  server.stdout.on("data", (chunk) => {
    out += chunk
    if (out.includes("\n")) resolve((JSON.parse(out.split("\n")[0]!) as { readonly port: number }).port)
  })
})
const baseUrl = `http://127.0.0.1:${port}/v1`
try {
  for (const row of rows) {
    for (const n of [0, size]) {
      const serverBefore = cpuMillis(String(server.pid))
      const child = spawn(process.execPath, [Path.join(here, "child.js"), row, String(n), baseUrl], {
        stdio: ["ignore", "pipe", "inherit"]
      })
      let stdout = ""
      child.stdout.on("data", (chunk) => stdout += chunk)
      let main = 0
      let all = 0
      const poll = setInterval(() => {
        try {
          main = cpuMillis(`${child.pid}/task/${child.pid}`)
          all = cpuMillis(String(child.pid))
        } catch {
          // The child has exited: the last sample stands.
        }
      }, 20)
      const code = await new Promise<number | null>((resolve) => child.on("close", resolve))
      clearInterval(poll)
      if (code !== 0) throw new Error(`${row} ${n}: child exited with code ${code}`)
      const sample = JSON.parse(stdout.trim().split("\n").at(-1)!) as W6Sample
      process.stdout.write(
        JSON.stringify({
          row,
          documents: n,
          workMillis: Math.round(sample.workMillis),
          cpuMillis: Math.round(sample.cpuMicros / 1000),
          mainThreadMillis: main,
          otherThreadsMillis: all - main,
          serverMillis: cpuMillis(String(server.pid)) - serverBefore
        }) + "\n"
      )
    }
  }
} finally {
  server.kill()
}
