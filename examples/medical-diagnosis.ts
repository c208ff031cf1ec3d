/**
 * A medical diagnosis case for teams of agents, the kind AG2 users run in a thread pool: five specialist teams
 * (symptom patterns, literature review, drug interactions, imaging, treatment planning) study one patient at once.
 * Each team's specialist, clinical reviewer and supervisor are language-model agents built fresh for that team run;
 * they discuss until the supervisor approves, and a synthesizer then reads the teams' conclusions. Prints one line
 * per team, the sequential and parallel times, the reduction and the longest team, then the synthesis. The teams
 * and the program are in `medical/diagnosis.ts`.
 *
 * The model is chosen by `AGENT_MODEL`: by default the offline model, which answers as the case scripts it in the
 * case's time (one minute = 100 ms); `openai:<model>` with `OPENAI_API_KEY`, or `compat:<model>` with
 * `OPENAI_BASE_URL`, asks that model instead.
 *
 *   npx tsx examples/medical-diagnosis.ts
 *   AGENT_MODEL=openai:gpt-4o-mini OPENAI_API_KEY=... npx tsx examples/medical-diagnosis.ts
 */
import { NodeHttpClient, NodeRuntime } from "@effect/platform-node"
import { Effect, Layer } from "effect"
import { Executor } from "effect-parallel-agents"
import { AgentModel } from "effect-parallel-agents/models"
import { offline, program } from "./medical/diagnosis.js"

// The model AGENT_MODEL names: the offline one unless it says otherwise. The HTTP client is for real endpoints.
const ModelLive = AgentModel.layerConfig({ offline }).pipe(Layer.provide(NodeHttpClient.layerUndici))

program.pipe(Effect.provide(Layer.mergeAll(Executor.layer(), ModelLive)), NodeRuntime.runMain)
