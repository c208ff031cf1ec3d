/**
 * The resilience property over 5,000 more random mixes (see `Executor.resilience.prop.test.ts`): 10,000 per CI run.
 */
import { describe } from "@effect/vitest"
import { property } from "./resilienceProperty.js"

describe("Executor resilience properties (more mixes)", () => {
  property(5_000)
})
