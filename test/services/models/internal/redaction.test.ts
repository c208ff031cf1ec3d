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

  it("a key shorter than 8 characters (a placeholder such as ollama or EMPTY) is scrubbed where it stands alone", () => {
    // Scrubbed everywhere, a key of 3 letters garbled every word holding them; where it stands alone, as a server
    // quoting it shows it, it is still taken out. Its header is redacted whatever its length.
    const body = "key abc refused: model ollama/llama3 (abcdef, EMPTY_MODEL, x-ray) x EMPTY"
    const cases: ReadonlyArray<readonly [string, string]> = [
      ["abc", "key <redacted> refused: model ollama/llama3 (abcdef, EMPTY_MODEL, x-ray) x EMPTY"],
      ["EMPTY", "key abc refused: model ollama/llama3 (abcdef, EMPTY_MODEL, x-ray) x <redacted>"],
      ["ollama", "key abc refused: model <redacted>/llama3 (abcdef, EMPTY_MODEL, x-ray) x EMPTY"],
      ["x", "key abc refused: model ollama/llama3 (abcdef, EMPTY_MODEL, x-ray) <redacted> EMPTY"],
      ["a.c", body],
      ["(x)", body]
    ]
    for (const [key, expected] of cases) {
      const error = redact(key, body)
      assert.strictEqual(error.body, expected, key)
      assert.strictEqual(error.request.headers.authorization, "<redacted>", key)
    }
    assert.strictEqual(Redaction.wholeWordBelow, 8)
    // From 8 characters, a key is scrubbed wherever it is, inside words too.
    assert.strictEqual(redact("lm-studi", "key xlm-studix refused").body, "key x<redacted>x refused")
  })
})
