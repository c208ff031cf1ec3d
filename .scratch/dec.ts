import { Effect, Schema } from "effect"
import * as InternalSchema from "../src/internal/schema.js"
const S = Schema.Struct({ id: Schema.optional(Schema.String), text: Schema.String })
const a = Schema.decodeUnknown(S, { errors: "all" })
const b = InternalSchema.decodeUnknown(S, { errors: "all" })
const input = { id: "doc-1", text: "Sample document number 1" }
for (const [name, f] of [["decodeUnknown", a], ["internal", b], ["decodeUnknown", a], ["internal", b]] as const) {
  const n = 300_000
  const prog = Effect.forEach(Array.from({ length: n }), () => f(input), { discard: true })
  const t = process.cpuUsage()
  Effect.runSync(prog)
  const u = process.cpuUsage(t)
  console.log(name, ((u.user + u.system) / n).toFixed(2), "µs")
}
