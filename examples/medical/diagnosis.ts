/**
 * A medical case for teams of agents: five specialist teams study one patient at once. Each team (a medical
 * specialist, a clinical reviewer and a supervisor, all language-model agents) discusses until its supervisor
 * approves; then a synthesizer reads the teams' conclusions. `examples/medical-diagnosis.ts` runs this program;
 * `test/examples.test.ts` runs it under `TestClock`.
 *
 * Offline (the default), the model answers as the case below scripts it, and takes the case's time: its teams take
 * 8-12, 10-15, 6-9, 7-10 and 9-12 minutes (40-58 minutes one after another, 10-15 at once, a 70-75 % reduction);
 * here each takes the middle of its range, one minute scaled to 100 ms, so the figures keep the case's proportions:
 * 4.9 s one team after another, 1.25 s at once. With a real model (`AGENT_MODEL`), the members write their own
 * findings and the supervisor decides when to approve.
 */
import { Console, Duration, Effect, Schema } from "effect"
import { Consensus, Executor, Synthesis, Task, TaskResult, Team, Usage } from "effect-parallel-agents"
import type { OfflineLanguageModel } from "effect-parallel-agents/models"
import { LanguageModelAgent } from "effect-parallel-agents/models"

/** One minute of the case. */
export const MINUTE = Duration.millis(100)

export const patient = "58-year-old with fever, productive cough and pleuritic chest pain for 4 days; " +
  "on warfarin and metformin; chest X-ray and CT done"

/** What a team studies: the task's input. */
export interface Focus {
  readonly team: string
  readonly specialty: string
  readonly question: string
}

export const teams: ReadonlyArray<Focus> = [
  {
    team: "symptom-patterns",
    specialty: "symptom pattern analysis",
    question: "Which differential diagnoses fit the symptoms and history, and how severe are they?"
  },
  {
    team: "literature-review",
    specialty: "medical literature review",
    question: "What do recent studies and guidelines recommend for this presentation?"
  },
  {
    team: "drug-interactions",
    specialty: "drug interaction analysis",
    question: "Are the candidate treatments safe with warfarin and metformin?"
  },
  {
    team: "imaging",
    specialty: "imaging analysis",
    question: "What do the chest X-ray and CT show, and does it match the clinical picture?"
  },
  {
    team: "treatment-planning",
    specialty: "treatment planning",
    question: "What therapy, timeline and follow-up suit this patient?"
  }
]

// =============================================================================
// members: language-model agents with structured output
// =============================================================================

type Turn = Team.Turn<Focus, string>

const Contribution = Schema.Struct({ content: Schema.String }).annotations({ identifier: "Contribution" })
const Verdict = Schema.Struct({ content: Schema.String, approve: Schema.Boolean }).annotations({
  identifier: "Verdict"
})

/** The prompt of a turn: the case, the team's question, whose turn it is and the discussion so far. */
const prompt = (turn: Turn) =>
  [
    `Patient: ${patient}`,
    `Team: ${turn.input.team} (${turn.input.specialty})`,
    `Question: ${turn.input.question}`,
    `Your role: ${turn.role}. Round ${turn.round} of ${turn.maxRounds}.`,
    "Discussion so far:",
    ...(turn.transcript.length === 0
      ? ["(nothing yet)"]
      : turn.transcript.map((message) => `[round ${message.round}, ${message.role}] ${message.content}`))
  ].join("\n")

const specialist = LanguageModelAgent.factory({
  name: "specialist",
  system: "You are the medical specialist of a diagnostic team. Give your finding on the team's question.",
  prompt,
  output: Contribution
})

const reviewer = LanguageModelAgent.factory({
  name: "reviewer",
  system: "You are the clinical reviewer of a diagnostic team. Check the specialist's latest finding.",
  prompt,
  output: Contribution
})

const supervisor = LanguageModelAgent.factory({
  name: "supervisor",
  system: "You supervise a diagnostic team. Approve only a finding the reviewer accepts, and state the team's " +
    "conclusion; otherwise say what is missing.",
  prompt,
  output: Verdict
})

/** The diagnostic team: a specialist, a clinical reviewer and a supervisor who must approve, in at most 3 rounds. */
export const diagnosticTeam = Team.make({
  name: "diagnostic-team",
  members: { specialist, reviewer, supervisor },
  consensus: Consensus.supervisor("supervisor"),
  maxRounds: 3
})

const synthesizer = LanguageModelAgent.factory({
  name: "synthesizer",
  system: "You write the final diagnostic assessment from the conclusions of specialist teams. Name every team " +
    "whose conclusion is missing: the assessment is incomplete without it.",
  prompt: (findings: Synthesis.Findings<string>) =>
    [
      "Conclusions:",
      ...findings.conclusions.map((finding) => `- ${finding.team}: ${finding.conclusion}`),
      `Missing: ${
        findings.missing.length === 0 ? "none" : findings.missing.map((m) => `${m.team} (${m.outcome})`).join(", ")
      }`
    ].join("\n")
})

// =============================================================================
// the offline model: the case's answers, in the case's time
// =============================================================================

/** For each team: its time in the case (the middle of its range, in minutes), its rounds and its conclusion. */
const script: Record<string, { readonly minutes: number; readonly rounds: number; readonly conclusion: string }> = {
  "symptom-patterns": {
    minutes: 10,
    rounds: 2,
    conclusion: "community-acquired pneumonia most likely; pulmonary embolism to exclude; CURB-65 score 1"
  },
  "literature-review": {
    minutes: 12.5,
    rounds: 2,
    conclusion: "guidelines favour amoxicillin plus a macrolide for moderate community-acquired pneumonia"
  },
  "drug-interactions": {
    minutes: 7.5,
    rounds: 1,
    conclusion: "macrolides raise the INR on warfarin: prefer doxycycline or monitor the INR closely"
  },
  "imaging": {
    minutes: 8.5,
    rounds: 1,
    conclusion: "right lower lobe consolidation, no filling defect: consistent with pneumonia"
  },
  "treatment-planning": {
    minutes: 10.5,
    rounds: 2,
    conclusion: "oral doxycycline for 5 days, INR check on day 3, review at 48 hours"
  }
}

/** Each member's share of a round's time: the supervisor's verdict is the shortest answer. */
const shares: Record<string, number> = { specialist: 0.4, reviewer: 0.4, supervisor: 0.2 }

/** The team, role and round a member's prompt names. */
const turnOf = (text: string) => {
  const team = text.match(/^Team: (\S+)/m)?.[1]
  const role = text.match(/^Your role: (\w+)\. Round (\d+)/m)
  const case_ = team === undefined ? undefined : script[team]
  return case_ === undefined || role === null ? undefined : { ...case_, role: role[1]!, round: Number(role[2]) }
}

const answer = (request: OfflineLanguageModel.Request): OfflineLanguageModel.Answer | undefined => {
  const turn = turnOf(request.text)
  if (turn === undefined) {
    // The synthesizer: the assessment from the conclusions its prompt lists, and the teams it says are missing.
    const missing = request.text.match(/^Missing: (.*)$/m)?.[1]
    if (missing === undefined) return undefined
    const conclusions = [...request.text.matchAll(/^- (\S+): (.*)$/gm)].map((match) => `  ${match[1]}: ${match[2]}`)
    const absent = missing === "none" ? 0 : missing.split(", ").length
    return {
      text: [
        `assessment from ${conclusions.length} of ${conclusions.length + absent} teams`,
        ...conclusions,
        `  missing: ${missing}`
      ].join("\n")
    }
  }
  const final = turn.round >= turn.rounds
  switch (turn.role) {
    case "specialist":
      return { value: { content: final ? turn.conclusion : `${turn.conclusion}, evidence still incomplete` } }
    case "reviewer":
      return { value: { content: final ? "consistent with the clinical picture" : "needs the evidence behind it" } }
    case "supervisor":
      return { value: { content: final ? turn.conclusion : "not yet: address the reviewer's point", approve: final } }
  }
}

const latency = (request: OfflineLanguageModel.Request): Duration.Duration => {
  const turn = turnOf(request.text)
  return turn === undefined
    ? MINUTE
    : Duration.times(MINUTE, (turn.minutes / turn.rounds) * (shares[turn.role] ?? 0))
}

/** The offline model's options: the case's answers, in the case's time. */
export const offline: OfflineLanguageModel.Options = { answer, latency }

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
  const report = yield* Executor.run(Task.fromIterable(teams, { id: (focus) => focus.team }), team, {
    concurrency: teams.length,
    // A real model may be slow or say 429: a budget per team, and a fresh team for rate limits and 5xx.
    timeout: "5 minutes",
    retry: { times: 2 }
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

  const synthesis = yield* Synthesis.synthesize(report, synthesizer, { timeout: "5 minutes" })
  yield* Console.log(`Synthesis: ${synthesis}`)
  return { teams: finished, sequentialMillis, parallelMillis, reduction, longestMillis, synthesis } satisfies Summary
})
