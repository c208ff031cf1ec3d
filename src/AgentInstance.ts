/**
 * The identity of one agent instance: the agent, the run, the task and the attempt it was built for. The engine
 * provides it to the agent's factory layer, so logs, spans and prompts can carry a name no other instance has.
 *
 * @since 0.1.0
 */
import * as Context from "effect/Context"
import { NodeInspectSymbol } from "effect/Inspectable"

/**
 * One agent instance's identity. `name` is unique across every instance the engine builds in a run:
 * `<agent>#<runId>/<taskId>/<attempt>`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Service {
  /** The agent's name (its factory's name). */
  readonly agent: string
  /** The run that built this instance. */
  readonly runId: string
  /** The task this instance was built for. */
  readonly taskId: string
  /** The attempt number, starting at 1. */
  readonly attempt: number
  /**
   * `<agent>#<runId>/<taskId>/<attempt>`, unique in its run. In a stream, whose task ids need not be unique, the task's
   * position follows its id (`<taskId>@<position>`) unless the id is that position (see `formatInStream`).
   */
  readonly name: string
}

/**
 * The instance identity, provided by the engine to the agent factory layer of every task attempt.
 *
 * **Example** (Reading the instance name in a factory)
 *
 * ```ts
 * import { Agent, AgentInstance } from "effect-parallel-agents"
 * import { Context, Effect, Layer } from "effect"
 *
 * class Echo extends Context.Tag("Echo")<Echo, Agent.Agent<string, string>>() {}
 *
 * const EchoLive = Layer.effect(
 *   Echo,
 *   Effect.gen(function*() {
 *     const instance = yield* AgentInstance.AgentInstance
 *     return Agent.make({ name: instance.name, run: (input: string) => Effect.succeed(`${instance.name}: ${input}`) })
 *   })
 * )
 * ```
 *
 * @category services
 * @since 0.1.0
 */
export class AgentInstance extends Context.Tag("effect-parallel-agents/AgentInstance")<AgentInstance, Service>() {}

/**
 * The agent and the run an instance belongs to, which every instance of a run (and every result it produces)
 * can share instead of holding both names. `epoch` is a time base the first result made from it sets, so results
 * can keep their start as a small offset from it (see `TaskResult`).
 *
 * @internal
 */
export class Origin {
  epoch: number | undefined = undefined
  constructor(readonly agent: string, readonly runId: string) {}
}

// The origin last made for an instance that was not given one: results decoded or made one by one from instances of
// the same run share it.
let lastOrigin: Origin | undefined

/** @internal */
export const makeOrigin = (agent: string, runId: string): Origin => {
  if (lastOrigin === undefined || lastOrigin.agent !== agent || lastOrigin.runId !== runId) {
    lastOrigin = new Origin(agent, runId)
  }
  return lastOrigin
}

class InstanceImpl implements Service {
  constructor(
    readonly origin: Origin,
    readonly taskId: string,
    readonly attempt: number,
    /** A name given at construction; otherwise it is formatted from the parts the first time it is read. */
    private given?: string | undefined,
    /** The task's position in a stream, which the name then carries (`formatInStream`). */
    readonly position?: number | undefined
  ) {}
  get agent(): string {
    return this.origin.agent
  }
  get runId(): string {
    return this.origin.runId
  }
  get name(): string {
    return this.given ??= this.position === undefined ? format(this) : formatInStream(this, this.position)
  }
  toJSON() {
    return { agent: this.agent, runId: this.runId, taskId: this.taskId, attempt: this.attempt, name: this.name }
  }
  toString() {
    return this.name
  }
  [NodeInspectSymbol]() {
    return this.toJSON()
  }
}

/**
 * Creates an instance identity. The name is derived from the parts when it is read.
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = (options: {
  readonly agent: string
  readonly runId: string
  readonly taskId: string
  readonly attempt: number
  /** A unique name of its own (a team member's, say); `<agent>#<runId>/<taskId>/<attempt>` by default. */
  readonly name?: string | undefined
  /** The task's position in a stream (`Executor.stream`): the name then carries it, as `formatInStream` says. */
  readonly position?: number | undefined
}): Service =>
  new InstanceImpl(
    makeOrigin(options.agent, options.runId),
    options.taskId,
    options.attempt,
    options.name,
    options.position
  )

/**
 * An instance of a run whose instances share `origin` (the engine's, one per run).
 *
 * @internal
 */
export const makeIn = (origin: Origin, taskId: string, attempt: number, position: number | undefined): Service =>
  new InstanceImpl(origin, taskId, attempt, undefined, position)

/** @internal */
export const unsafeMake = (agent: string, runId: string, taskId: string, attempt: number): Service =>
  new InstanceImpl(makeOrigin(agent, runId), taskId, attempt)

/**
 * The stream position an instance was made with (see `make`), if any.
 *
 * @internal
 */
export const positionOf = (instance: Service): number | undefined =>
  instance instanceof InstanceImpl ? instance.position : undefined

/**
 * The agent and run of an instance, shared with the other instances of its run when the engine made it.
 *
 * @internal
 */
export const originOf = (instance: Service): Origin =>
  instance instanceof InstanceImpl ? instance.origin : makeOrigin(instance.agent, instance.runId)

/**
 * Formats the unique instance name, `<agent>#<runId>/<taskId>/<attempt>`.
 *
 * @category getters
 * @since 0.1.0
 */
export const format = (instance: Omit<Service, "name">): string =>
  `${instance.agent}#${instance.runId}/${instance.taskId}/${instance.attempt}`

/**
 * Formats the unique name of an instance in a stream (`Executor.stream`), whose task ids are not checked for
 * repeats as a list's are (that would keep every id of an unbounded stream): the task's position in the stream,
 * from 0, follows its id, `<agent>#<runId>/<taskId>@<position>/<attempt>`, unless the id is that position (the ids
 * `Task.fromIterable` gives), `<agent>#<runId>/<position>/<attempt>`. Two tasks of one stream never share a name,
 * whatever their ids.
 *
 * @category getters
 * @since 0.1.0
 */
export const formatInStream = (instance: Omit<Service, "name">, position: number): string => {
  const at = String(position)
  const task = instance.taskId === at ? at : `${instance.taskId}@${at}`
  return `${instance.agent}#${instance.runId}/${task}/${instance.attempt}`
}
