/**
 * The resilience property over 5,000 random mixes; `Executor.resilience.prop2.test.ts` runs 5,000 more in another
 * worker, so that a CI run checks 10,000 on its two cores.
 */
import { describe } from "@effect/vitest"
import { property } from "./resilienceProperty.js"

describe("Executor resilience properties", () => {
  property(5_000)
})
