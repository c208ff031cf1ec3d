/**
 * The upstream report's reproduction (bench/README.md, "Reading a response's body in @effect/platform"):
 * `node build/bench/w6/bodyRead.js` prints the CPU per call of a small JSON request to a server on 127.0.0.1, read
 * with `response.json` through @effect/platform-node's undici client (`NodeHttpClient.makeUndici`, whose body
 * accessors memoise with `Effect.cached` + `Effect.runSync`) and through the same client with a body read once into
 * a shared promise (`services/models/internal/undiciClient.ts`), one call at a time and 64 at once.
 */
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Undici from "@effect/platform-node/Undici"
import type * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as Effect from "effect/Effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import * as UndiciClient from "../../services/models/internal/undiciClient.js"

const server = Http.createServer((request, response) => {
  request.resume()
  request.on("end", () => {
    response.writeHead(200, { "content-type": "application/json" })
    response.end(`{"label":"positive"}`)
  })
})
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`

const perCall = (label: string, client: HttpClient.HttpClient, concurrency: number) =>
  Effect.gen(function*() {
    const call = Effect.flatMap(client.execute(HttpClientRequest.get(url)), (response) => response.json)
    const calls = (n: number) => Effect.forEach(Array.from({ length: n }), () => call, { concurrency, discard: true })
    yield* calls(2_000)
    const start = process.cpuUsage()
    const wall = performance.now()
    yield* calls(20_000)
    const used = process.cpuUsage(start)
    console.log(
      `${label.padEnd(44)} concurrency ${String(concurrency).padStart(2)}: ` +
        `${((used.user + used.system) / 20_000).toFixed(1)} µs of CPU per call, ` +
        `${((performance.now() - wall) / 20_000 * 1000).toFixed(1)} µs of wall`
    )
  })

const dispatcher = new Undici.Agent({ connections: 64 })
const platform = NodeHttpClient.makeUndici(dispatcher)
const shared = UndiciClient.make(dispatcher)
await Effect.runPromise(Effect.gen(function*() {
  for (const concurrency of [1, 64]) {
    yield* perCall("NodeHttpClient.makeUndici (Effect.cached)", platform, concurrency)
    yield* perCall("the body read once into a shared promise", shared, concurrency)
  }
}))
await dispatcher.close()
server.close()
