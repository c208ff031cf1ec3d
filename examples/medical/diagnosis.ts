/**
 * The AG2 seed's medical case: five specialist teams study one patient at once. Each team (a medical specialist, a
 * clinical reviewer and a supervisor) discusses until its supervisor approves; then a synthesizer reads the teams'
 * conclusions. `examples/medical-diagnosis.ts` runs this program; `test/examples.test.ts` runs it under `TestClock`.
 *
 * The seed's teams take 8-12, 10-15, 6-9, 7-10 and 9-12 minutes. Here each takes the middle of its range, with one
 * minute scaled to 100 ms, so the figures keep the seed's proportions: 4.9 s one team after another, 1.25 s at once.
 */
import { Console, Context, Duration, Effect, Layer } from "effect"
import { Agent, AgentInstance, Executor, Task, TaskResult, Team, Usage } from "effect-parallel-agents"

/** One minute of the seed. */
export const MINUTE = Duration.millis(100)

/** What a team studies: its specialty, and for the simulated model how long it takes and when it agrees. */
export interface Focus {
  readonly specialty: string
  readonly question: string
  readonly conclusion: string
  /** The team's time in the seed, in minutes (the middle of its range). */
  readonly minutes: number
  /** The round in which the supervisor approves. */
  readonly rounds: number
}

export const patient = "58-year-old with fever, productive cough and pleuritic chest pain for 4 days; " +
  "on warfarin and metformin; chest X-ray and CT done"

export const teams: ReadonlyArray<Focus & { readonly id: string }> = [
  {
    id: "symptom-patterns",
    specialty: "symptom pattern analysis",
    question: "Which differential diagnoses fit the symptoms and history, and how severe are they?",
    conclusion: "community-acquired pneumonia most likely; pulmonary embolism to exclude; CURB-65 score 1",
    minutes: 10,
    rounds: 2
  },
  {
    id: "literature-review",
    specialty: "medical literature review",
    question: "What do recent studies and guidelines recommend for this presentation?",
    conclusion: "guidelines favour amoxicillin plus a macrolide for moderate community-acquired pneumonia",
    minutes: 12.5,
    rounds: 2
  },
  {
    id: "drug-interactions",
    specialty: "drug interaction analysis",
    question: "Are the candidate treatments safe with warfarin and metformin?",
    conclusion: "macrolides raise the INR on warfarin: prefer doxycycline or monitor the INR closely",
    minutes: 7.5,
    rounds: 1
  },
  {
    id: "imaging",
    specialty: "imaging analysis",
    question: "What do the chest X-ray and CT show, and does it match the clinical picture?",
    conclusion: "right lower lobe consolidation, no filling defect: consistent with pneumonia",
    minutes: 8.5,
    rounds: 1
  },
  {
    id: "treatment-planning",
    specialty: "treatment planning",
    question: "What therapy, timeline and follow-up suit this patient?",
    conclusion: "oral doxycycline for 5 days, INR check on day 3, review at 48 hours",
    minutes: 10.5,
    rounds: 2
  }
]

// =============================================================================
// members
// =============================================================================

type Turn = Team.Turn<Focus, string>
type Member = Agent.Agent<Turn, Team.Reply<string>>

/** Each member's share of a round's time: the specialist works longest, the supervisor least. */
const shares = { specialist: 0.5, reviewer: 0.3, supervisor: 0.2 } as const

const tokens = (text: string) => Math.ceil(text.length / 4)

/**
 * One model call, simulated: it takes the member's share of the team's time per round, records its usage like a
 * model adapter does, and answers `answer`. This is the one place to swap for a real or offline model agent.
 */
const modelCall = (turn: Turn, role: keyof typeof shares, answer: string) =>
  Effect.gen(function*() {
    const prompt = [patient, turn.input.question, ...turn.transcript.map((message) => message.content)].join("\n")
    yield* Effect.sleep(Duration.times(MINUTE, (turn.input.minutes / turn.input.rounds) * shares[role]))
    yield* Usage.record({ model: "simulated", inputTokens: tokens(prompt), outputTokens: tokens(answer) })
    return answer
  })

/** A member's factory: a fresh instance for every team run, named after its team and role. */
const member = (role: keyof typeof shares, respond: (turn: Turn) => Effect.Effect<Team.Reply<string>>) => {
  const tag = Context.GenericTag<Member>(`medical/${role}`)
  return Agent.factory(
    tag,
    Layer.effect(
      tag,
      Effect.map(AgentInstance.AgentInstance, (instance) => Agent.make({ name: instance.name, run: respond }))
    ),
    { name: role }
  )
}

const specialist = member("specialist", (turn) =>
  Effect.map(
    modelCall(
      turn,
      "specialist",
      turn.round < turn.input.rounds
        ? `Draft ${turn.round} on ${turn.input.specialty}: ${turn.input.conclusion}, evidence still incomplete`
        : `Finding on ${turn.input.specialty}: ${turn.input.conclusion}`
    ),
    (content) => ({ content })
  ))

const reviewer = member("reviewer", (turn) =>
  Effect.map(
    modelCall(
      turn,
      "reviewer",
      turn.round < turn.input.rounds ? "Needs the evidence behind it" : "Consistent with the clinical picture"
    ),
    (content) => ({ content })
  ))

const supervisor = member("supervisor", (turn) => {
  const approve = turn.round >= turn.input.rounds
  return Effect.map(
    modelCall(turn, "supervisor", approve ? turn.input.conclusion : "Not yet: address the reviewer's point"),
    (content) => ({ content, approve })
  )
})

/** The diagnostic team: a specialist, a clinical reviewer and a supervisor who must approve, in at most 3 rounds. */
export const diagnosticTeam = Team.make({
  name: "diagnostic-team",
  members: { specialist, reviewer, supervisor },
  consensus: Team.supervisor("supervisor"),
  maxRounds: 3
})

// =============================================================================
// synthesis
// =============================================================================

class Synthesizer extends Context.Tag("synthesizer")<Synthesizer, Agent.Agent<Team.Findings<string>, string>>() {}

const SynthesizerLive = Layer.succeed(
  Synthesizer,
  Agent.make({
    name: "synthesizer",
    // A stand-in for a model that writes the assessment from the teams' conclusions, and names the missing teams.
    run: (findings: Team.Findings<string>) =>
      Effect.as(
        Effect.sleep(MINUTE),
        [
          `assessment from ${findings.conclusions.length} of ${
            findings.conclusions.length + findings.missing.length
          } teams`,
          ...findings.conclusions.map((finding) => `  ${finding.team}: ${finding.conclusion}`),
          findings.missing.length === 0
            ? "  missing: none"
            : `  missing: ${findings.missing.map((missing) => `${missing.team} (${missing.outcome})`).join(", ")}`
        ].join("\n")
      )
  })
)

// =============================================================================
// the program
// =============================================================================

const seconds = (millis: number) => `${(millis / 1000).toFixed(2)} s`

/** What the program prints, as figures. */
export interface Summary {
  readonly teams: ReadonlyArray<{ readonly id: string; readonly durationMillis: number; readonly rounds: number }>
  readonly sequentialMillis: number
  readonly parallelMillis: number
  readonly reduction: number
  readonly longestMillis: number
  readonly synthesis: string
}

/** Runs the five teams at once, prints one line per team and the timing, then the synthesis. */
export const program = Effect.gen(function*() {
  const team = yield* diagnosticTeam
  const report = yield* Executor.run(Task.fromIterable(teams, { id: (focus) => focus.id }), team, {
    concurrency: teams.length,
    // A budget per team well above the slowest one, as the seed advises.
    timeout: Duration.times(MINUTE, 30)
  })

  const finished: Array<Summary["teams"][number]> = []
  for (const result of report.results) {
    if (TaskResult.isSucceeded(result)) {
      const { consensus, durationMillis, rounds, usage } = result.value
      finished.push({ id: result.taskId, durationMillis, rounds })
      yield* Console.log(
        `${result.taskId.padEnd(19)} ${seconds(durationMillis)}  ${rounds} round${rounds === 1 ? " " : "s"}  ` +
          `${consensus}  (${Usage.totalTokens(usage)} tokens)`
      )
    } else {
      yield* Console.log(`${result.taskId.padEnd(19)} ${result._tag}: ${TaskResult.message(result)}`)
    }
  }

  // One team after another takes the sum of their times; at once, the run's wall time.
  const sequentialMillis = finished.reduce((sum, team) => sum + team.durationMillis, 0)
  const parallelMillis = Duration.toMillis(report.stats.wallTime)
  const longestMillis = Math.max(...finished.map((team) => team.durationMillis))
  const reduction = 1 - parallelMillis / sequentialMillis
  yield* Console.log(`Sequential: ${seconds(sequentialMillis)}`)
  yield* Console.log(`Parallel: ${seconds(parallelMillis)}`)
  yield* Console.log(`Reduction: ${(reduction * 100).toFixed(1)}%`)
  yield* Console.log(`Longest team: ${seconds(longestMillis)}`)

  const synthesis = yield* Team.synthesize(report, Agent.factory(Synthesizer, SynthesizerLive))
  yield* Console.log(`Synthesis: ${synthesis}`)
  return { teams: finished, sequentialMillis, parallelMillis, reduction, longestMillis, synthesis } satisfies Summary
})
