import { assert, describe, it } from "@effect/vitest"
import { Effect, FastCheck } from "effect"
import { createHash } from "node:crypto"
import { sha256Hex } from "../../src/internal/sha256.js"

const reference = (text: string) => createHash("sha256").update(text, "utf8").digest("hex")

describe("sha256Hex", () => {
  it("gives the published digests", () => {
    assert.strictEqual(sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    assert.strictEqual(sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    assert.strictEqual(
      sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
    )
    assert.strictEqual(
      sha256Hex("a".repeat(1_000_000)),
      "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"
    )
  })

  it("matches node:crypto at every length around the block boundaries, in every UTF-8 width", () => {
    for (const unit of ["a", "é", "日", "😀"]) {
      for (let length = 0; length <= 140; length++) {
        const text = unit.repeat(length)
        assert.strictEqual(sha256Hex(text), reference(text), `${length} × ${unit}`)
      }
    }
  })

  it("writes a lone surrogate as U+FFFD, as UTF-8 encoders do", () => {
    assert.strictEqual(sha256Hex("a\ud800b"), reference("a\ufffdb"))
    assert.strictEqual(sha256Hex("\udc00"), reference("\ufffd"))
    assert.strictEqual(sha256Hex("x\ud83d"), reference("x\ufffd"))
  })

  it.effect.prop(
    "matches node:crypto for any string",
    [FastCheck.fullUnicodeString(), FastCheck.string()],
    ([a, b]) =>
      Effect.sync(() => {
        assert.strictEqual(sha256Hex(a), reference(a))
        assert.strictEqual(sha256Hex(b + a), reference(b + a))
      })
  )
})
