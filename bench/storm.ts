/**
 * The 429 storm: a simulated provider that accepts `RATE` requests per second (a token bucket of `RATE`) and answers
 * 429 above it (with Retry-After, in milliseconds, like OpenAI's `retry-after-ms`), `TASKS` tasks of one request
 * each, `LATENCY_MILLIS` per accepted request. Three ways to run them, each with the same retry policy:
 *
 * - `fixed`: concurrency 100, nothing else;
 * - `adaptive`: concurrency at most 100, adaptive;
 * - `rate-limit`: concurrency 100 and a rate limit of `RATE` requests per second.
 *
 * `node build/bench/storm.js <config>` runs one and prints one JSON line: the run's figures and the process's
 * resource usage. It exits non-zero if a task is missing. `STORM_ADAPTIVE='{"initial":20}'` overrides the adaptive
 * settings, to explore them.
 */
import * as Context from "effect/Context"
import * as Data from "effect/Data"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { pathToFileURL } from "node:url"
import { Agent, Executor, Task } from "../src/index.js"

export const TASKS = 2_000
export const RATE = 200
export const LATENCY_MILLIS = 100
export const REJECT_MILLIS = 5
export const CONCURRENCY = 100
export const configs = ["fixed", "adaptive", "rate-limit"] as const
export type Config = typeof configs[number]

export interface StormSample {
  readonly config: Config
  readonly workMillis: number
  readonly cpuMicros: number
  readonly maxRssKiB: number
  readonly requests: number
  readonly rejected: number
  readonly succeeded: number
  readonly lowestConcurrency: number | undefined
}

/** What the provider answers above its limit: shaped like `@effect/ai`'s `HttpResponseError`. */
class TooManyRequests extends Data.TaggedError("HttpResponseError")<{
  readonly response: { readonly status: number; readonly headers: Record<string, string> }
}> {}

/**
 * A token bucket, as providers meter requests: it holds at most `rate` requests and refills at `rate` per second,
 * so a burst of `rate` passes at once and then `rate` per second.
 */
class Provider {
  private tokens: number
  private updatedAt = 0
  requests = 0
  rejected = 0
  constructor(readonly rate: number) {
    this.tokens = rate
  }
  /** `undefined` if accepted now, else how long until a request would be, in milliseconds. */
  admit(now: number): number | undefined {
    this.requests++
    this.tokens = Math.min(this.rate, this.tokens + (now - this.updatedAt) * this.rate / 1000)
    this.updatedAt = now
    if (this.tokens >= 1) {
      this.tokens -= 1
      return undefined
    }
    this.rejected++
    return (1 - this.tokens) * 1000 / this.rate
  }
}

class Model extends Context.Tag("bench/storm/Model")<Model, Agent.Agent<number, number, TooManyRequests>>() {}

const main = async (config: Config) => {
  const provider = new Provider(RATE)
  const origin = performance.now()
  const model = Agent.factory(
    Model,
    Layer.succeed(
      Model,
      Agent.make({
        name: "model",
        run: (n: number) =>
          Effect.suspend(() => {
            const wait = provider.admit(performance.now() - origin)
            return wait === undefined
              ? Effect.as(Effect.sleep(LATENCY_MILLIS), n)
              : Effect.zipRight(
                Effect.sleep(REJECT_MILLIS),
                Effect.fail(
                  new TooManyRequests({
                    response: { status: 429, headers: { "retry-after-ms": String(Math.ceil(wait)) } }
                  })
                )
              )
          })
      })
    )
  )
  const start = performance.now()
  const report = await Executor.run(Task.fromIterable(Array.from({ length: TASKS }, (_, i) => i)), model, {
    concurrency: CONCURRENCY,
    retry: { times: 50 },
    ...(config === "adaptive"
      ? { adaptive: process.env.STORM_ADAPTIVE ? JSON.parse(process.env.STORM_ADAPTIVE) : true }
      : {}),
    ...(config === "rate-limit" ? { rateLimit: { requests: { limit: RATE, interval: "1 second" } } } : {})
  }).pipe(Effect.provide(Executor.layer()), Effect.runPromise)
  const workMillis = performance.now() - start
  if (report.results.length !== TASKS) throw new Error(`expected ${TASKS} results, got ${report.results.length}`)
  process.on("exit", () => {
    const usage = process.resourceUsage()
    const sample: StormSample = {
      config,
      workMillis,
      cpuMicros: usage.userCPUTime + usage.systemCPUTime,
      maxRssKiB: usage.maxRSS,
      requests: provider.requests,
      rejected: provider.rejected,
      succeeded: report.summary.succeeded,
      lowestConcurrency: report.stats.adaptiveConcurrency?.lowest
    }
    process.stdout.write(JSON.stringify(sample) + "\n")
  })
}

// Runs only as a child: `run.ts` imports this module for its constants.
const config = import.meta.url === pathToFileURL(process.argv[1] ?? "").href ? process.argv[2] : undefined
if (config !== undefined) {
  if (!configs.includes(config as Config)) throw new Error(`unknown storm config ${config}`)
  await main(config as Config)
}
