import { assert, describe, it } from "@effect/vitest"
import * as Text from "../../../../services/cli/internal/text.js"

describe("text", () => {
  it("escape: every control character, line breaks included, written as a string literal would", () => {
    assert.strictEqual(
      Text.escape("a\u001b[2Jb\u0007c\r\nline 9: forged\t\u0000\u007f\u009b\u202e\u2028é"),
      "a\\x1b[2Jb\\x07c\\r\\nline 9: forged\\t\\x00\\x7f\\x9b\\u202e\\u2028é"
    )
    assert.strictEqual(Text.escape("plain text, ünïcödé 🙂"), "plain text, ünïcödé 🙂")
  })

  it("escapeLines keeps the line breaks; hasControl sees what is left", () => {
    assert.strictEqual(Text.escapeLines("one\n\u001b]0;title\u0007two\r\n"), "one\n\\x1b]0;title\\x07two\\r\n")
    assert.isFalse(Text.hasControl("one\ntwo\n"))
    assert.isTrue(Text.hasControl("one\rtwo"))
    assert.isTrue(Text.hasControl("\u009b2J"))
  })

  it("styles: stripped for output that is not a terminal, kept (and nothing else) for one", () => {
    const help = "\u001b[0;1mUSAGE\u001b[0m\n$ run\u0007"
    assert.strictEqual(Text.stripStyles(help), "USAGE\n$ run\u0007")
    assert.strictEqual(Text.escapeKeepingStyles(help), "\u001b[0;1mUSAGE\u001b[0m\n$ run\\x07")
    assert.strictEqual(Text.escapeKeepingStyles("\u001b]0;x\u0007"), "\\x1b]0;x\\x07")
  })

  it("jsonLine: JSON that reads back the same, with no raw control character", () => {
    const value = { id: "\u001b[2J\u0007\u009b\u007f\u2028\u202e", text: "line\nbreak", n: 1 }
    const line = Text.jsonLine(value)
    assert.deepStrictEqual(JSON.parse(line), value)
    assert.isFalse(Text.hasControl(line))
    assert.notInclude(line, "\n")
  })

  it("shellWord: a word a shell reads back as it is", () => {
    assert.strictEqual(Text.shellWord("runs.db"), "runs.db")
    assert.strictEqual(Text.shellWord("/tmp/a-b/c_d.db"), "/tmp/a-b/c_d.db")
    assert.strictEqual(Text.shellWord("my runs.db"), "'my runs.db'")
    assert.strictEqual(Text.shellWord("it's.db"), `'it'\\''s.db'`)
    assert.strictEqual(Text.shellWord("$HOME;rm"), "'$HOME;rm'")
  })
})
