/**
 * The resilience property over 5,000 random mixes; `Executor.resilience.prop2.test.ts` runs 5,000 more, so that a CI
 * run checks 10,000. Two files keep each well inside its time limit on a loaded machine (each mix advances a
 * TestClock, whose every wake-up waits for a real timer turn: about 25 ms a mix, mostly waiting).
 */
import { describe } from "@effect/vitest"
import { property } from "./resilienceProperty.js"

describe("Executor resilience properties", () => {
  property(5_000)
})
