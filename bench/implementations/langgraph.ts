/**
 * LangGraph.js `Send` fan-out, as its map-reduce how-to writes it: a `fanout` node returns a `Command` whose `goto`
 * holds one `Send` per input to a `worker` node, and each worker's outcome is appended to the state by a
 * concatenating reducer. `maxConcurrency` bounds the workers running at once. Each worker runs the same promise
 * task as `p-limit` (a fresh agent object, a 30-second timeout raced with its call, the outcome captured).
 */
import { Annotation, Command, END, Send, START, StateGraph } from "@langchain/langgraph"
import type { Outcome, Run } from "../workloads.js"
import { promiseTask } from "./promise.js"

export const run: Run = async (inputs, workload) => {
  const task = promiseTask(workload)
  const State = Annotation.Root({
    inputs: Annotation<ReadonlyArray<number>>(),
    n: Annotation<number>(),
    outcomes: Annotation<ReadonlyArray<Outcome>>({ reducer: (a, b) => a.concat(b), default: () => [] })
  })
  const graph = new StateGraph(State)
    .addNode(
      "fanout",
      (state: typeof State.State) => new Command({ goto: state.inputs.map((n) => new Send("worker", { n })) }),
      { ends: ["worker"] }
    )
    .addNode("worker", async (state) => ({ outcomes: [await task(state.n)] }))
    .addEdge(START, "fanout")
    .addEdge("worker", END)
    .compile()
  const state = await graph.invoke({ inputs }, { maxConcurrency: workload.concurrency })
  return () => state.outcomes
}
