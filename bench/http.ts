/**
 * The HTTP API under readers: a server (`RunsServer.layerServer`, in a child process of its own) runs 10,000 tasks
 * of 10 ms at concurrency 100, started with `POST /runs`,
 *
 * - with no reader, and with 20 Server-Sent-Events readers that follow the run from its first event to its last
 *   (each must get every event): the run's wall time with readers against without, interleaved, `RUNS` times each;
 * - then while a long run goes (tasks of 2 s at concurrency 100, 150 events a second), 1,000 readers that come and
 *   go, 10 at a time (half replay the run from its start, half resume near its end with Last-Event-ID; each reads
 *   a few events and disconnects): the server's RSS (from /proc) every 100 cycles, and the number of event streams
 *   left open at the end (must be 0).
 *
 *   npx tsc -b && node build/bench/http.js           # RUNS=3 by default
 *   RUNS=5 node build/bench/http.js
 *
 * It prints one JSON line per sample, then a summary with the machine's load average.
 */
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import * as HttpServer from "@effect/platform/HttpServer"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Schema from "effect/Schema"
import * as ChildProcess from "node:child_process"
import * as Fs from "node:fs"
import * as Http from "node:http"
import * as Net from "node:net"
import * as Os from "node:os"
import { fileURLToPath } from "node:url"
import { Runs, RunsServer, RunStore } from "../services/http/index.js"
import { Agent, Executor } from "../src/index.js"

const token = "bench-token-0123456789"
const TASKS = Number(process.env.TASKS ?? 10_000)
const CONCURRENCY = 100
const TASK_MILLIS = 10
const READERS = Number(process.env.READERS ?? 20)
const CYCLES = Number(process.env.CYCLES ?? 1_000)

// =============================================================================
// the server (child)
// =============================================================================

class Worker extends Context.Tag("bench/http/Worker")<Worker, Agent.Agent<{ readonly ms: number }, number>>() {}

const server = () => {
  const worker = Runs.agent({
    name: "work",
    description: "sleeps ms milliseconds",
    input: Schema.Struct({ ms: Schema.Number }),
    factory: Agent.factory(
      Worker,
      Layer.succeed(
        Worker,
        Agent.make({
          name: "work",
          run: (input: { readonly ms: number }) => Effect.as(Effect.sleep(input.ms), input.ms)
        })
      )
    )
  })
  const app = RunsServer.layerServer().pipe(
    Layer.provide(Runs.layer({ agents: [worker], keepEventLogs: 2 })),
    Layer.provide(Layer.mergeAll(Executor.layer(), RunStore.layerMemory({ maxRuns: 4 }))),
    Layer.provide(RunsServer.layerAccessToken(token)),
    Layer.provideMerge(NodeHttpServer.layer(Http.createServer, { port: 0, host: "127.0.0.1" }))
  )
  return Effect.gen(function*() {
    const address = (yield* HttpServer.HttpServer).address
    if (address._tag === "TcpAddress") process.stdout.write(`listening ${address.port}\n`)
    return yield* Effect.never
  }).pipe(Effect.provide(app), NodeRuntime.runMain)
}

// =============================================================================
// the driver
// =============================================================================

interface Child {
  readonly port: number
  readonly pid: number
  readonly stop: () => Promise<void>
}

const startServer = (): Promise<Child> =>
  new Promise((resolve, reject) => {
    const flags = process.env.PROFILE === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${process.env.PROFILE}`]
    const child = ChildProcess.spawn(process.execPath, [...flags, fileURLToPath(import.meta.url), "server"], {
      stdio: ["ignore", "pipe", "inherit"]
    })
    let out = ""
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString()
      const match = out.match(/listening (\d+)/)
      if (match !== null) {
        resolve({
          port: Number(match[1]),
          pid: child.pid!,
          stop: () =>
            new Promise((done) => {
              child.off("exit", failed)
              child.once("exit", () => done())
              child.kill("SIGINT")
            })
        })
      }
    })
    const failed = (code: number | null) => reject(new Error(`the server exited with ${code}`))
    child.on("exit", failed)
  })

const request = async (port: number, path: string, init?: RequestInit) => {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, ...init?.headers }
  })
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`)
  return response.json() as Promise<any>
}

const startRun = (port: number, tasks: number, ms: number) =>
  request(port, "/runs", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      agent: "work",
      tasks: Array.from({ length: tasks }, () => ({ ms })),
      concurrency: CONCURRENCY
    })
  }) as Promise<{ readonly id: string }>

const finished = async (port: number, id: string) => {
  for (;;) {
    const info = await request(port, `/runs/${id}`)
    if (info.state !== "running") return info
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * A reader: connects, counts the events it gets and their bytes, until the stream ends or `enough` events (then it
 * leaves). The readers run on the same 2 cores as the server, where real readers (browsers, other services) would
 * not: so that what a reader costs this process does not crowd the server's run, a reader is a plain socket that
 * sends the request and reads the response into one buffer it reuses (node's `onread`: no allocation a read, hence
 * no garbage), counting the lines that start with `id: ` as the bytes come, without decoding them (data is one line
 * of JSON, which holds no raw newline; the server writes each batch of whole events as one chunk, so the chunked
 * encoding never splits an `id: ` line). It checks the status line and the content type.
 */
const idLine = Buffer.from("\nid: ")
const read = (port: number, id: string, options?: { readonly after?: number; readonly enough?: number }) =>
  new Promise<{ readonly events: number; readonly bytes: number }>((resolve, reject) => {
    let events = 0
    let bytes = 0
    let headRead = false
    let done = false
    // The stream's last bytes before this read (fewer than the pattern's), so that an `id: ` line split across two
    // reads is counted once: it is found in the seam of the two, and nowhere else.
    let tail = Buffer.from("\n")
    const keep = idLine.length - 1
    const inbox = Buffer.alloc(256 * 1024)
    const finish = (error?: Error) => {
      if (done) return
      done = true
      socket.destroy()
      if (error !== undefined && options?.enough === undefined) reject(error)
      else resolve(error === undefined ? { events, bytes } : { events: -1, bytes: 0 })
    }
    const socket = Net.connect({
      host: "127.0.0.1",
      port,
      onread: {
        buffer: inbox,
        callback: (size) => {
          let chunk = inbox.subarray(0, size)
          if (!headRead) {
            // The response's head, up to its blank line (it fits in the first read).
            const end = chunk.indexOf("\r\n\r\n")
            if (end === -1) {
              finish(new Error("the response's head did not come in one read"))
              return false
            }
            const head = chunk.subarray(0, end).toString("latin1")
            if (!head.startsWith("HTTP/1.1 200") || !/content-type: text\/event-stream/i.test(head)) {
              finish(new Error(`not an event stream: ${head}`))
              return false
            }
            headRead = true
            chunk = chunk.subarray(end + 4)
          }
          bytes += chunk.length
          const seam = Buffer.concat([tail, chunk.subarray(0, keep)])
          if (seam.indexOf(idLine) !== -1) events++
          for (let at = chunk.indexOf(idLine); at !== -1; at = chunk.indexOf(idLine, at + 1)) events++
          tail = chunk.length >= keep
            ? Buffer.from(chunk.subarray(chunk.length - keep))
            : Buffer.concat([tail, chunk]).subarray(-keep)
          if (options?.enough !== undefined && events >= options.enough) finish()
          return true
        }
      }
    })
    socket.on("connect", () => {
      socket.write(
        `GET /runs/${id}/events HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\nauthorization: Bearer ${token}\r\n` +
          (options?.after === undefined ? "" : `last-event-id: ${options.after}\r\n`) +
          "connection: close\r\n\r\n"
      )
    })
    socket.on("end", () => finish())
    socket.on("error", (error) => finish(error))
  })

/**
 * The CPU time so far (user and system), in milliseconds, of a process (all its threads) or, with `thread`, of one
 * of its threads (the main thread's id is the process's).
 */
const cpuMillis = (pid: number, thread?: number): number => {
  const path = thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`
  const fields = Fs.readFileSync(path, "utf8").split(") ")[1]!.split(" ")
  // utime and stime, fields 14 and 15 of stat (11 and 12 after the command's name), in clock ticks of 10 ms.
  return (Number(fields[11]) + Number(fields[12])) * 10
}

const rssKiB = (pid: number): number => {
  const status = Fs.readFileSync(`/proc/${pid}/status`, "utf8")
  return Number(status.match(/VmRSS:\s+(\d+)/)![1])
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const driver = async () => {
  const runs = Number(process.env.RUNS ?? 3)
  const child = await startServer()
  try {
    // Warm the server up: one small run.
    await finished(child.port, (await startRun(child.port, 1_000, 1)).id)

    const without: Array<number> = []
    const withReaders: Array<number> = []
    const cpuWithout: Array<number> = []
    const cpuWith: Array<number> = []
    const mainWithout: Array<number> = []
    const mainWith: Array<number> = []
    const clientWithout: Array<number> = []
    const clientWith: Array<number> = []
    let bytesPerReader = 0
    for (let i = 0; i < runs; i++) {
      for (const readers of [0, READERS]) {
        const cpuBefore = cpuMillis(child.pid)
        const mainBefore = cpuMillis(child.pid, child.pid)
        const ownBefore = process.cpuUsage()
        const { id } = await startRun(child.port, TASKS, TASK_MILLIS)
        const reading = Array.from({ length: readers }, () => read(child.port, id))
        const info = await finished(child.port, id)
        const counts = await Promise.all(reading)
        const serverCpuMillis = cpuMillis(child.pid) - cpuBefore
        // The server's main thread, which runs the run (and writes to the readers): its wall time is bound by it.
        const serverMainCpuMillis = cpuMillis(child.pid, child.pid) - mainBefore
        const own = process.cpuUsage(ownBefore)
        // The readers' side (and the polling): the CPU this process took on the same 2 cores while the run went.
        const clientCpuMillis = Math.round((own.user + own.system) / 1000)
        for (const { events } of counts) {
          if (events !== info.lastEventId) throw new Error(`a reader got ${events} of ${info.lastEventId} events`)
        }
        if (counts.length > 0) bytesPerReader = counts[0]!.bytes
        const sample = {
          kind: "run",
          readers,
          wallMillis: info.stats.wallMillis,
          serverCpuMillis,
          serverMainCpuMillis,
          clientCpuMillis,
          events: info.lastEventId,
          ...(counts.length > 0 ? { bytesPerReader: counts[0]!.bytes } : {})
        }
        process.stdout.write(`${JSON.stringify(sample)}\n`)
        ;(readers === 0 ? without : withReaders).push(info.stats.wallMillis)
        ;(readers === 0 ? cpuWithout : cpuWith).push(serverCpuMillis)
        ;(readers === 0 ? mainWithout : mainWith).push(serverMainCpuMillis)
        ;(readers === 0 ? clientWithout : clientWith).push(clientCpuMillis)
      }
    }

    // Readers that come and go while a long run goes (tasks of 2 s at concurrency 100: 150 events a second), 10 at
    // a time.
    const long = await startRun(child.port, 100_000, 2_000)
    const rss: Array<{ readonly cycles: number; readonly rssKiB: number }> = [{ cycles: 0, rssKiB: rssKiB(child.pid) }]
    for (let cycle = 0; cycle < CYCLES; cycle += 10) {
      const last = (await request(child.port, `/runs/${long.id}`)).lastEventId as number
      await Promise.all(Array.from({ length: 10 }, (_, k) =>
        read(child.port, long.id, {
          enough: 5,
          ...(k % 2 === 0 ? {} : { after: Math.max(0, last - 20) })
        })))
      if ((cycle + 10) % 100 === 0) {
        rss.push({ cycles: cycle + 10, rssKiB: rssKiB(child.pid) })
        process.stdout.write(`${JSON.stringify({ kind: "rss", ...rss.at(-1) })}\n`)
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
    const open = (await request(child.port, `/runs/${long.id}`)).eventStreams as number
    await request(child.port, `/runs/${long.id}`, { method: "DELETE" })

    const [one, five, fifteen] = Os.loadavg().map((n) => n.toFixed(2))
    const after100 = (rss.find((sample) => sample.cycles === 100) ?? rss.at(-1)!).rssKiB
    const end = rss.at(-1)!.rssKiB
    process.stdout.write(
      [
        "",
        `HTTP API, ${TASKS.toLocaleString("en-US")} tasks of ${TASK_MILLIS} ms at concurrency ${CONCURRENCY}, ` +
        `median of ${runs}:`,
        `  no reader:       wall ${median(without)} ms, server CPU ${median(cpuWithout)} ms (main thread ${
          median(mainWithout)
        } ms), client CPU ${median(clientWithout)} ms`,
        `  ${READERS} SSE readers:  wall ${median(withReaders)} ms (${
          (median(withReaders) / median(without)).toFixed(2)
        }x), server CPU ${median(cpuWith)} ms (main thread ${median(mainWith)} ms; +${
          Math.round((median(cpuWith) - median(cpuWithout)) / Math.max(1, READERS))
        } ms a reader), client CPU ${median(clientWith)} ms; ${(bytesPerReader / 1e6).toFixed(2)} MB to each reader`,
        `Readers coming and going (${CYCLES.toLocaleString("en-US")} cycles): server RSS ` +
        `${Math.round(rss[0]!.rssKiB / 1024)} MB before, ${Math.round(after100 / 1024)} MB after 100, ` +
        `${Math.round(end / 1024)} MB after ${CYCLES} (peak ${
          Math.round(Math.max(...rss.map((s) => s.rssKiB)) / 1024)
        } MB); ` +
        `event streams left open: ${open}`,
        `Load average: ${one}, ${five}, ${fifteen} (${Os.cpus().length} CPUs)`,
        ""
      ].join("\n")
    )
  } finally {
    await child.stop()
  }
}

if (process.argv[2] === "server") server()
else {
  driver().catch((error) => {
    process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`)
    process.exit(1)
  })
}
