/**
 * Teams of agents that discuss one task until they agree. A team's members are agents built fresh for every team
 * run; they take turns over a transcript local to that run, round after round, until the team's consensus rule
 * holds (`Consensus`: a supervisor approves, a majority or a quorum agrees, a predicate) or the round limit ends the
 * run with `NoConsensus`. A team is an agent factory, so teams fan out through the `Executor` like any task;
 * `Synthesis` hands what the teams found to a final agent.
 *
 * @since 0.1.0
 */
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import type * as Scope from "effect/Scope"
import type * as Types from "effect/Types"
import * as Agent from "./Agent.js"
import * as AgentError from "./AgentError.js"
import * as AgentInstance from "./AgentInstance.js"
import * as Consensus from "./Consensus.js"
import * as Usage from "./Usage.js"

// =============================================================================
// models
// =============================================================================

/**
 * What a member is given when its turn comes: the task's input, who and where it is, and the transcript so far
 * (this round's earlier turns included). The transcript belongs to this team run only.
 *
 * @category models
 * @since 0.1.0
 */
export interface Turn<out In, out A> {
  /** The task's input: the question, case or topic the team discusses. */
  readonly input: In
  /** The team instance's unique name. */
  readonly team: string
  /** The role whose turn it is. */
  readonly role: string
  /** The round under way, from 1. */
  readonly round: number
  /** The team's round limit. */
  readonly maxRounds: number
  /** Every message so far, oldest first. */
  readonly transcript: ReadonlyArray<Consensus.Message<A>>
}

/**
 * What a member answers on its turn: what it says and, optionally, its vote. `approve: true` is what
 * `supervisor` waits for; `approve: false` abstains from `majority` and `quorum`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Reply<out A> {
  readonly content: A
  readonly approve?: boolean | undefined
}

/**
 * What one member did in a team run: its turns, the time they took and what it used of its model.
 *
 * @category models
 * @since 0.1.0
 */
export interface MemberStats {
  readonly role: string
  /** The member instance's unique name: `<team instance>/<role>`. */
  readonly agent: string
  readonly turns: number
  /** The time of its turns, in milliseconds on the `Clock`. */
  readonly durationMillis: number
  /** What its turns recorded with `Usage.record`. */
  readonly usage: Usage.Usage
}

/**
 * What a team run that reached consensus returns.
 *
 * @category models
 * @since 0.1.0
 */
export interface Result<out A> {
  /** The team instance's unique name. */
  readonly team: string
  /** What the team agreed on, chosen by the consensus rule. */
  readonly conclusion: A
  /** How the consensus was reached, for example `"approved by supervisor"` or `"2 of 3 agree"`. */
  readonly consensus: string
  /** The rounds held, the last one included. */
  readonly rounds: number
  readonly transcript: ReadonlyArray<Consensus.Message<A>>
  /** One entry per member, in turn order. */
  readonly members: ReadonlyArray<MemberStats>
  /** The discussion's time, from the first turn to the verdict, in milliseconds on the `Clock`. */
  readonly durationMillis: number
  /** What all members used. */
  readonly usage: Usage.Usage
}

// =============================================================================
// teams
// =============================================================================

/**
 * @category symbols
 * @since 0.1.0
 */
export const TypeId: unique symbol = Symbol.for("effect-parallel-agents/Team")

/**
 * @category symbols
 * @since 0.1.0
 */
export type TypeId = typeof TypeId

/**
 * Any member, whatever its types.
 *
 * @category models
 * @since 0.1.0
 */
export type AnyMember = Agent.Factory<Turn<never, never>, Reply<unknown>, unknown, unknown, unknown>

/**
 * A team's members by role, in turn order.
 *
 * @category models
 * @since 0.1.0
 */
export type Members = { readonly [role: string]: AnyMember }

/**
 * The parts of a team's members' types.
 *
 * @category utility types
 * @since 0.1.0
 */
export declare namespace Members {
  /**
   * @category utility types
   * @since 0.1.0
   */
  export type Each<M extends Members> = M[keyof M]
  /**
   * What every member accepts as the task's input.
   *
   * @category utility types
   * @since 0.1.0
   */
  export type Input<M extends Members> = Types.UnionToIntersection<
    Each<M> extends infer F ?
      F extends Agent.Factory<Turn<infer In, infer _A>, infer _O, infer _E, infer _EL, infer _R> ? (x: In) => void
      : never
      : never
  > extends (x: infer In) => void ? In : never
  /**
   * What members say.
   *
   * @category utility types
   * @since 0.1.0
   */
  export type Content<M extends Members> = Each<M> extends infer F ? // A member that never replies (its output is `never`) says nothing.
    F extends Agent.Factory<never, never, unknown, unknown, unknown> ? never
    : F extends Agent.Factory<infer _In, Reply<infer A>, infer _E, infer _EL, infer _R> ? A
    : never
    : never
  /**
   * @category utility types
   * @since 0.1.0
   */
  export type Error<M extends Members> = Each<M> extends infer F ?
    F extends Agent.Factory<infer _In, infer _O, infer E, infer _EL, infer _R> ? E : never
    : never
  /**
   * @category utility types
   * @since 0.1.0
   */
  export type BuildError<M extends Members> = Each<M> extends infer F ?
    F extends Agent.Factory<infer _In, infer _O, infer _E, infer EL, infer _R> ? EL : never
    : never
  /**
   * @category utility types
   * @since 0.1.0
   */
  export type Context<M extends Members> = Each<M> extends infer F ?
    F extends Agent.Factory<infer _In, infer _O, infer _E, infer _EL, infer R> ? R : never
    : never
  /**
   * @category utility types
   * @since 0.1.0
   */
  export type Role<M extends Members> = keyof M & string
}

/**
 * A team: an agent factory whose every instance builds fresh members, runs their discussion on the task's input
 * and returns the team's `Result`, or fails with `NoConsensus` at the round limit (or `AgentOutputError`, naming the
 * member, when a member answers something that is not a `Reply`: `null`, a string, an `approve` that is not a boolean).
 *
 * @category models
 * @since 0.1.0
 */
export interface Team<In, A, E = never, EL = never, R = never>
  extends Agent.Factory<In, Result<A>, E | AgentError.NoConsensus | AgentError.AgentOutputError, EL, R>
{
  readonly [TypeId]: TypeId
  /** The roles, in turn order. */
  readonly roles: ReadonlyArray<string>
  readonly consensus: Consensus.Consensus<A>
  readonly maxRounds: number
}

/**
 * @category guards
 * @since 0.1.0
 */
export const isTeam = (u: unknown): u is Team<never, unknown, unknown, unknown, unknown> => hasProperty(u, TypeId)

/**
 * Options of `make`.
 *
 * @category models
 * @since 0.1.0
 */
export interface Options<M extends Members> {
  /** The team's name, used in instance names, metrics and logs. */
  readonly name: string
  /** The members by role; each round they speak in this order. */
  readonly members: M
  /** When the team agrees, checked at the end of every round. */
  readonly consensus: Consensus.Consensus<Members.Content<M>, Members.Role<M>>
  /** The most rounds the team may hold; when the last one ends without consensus, the run fails with `NoConsensus`. */
  readonly maxRounds: number
}

interface MemberState {
  readonly role: string
  readonly instance: AgentInstance.Service
  readonly agent: Agent.Agent<Turn<unknown, unknown>, Reply<unknown>, unknown>
  turns: number
  durationMillis: number
  usage: Usage.Usage
  readonly models: Array<string>
}

const fromRecord = (record: Usage.Record): Usage.Usage => ({
  requests: record.requests ?? 1,
  inputTokens: record.inputTokens ?? 0,
  outputTokens: record.outputTokens ?? 0,
  cost: record.cost ?? 0
})

// A member records on the task's meter (the engine's), and the member's own count; reading it reads the task's
// meter, as `Usage.current` would outside the team. Without a task meter (a team run by hand), the members' counts.
const memberMeter = (
  member: MemberState,
  members: ReadonlyArray<MemberState>,
  task: Option.Option<Usage.Meter>
): Usage.Meter => ({
  record: (record) => {
    member.usage = Usage.add(member.usage, fromRecord(record))
    if (record.model !== undefined && !member.models.includes(record.model)) member.models.push(record.model)
    if (task._tag === "Some") task.value.record(record)
  },
  get current() {
    return task._tag === "Some" ? task.value.current : teamUsage(members)
  },
  get models() {
    return task._tag === "Some" ? task.value.models : Array.from(new Set(members.flatMap((m) => m.models)))
  }
})

// A member written in JavaScript (or cast) may answer something that is not a `Reply`: the team run fails with
// a typed error naming the member rather than dying on it.
const notAReply = (
  reply: unknown,
  role: string
): { readonly path: ReadonlyArray<string>; readonly message: string } | undefined => {
  if (typeof reply !== "object" || reply === null) {
    return {
      path: [],
      message: `expected a reply ({ content, approve? }) from the member "${role}", got ${
        typeof reply === "string" ? JSON.stringify(reply) : String(reply)
      }`
    }
  }
  const approve = (reply as Reply<unknown>).approve
  if (approve !== undefined && typeof approve !== "boolean") {
    return {
      path: ["approve"],
      message: `expected true, false or nothing from the member "${role}", got ${JSON.stringify(approve)}`
    }
  }
  return undefined
}

const teamUsage = (members: ReadonlyArray<MemberState>): Usage.Usage =>
  members.reduce((total, member) => Usage.add(total, member.usage), Usage.empty)

const validate = <M extends Members>(options: Options<M>): Either.Either<void, AgentError.TeamOptionsError> => {
  const fail = (option: string, description: string) =>
    Either.left(new AgentError.TeamOptionsError({ team: String(options.name), option, description }))
  if (typeof options.name !== "string" || options.name === "") return fail("name", "expected a non-empty string")
  const roles = Object.keys(options.members ?? {})
  if (roles.length === 0) return fail("members", "a team needs at least one member")
  for (const role of roles) {
    if (role === "") return fail("members", "a role must be a non-empty string")
    if (!Agent.isFactory(options.members[role])) {
      return fail("members", `the member "${role}" is not an agent factory (see Agent.factory)`)
    }
  }
  const { maxRounds } = options
  if (!Number.isInteger(maxRounds) || maxRounds < 1) {
    return fail("maxRounds", `expected an integer of at least 1, got ${String(maxRounds)}`)
  }
  return Either.mapLeft(
    Consensus.validate(options.consensus as Consensus.Consensus<unknown> | undefined, roles),
    (description) => new AgentError.TeamOptionsError({ team: String(options.name), option: "consensus", description })
  )
}

/**
 * Defines a team. The result is an `Either`: the team, or a `TeamOptionsError` when the definition is invalid (no
 * members, a round limit below 1, a quorum of more than its voters or below 1, a rule naming a role the team does
 * not have). An `Either` is also an `Effect`, so `yield*` it in `Effect.gen` to fail there.
 *
 * Each team instance (one per task attempt, as for any agent factory) builds every member afresh in the task's
 * scope, with the identity `<team instance>/<role>`, and releases them all when the task ends, times out or is
 * interrupted. Members take turns in the order of `members`; after each round the consensus rule decides. Every
 * member's turns, time and `Usage.record`ed usage are counted in the team's `Result`.
 *
 * **Example** (A team that discusses until its supervisor approves)
 *
 * ```ts
 * import { Agent, Consensus, Executor, Task, Team } from "effect-parallel-agents"
 * import { Context, Effect, Layer } from "effect"
 *
 * type Speaker = Agent.Agent<Team.Turn<string, string>, Team.Reply<string>>
 * const speaker = (name: string, reply: (turn: Team.Turn<string, string>) => Team.Reply<string>) => {
 *   const tag = Context.GenericTag<Speaker>(name)
 *   return Agent.factory(tag, Layer.succeed(tag, Agent.make({ name, run: (turn) => Effect.sync(() => reply(turn)) })))
 * }
 *
 * const program = Effect.gen(function*() {
 *   const team = yield* Team.make({
 *     name: "review",
 *     members: {
 *       author: speaker("author", (turn) => ({ content: `draft ${turn.round} on ${turn.input}` })),
 *       supervisor: speaker("supervisor", (turn) => ({ content: `final: ${turn.input}`, approve: turn.round === 2 }))
 *     },
 *     consensus: Consensus.supervisor("supervisor"),
 *     maxRounds: 3
 *   })
 *   const report = yield* Executor.run(Task.fromIterable(["topic a", "topic b"]), team, { concurrency: 2 })
 *   console.log(report.summary.succeeded) // 2: each team's supervisor approved in round 2
 * }).pipe(Effect.provide(Executor.layer()))
 * ```
 *
 * @category constructors
 * @since 0.1.0
 */
export const make = <const M extends Members>(
  options: Options<M>
): Either.Either<
  Team<Members.Input<M>, Members.Content<M>, Members.Error<M>, Members.BuildError<M>, Members.Context<M>>,
  AgentError.TeamOptionsError
> =>
  Either.map(validate(options), () => {
    type A = Members.Content<M>
    type In = Members.Input<M>
    const name = options.name
    const roles = Object.keys(options.members)
    const factories = roles.map((role) => ({
      role,
      factory: options.members[role] as unknown as Agent.Factory<
        Turn<unknown, unknown>,
        Reply<unknown>,
        unknown,
        unknown,
        unknown
      >
    }))
    const consensus = options.consensus as Consensus.Consensus<unknown>
    const maxRounds = options.maxRounds
    const tag = Context.GenericTag<
      Agent.Agent<In, Result<A>, Members.Error<M> | AgentError.NoConsensus | AgentError.AgentOutputError>
    >(
      `effect-parallel-agents/Team/${name}`
    )

    const build = Effect.gen(function*() {
      const instance = yield* AgentInstance.AgentInstance
      const members: Array<MemberState> = []
      for (const { factory, role } of factories) {
        const memberInstance = AgentInstance.make({
          agent: factory.name,
          runId: instance.runId,
          taskId: instance.taskId,
          attempt: instance.attempt,
          name: `${instance.name}/${role}`
        })
        const agent = yield* Agent.build(factory).pipe(
          Effect.provideService(AgentInstance.AgentInstance, memberInstance)
        )
        members.push({
          role,
          instance: memberInstance,
          agent,
          turns: 0,
          durationMillis: 0,
          usage: Usage.empty,
          models: []
        })
      }
      return Agent.make({ name, run: discuss(instance, members) as never })
    }) as unknown as Effect.Effect<
      Agent.Agent<In, Result<A>, Members.Error<M> | AgentError.NoConsensus | AgentError.AgentOutputError>,
      Members.BuildError<M>,
      Members.Context<M> | AgentInstance.AgentInstance | Scope.Scope
    >

    const discuss = (instance: AgentInstance.Service, members: ReadonlyArray<MemberState>) =>
      Effect.fn("Team.run", { captureStackTrace: false })(function*(input: unknown) {
        yield* Effect.annotateCurrentSpan({
          agent: name,
          agentInstance: instance.name,
          taskId: instance.taskId,
          members: members.length
        })
        for (const member of members) {
          member.turns = 0
          member.durationMillis = 0
          member.usage = Usage.empty
        }
        const task = yield* Effect.serviceOption(Usage.UsageMeter)
        const meters = members.map((member) => memberMeter(member, members, task))
        const startedAt = yield* Clock.currentTimeMillis
        const transcript: Array<Consensus.Message<unknown>> = []
        let verdict: Consensus.Verdict<unknown> = { agreed: false, description: "no round was held" }
        let round = 0
        while (round < maxRounds) {
          round++
          const from = transcript.length
          for (const [index, member] of members.entries()) {
            const turnStartedAt = yield* Clock.currentTimeMillis
            const turn: Turn<unknown, unknown> = {
              input,
              team: instance.name,
              role: member.role,
              round,
              maxRounds,
              transcript: transcript.slice()
            }
            const reply = yield* member.agent.run(turn).pipe(
              Effect.provideService(AgentInstance.AgentInstance, member.instance),
              Effect.provideService(Usage.UsageMeter, meters[index]!),
              Effect.withSpan("Team.turn", {
                captureStackTrace: false,
                attributes: {
                  agent: member.instance.agent,
                  agentInstance: member.instance.name,
                  taskId: instance.taskId,
                  role: member.role,
                  round
                }
              })
            )
            member.turns++
            member.durationMillis += (yield* Clock.currentTimeMillis) - turnStartedAt
            const problem = notAReply(reply, member.role)
            if (problem !== undefined) {
              return yield* new AgentError.AgentOutputError({
                agent: member.instance.name,
                taskId: instance.taskId,
                path: problem.path,
                issues: [problem]
              })
            }
            transcript.push(
              reply.approve === undefined
                ? { round, role: member.role, agent: member.instance.name, content: reply.content }
                : {
                  round,
                  role: member.role,
                  agent: member.instance.name,
                  content: reply.content,
                  approve: reply.approve
                }
            )
          }
          verdict = Consensus.decide(consensus, { round, messages: transcript.slice(from), transcript }, members.length)
          yield* Effect.annotateLogs(Effect.logDebug("Team round ended"), {
            package: "effect-parallel-agents",
            module: "Team",
            agent: name,
            agentInstance: instance.name,
            taskId: instance.taskId,
            round,
            agreed: verdict.agreed,
            consensus: verdict.description
          })
          if (verdict.agreed) break
        }
        yield* Effect.annotateCurrentSpan({ rounds: round, agreed: verdict.agreed })
        if (!verdict.agreed) {
          return yield* new AgentError.NoConsensus({
            agent: instance.name,
            taskId: instance.taskId,
            rounds: round,
            transcript,
            description: verdict.description
          })
        }
        const result: Result<unknown> = {
          team: instance.name,
          conclusion: verdict.conclusion,
          consensus: verdict.description,
          rounds: round,
          transcript,
          members: members.map((member) => ({
            role: member.role,
            agent: member.instance.name,
            turns: member.turns,
            durationMillis: member.durationMillis,
            usage: member.usage
          })),
          durationMillis: (yield* Clock.currentTimeMillis) - startedAt,
          usage: teamUsage(members)
        }
        return result
      })

    const factory = Agent.scoped(tag, build, { name })
    return Object.assign(factory, {
      [TypeId]: TypeId,
      roles,
      consensus,
      maxRounds
    }) as unknown as Team<In, A, Members.Error<M>, Members.BuildError<M>, Members.Context<M>>
  })
