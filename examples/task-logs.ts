/**
 * Per-task logs as JSON lines. The engine logs one line when a task starts and one when it ends (status, duration,
 * attempt, error), annotated with the run id, the task id and the agent instance, at Debug: the app chooses the
 * level and the format. Here the app turns Debug on and formats with `Logger.json`.
 *
 *   npx tsx examples/task-logs.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Context, Data, Effect, Layer, Logger, LogLevel } from "effect"
import { Agent, Executor, Task } from "effect-parallel-agents"

class QuotaExceeded extends Data.TaggedError("QuotaExceeded")<{ readonly limit: number }> {
  override get message() {
    return `quota of ${this.limit} requests per minute exceeded`
  }
}

class Translator extends Context.Tag("translator")<Translator, Agent.Agent<string, string, QuotaExceeded>>() {}

const TranslatorLive = Layer.succeed(
  Translator,
  Agent.make({
    name: "translator",
    run: (text: string) => {
      if (text === "over quota") return Effect.fail(new QuotaExceeded({ limit: 60 }))
      // A call that hangs: the task's timeout stops it.
      if (text === "hangs") return Effect.never
      return Effect.as(Effect.sleep("20 millis"), text.toUpperCase())
    }
  })
)

const program = Executor.run(
  Task.fromIterable(["bonjour", "over quota", "hangs", "hola"], { id: (_, i) => `line-${i}` }),
  Agent.factory(Translator, TranslatorLive),
  { concurrency: 2, timeout: "1 second", runId: "logs-demo" }
)

program.pipe(
  Effect.provide(Executor.layer()),
  // The app's choices: Debug and up, one JSON object per line.
  Logger.withMinimumLogLevel(LogLevel.Debug),
  Effect.provide(Logger.json),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
