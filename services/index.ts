/**
 * Scripted agents for tests and examples, with build, release and concurrency counters.
 *
 * @since 0.1.0
 */
export * as TestAgent from "./TestAgent.js"
