/**
 * p-map: `pMap` with a concurrency.
 */
import pMap from "p-map"
import type { Run } from "../workloads.js"
import { promiseTask } from "./promise.js"

export const run: Run = async (inputs, workload) => {
  const task = promiseTask(workload)
  const results = await pMap(inputs, (input) => task(input), { concurrency: workload.concurrency })
  return () => results
}
