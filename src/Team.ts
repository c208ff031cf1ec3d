/**
 * Teams of agents that discuss one task until they agree. A team's members are agents built fresh for every team
 * run; they take turns over a transcript local to that run, round after round, until the team's consensus rule
 * holds (a supervisor approves, a majority or a quorum agrees, a predicate) or the round limit ends the run with
 * `NoConsensus`. A team is an agent factory, so teams fan out through the `Executor` like any task, and
 * `synthesize` hands the conclusions of the teams that agreed, and the names of those that did not, to a final agent.
 *
 * @since 0.1.0
 */
import * as Cause from "effect/Cause"
import * as Clock from "effect/Clock"
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Either from "effect/Either"
import type * as Option from "effect/Option"
import { hasProperty } from "effect/Predicate"
import type * as Scope from "effect/Scope"
import type * as Types from "effect/Types"
import * as Agent from "./Agent.js"
import * as AgentError from "./AgentError.js"
import * as AgentInstance from "./AgentInstance.js"
import * as Executor from "./Executor.js"
import type * as RunReport from "./RunReport.js"
import * as Task from "./Task.js"
import type * as TaskResult from "./TaskResult.js"
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
  readonly transcript: ReadonlyArray<Message<A>>
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
 * One message of the transcript.
 *
 * @category models
 * @since 0.1.0
 */
export interface Message<out A> {
  /** The round it was said in, from 1. */
  readonly round: number
  readonly role: string
  /** The member instance's unique name. */
  readonly agent: string
  readonly content: A
  readonly approve?: boolean | undefined
}

/**
 * A round that has just ended, as consensus rules see it.
 *
 * @category models
 * @since 0.1.0
 */
export interface Round<out A> {
  /** The round's number, from 1. */
  readonly round: number
  /** This round's messages, one per member, in turn order. */
  readonly messages: ReadonlyArray<Message<A>>
  /** Every message so far, this round's included. */
  readonly transcript: ReadonlyArray<Message<A>>
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
  readonly transcript: ReadonlyArray<Message<A>>
  /** One entry per member, in turn order. */
  readonly members: ReadonlyArray<MemberStats>
  /** The discussion's time, from the first turn to the verdict, in milliseconds on the `Clock`. */
  readonly durationMillis: number
  /** What all members used. */
  readonly usage: Usage.Usage
}

// =============================================================================
// consensus rules
// =============================================================================

/**
 * A consensus rule: when a round ends, it says whether the team agrees and on what. `Role` is the roles it names,
 * checked against the team's members by `make`.
 *
 * @category models
 * @since 0.1.0
 */
export type Consensus<A, Role extends string = string> =
  | Supervisor<Role>
  | Majority<A, Role>
  | Quorum<A, Role>
  | When<A>

/**
 * The rule of `supervisor`: the member with this role must approve.
 *
 * @category models
 * @since 0.1.0
 */
export interface Supervisor<out Role extends string = string> {
  readonly _tag: "Supervisor"
  readonly role: Role
}

/**
 * The rule of `majority`: more than half of the voters give the same answer.
 *
 * @category models
 * @since 0.1.0
 */
export interface Majority<in A, out Role extends string = string> {
  readonly _tag: "Majority"
  readonly key: (content: A) => string
  readonly among: ReadonlyArray<Role> | undefined
}

/**
 * The rule of `quorum`: at least `k` of the voters give the same answer.
 *
 * @category models
 * @since 0.1.0
 */
export interface Quorum<in A, out Role extends string = string> {
  readonly _tag: "Quorum"
  readonly k: number
  readonly key: (content: A) => string
  readonly among: ReadonlyArray<Role> | undefined
}

/**
 * The rule of `when`: a predicate over the round holds.
 *
 * @category models
 * @since 0.1.0
 */
export interface When<in A> {
  readonly _tag: "When"
  readonly predicate: (round: Round<A>) => boolean
}

/**
 * Options of the voting rules: how replies are compared and who votes.
 *
 * @category models
 * @since 0.1.0
 */
export interface VoteOptions<A, Role extends string> {
  /**
   * What a reply votes for: replies with the same key agree. By default the content itself when it is a string,
   * its JSON otherwise.
   */
  readonly key?: ((content: A) => string) | undefined
  /** The roles that vote; all members by default. */
  readonly among?: ReadonlyArray<Role> | undefined
}

const defaultKey = (content: unknown): string => typeof content === "string" ? content : JSON.stringify(content)

/**
 * The team agrees when the member with this role approves (`approve: true`) in a round. The conclusion is what
 * that member said, so a supervisor states the conclusion it approves.
 *
 * @category constructors
 * @since 0.1.0
 */
export const supervisor = <const Role extends string>(role: Role): Supervisor<Role> => ({ _tag: "Supervisor", role })

/**
 * The team agrees when more than half of the voters say the same thing in a round (the same `key`). The conclusion
 * is the first of those replies. A voter abstains by replying `approve: false`, and still counts among the voters.
 *
 * @category constructors
 * @since 0.1.0
 */
export const majority = <A = unknown, const Role extends string = never>(
  options?: VoteOptions<A, Role>
): Majority<NoInfer<A>, NoInfer<Role>> => ({ _tag: "Majority", key: options?.key ?? defaultKey, among: options?.among })

/**
 * The team agrees when at least `k` of the voters say the same thing in a round (the same `key`). `k` must be an
 * integer from 1 to the number of voters, which `make` checks. The conclusion is the answer with the most votes
 * (the first given, on a tie), as its first voter said it. A voter abstains by replying `approve: false`.
 *
 * @category constructors
 * @since 0.1.0
 */
export const quorum = <A = unknown, const Role extends string = never>(
  k: number,
  options?: VoteOptions<A, Role>
): Quorum<NoInfer<A>, NoInfer<Role>> => ({ _tag: "Quorum", k, key: options?.key ?? defaultKey, among: options?.among })

/**
 * The team agrees when the predicate holds over the round that has just ended. The conclusion is the round's
 * last message.
 *
 * @category constructors
 * @since 0.1.0
 */
export const when = <A = unknown>(predicate: (round: Round<A>) => boolean): When<NoInfer<A>> => ({
  _tag: "When",
  predicate
})

type Verdict<A> =
  | { readonly agreed: true; readonly conclusion: A; readonly description: string }
  | { readonly agreed: false; readonly description: string }

const decide = <A>(rule: Consensus<A>, round: Round<A>, members: number): Verdict<A> => {
  switch (rule._tag) {
    case "Supervisor": {
      const message = round.messages.find((message) => message.role === rule.role)
      return message?.approve === true
        ? { agreed: true, conclusion: message.content, description: `approved by ${rule.role}` }
        : { agreed: false, description: `${rule.role} did not approve` }
    }
    case "When": {
      const last = round.messages[round.messages.length - 1]
      return last !== undefined && rule.predicate(round)
        ? { agreed: true, conclusion: last.content, description: "the predicate holds" }
        : { agreed: false, description: "the predicate does not hold" }
    }
    case "Majority":
    case "Quorum": {
      const among = rule.among
      const voters = among === undefined ? members : among.length
      const needed = rule._tag === "Majority" ? Math.floor(voters / 2) + 1 : rule.k
      // Each answer's votes, in the order answers were first given: the most voted wins, the first given on a tie.
      const votes = new Map<string, { count: number; first: Message<A> }>()
      for (const message of round.messages) {
        if (message.approve === false || (among !== undefined && !among.includes(message.role))) continue
        const key = rule.key(message.content)
        const entry = votes.get(key)
        if (entry === undefined) votes.set(key, { count: 1, first: message })
        else entry.count++
      }
      let best = 0
      let winner: Message<A> | undefined
      for (const { count, first } of votes.values()) {
        if (count > best) {
          best = count
          winner = first
        }
      }
      const noun = rule._tag === "Majority" ? "majority" : "quorum"
      return winner !== undefined && best >= needed
        ? { agreed: true, conclusion: winner.content, description: `${best} of ${voters} agree` }
        : { agreed: false, description: `no ${noun}: at most ${best} of ${voters} agree, ${needed} needed` }
    }
  }
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
 * A member: an agent factory whose agent takes a `Turn` and answers a `Reply`.
 *
 * @category models
 * @since 0.1.0
 */
export type Member<In, A, E = never, EL = never, R = never> = Agent.Factory<Turn<In, A>, Reply<A>, E, EL, R>

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
 * and returns the team's `Result`, or fails with `NoConsensus` at the round limit.
 *
 * @category models
 * @since 0.1.0
 */
export interface Team<In, A, E = never, EL = never, R = never>
  extends Agent.Factory<In, Result<A>, E | AgentError.NoConsensus, EL, R>
{
  readonly [TypeId]: TypeId
  /** The roles, in turn order. */
  readonly roles: ReadonlyArray<string>
  readonly consensus: Consensus<A>
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
  readonly consensus: Consensus<Members.Content<M>, Members.Role<M>>
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
}

interface TeamUsage {
  usage: Usage.Usage
  readonly models: Array<string>
}

const fromRecord = (record: Usage.Record): Usage.Usage => ({
  requests: record.requests ?? 1,
  inputTokens: record.inputTokens ?? 0,
  outputTokens: record.outputTokens ?? 0,
  cost: record.cost ?? 0
})

// A member's turns record on its own meter, which adds to the member, to the team and to the task's meter when the
// engine provides one; reading it reads the task's meter, as `Usage.current` would outside the team.
const memberMeter = (member: MemberState, team: TeamUsage, parent: Option.Option<Usage.Meter>): Usage.Meter => ({
  record: (record) => {
    const usage = fromRecord(record)
    member.usage = Usage.add(member.usage, usage)
    team.usage = Usage.add(team.usage, usage)
    if (record.model !== undefined && !team.models.includes(record.model)) team.models.push(record.model)
    if (parent._tag === "Some") parent.value.record(record)
  },
  get current() {
    return parent._tag === "Some" ? parent.value.current : team.usage
  },
  get models() {
    return parent._tag === "Some" ? parent.value.models : team.models
  }
})

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
  const rule = options.consensus as Consensus<unknown> | undefined
  const unknownRole = (role: string) =>
    fail("consensus", `"${role}" is not a role of the team (its roles: ${roles.map((r) => `"${r}"`).join(", ")})`)
  switch (rule?._tag) {
    case "Supervisor":
      return roles.includes(rule.role) ? Either.void : unknownRole(rule.role)
    case "When":
      return typeof rule.predicate === "function" ? Either.void : fail("consensus", "the predicate is not a function")
    case "Majority":
    case "Quorum": {
      const among = rule.among
      if (among !== undefined) {
        if (among.length === 0) return fail("consensus", "`among` names no voters")
        for (const role of among) if (!roles.includes(role)) return unknownRole(role)
        if (new Set(among).size !== among.length) return fail("consensus", "`among` names a role twice")
      }
      const voters = among === undefined ? roles.length : among.length
      if (rule._tag === "Quorum" && (!Number.isInteger(rule.k) || rule.k < 1 || rule.k > voters)) {
        return fail("consensus", `a quorum must be an integer from 1 to the ${voters} voters, got ${String(rule.k)}`)
      }
      return Either.void
    }
    default:
      return fail("consensus", "expected Team.supervisor, Team.majority, Team.quorum or Team.when")
  }
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
 * import { Agent, Executor, Task, Team } from "effect-parallel-agents"
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
 *     consensus: Team.supervisor("supervisor"),
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
    const consensus = options.consensus as Consensus<unknown>
    const maxRounds = options.maxRounds
    const tag = Context.GenericTag<Agent.Agent<In, Result<A>, Members.Error<M> | AgentError.NoConsensus>>(
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
        members.push({ role, instance: memberInstance, agent, turns: 0, durationMillis: 0, usage: Usage.empty })
      }
      return Agent.make({ name, run: discuss(instance, members) as never })
    }) as unknown as Effect.Effect<
      Agent.Agent<In, Result<A>, Members.Error<M> | AgentError.NoConsensus>,
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
        const team: TeamUsage = { usage: Usage.empty, models: [] }
        const parent = yield* Effect.serviceOption(Usage.UsageMeter)
        const meters = members.map((member) => memberMeter(member, team, parent))
        const startedAt = yield* Clock.currentTimeMillis
        const transcript: Array<Message<unknown>> = []
        let verdict: Verdict<unknown> = { agreed: false, description: "no round was held" }
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
          verdict = decide(consensus, { round, messages: transcript.slice(from), transcript }, members.length)
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
          usage: team.usage
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

// =============================================================================
// synthesis
// =============================================================================

/**
 * The conclusion of a team that agreed.
 *
 * @category models
 * @since 0.1.0
 */
export interface Finding<out A> {
  /** The team's task id. */
  readonly team: string
  readonly conclusion: A
  /** How the team agreed. */
  readonly consensus: string
  readonly rounds: number
}

/**
 * A team that has no conclusion, and why: it reached no consensus, timed out, failed or was interrupted (or never
 * started before the run's deadline).
 *
 * @category models
 * @since 0.1.0
 */
export interface Missing {
  /** The team's task id. */
  readonly team: string
  readonly outcome: "NoConsensus" | "TimedOut" | "Failed" | "Interrupted"
  /** The error's message. */
  readonly description: string
}

/**
 * What a synthesizer reads: the conclusions of the teams that agreed and the teams that are missing, both in the
 * run's order.
 *
 * @category models
 * @since 0.1.0
 */
export interface Findings<out A> {
  readonly conclusions: ReadonlyArray<Finding<A>>
  readonly missing: ReadonlyArray<Missing>
}

/**
 * Team results: a run's report or its results.
 *
 * @category models
 * @since 0.1.0
 */
export type Results<A, E> =
  | RunReport.RunReport<Result<A>, E, unknown>
  | Iterable<TaskResult.TaskResult<Result<A>, E>>

const resultsOf = <A, E>(input: Results<A, E>): Iterable<TaskResult.TaskResult<Result<A>, E>> =>
  Symbol.iterator in input ? input : (input as RunReport.RunReport<Result<A>, E, unknown>).results

/**
 * Splits a run of teams into the conclusions of the teams that agreed and the teams that are missing, with why.
 *
 * @category combinators
 * @since 0.1.0
 */
export const findings = <A, E>(results: Results<A, E>): Findings<A> => {
  const conclusions: Array<Finding<A>> = []
  const missing: Array<Missing> = []
  for (const result of resultsOf(results)) {
    switch (result._tag) {
      case "Succeeded":
        conclusions.push({
          team: result.taskId,
          conclusion: result.value.conclusion,
          consensus: result.value.consensus,
          rounds: result.value.rounds
        })
        break
      case "Failed": {
        const error = Cause.squash(result.cause)
        missing.push({
          team: result.taskId,
          outcome: error instanceof AgentError.NoConsensus ? "NoConsensus" : "Failed",
          description: error instanceof AgentError.NoConsensus ? error.message : describe(error)
        })
        break
      }
      case "TimedOut":
        missing.push({ team: result.taskId, outcome: "TimedOut", description: result.error.message })
        break
      case "Interrupted":
        missing.push({
          team: result.taskId,
          outcome: "Interrupted",
          description: result.reason === "RunDeadline" ? "not started before the run's deadline" : "interrupted"
        })
        break
    }
  }
  return { conclusions, missing }
}

const describe = (error: unknown): string =>
  hasProperty(error, "message") && typeof error.message === "string" && error.message !== ""
    ? error.message
    : String(error)

/**
 * Runs a final agent over the `findings` of a run of teams and returns its answer. The synthesizer runs as one task
 * through the `Executor` (id `"synthesis"` unless `id` says otherwise): a fresh instance, the engine's metrics and
 * logs, and `timeout` if given. It reads the teams that agreed and the teams that are missing, so its answer can
 * say which are missing. Its failure is this effect's failure; a timeout fails with `AgentTimeout`.
 *
 * @category combinators
 * @since 0.1.0
 */
export const synthesize = <A, E, Out, E2, EL2, R2>(
  results: Results<A, E>,
  synthesizer: Agent.Factory<Findings<A>, Out, E2, EL2, R2>,
  options?: {
    readonly id?: string | undefined
    readonly timeout?: Duration.DurationInput | undefined
    readonly runId?: string | undefined
  }
): Effect.Effect<Out, E2 | AgentError.AgentError | AgentError.RunOptionsError, R2 | Executor.Executor> =>
  Effect.gen(function*() {
    const task = Task.make({ id: options?.id ?? "synthesis", input: findings(results) })
    const report = yield* Executor.run([task], synthesizer, { timeout: options?.timeout, runId: options?.runId })
    const result = report.results[0]!
    switch (result._tag) {
      case "Succeeded":
        return result.value
      case "Failed":
        return yield* Effect.failCause(result.cause)
      case "TimedOut":
        return yield* Effect.fail(result.error)
      case "Interrupted":
        return yield* Effect.failCause(result.cause)
    }
  })
