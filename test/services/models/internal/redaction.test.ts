import * as AiError from "@effect/ai/AiError"
import { assert, describe, it } from "@effect/vitest"
import { Option } from "effect"
import * as Redaction from "../../../../services/models/internal/redaction.js"

const errorWith = (key: string, body: string) =>
  new AiError.HttpResponseError({
    module: "ChatCompletions",
    method: "generateText",
    reason: "StatusCode",
    request: {
      method: "POST",
      url: "http://127.0.0.1:9/v1/chat/completions",
      urlParams: [],
      hash: Option.none(),
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }
    },
    response: { status: 401, headers: {} },
    body,
    description: body
  })

const redact = (key: string, body: string) =>
  Redaction.redactAiError(errorWith(key, body), ["authorization"], [key]) as AiError.HttpResponseError

describe("redaction", () => {
  it("a key is scrubbed from the error's text, and its header is redacted", () => {
    const key = "sk-test-5f1d3c9a8e7b6d2c4a0f"
    const error = redact(key, `invalid key ${key} for model llama3`)
    assert.strictEqual(error.body, "invalid key <redacted> for model llama3")
    assert.strictEqual(error.description, "invalid key <redacted> for model llama3")
    assert.strictEqual(error.request.headers.authorization, "<redacted>")
  })

  it("a key shorter than 8 characters (a placeholder such as ollama or EMPTY) is not scrubbed from text", () => {
    // Scrubbed, "ollama" took the word out of every message ("model <redacted>/llama3 not found"), and a key of
    // 3 letters garbled every word holding them. Its header is still redacted: the key itself is never shown there.
    for (const key of ["abc", "EMPTY", "ollama", "x"]) {
      const body = `model ollama/llama3 not found: abcdef EMPTY x`
      const error = redact(key, body)
      assert.strictEqual(error.body, body, key)
      assert.strictEqual(error.request.headers.authorization, "<redacted>", key)
    }
    assert.strictEqual(Redaction.minScrubbedLength, 8)
    // From 8 characters, a key is a secret and is scrubbed.
    assert.strictEqual(redact("lm-studi", "key lm-studi refused").body, "key <redacted> refused")
  })
})
