/**
 * The CLI rows: the `parallel-agents` executable itself (the bundle `npm run bench` builds into build/bin, as
 * `npm run build` does: its entry loaded in this process with its arguments)
 * runs `classify` over a JSONL file of documents, results to a file, summary as JSON: with the offline model
 * (`AGENT_OFFLINE_LATENCY="1 millis"`), or with `compat:` against the loopback server when a base URL is given (what
 * a user runs against a local vLLM, llama.cpp or Ollama). It exits the process when the run is over; `onExit` then
 * reads the results file, after the child has taken its resource usage.
 */
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { fileURLToPath } from "node:url"
import { documentText, MODEL } from "./rows.js"
import { API_KEY } from "./server.js"

/** The input file of `size` documents, written once in the OS temp folder. */
const inputFile = (size: number): string => {
  const file = Path.join(Os.tmpdir(), `effect-parallel-agents-bench-w6-${size}.jsonl`)
  if (!Fs.existsSync(file)) {
    const lines: Array<string> = []
    for (let i = 0; i < size; i++) lines.push(JSON.stringify({ id: `doc-${i}`, text: documentText(i) }))
    Fs.writeFileSync(`${file}.tmp`, lines.join("\n") + (size > 0 ? "\n" : ""))
    Fs.renameSync(`${file}.tmp`, file)
  }
  return file
}

/** Starts the CLI; it exits the process when it is done. Returns what checks its results then. */
export const start = async (options: {
  readonly size: number
  readonly concurrency: number
  /** The loopback server's `http://127.0.0.1:<port>/v1`: the run then calls it with `compat:`. */
  readonly baseUrl?: string | undefined
}) => {
  const input = inputFile(options.size)
  const output = Path.join(Os.tmpdir(), `effect-parallel-agents-bench-w6-results-${process.pid}.jsonl`)
  // The bundled executable (`bundle.config.mjs`; imported by URL, not type-checked from here).
  const binUrl = new URL("../../bin/parallel-agents.js", import.meta.url)
  const bin = fileURLToPath(binUrl)
  if (options.baseUrl === undefined) {
    process.env.AGENT_OFFLINE_LATENCY = "1 millis"
    delete process.env.AGENT_MODEL
  } else {
    process.env.AGENT_MODEL = `compat:${MODEL}`
    process.env.OPENAI_API_KEY = API_KEY
    process.env.OPENAI_BASE_URL = options.baseUrl
  }
  process.argv = [
    process.argv[0]!,
    bin,
    ...["run", "--input", input, "--agent", "classify", "--concurrency", String(options.concurrency)],
    ...["--output", output, "--json"]
  ]
  await import(binUrl.href)
  return () => {
    let results = 0
    let succeeded = 0
    let inputTokens = 0
    let outputTokens = 0
    const text = Fs.readFileSync(output, "utf8")
    Fs.rmSync(output, { force: true })
    for (const line of text.split("\n")) {
      if (line === "") continue
      const result = JSON.parse(line) as {
        readonly status: string
        readonly value?: { readonly label?: string }
        readonly usage?: { readonly inputTokens: number; readonly outputTokens: number }
      }
      results++
      if (result.status === "Succeeded" && (result.value?.label === "positive" || result.value?.label === "negative")) {
        succeeded++
      }
      inputTokens += result.usage?.inputTokens ?? 0
      outputTokens += result.usage?.outputTokens ?? 0
    }
    return { results, succeeded, inputTokens, outputTokens }
  }
}
