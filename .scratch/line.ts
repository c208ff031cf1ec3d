import { Either, Predicate, Schema } from "effect"
import * as TaskFile from "../src/TaskFile.js"
const JsonObject = Schema.declare((u: unknown): u is object => Predicate.isRecord(u))
const old = Schema.decodeEither(Schema.parseJson(JsonObject))
const line = JSON.stringify({ id: "doc-12345", text: "Sample document number 12345 with a few more words in it" })
for (let r = 0; r < 2; r++) {
  for (const [name, f] of [["parseJson", () => old(line)], ["decodeLine", () => TaskFile.decodeLine(line, 2)]] as const) {
    const n = 500_000
    const t = process.cpuUsage()
    for (let i = 0; i < n; i++) if (Either.isLeft(f() as any)) throw new Error("bad")
    const u = process.cpuUsage(t)
    console.log(name, ((u.user + u.system) / n).toFixed(2), "µs")
  }
}
