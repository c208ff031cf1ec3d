/**
 * The AG2 seed's medical diagnosis case: five specialist teams (symptom patterns, literature review, drug
 * interactions, imaging, treatment planning) study one patient at once. Each team's specialist, clinical reviewer
 * and supervisor are built fresh for that team run and discuss until the supervisor approves; a synthesizer then
 * reads the teams' conclusions. Prints one line per team, the sequential and parallel times, the reduction and the
 * longest team, then the synthesis. The teams and the program are in `medical/diagnosis.ts`.
 *
 *   npx tsx examples/medical-diagnosis.ts
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect } from "effect"
import { Executor } from "effect-parallel-agents"
import { program } from "./medical/diagnosis.js"

program.pipe(Effect.provide(Executor.layer()), NodeRuntime.runMain)
