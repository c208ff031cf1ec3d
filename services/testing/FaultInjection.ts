/**
 * Fault injection for tests of agent programs: wraps any agent layer so that, at given rates, an attempt fails
 * with a typed error, dies, hangs, runs slow, or is rate limited (a 429 with Retry-After), instead of or before
 * calling the real agent. Faults are decided from a seed, the task id and the attempt number, so a run is
 * reproducible whatever the scheduling, and a retried attempt draws again.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Random from "effect/Random"
import * as Schema from "effect/Schema"
import * as Agent from "../../src/Agent.js"
import { RunOptionsError } from "../../src/AgentError.js"
import * as AgentInstance from "../../src/AgentInstance.js"

/**
 * What an attempt may be made to do instead of its normal work.
 *
 * @category models
 * @since 0.1.0
 */
export type Fault = "failure" | "rateLimited" | "defect" | "hang" | "slow"

/**
 * The share of attempts (0 to 1) that get each fault; they must add up to at most 1. The rest run normally.
 *
 * @category models
 * @since 0.1.0
 */
export type Rates = { readonly [K in Fault]?: number | undefined }

/**
 * @category models
 * @since 0.1.0
 */
export interface Options {
  /** The seed faults are drawn from, with each attempt's task id and attempt number. */
  readonly seed: string | number
  readonly rates: Rates
  /** How much longer a `slow` attempt takes before its real work; 5 seconds by default. */
  readonly slowBy?: Duration.DurationInput | undefined
  /** The Retry-After of a `rateLimited` attempt; 1 second by default. */
  readonly retryAfter?: Duration.DurationInput | undefined
}

/**
 * The typed error of an injected `failure` (status 500, like a provider's server error) or `rateLimited` fault
 * (status 429 with `retryAfter`). Both are retryable by `Retry.isRetryable`.
 *
 * @category errors
 * @since 0.1.0
 */
export class InjectedFault extends Schema.TaggedError<InjectedFault>("effect-parallel-agents/InjectedFault")(
  "InjectedFault",
  {
    agent: Schema.String,
    taskId: Schema.String,
    reason: Schema.Literal("Failure", "RateLimited"),
    status: Schema.Number,
    retryAfter: Schema.optional(Schema.DurationFromMillis)
  }
) {
  /**
   * @since 0.1.0
   */
  override get message(): string {
    return `${this.agent}: injected ${this.reason === "Failure" ? "failure" : "rate limit"} (status ${this.status})`
  }
}

/**
 * The defect of an injected `defect` fault.
 *
 * @category errors
 * @since 0.1.0
 */
export class InjectedDefect extends Error {
  constructor(readonly agent: string) {
    super(`${agent}: injected defect`)
    this.name = "InjectedDefect"
  }
}

const faults: ReadonlyArray<Fault> = ["failure", "rateLimited", "defect", "hang", "slow"]

/**
 * Checks rates: each one from 0 to 1, all adding up to at most 1.
 *
 * @category constructors
 * @since 0.1.0
 */
export const validate = (rates: Rates): RunOptionsError | undefined => {
  let sum = 0
  for (const fault of faults) {
    const rate = rates[fault] ?? 0
    if (!(rate >= 0 && rate <= 1)) {
      return new RunOptionsError({
        option: `rates.${fault}`,
        description: `expected a number from 0 to 1, got ${rate}`
      })
    }
    sum += rate
  }
  return sum <= 1 + 1e-9
    ? undefined
    : new RunOptionsError({ option: "rates", description: `expected rates adding up to at most 1, got ${sum}` })
}

/**
 * The fault an attempt gets, if any: a pure function of the options, the task id and the attempt number.
 *
 * @category getters
 * @since 0.1.0
 */
export const decide = (options: Options, taskId: string, attempt: number): Fault | undefined => {
  // A generator seeded by the attempt's key: its first draw is uniform even when the seed's hash is not.
  const draw = Effect.runSync(Random.make(`${options.seed}\u0000${taskId}\u0000${attempt}`).next)
  let threshold = 0
  for (const fault of faults) {
    threshold += options.rates[fault] ?? 0
    if (draw < threshold) return fault
  }
  return undefined
}

const inject = <Out, E>(
  fault: Fault | undefined,
  options: Options,
  instance: AgentInstance.Service,
  work: Effect.Effect<Out, E>
): Effect.Effect<Out, E | InjectedFault> => {
  switch (fault) {
    case undefined:
      return work
    case "failure":
      return Effect.fail(
        new InjectedFault({ agent: instance.name, taskId: instance.taskId, reason: "Failure", status: 500 })
      )
    case "rateLimited":
      return Effect.fail(
        new InjectedFault({
          agent: instance.name,
          taskId: instance.taskId,
          reason: "RateLimited",
          status: 429,
          retryAfter: Duration.decode(options.retryAfter ?? "1 second")
        })
      )
    case "defect":
      return Effect.die(new InjectedDefect(instance.name))
    case "hang":
      return Effect.never
    case "slow":
      return Effect.zipRight(Effect.sleep(options.slowBy ?? "5 seconds"), work)
  }
}

/**
 * Wraps an agent's factory layer: each instance it builds draws its fault when it is built (the real agent is
 * built either way, so builds and releases still pair up), and its `run` does the fault instead of, or for `slow`
 * before, the real work. The wrapped agent's errors gain `InjectedFault`. Rates out of range make every build fail
 * with `RunOptionsError`, so each task reports it and the run goes on.
 *
 * **Example** (A run under a storm of faults)
 *
 * ```ts
 * import { Agent, Executor, Task } from "effect-parallel-agents"
 * import { FaultInjection } from "effect-parallel-agents/testing"
 * import { Context, Effect, Layer } from "effect"
 *
 * class Echo extends Context.Tag("echo")<Echo, Agent.Agent<string, string>>() {}
 * const EchoLive = Layer.succeed(Echo, Agent.make({ name: "echo", run: (s: string) => Effect.succeed(s) }))
 *
 * const faulty = FaultInjection.factory(Echo, EchoLive, {
 *   seed: 42,
 *   rates: { rateLimited: 0.2, failure: 0.05, hang: 0.01 }
 * })
 * const program = Executor.run(Task.fromIterable(["a", "b", "c"]), faulty, { timeout: "10 seconds", retry: {} })
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const factory = <I, In, Out, E, EL, R>(
  tag: Context.Tag<I, Agent.Agent<In, Out, E>>,
  agentLayer: Layer.Layer<I, EL, R>,
  options: Options & { readonly name?: string | undefined }
): Agent.Factory<In, Out, E | InjectedFault, EL | RunOptionsError, Exclude<R, AgentInstance.AgentInstance>> => {
  const faulty = Context.GenericTag<Agent.Agent<In, Out, E | InjectedFault>>(`${tag.key}/FaultInjection`)
  const invalid = validate(options.rates)
  const layer: Layer.Layer<
    Agent.Agent<In, Out, E | InjectedFault>,
    EL | RunOptionsError,
    R | AgentInstance.AgentInstance
  > = invalid !== undefined ? Layer.fail(invalid) : Layer.effect(
    faulty,
    Effect.gen(function*() {
      const agent = yield* tag
      const instance = yield* AgentInstance.AgentInstance
      const fault = decide(options, instance.taskId, instance.attempt)
      return Agent.make({ name: agent.name, run: (input: In) => inject(fault, options, instance, agent.run(input)) })
    })
  ).pipe(Layer.provide(agentLayer))
  return Agent.factory(faulty, layer, { name: options.name ?? tag.key })
}
