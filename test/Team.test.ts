import { assert, describe, it } from "@effect/vitest"
import {
  Cause,
  Chunk,
  Duration,
  Effect,
  Either,
  FastCheck as fc,
  Fiber,
  HashMap,
  Layer,
  Logger,
  LogLevel,
  Option,
  Ref,
  Schedule,
  Schema,
  Stream,
  TestClock,
  Tracer
} from "effect"
import * as TestAgent from "../services/testing/TestAgent.js"
import * as Agent from "../src/Agent.js"
import * as AgentError from "../src/AgentError.js"
import type * as AgentInstance from "../src/AgentInstance.js"
import * as Consensus from "../src/Consensus.js"
import * as Executor from "../src/Executor.js"
import * as Retry from "../src/Retry.js"
import * as RunEvent from "../src/RunEvent.js"
import * as Synthesis from "../src/Synthesis.js"
import * as Task from "../src/Task.js"
import * as TaskResult from "../src/TaskResult.js"
import * as Team from "../src/Team.js"
import * as Usage from "../src/Usage.js"
import { withClock } from "./utils.js"

type Turn = Team.Turn<string, string>
type Reply = Team.Reply<string>

/** A member scripted by `reply`, after `latency` on the clock (a stand-in for a model call). */
const member = <E = never>(
  name: string,
  reply: (turn: Turn, instance: AgentInstance.Service) => Effect.Effect<Reply, E>,
  latency: (turn: Turn) => Duration.DurationInput = () => Duration.zero
) =>
  TestAgent.make<Turn, Reply, E>({
    name,
    run: (turn, instance) => Effect.zipRight(Effect.sleep(latency(turn)), reply(turn, instance))
  })

const say = (content: string, approve?: boolean): Effect.Effect<Reply> =>
  Effect.succeed(approve === undefined ? { content } : { content, approve })

/** A specialist, a reviewer and a supervisor who approves in round `approveIn` (by input). */
const clinicalTeam = (options: {
  readonly name: string
  readonly approveIn: (input: string) => number
  readonly latency?: (turn: Turn) => Duration.DurationInput
  readonly maxRounds?: number
}) =>
  Effect.gen(function*() {
    const latency = options.latency ?? (() => "1 second")
    const specialist = yield* member("specialist", (turn) => say(`finding ${turn.round} on ${turn.input}`), latency)
    const reviewer = yield* member("reviewer", (turn) => say(`review of ${turn.transcript.at(-1)!.content}`), latency)
    const supervisor = yield* member(
      "supervisor",
      (turn) =>
        turn.round >= options.approveIn(turn.input)
          ? say(`conclusion on ${turn.input}`, true)
          : say("another round, please", false),
      latency
    )
    const team = yield* Team.make({
      name: options.name,
      members: { specialist: specialist.factory, reviewer: reviewer.factory, supervisor: supervisor.factory },
      consensus: Consensus.supervisor("supervisor"),
      maxRounds: options.maxRounds ?? 3
    })
    return { team, members: [specialist, reviewer, supervisor] as const }
  })

const provide = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.provide(effect, Executor.layer())

const successValue = <A, E>(result: TaskResult.TaskResult<A, E> | undefined): A => {
  assert(result !== undefined && TaskResult.isSucceeded(result), result && TaskResult.message(result))
  return result.value
}

const failure = <A, E>(result: TaskResult.TaskResult<A, E> | undefined): unknown => {
  assert(result !== undefined && TaskResult.isFailed(result), result?._tag)
  return Cause.squash(result.cause)
}

describe("Team", () => {
  describe("consensus rules", () => {
    it.effect("supervisor: the team discusses until the supervisor approves, and concludes with its message", () =>
      Effect.gen(function*() {
        const { team } = yield* clinicalTeam({ name: "clinic", approveIn: () => 2 })
        const report = yield* withClock(Executor.run(Task.fromIterable(["case-1"]), team, { runId: "r" }))
        const result = successValue(report.results[0])
        assert.strictEqual(result.conclusion, "conclusion on case-1")
        assert.strictEqual(result.consensus, "approved by supervisor")
        assert.strictEqual(result.rounds, 2)
        assert.strictEqual(result.team, "clinic#r/0/1")
        assert.deepStrictEqual(
          result.transcript.map((m) => [m.round, m.role, m.agent, m.content, m.approve]),
          [
            [1, "specialist", "clinic#r/0/1/specialist", "finding 1 on case-1", undefined],
            [1, "reviewer", "clinic#r/0/1/reviewer", "review of finding 1 on case-1", undefined],
            [1, "supervisor", "clinic#r/0/1/supervisor", "another round, please", false],
            [2, "specialist", "clinic#r/0/1/specialist", "finding 2 on case-1", undefined],
            [2, "reviewer", "clinic#r/0/1/reviewer", "review of finding 2 on case-1", undefined],
            [2, "supervisor", "clinic#r/0/1/supervisor", "conclusion on case-1", true]
          ]
        )
      }).pipe(provide))

    it.effect("majority: more than half of the voters say the same; abstentions count as voters, not votes", () =>
      Effect.gen(function*() {
        // Round 1: a, b, (abstains). Round 2: x, x, y: two of three agree.
        const answers: Record<string, ReadonlyArray<Reply>> = {
          one: [{ content: "a" }, { content: "x" }],
          two: [{ content: "b" }, { content: "x" }],
          three: [{ content: "a", approve: false }, { content: "y" }]
        }
        const voter = (name: string) => member(name, (turn) => Effect.succeed(answers[name]![turn.round - 1]!))
        const team = yield* Team.make({
          name: "panel",
          members: {
            one: (yield* voter("one")).factory,
            two: (yield* voter("two")).factory,
            three: (yield* voter("three")).factory
          },
          consensus: Consensus.majority(),
          maxRounds: 2
        })
        const result = successValue((yield* Executor.run(Task.fromIterable(["q"]), team)).results[0])
        assert.strictEqual(result.conclusion, "x")
        assert.strictEqual(result.rounds, 2)
        assert.strictEqual(result.consensus, "2 of 3 agree")
      }).pipe(provide))

    it.effect("majority with a key and among: only the named roles vote, compared by key", () =>
      Effect.gen(function*() {
        const a = yield* member("a", () => say("Flu"))
        const b = yield* member("b", () => say("flu "))
        const scribe = yield* member("scribe", () => say("notes"))
        const team = yield* Team.make({
          name: "keyed",
          members: { a: a.factory, b: b.factory, scribe: scribe.factory },
          consensus: Consensus.majority({ key: (content: string) => content.trim().toLowerCase(), among: ["a", "b"] }),
          maxRounds: 1
        })
        const result = successValue((yield* Executor.run(Task.fromIterable(["q"]), team)).results[0])
        assert.strictEqual(result.conclusion, "Flu")
        assert.strictEqual(result.consensus, "2 of 2 agree")
      }).pipe(provide))

    it.effect("quorum k of n: k voters that agree are enough; fewer are not", () =>
      Effect.gen(function*() {
        const voters = yield* Effect.forEach(["p", "q", "r", "s"], (name) =>
          member(name, (turn) =>
            // Round 1: two say "yes"; round 2: three do.
            say(name === "s" || (name === "r" && turn.round === 1) ? `no-${name}` : "yes")))
        const members = Object.fromEntries(voters.map((v, i) => [["p", "q", "r", "s"][i]!, v.factory]))
        const team = yield* Team.make({ name: "quorum", members, consensus: Consensus.quorum(3), maxRounds: 3 })
        const result = successValue((yield* Executor.run(Task.fromIterable(["q"]), team)).results[0])
        assert.strictEqual(result.conclusion, "yes")
        assert.strictEqual(result.rounds, 2)
        assert.strictEqual(result.consensus, "3 of 4 agree")
      }).pipe(provide))

    it.effect("when: a predicate over the round decides, and the round's last message is the conclusion", () =>
      Effect.gen(function*() {
        const drafter = yield* member("drafter", (turn) => say(`draft v${turn.round}`))
        const editor = yield* member("editor", (turn) => say(turn.round === 3 ? "LGTM: draft v3" : "revise"))
        const team = yield* Team.make({
          name: "editorial",
          members: { drafter: drafter.factory, editor: editor.factory },
          consensus: Consensus.when((round: Consensus.Round<string>) =>
            round.messages.some((m) => m.content.startsWith("LGTM")) && round.transcript.length === 6
          ),
          maxRounds: 5
        })
        const result = successValue((yield* Executor.run(Task.fromIterable(["q"]), team)).results[0])
        assert.strictEqual(result.conclusion, "LGTM: draft v3")
        assert.strictEqual(result.rounds, 3)
        assert.strictEqual(result.consensus, "the predicate holds")
      }).pipe(provide))
  })

  describe("round limit", () => {
    it.effect("ends in NoConsensus carrying every round's transcript, and releases every member", () =>
      Effect.gen(function*() {
        const { members, team } = yield* clinicalTeam({ name: "stuck", approveIn: () => 99, maxRounds: 2 })
        const report = yield* withClock(Executor.run(Task.fromIterable(["case"]), team, { runId: "r" }))
        const error = failure(report.results[0])
        assert(error instanceof AgentError.NoConsensus)
        assert.strictEqual(error._tag, "NoConsensus")
        assert.strictEqual(error.agent, "stuck#r/0/1")
        assert.strictEqual(error.taskId, "0")
        assert.strictEqual(error.rounds, 2)
        assert.strictEqual(error.description, "supervisor did not approve")
        assert.strictEqual(
          error.message,
          "stuck#r/0/1: task 0 reached no consensus in 2 rounds: supervisor did not approve"
        )
        assert.deepStrictEqual(error.transcript.map((m) => `${m.round}:${m.role}`), [
          "1:specialist",
          "1:reviewer",
          "1:supervisor",
          "2:specialist",
          "2:reviewer",
          "2:supervisor"
        ])
        assert.strictEqual(error.transcript[5]!.content, "another round, please")
        for (const m of members) {
          const stats = yield* m.stats
          assert.deepStrictEqual([stats.builds, stats.releases, stats.runs], [1, 1, 2])
        }
      }).pipe(provide))

    it("NoConsensus is a schema error: it encodes to JSON and back, transcript included", () => {
      const error = new AgentError.NoConsensus({
        agent: "t#r/0/1",
        taskId: "0",
        rounds: 1,
        transcript: [
          { round: 1, role: "a", agent: "t#r/0/1/a", content: { diagnosis: "flu" } },
          { round: 1, role: "b", agent: "t#r/0/1/b", content: "no", approve: false }
        ],
        description: "b did not approve"
      })
      const json = JSON.parse(JSON.stringify(Schema.encodeSync(AgentError.NoConsensus)(error)))
      assert.strictEqual(json._tag, "NoConsensus")
      const decoded = Schema.decodeUnknownSync(AgentError.NoConsensus)(json)
      assert.deepStrictEqual(decoded.transcript, error.transcript)
      assert.strictEqual(decoded.message, "t#r/0/1: task 0 reached no consensus in 1 round: b did not approve")
    })

    it.effect("a majority that is never reached names the best count", () =>
      Effect.gen(function*() {
        const a = yield* member("a", () => say("a"))
        const b = yield* member("b", () => say("b"))
        const team = yield* Team.make({
          name: "split",
          members: { a: a.factory, b: b.factory },
          consensus: Consensus.majority(),
          maxRounds: 1
        })
        const error = failure((yield* Executor.run(Task.fromIterable(["q"]), team)).results[0])
        assert(error instanceof AgentError.NoConsensus)
        assert.strictEqual(error.description, "no majority: at most 1 of 2 agree, 2 needed")
      }).pipe(provide))
  })

  describe("definitions", () => {
    const ok = Effect.map(member("m", () => say("x")), (m) => m.factory)
    const invalid = (options: Team.Options<Team.Members>) => {
      const team = Team.make(options)
      assert(Either.isLeft(team), "expected a TeamOptionsError")
      assert.strictEqual(team.left._tag, "TeamOptionsError")
      return team.left
    }

    it.effect("invalid definitions are a typed TeamOptionsError, not a throw", () =>
      Effect.gen(function*() {
        const m = yield* ok
        const members = { a: m, b: m, c: m }
        const base = { name: "t", members, consensus: Consensus.majority(), maxRounds: 2 }
        const k4 = invalid({ ...base, consensus: Consensus.quorum(4) })
        assert.strictEqual(k4.option, "consensus")
        assert.strictEqual(
          k4.message,
          `Invalid option "consensus" of team "t": a quorum must be an integer from 1 to the 3 voters, got 4`
        )
        assert.include(invalid({ ...base, consensus: Consensus.quorum(0) }).description, "got 0")
        assert.include(invalid({ ...base, consensus: Consensus.quorum(1.5) }).description, "got 1.5")
        assert.include(
          invalid({ ...base, consensus: Consensus.quorum(3, { among: ["a", "b"] }) }).description,
          "2 voters"
        )
        assert.strictEqual(invalid({ ...base, maxRounds: 0 }).option, "maxRounds")
        assert.strictEqual(invalid({ ...base, maxRounds: 1.5 }).option, "maxRounds")
        assert.strictEqual(invalid({ ...base, maxRounds: NaN }).option, "maxRounds")
        assert.strictEqual(invalid({ ...base, members: {} }).option, "members")
        assert.strictEqual(invalid({ ...base, name: "" }).option, "name")
        assert.strictEqual(
          invalid({ ...base, consensus: Consensus.supervisor("boss") }).description,
          `"boss" is not a role of the team (its roles: "a", "b", "c")`
        )
        assert.include(invalid({ ...base, consensus: Consensus.majority({ among: ["a", "z"] }) }).description, `"z"`)
        assert.include(invalid({ ...base, consensus: Consensus.majority({ among: [] }) }).description, "no voters")
        assert.include(invalid({ ...base, consensus: Consensus.majority({ among: ["a", "a"] }) }).description, "twice")
        assert.strictEqual(invalid({ ...base, members: { a: "nope" as never } }).option, "members")
        // Valid edges: k = n and k = 1, one round, one member.
        assert(Either.isRight(Team.make({ ...base, consensus: Consensus.quorum(3) })))
        assert(Either.isRight(Team.make({ ...base, consensus: Consensus.quorum(1), maxRounds: 1 })))
        assert(Either.isRight(Team.make({ ...base, members: { solo: m }, consensus: Consensus.majority() })))
      }))

    it.effect("a TeamOptionsError fails the program when the definition is yielded", () =>
      Effect.gen(function*() {
        const m = yield* ok
        const exit = yield* Effect.exit(
          Effect.gen(function*() {
            return yield* Team.make({ name: "t", members: { a: m }, consensus: Consensus.majority(), maxRounds: 0 })
          })
        )
        assert(exit._tag === "Failure")
        const error = Cause.squash(exit.cause)
        assert(error instanceof AgentError.TeamOptionsError)
        assert.strictEqual(error.option, "maxRounds")
      }))

    it.effect("a team knows its roles, rule and limit", () =>
      Effect.gen(function*() {
        const { team } = yield* clinicalTeam({ name: "clinic", approveIn: () => 1 })
        assert.deepStrictEqual(team.roles, ["specialist", "reviewer", "supervisor"])
        assert.deepStrictEqual(team.consensus, Consensus.supervisor("supervisor"))
        assert.strictEqual(team.maxRounds, 3)
        assert.strictEqual(team.name, "clinic")
        assert(Team.isTeam(team))
        assert(Agent.isFactory(team))
      }))
  })

  describe("members", () => {
    it.effect("are built fresh for every team run, named after the team instance and role, and all released", () =>
      Effect.gen(function*() {
        const seen = yield* Ref.make<Array<string>>([])
        const speaker = yield* member(
          "speaker",
          (turn, instance) =>
            Effect.as(Ref.update(seen, (names) => [...names, instance.name]), { content: turn.input, approve: true })
        )
        const team = yield* Team.make({
          name: "solo",
          members: { speaker: speaker.factory },
          consensus: Consensus.supervisor("speaker"),
          maxRounds: 1
        })
        const report = yield* Executor.run(Task.fromIterable(["a", "b", "c", "d"]), team, {
          runId: "r",
          concurrency: 2
        })
        assert.strictEqual(report.summary.succeeded, 4)
        const stats = yield* speaker.stats
        assert.strictEqual(stats.builds, 4)
        assert.strictEqual(stats.releases, 4)
        const names = ["0", "1", "2", "3"].map((id) => `solo#r/${id}/1/speaker`)
        assert.deepStrictEqual(stats.instances, names)
        // During its turns a member sees its own identity, not the team's.
        assert.deepStrictEqual(yield* Ref.get(seen), names)
        assert.deepStrictEqual(report.results.map((r) => successValue(r).members[0]!.agent), names)
      }).pipe(provide))

    it.effect("transcripts are never shared between teams running at once", () =>
      Effect.gen(function*() {
        const seen = yield* Ref.make<Array<{ readonly team: string; readonly transcript: ReadonlyArray<string> }>>([])
        const record = (turn: Turn) =>
          Ref.update(seen, (all) => [...all, { team: turn.team, transcript: turn.transcript.map((m) => m.agent) }])
        const latency = (turn: Turn) => Duration.seconds((turn.input.length % 3) + 1)
        const left = yield* member(
          "left",
          (turn) => Effect.as(record(turn), { content: `${turn.input}-left` }),
          latency
        )
        const right = yield* member(
          "right",
          (turn) => Effect.as(record(turn), { content: `${turn.input}-right`, approve: turn.round === 2 }),
          latency
        )
        const team = yield* Team.make({
          name: "pair",
          members: { left: left.factory, right: right.factory },
          consensus: Consensus.supervisor("right"),
          maxRounds: 2
        })
        const inputs = ["a", "bb", "ccc", "dddd", "eeeee", "ffffff"]
        const report = yield* withClock(
          Executor.run(Task.fromIterable(inputs), team, { concurrency: "unbounded", runId: "r" })
        )
        for (const [i, result] of report.results.entries()) {
          const value = successValue(result)
          assert.deepStrictEqual(value.transcript.map((m) => m.content), [
            `${inputs[i]}-left`,
            `${inputs[i]}-right`,
            `${inputs[i]}-left`,
            `${inputs[i]}-right`
          ])
          assert.isTrue(value.transcript.every((m) => m.agent.startsWith(`${value.team}/`)))
        }
        const turns = yield* Ref.get(seen)
        assert.strictEqual(turns.length, inputs.length * 4)
        for (const turn of turns) {
          assert.isTrue(turn.transcript.every((agent) => agent.startsWith(`${turn.team}/`)), turn.team)
        }
        // Every team ran at once.
        assert.strictEqual(report.stats.peakInFlight, inputs.length)
      }).pipe(provide))

    it.effect("a member that cannot be built fails its team with AgentBuildError; the members built are released", () =>
      Effect.gen(function*() {
        const first = yield* member("first", () => say("x", true))
        const broken = yield* TestAgent.make<Turn, Reply, string>({
          name: "broken",
          build: (instance) => Effect.fail(`no session for ${instance.name}`),
          run: () => say("never")
        })
        const team = yield* Team.make({
          name: "fragile",
          members: { first: first.factory, broken: broken.factory },
          consensus: Consensus.supervisor("first"),
          maxRounds: 1
        })
        const report = yield* Executor.run(Task.fromIterable(["q"]), team, { runId: "r" })
        const error = failure(report.results[0])
        assert(error instanceof AgentError.AgentBuildError)
        assert.strictEqual(error.cause, "no session for fragile#r/0/1/broken")
        const stats = yield* first.stats
        assert.deepStrictEqual([stats.builds, stats.releases, stats.runs], [1, 1, 0])
      }).pipe(provide))

    it.effect("a member's typed failure fails its team, with the error kept", () =>
      Effect.gen(function*() {
        const ok = yield* member("ok", () => say("x"))
        const failing = yield* member<"RateLimited">("failing", () => Effect.fail("RateLimited" as const))
        const team = yield* Team.make({
          name: "failing",
          members: { ok: ok.factory, failing: failing.factory },
          consensus: Consensus.majority(),
          maxRounds: 2
        })
        const report = yield* Executor.run(Task.fromIterable(["q"]), team)
        const result = report.results[0]!
        assert(TaskResult.isFailed(result))
        assert.deepStrictEqual(Cause.failureOption(result.cause), Option.some("RateLimited" as const))
        assert.strictEqual((yield* ok.stats).releases, 1)
        assert.strictEqual((yield* failing.stats).releases, 1)
      }).pipe(provide))

    it.effect("a member whose reply is not a reply (null, a string) fails its team with AgentOutputError, not a defect", () =>
      Effect.gen(function*() {
        for (const bad of [null, undefined, "yes", { content: "x", approve: "yes" }]) {
          const ok = yield* member("ok", () => say("x"))
          const broken = yield* member("broken", () => Effect.succeed(bad as unknown as Reply))
          const team = yield* Team.make({
            name: "careless",
            members: { ok: ok.factory, broken: broken.factory },
            consensus: Consensus.majority(),
            maxRounds: 2
          })
          const report = yield* Executor.run([Task.make({ id: "q", input: "q" })], team, { runId: "r" })
          const result = report.results[0]!
          assert(TaskResult.isFailed(result), String(bad))
          const error = Cause.failureOption(result.cause)
          assert(Option.isSome(error), `a typed failure for ${String(bad)}, got ${Cause.pretty(result.cause)}`)
          assert(error.value instanceof AgentError.AgentOutputError)
          assert.strictEqual(error.value.agent, "careless#r/q/1/broken")
          assert.strictEqual(
            error.value.message,
            typeof bad === "object" && bad !== null
              ? `careless#r/q/1/broken: the output of task q does not match the schema: at ["approve"]: expected true, false or nothing from the member "broken", got "yes"`
              : `careless#r/q/1/broken: the output of task q does not match the schema: at (root): expected a reply ({ content, approve? }) from the member "broken", got ${
                bad === "yes" ? "\"yes\"" : String(bad)
              }`
          )
          assert.strictEqual((yield* ok.stats).releases, 1)
          assert.strictEqual((yield* broken.stats).releases, 1)
        }
      }).pipe(provide))
  })

  describe("through the executor", () => {
    it.effect("a team timeout interrupts the discussion and releases every member", () =>
      Effect.gen(function*() {
        // Turns of 1 second; the supervisor would approve in round 3 (9 seconds); the timeout is 3.5 seconds.
        const { members, team } = yield* clinicalTeam({ name: "slow", approveIn: () => 3 })
        const fiber = yield* Effect.fork(
          Executor.run(Task.fromIterable(["case"]), team, { timeout: "3500 millis", runId: "r" })
        )
        yield* TestClock.adjust("3500 millis")
        const report = yield* Fiber.join(fiber)
        const result = report.results[0]!
        assert(TaskResult.isTimedOut(result))
        assert.strictEqual(result.durationMillis, 3500)
        assert.strictEqual(result.agent, "slow#r/0/1")
        for (const m of members) {
          const stats = yield* m.stats
          assert.deepStrictEqual([stats.builds, stats.releases, stats.running], [1, 1, 0])
        }
        // Round 2's specialist was under way: it was interrupted.
        assert.deepStrictEqual(yield* Effect.forEach(members, (m) => Effect.map(m.stats, (s) => s.runs)), [2, 1, 1])
      }).pipe(provide))

    it.effect("interrupting the run interrupts every team and releases every member", () =>
      Effect.gen(function*() {
        const { members, team } = yield* clinicalTeam({ name: "cut", approveIn: () => 3 })
        const fiber = yield* Effect.fork(Executor.run(Task.fromIterable(["a", "b", "c"]), team, { concurrency: 2 }))
        yield* TestClock.adjust("2500 millis")
        yield* Fiber.interrupt(fiber)
        for (const m of members) {
          const stats = yield* m.stats
          assert.strictEqual(stats.builds, 2)
          assert.strictEqual(stats.releases, 2)
        }
      }).pipe(provide))

    it.effect("teams fan out with the concurrency: in parallel the wall time is the longest team", () =>
      Effect.gen(function*() {
        // Five teams of one round; their turns take 1 to 5 seconds: 3, 6, 9, 12 and 15 seconds per team.
        const latency = (turn: Turn) => Duration.seconds(Number(turn.input))
        const { team } = yield* clinicalTeam({ name: "five", approveIn: () => 1, latency })
        const tasks = Task.fromIterable(["1", "2", "3", "4", "5"])
        const parallel = yield* withClock(Executor.run(tasks, team, { concurrency: 5 }))
        const durations = parallel.results.map((r) => successValue(r).durationMillis)
        assert.deepStrictEqual(durations, [3000, 6000, 9000, 12000, 15000])
        assert.strictEqual(Duration.toMillis(parallel.stats.wallTime), 15000)
        assert.strictEqual(Duration.toMillis(parallel.stats.busyTime), 45000)
        const sequential = yield* withClock(Executor.run(tasks, team, { concurrency: 1 }))
        assert.strictEqual(Duration.toMillis(sequential.stats.wallTime), 45000)
        const two = yield* withClock(Executor.run(tasks, team, { concurrency: 2 }))
        // Greedy: 3 | 6, then 9 at 3, 12 at 6, 15 at 12: the last ends at 27 seconds.
        assert.strictEqual(Duration.toMillis(two.stats.wallTime), 27000)
        assert.strictEqual(two.stats.peakInFlight, 2)
      }).pipe(provide))

    it.scoped("teams stream in completion order and publish run events like any task", () =>
      Effect.gen(function*() {
        // Turns of 1 to 3 seconds by input; "3" never agrees within its one round.
        const latency = (turn: Turn) => Duration.seconds(Number(turn.input))
        const { team } = yield* clinicalTeam({
          name: "streamed",
          approveIn: (input) => input === "3" ? 99 : 1,
          latency,
          maxRounds: 1
        })
        const events = yield* RunEvent.subscribe
        const collected = yield* Effect.fork(
          Stream.runCollect(Stream.takeUntil(events, RunEvent.RunEvent.$is("RunFinished")))
        )
        const results = yield* withClock(
          Stream.runCollect(Executor.stream(Task.fromIterable(["3", "1", "2"]), team, { concurrency: 3 }))
        )
        assert.deepStrictEqual(Chunk.toArray(results).map((r) => [r.taskId, r._tag]), [
          ["1", "Succeeded"],
          ["2", "Succeeded"],
          ["0", "Failed"]
        ])
        const ended = Chunk.toArray(yield* Fiber.join(collected)).filter((event) =>
          event._tag === "TaskSucceeded" || event._tag === "TaskFailed"
        )
        assert.deepStrictEqual(ended.map((event) => `${event._tag} ${"taskId" in event ? event.taskId : ""}`), [
          "TaskSucceeded 1",
          "TaskSucceeded 2",
          "TaskFailed 0"
        ])
      }).pipe(Effect.provide(Layer.mergeAll(Executor.layer(), RunEvent.layer({ capacity: 64 })))))

    it.effect("time and tokens per member and per team", () =>
      Effect.gen(function*() {
        const talker = (name: string, seconds: number, tokens: number) =>
          member(
            name,
            (turn) =>
              Effect.as(
                Usage.record({ model: "offline", inputTokens: tokens * turn.round, outputTokens: tokens }),
                { content: name, approve: turn.round === 2 }
              ),
            () => `${seconds} seconds`
          )
        const a = yield* talker("a", 1, 10)
        const b = yield* talker("b", 2, 100)
        const team = yield* Team.make({
          name: "metered",
          members: { a: a.factory, b: b.factory },
          consensus: Consensus.supervisor("b"),
          maxRounds: 3
        })
        const report = yield* withClock(Executor.run(Task.fromIterable(["q"]), team, { runId: "r" }))
        const result = successValue(report.results[0])
        assert.deepStrictEqual(result.members, [
          {
            role: "a",
            agent: "metered#r/0/1/a",
            turns: 2,
            durationMillis: 2000,
            usage: Usage.make({ requests: 2, inputTokens: 30, outputTokens: 20 })
          },
          {
            role: "b",
            agent: "metered#r/0/1/b",
            turns: 2,
            durationMillis: 4000,
            usage: Usage.make({ requests: 2, inputTokens: 300, outputTokens: 200 })
          }
        ])
        assert.strictEqual(result.durationMillis, 6000)
        assert.deepStrictEqual(result.usage, Usage.make({ requests: 4, inputTokens: 330, outputTokens: 220 }))
        assert.strictEqual(Usage.totalTokens(result.usage), 550)
        // The team passes its usage on to the engine's meter of the task: the task's result carries it too.
        assert.deepStrictEqual(report.results[0]!.usage, result.usage)
      }).pipe(provide))

    it.effect("retries give the team a fresh set of members; NoConsensus is retried only when asked", () =>
      Effect.gen(function*() {
        // The specialist's model is overloaded (503) in the first attempt of every team run.
        const specialist = yield* member<{ readonly _tag: "Overloaded"; readonly status: number }>(
          "specialist",
          (turn, instance) =>
            Effect.zipRight(
              Usage.record({ inputTokens: 10 }),
              instance.attempt === 1 ? Effect.fail({ _tag: "Overloaded", status: 503 } as const) : say(turn.input)
            )
        )
        const supervisor = yield* member("supervisor", (turn, instance) =>
          // "stuck" agrees only in its third attempt.
          say(`ok ${turn.input}`, turn.input !== "stuck" || instance.attempt === 3))
        const team = yield* Team.make({
          name: "retried",
          members: { specialist: specialist.factory, supervisor: supervisor.factory },
          consensus: Consensus.supervisor("supervisor"),
          maxRounds: 1
        })
        const tasks = Task.fromIterable(["fine", "stuck"], { id: (s) => s })
        const schedule = Schedule.spaced("1 second")
        const report = yield* withClock(Executor.run(tasks, team, { runId: "r", retry: { schedule, times: 3 } }))
        const fine = report.results[0]!
        assert.strictEqual(successValue(fine).conclusion, "ok fine")
        assert.strictEqual(fine.attempt, 2)
        assert.deepStrictEqual(successValue(fine).members.map((m) => m.agent), [
          "retried#r/fine/2/specialist",
          "retried#r/fine/2/supervisor"
        ])
        // Both attempts' usage is the task's; the team's result counts its own attempt.
        assert.strictEqual(fine.usage.inputTokens, 20)
        assert.strictEqual(successValue(fine).usage.inputTokens, 10)
        // NoConsensus is not retryable by default.
        const stuck = report.results[1]!
        assert.strictEqual(stuck.attempt, 2)
        assert(failure(stuck) instanceof AgentError.NoConsensus)
        const retried = yield* withClock(Executor.run(tasks.slice(1), team, {
          runId: "r",
          retry: {
            schedule,
            times: 3,
            while: (error) => Retry.isRetryable(error) || error._tag === "NoConsensus"
          }
        }))
        assert.strictEqual(successValue(retried.results[0]).team, "retried#r/stuck/3")
        const stats = yield* specialist.stats
        assert.strictEqual(stats.builds, stats.releases)
        assert.strictEqual(stats.builds, 2 + 2 + 3)
      }).pipe(provide))

    it.effect("during a member's turn, Usage.current reads the task's meter", () =>
      Effect.gen(function*() {
        const readings: Array<number> = []
        const a = yield* member("a", () =>
          Effect.gen(function*() {
            yield* Usage.record({ inputTokens: 5, outputTokens: 1 })
            readings.push(Usage.totalTokens(yield* Usage.current))
            return { content: "a", approve: true }
          }))
        const team = yield* Team.make({
          name: "plain",
          members: { a: a.factory },
          consensus: Consensus.supervisor("a"),
          maxRounds: 1
        })
        const result = successValue((yield* Executor.run(Task.fromIterable(["q"]), team)).results[0])
        assert.deepStrictEqual(result.usage, Usage.make({ requests: 1, inputTokens: 5, outputTokens: 1 }))
        assert.deepStrictEqual(readings, [6])
      }).pipe(provide))
  })

  describe("observability", () => {
    it.effect("a Debug line per round with the verdict, a Team.run span and a Team.turn span per turn", () =>
      Effect.gen(function*() {
        const { team } = yield* clinicalTeam({ name: "observed", approveIn: () => 2 })
        const lines: Array<{ readonly message: unknown; readonly annotations: Record<string, unknown> }> = []
        const logger = Logger.make<unknown, void>(({ annotations, message }) => {
          lines.push({
            message: Array.isArray(message) ? message[0] : message,
            annotations: Object.fromEntries(HashMap.toEntries(annotations))
          })
        })
        const spans: Array<Tracer.Span> = []
        const tracer = yield* Effect.tracer
        const recording = Tracer.make({
          span: (...args) => {
            const span = tracer.span(...args)
            spans.push(span)
            return span
          },
          context: (f, fiber) => tracer.context(f, fiber)
        })
        yield* withClock(Executor.run(Task.fromIterable(["case"]), team, { runId: "r" })).pipe(
          Logger.withMinimumLogLevel(LogLevel.Debug),
          Effect.provide(Logger.add(logger)),
          Effect.withTracer(recording)
        )
        const rounds = lines.filter((line) => line.annotations.module === "Team")
        assert.deepStrictEqual(rounds.map((line) => [line.message, line.annotations.round, line.annotations.agreed]), [
          ["Team round ended", 1, false],
          ["Team round ended", 2, true]
        ])
        assert.deepStrictEqual(rounds[1]!.annotations, {
          package: "effect-parallel-agents",
          module: "Team",
          agent: "observed",
          agentInstance: "observed#r/0/1",
          taskId: "0",
          round: 2,
          agreed: true,
          consensus: "approved by supervisor"
        })
        const run = spans.find((span) => span.name === "Team.run")!
        assert.strictEqual(run.attributes.get("agentInstance"), "observed#r/0/1")
        assert.strictEqual(run.attributes.get("rounds"), 2)
        assert.strictEqual(run.attributes.get("agreed"), true)
        const turns = spans.filter((span) => span.name === "Team.turn")
        assert.deepStrictEqual(turns.map((span) => `${span.attributes.get("round")}:${span.attributes.get("role")}`), [
          "1:specialist",
          "1:reviewer",
          "1:supervisor",
          "2:specialist",
          "2:reviewer",
          "2:supervisor"
        ])
        assert.isTrue(turns.every((span) => span.parent._tag === "Some" && span.parent.value.spanId === run.spanId))
        assert.strictEqual(turns[1]!.attributes.get("agentInstance"), "observed#r/0/1/reviewer")
      }).pipe(provide))
  })

  describe("synthesis", () => {
    it("a team missing from a run cut short says why: its deadline, its failure policy, or its stop", () => {
      const team = (id: string, index: number) => ({
        task: Task.make({ id, input: id }),
        index,
        instance: undefined,
        startedAt: undefined,
        durationMillis: 0
      })
      const { missing } = Synthesis.findings([
        TaskResult.interrupted(team("late", 0), { reason: "RunDeadline" }),
        TaskResult.interrupted(team("held", 1), { reason: "FailurePolicy" }),
        TaskResult.interrupted(team("unstarted", 2), { reason: "Stopped" })
      ])
      assert.deepStrictEqual(missing.map((m) => [m.team, m.outcome, m.description]), [
        ["late", "Interrupted", "not started before the run's deadline"],
        ["held", "Interrupted", "not started: the run's failure policy stopped it"],
        ["unstarted", "Interrupted", "not started: the run was stopped"]
      ])
    })

    it.effect("the synthesizer reads the teams that agreed and is told which are missing, and why", () =>
      Effect.gen(function*() {
        // "ok-1" and "ok-2" agree in round 1; "stuck" never does; "slow" outlives its timeout; "broken" fails.
        const specialist = yield* member<string>(
          "specialist",
          (turn) => turn.input === "broken" ? Effect.fail("model unavailable") : say(`finding on ${turn.input}`),
          (turn) => turn.input === "slow" ? Duration.hours(1) : Duration.seconds(1)
        )
        const supervisor = yield* member(
          "supervisor",
          (turn) => say(`conclusion on ${turn.input}`, turn.input !== "stuck")
        )
        const team = yield* Team.make({
          name: "diag",
          members: { specialist: specialist.factory, supervisor: supervisor.factory },
          consensus: Consensus.supervisor("supervisor"),
          maxRounds: 2
        })
        const report = yield* withClock(
          Executor.run(Task.fromIterable(["ok-1", "stuck", "slow", "broken", "ok-2"], { id: (s) => s }), team, {
            timeout: "1 minute",
            runId: "r"
          })
        )
        const findings = Synthesis.findings(report)
        assert.deepStrictEqual(findings.conclusions, [
          { team: "ok-1", conclusion: "conclusion on ok-1", consensus: "approved by supervisor", rounds: 1 },
          { team: "ok-2", conclusion: "conclusion on ok-2", consensus: "approved by supervisor", rounds: 1 }
        ])
        assert.deepStrictEqual(findings.missing.map((m) => [m.team, m.outcome]), [
          ["stuck", "NoConsensus"],
          ["slow", "TimedOut"],
          ["broken", "Failed"]
        ])
        assert.strictEqual(
          findings.missing[0]!.description,
          "diag#r/stuck/1: task stuck reached no consensus in 2 rounds: supervisor did not approve"
        )
        assert.include(findings.missing[1]!.description, "stopped by its timeout (1m)")
        assert.strictEqual(findings.missing[2]!.description, "model unavailable")
        // The same from the results alone.
        assert.deepStrictEqual(Synthesis.findings(report.results), findings)

        const synthesizer = yield* TestAgent.make({
          name: "synthesizer",
          run: (input: Synthesis.Findings<string>) =>
            Effect.succeed(
              `${input.conclusions.map((c) => c.conclusion).join("; ")}` +
                (input.missing.length === 0 ? "" : ` (missing: ${input.missing.map((m) => m.team).join(", ")})`)
            )
        })
        const synthesis = yield* Synthesis.synthesize(report, synthesizer.factory)
        assert.strictEqual(synthesis, "conclusion on ok-1; conclusion on ok-2 (missing: stuck, slow, broken)")
        const stats = yield* synthesizer.stats
        assert.deepStrictEqual([stats.builds, stats.releases], [1, 1])
        assert.match(stats.instances[0]!, /^synthesizer#\w+\/synthesis\/1$/)
      }).pipe(provide))

    it.effect("a synthesizer's failure and timeout are the synthesis' failure", () =>
      Effect.gen(function*() {
        const failing = yield* TestAgent.fail("synth-fail", (_: Synthesis.Findings<string>) => "no answer")
        const hanging = yield* TestAgent.make({
          name: "synth-hang",
          run: (_: Synthesis.Findings<string>) => Effect.never
        })
        const failed = yield* Effect.flip(Synthesis.synthesize([], failing.factory))
        assert.strictEqual(failed, "no answer")
        const fiber = yield* Effect.fork(
          Effect.flip(Synthesis.synthesize([], hanging.factory, { timeout: "5 seconds" }))
        )
        yield* TestClock.adjust("5 seconds")
        const timedOut = yield* Fiber.join(fiber)
        assert(timedOut instanceof AgentError.AgentTimeout)
        assert.strictEqual((yield* hanging.stats).releases, 1)
      }).pipe(provide))
  })

  describe("properties", () => {
    const votes = fc.array(fc.array(fc.constantFrom("x", "y", "z", "abstain"), { minLength: 5, maxLength: 5 }), {
      minLength: 1,
      maxLength: 4
    })

    it.effect.prop(
      "majority and quorum agree with a count of the votes, round by round",
      { rounds: votes, k: fc.integer({ min: 1, max: 5 }), rule: fc.constantFrom("majority", "quorum") },
      ({ k, rounds, rule }) =>
        Effect.gen(function*() {
          const roles = ["v0", "v1", "v2", "v3", "v4"]
          const voters = yield* Effect.forEach(roles, (role, i) =>
            member(role, (turn) => {
              const vote = rounds[turn.round - 1]![i]!
              return say(vote === "abstain" ? "-" : vote, vote === "abstain" ? false : undefined)
            }))
          const team = yield* Team.make({
            name: "prop",
            members: Object.fromEntries(roles.map((role, i) => [role, voters[i]!.factory])),
            consensus: rule === "majority" ? Consensus.majority() : Consensus.quorum(k),
            maxRounds: rounds.length
          })
          const needed = rule === "majority" ? 3 : k
          // The reference: the first round in which some answer has `needed` votes, and that answer.
          const expected = rounds.findIndex((round) =>
            ["x", "y", "z"].some((v) => round.filter((vote) => vote === v).length >= needed)
          )
          const result = (yield* Executor.run(Task.fromIterable(["q"]), team)).results[0]!
          if (expected === -1) {
            const error = failure(result)
            assert(error instanceof AgentError.NoConsensus)
            assert.strictEqual(error.rounds, rounds.length)
            assert.strictEqual(error.transcript.length, rounds.length * 5)
          } else {
            const value = successValue(result)
            const round = rounds[expected]!
            // The most voted answer, the first given on a tie.
            const count = (v: string) => round.filter((vote) => vote === v).length
            const winner = ["x", "y", "z"].filter((v) => count(v) > 0).sort((a, b) =>
              count(b) - count(a) || round.indexOf(a) - round.indexOf(b)
            )[0]
            assert.strictEqual(value.rounds, expected + 1)
            assert.strictEqual(value.conclusion, winner)
          }
          for (const voter of voters) {
            const stats = yield* voter.stats
            assert.deepStrictEqual([stats.builds, stats.releases], [1, 1])
          }
        }).pipe(provide),
      { fastCheck: { numRuns: 100 } }
    )
  })
})
