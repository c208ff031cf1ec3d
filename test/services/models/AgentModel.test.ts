import { LanguageModel } from "@effect/ai"
import { FetchHttpClient } from "@effect/platform"
import { assert, describe, it } from "@effect/vitest"
import type { ConfigError } from "effect"
import { ConfigProvider, Effect, Either, Exit, Layer, Redacted } from "effect"
import * as AgentModel from "../../../services/models/AgentModel.js"
import { withClock } from "../../utils.js"

const fromEnv = (entries: ReadonlyArray<readonly [string, string]>) =>
  Layer.setConfigProvider(ConfigProvider.fromMap(new Map(entries)))

/** Builds the configured model (no request is made) and returns the `AgentModel` it names. */
const chosen = (layer: Layer.Layer<LanguageModel.LanguageModel | AgentModel.AgentModel, ConfigError.ConfigError>) =>
  Effect.exit(Effect.provide(AgentModel.AgentModel, layer))

const configured = (entries: ReadonlyArray<readonly [string, string]>) =>
  chosen(AgentModel.layerConfig().pipe(Layer.provide(Layer.merge(FetchHttpClient.layer, fromEnv(entries)))))

const configError = <A>(exit: Exit.Exit<A, ConfigError.ConfigError>): string => {
  assert(Exit.isFailure(exit), "expected a ConfigError")
  return String(exit.cause)
}

describe("AgentModel", () => {
  describe("parse", () => {
    it("reads offline, openai:<model> and compat:<model>", () => {
      assert.deepStrictEqual(
        AgentModel.parse("offline"),
        Either.right({ provider: "offline", model: "offline", spec: "offline", offline: true })
      )
      assert.deepStrictEqual(
        AgentModel.parse(" openai:gpt-4o-mini "),
        Either.right({ provider: "openai", model: "gpt-4o-mini", spec: "openai:gpt-4o-mini", offline: false })
      )
      // The model name keeps its own colons (Ollama tags).
      assert.deepStrictEqual(
        AgentModel.parse("compat:llama3.1:8b"),
        Either.right({ provider: "compat", model: "llama3.1:8b", spec: "compat:llama3.1:8b", offline: false })
      )
    })

    it("rejects anything else, saying what it expected", () => {
      for (const spec of ["", "gpt-4o", "openai", "openai:", "compat: ", "anthropic:claude", "Offline"]) {
        const parsed = AgentModel.parse(spec)
        assert(Either.isLeft(parsed), spec)
        assert.strictEqual(
          parsed.left,
          `expected offline, openai:<model> or compat:<model>, got ${JSON.stringify(spec)}`
        )
      }
    })
  })

  describe("layerConfig", () => {
    it.effect("is the offline model when nothing is configured, and it answers with no key and no network", () =>
      Effect.gen(function*() {
        const layer = AgentModel.layerConfig().pipe(Layer.provide(Layer.merge(FetchHttpClient.layer, fromEnv([]))))
        const [model, response] = yield* Effect.all([
          AgentModel.AgentModel,
          withClock(LanguageModel.generateText({ prompt: "hello" }))
        ]).pipe(Effect.provide(layer))
        assert.deepStrictEqual(model, { provider: "offline", model: "offline", spec: "offline", offline: true })
        assert.strictEqual(response.finishReason, "stop")
      }))

    it.effect("passes its offline options to the offline model", () =>
      Effect.gen(function*() {
        const layer = AgentModel.layerConfig({ offline: { answer: () => ({ text: "scripted" }) } }).pipe(
          Layer.provide(Layer.merge(FetchHttpClient.layer, fromEnv([["AGENT_MODEL", "offline"]])))
        )
        const response = yield* withClock(LanguageModel.generateText({ prompt: "hello" })).pipe(Effect.provide(layer))
        assert.strictEqual(response.text, "scripted")
      }))

    it.effect("openai:<model> with OPENAI_API_KEY", () =>
      Effect.gen(function*() {
        const exit = yield* configured([["AGENT_MODEL", "openai:gpt-4o-mini"], ["OPENAI_API_KEY", "sk-x"]])
        assert.deepStrictEqual(
          exit,
          Exit.succeed(
            { provider: "openai", model: "gpt-4o-mini", spec: "openai:gpt-4o-mini", offline: false } as const
          )
        )
      }))

    it.effect("openai:<model> without a key: a ConfigError naming OPENAI_API_KEY", () =>
      Effect.gen(function*() {
        const error = configError(yield* configured([["AGENT_MODEL", "openai:gpt-4o-mini"]]))
        assert.include(error, "OPENAI_API_KEY")
        assert.include(error, "openai:gpt-4o-mini needs an API key")
      }))

    it.effect("a key an HTTP header cannot carry: a ConfigError naming OPENAI_API_KEY and what is wrong, not the key", () =>
      Effect.gen(function*() {
        for (
          const [key, problem] of [
            ["sk-secret-1\n", "the key holds a line break"],
            ["sk-secret-1\r", "the key holds a line break"],
            ["sk-secret-\u0007", "the key holds a control character"],
            ["sk-secret-\u043a\u043b\u044e\u0447", "past Latin-1"]
          ] as const
        ) {
          for (const model of ["openai:gpt-4o-mini", "compat:llama3"]) {
            const error = configError(
              yield* configured([
                ["AGENT_MODEL", model],
                ["OPENAI_API_KEY", key],
                ["OPENAI_BASE_URL", "http://127.0.0.1:11434/v1"]
              ])
            )
            assert.include(error, "OPENAI_API_KEY")
            assert.include(error, problem)
            assert.notInclude(error, "secret")
          }
        }
        // The offline model uses no key: a bad one is no reason to stop.
        assert.isTrue(Exit.isSuccess(yield* configured([["OPENAI_API_KEY", "sk-secret-1\n"]])))
      }))

    it.effect("compat:<model> with OPENAI_BASE_URL, with or without a key", () =>
      Effect.gen(function*() {
        const expected = {
          provider: "compat",
          model: "llama3.1:8b",
          spec: "compat:llama3.1:8b",
          offline: false
        } as const
        assert.deepStrictEqual(
          yield* configured([["AGENT_MODEL", "compat:llama3.1:8b"], ["OPENAI_BASE_URL", "http://127.0.0.1:11434/v1"]]),
          Exit.succeed(expected)
        )
        assert.deepStrictEqual(
          yield* configured([
            ["AGENT_MODEL", "compat:llama3.1:8b"],
            ["OPENAI_BASE_URL", "http://127.0.0.1:11434/v1"],
            ["OPENAI_API_KEY", "local"]
          ]),
          Exit.succeed(expected)
        )
      }))

    it.effect("compat:<model> without a base URL: a ConfigError naming OPENAI_BASE_URL", () =>
      Effect.gen(function*() {
        const error = configError(yield* configured([["AGENT_MODEL", "compat:llama3.1:8b"]]))
        assert.include(error, "OPENAI_BASE_URL")
      }))

    it.effect("an empty key or base URL counts as none", () =>
      Effect.gen(function*() {
        const noKey = configError(
          yield* configured([["AGENT_MODEL", "openai:gpt-4o-mini"], ["OPENAI_API_KEY", " "], ["OPENAI_BASE_URL", ""]])
        )
        assert.include(noKey, "OPENAI_API_KEY")
        const noUrl = configError(yield* configured([["AGENT_MODEL", "compat:qwen"], ["OPENAI_BASE_URL", ""]]))
        assert.include(noUrl, "OPENAI_BASE_URL")
        // So is an empty model: the offline one, as when it is not set (it was a ConfigError).
        for (const empty of ["", "  "]) {
          const offline = yield* configured([["AGENT_MODEL", empty], ["OPENAI_API_KEY", ""]])
          assert(Exit.isSuccess(offline), empty)
          assert.strictEqual(offline.value.spec, "offline")
        }
      }))

    it.effect("a base URL that is not http(s), or has a query or fragment: a ConfigError that quotes none of it", () =>
      Effect.gen(function*() {
        for (
          const url of [
            "localhost:11434/v1",
            "http//secret",
            "file:///secret",
            "http://h/v1?key=secret",
            "http://h/v1#secret"
          ]
        ) {
          const compat = configError(yield* configured([["AGENT_MODEL", "compat:qwen"], ["OPENAI_BASE_URL", url]]))
          assert.include(compat, "OPENAI_BASE_URL", url)
          assert.notInclude(compat, "secret", url)
          const openai = configError(
            yield* configured([["AGENT_MODEL", "openai:gpt-4o-mini"], ["OPENAI_API_KEY", "k"], [
              "OPENAI_BASE_URL",
              url
            ]])
          )
          assert.include(openai, "OPENAI_BASE_URL", url)
        }
        const fine = yield* configured([["AGENT_MODEL", "compat:qwen"], ["OPENAI_BASE_URL", "https://h:8443/v1/"]])
        assert(Exit.isSuccess(fine))
      }))

    it.effect("a malformed AGENT_MODEL: a ConfigError naming the key and what it expected", () =>
      Effect.gen(function*() {
        const error = configError(yield* configured([["AGENT_MODEL", "gpt-4o"]]))
        assert.include(error, "AGENT_MODEL")
        assert.include(error, `expected offline, openai:<model> or compat:<model>, got "gpt-4o"`)
      }))

    it.effect("reads prefixed keys through ConfigProvider.nested", () =>
      Effect.gen(function*() {
        const exit = yield* chosen(
          AgentModel.layerConfig().pipe(
            Layer.provide(FetchHttpClient.layer),
            Layer.provide(Layer.setConfigProvider(
              ConfigProvider.fromMap(
                new Map([["MYAPP_AGENT_MODEL", "compat:qwen"], ["MYAPP_OPENAI_BASE_URL", "http://127.0.0.1:8000/v1"]]),
                { pathDelim: "_" }
              ).pipe(ConfigProvider.nested("MYAPP"))
            ))
          )
        )
        assert.deepStrictEqual(
          exit,
          Exit.succeed({ provider: "compat", model: "qwen", spec: "compat:qwen", offline: false } as const)
        )
      }))
  })

  describe("layer", () => {
    it.effect("takes the same settings in code", () =>
      Effect.gen(function*() {
        const exit = yield* chosen(
          AgentModel.layer({ model: "openai:gpt-4.1", apiKey: Redacted.make("sk-x") }).pipe(
            Layer.provide(FetchHttpClient.layer)
          )
        )
        assert.deepStrictEqual(
          exit,
          Exit.succeed({ provider: "openai", model: "gpt-4.1", spec: "openai:gpt-4.1", offline: false } as const)
        )
        const defaults = yield* chosen(AgentModel.layer().pipe(Layer.provide(FetchHttpClient.layer)))
        assert.deepStrictEqual(
          defaults,
          Exit.succeed({ provider: "offline", model: "offline", spec: "offline", offline: true } as const)
        )
      }))
  })
})
