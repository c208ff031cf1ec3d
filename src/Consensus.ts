/**
 * When a team agrees: the transcript of a team's discussion (`Message`, `Round`) and the rules that decide, at the
 * end of each round, whether the team agrees and on what (`supervisor`, `majority`, `quorum`, `when`). `Team` runs
 * the discussion; `decide` is the rule applied to one round.
 *
 * @since 0.1.0
 */
import * as Either from "effect/Either"

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
 * A consensus rule: when a round ends, it says whether the team agrees and on what. `Role` is the roles it names,
 * checked against the team's members by `Team.make` (see `validate`).
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
 * integer from 1 to the number of voters, which `Team.make` checks. The conclusion is the answer with the most votes
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

/**
 * What a rule says of a round: the team agrees on a conclusion, or it does not (yet); `description` says how
 * (`"approved by supervisor"`, `"2 of 3 agree"`) or why not.
 *
 * @category models
 * @since 0.1.0
 */
export type Verdict<A> =
  | { readonly agreed: true; readonly conclusion: A; readonly description: string }
  | { readonly agreed: false; readonly description: string }

/**
 * Applies a rule to a round that has just ended; `members` is the number of members (the voters when the rule
 * names none).
 *
 * @category combinators
 * @since 0.1.0
 */
export const decide = <A>(rule: Consensus<A>, round: Round<A>, members: number): Verdict<A> => {
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

/**
 * Checks a rule against a team's roles: the roles it names are the team's, a quorum is an integer from 1 to its
 * voters. Returns the option's problem, if any.
 *
 * @category constructors
 * @since 0.1.0
 */
export const validate = (
  rule: Consensus<unknown> | undefined,
  roles: ReadonlyArray<string>
): Either.Either<void, string> => {
  const unknownRole = (role: string) =>
    Either.left(`"${role}" is not a role of the team (its roles: ${roles.map((r) => `"${r}"`).join(", ")})`)
  switch (rule?._tag) {
    case "Supervisor":
      return roles.includes(rule.role) ? Either.void : unknownRole(rule.role)
    case "When":
      return typeof rule.predicate === "function" ? Either.void : Either.left("the predicate is not a function")
    case "Majority":
    case "Quorum": {
      const among = rule.among
      if (among !== undefined) {
        if (among.length === 0) return Either.left("`among` names no voters")
        for (const role of among) if (!roles.includes(role)) return unknownRole(role)
        if (new Set(among).size !== among.length) return Either.left("`among` names a role twice")
      }
      const voters = among === undefined ? roles.length : among.length
      if (rule._tag === "Quorum" && (!Number.isInteger(rule.k) || rule.k < 1 || rule.k > voters)) {
        return Either.left(`a quorum must be an integer from 1 to the ${voters} voters, got ${String(rule.k)}`)
      }
      return Either.void
    }
    default:
      return Either.left("expected Consensus.supervisor, Consensus.majority, Consensus.quorum or Consensus.when")
  }
}
