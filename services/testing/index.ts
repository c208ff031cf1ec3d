/**
 * Fault injection for tests of agent programs: wraps any agent layer so that, at given rates, an attempt fails
 * with a typed error, dies, hangs, runs slow, or is rate limited (a 429 with Retry-After), instead of or before
 * calling the real agent. Faults are decided from a seed, the task id and the attempt number, so a run is
 * reproducible whatever the scheduling, and a retried attempt draws again.
 *
 * @since 0.1.0
 */
export * as FaultInjection from "./FaultInjection.js"

/**
 * Scripted agents for tests and examples. Each `TestAgent` has a real factory layer that acquires and releases
 * its instance, and it counts what happened: builds, releases, runs, and the most runs at once. Use it to check
 * that every task got a fresh instance and that every instance was released.
 *
 * @since 0.1.0
 */
export * as TestAgent from "./TestAgent.js"
