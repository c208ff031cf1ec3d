import { NodeContext } from "@effect/platform-node"
import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import * as net from "node:net"
import * as ServeCommand from "../../../services/cli/ServeCommand.js"
import * as RunsServer from "../../../services/http/RunsServer.js"
import { runCli } from "./runCli.js"

/** A port taken by another server for as long as the scope lasts. */
const takenPort = Effect.acquireRelease(
  Effect.async<net.Server>((resume) => {
    const server = net.createServer()
    server.listen(0, "127.0.0.1", () => {
      resume(Effect.succeed(server))
    })
  }),
  (server) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map((server) => (server.address() as net.AddressInfo).port))

describe("ServeCommand", () => {
  it.scopedLive("a port that is taken, or not a port, is a usage error: exit 2, and it says why", () =>
    Effect.gen(function*() {
      const port = yield* takenPort
      const taken = yield* runCli(["serve", "--port", String(port)])
      assert.strictEqual(taken.code, 2)
      // Why: the server's error had no message of its own (it read "cannot listen on 127.0.0.1:N: ").
      assert.match(taken.stderr, new RegExp(`^parallel-agents: cannot listen on 127\\.0\\.0\\.1:${port}: .*EADDRINUSE`))
      const bad = yield* runCli(["serve", "--port", "70000"])
      assert.strictEqual(bad.code, 2)
      assert.include(bad.stderr, "--port: expected 0 to 65535, got 70000")
      // Not a number: named with its flag (@effect/cli said "'abc' is not a integer"), and 0x1f90 is not 8080.
      for (const port of ["abc", "0x1f90"]) {
        const notNumber = yield* runCli(["serve", "-p", port])
        assert.strictEqual(notNumber.code, 2)
        assert.include(notNumber.stderr, `parallel-agents serve: --port: expected a whole number, got "${port}"`)
      }
      const runner = yield* runCli(["runner", "-c", "many"])
      assert.strictEqual(runner.code, 2)
      assert.include(runner.stderr, `parallel-agents runner: --concurrency: expected a whole number, got "many"`)
      // A host is escaped like everything else the terminal gets.
      const host = yield* runCli(["serve", "--host", "\u001b[2J", "--port", "0"])
      assert.strictEqual(host.code, 2)
      assert.notInclude(host.stderr, "\u001b")
      assert.include(host.stderr, "cannot listen on \\x1b[2J:0: ")
      const body = yield* runCli(["serve", "--port", "0"], { AGENT_HTTP_MAX_BODY: "-1" })
      assert.strictEqual(body.code, 2)
      assert.include(body.stderr, "configuration")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("serve --help lists its flags", () =>
    Effect.gen(function*() {
      const help = yield* runCli(["serve", "--help"])
      assert.strictEqual(help.code, 0)
      assert.include(help.stderr + help.stdout, "--port")
      assert.include(help.stderr + help.stdout, "--host")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("the default largest body is the server's own (written out, so that other commands do not load it)", () =>
    Effect.gen(function*() {
      const settings = yield* Effect.withConfigProvider(ServeCommand.config, ConfigProvider.fromMap(new Map()))
      assert.strictEqual(settings.maxBodySize, RunsServer.defaultMaxBodySize)
    }))
})
