import { assert, describe, it } from "@effect/vitest"
import { Context, Effect } from "effect"
import * as AgentInstance from "../src/AgentInstance.js"

describe("AgentInstance", () => {
  it("make keeps the parts and derives the name <agent>#<runId>/<taskId>/<attempt>", () => {
    const instance = AgentInstance.make({ agent: "summarizer", runId: "k3x9q1", taskId: "doc-7", attempt: 2 })
    assert.strictEqual(instance.agent, "summarizer")
    assert.strictEqual(instance.runId, "k3x9q1")
    assert.strictEqual(instance.taskId, "doc-7")
    assert.strictEqual(instance.attempt, 2)
    assert.strictEqual(instance.name, "summarizer#k3x9q1/doc-7/2")
  })

  it("make takes a name of its own, as a team gives its members, and shows it in JSON", () => {
    const member = AgentInstance.make({
      agent: "specialist",
      runId: "r",
      taskId: "t",
      attempt: 1,
      name: "team#r/t/1/lead"
    })
    assert.strictEqual(member.name, "team#r/t/1/lead")
    assert.deepStrictEqual(JSON.parse(JSON.stringify(member)), {
      agent: "specialist",
      runId: "r",
      taskId: "t",
      attempt: 1,
      name: "team#r/t/1/lead"
    })
  })

  it("format builds the same name from plain parts", () => {
    assert.strictEqual(AgentInstance.format({ agent: "a", runId: "r", taskId: "t", attempt: 1 }), "a#r/t/1")
    const instance = AgentInstance.make({ agent: "x", runId: "y", taskId: "0", attempt: 3 })
    assert.strictEqual(AgentInstance.format(instance), instance.name)
  })

  it("different tasks or attempts give different names", () => {
    const names = new Set(
      [["t1", 1], ["t2", 1], ["t1", 2]].map(([taskId, attempt]) =>
        AgentInstance.make({ agent: "a", runId: "r", taskId: taskId as string, attempt: attempt as number }).name
      )
    )
    assert.strictEqual(names.size, 3)
  })

  it("toJSON gives the parts and the name", () => {
    const instance = AgentInstance.make({ agent: "a", runId: "r", taskId: "t", attempt: 1 })
    const expected = { agent: "a", runId: "r", taskId: "t", attempt: 1, name: "a#r/t/1" }
    assert.deepStrictEqual((instance as unknown as { toJSON(): unknown }).toJSON(), expected)
    assert.deepStrictEqual(JSON.parse(JSON.stringify(instance)), expected)
  })

  it("toString is the name", () => {
    const instance = AgentInstance.make({ agent: "a", runId: "r", taskId: "t", attempt: 4 })
    assert.strictEqual(String(instance), "a#r/t/4")
    assert.strictEqual(`${instance}`, "a#r/t/4")
  })

  it.effect("is a service the factory layer can read from the context", () =>
    Effect.gen(function*() {
      const instance = AgentInstance.make({ agent: "a", runId: "r", taskId: "t", attempt: 1 })
      const name = yield* Effect.map(AgentInstance.AgentInstance, (i) => i.name).pipe(
        Effect.provideService(AgentInstance.AgentInstance, instance)
      )
      assert.strictEqual(name, "a#r/t/1")
      assert.strictEqual(AgentInstance.AgentInstance.key, "effect-parallel-agents/AgentInstance")
      assert.isTrue(Context.isTag(AgentInstance.AgentInstance))
    }))
})
