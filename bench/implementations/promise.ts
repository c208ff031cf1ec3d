/**
 * One task as a promise (shared by `p-limit` and `p-map`): a fresh agent object, a timeout raced with its call
 * and cleared after, and the outcome captured as `{ ok }` or `{ error }`.
 */
import { type Outcome, TIMEOUT_MILLIS, type Workload } from "../workloads.js"

const withTimeout = <A>(promise: Promise<A>, millis: number): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${millis} ms`)), millis)
  })
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export const promiseTask = (workload: Workload): (input: number) => Promise<Outcome> => {
  const { taskMillis } = workload
  const work = taskMillis === 0
    ? (n: number) => Promise.resolve(n)
    : (n: number) => new Promise<number>((resolve) => setTimeout(resolve, taskMillis, n))
  const makeAgent = () => {
    let calls = 0
    return {
      name: "bench",
      run: (n: number) => ++calls === 1 ? work(n) : Promise.reject(new Error("agent reused"))
    }
  }
  return (input) => withTimeout(makeAgent().run(input), TIMEOUT_MILLIS).then((ok) => ({ ok }), (error) => ({ error }))
}
