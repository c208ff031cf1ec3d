/**
 * Scripted agents for tests and examples. Each `TestAgent` has a real factory layer that acquires and releases
 * its instance, and it counts what happened: builds, releases, runs, and the most runs at once. Use it to check
 * that every task got a fresh instance and that every instance was released.
 *
 * @since 0.1.0
 */
export * as TestAgent from "./TestAgent.js"
