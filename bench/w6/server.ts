/**
 * The loopback model server of W6: an OpenAI-compatible server written for the benchmark with plain `node:http`
 * on 127.0.0.1. It answers `POST /v1/chat/completions` and `POST /v1/responses` after a fixed latency, with usage,
 * and, when the request asks for structured output, with a body that fits the request's JSON schema (the first
 * value of each enum, `"text"` for a string, 0, true, []). A request without `Authorization: Bearer <key>` gets a
 * 401 with an OpenAI-style error body. It counts the requests it answered, the TCP connections it accepted, the
 * most of either open at once, and the tokens it reported.
 *
 * `node build/bench/w6/server.js [latency-ms]` runs it in its own process (so its CPU is not the client's): it
 * prints `{"port": N}` and serves until killed. `GET /__stats` answers the counts as JSON; `POST /__reset` zeroes
 * them (a connection already open counts again when it carries a request after the reset).
 */
import * as Http from "node:http"
import type * as Net from "node:net"
import { pathToFileURL } from "node:url"

/** The key the server accepts, and every client of the benchmark sends. */
export const API_KEY = "sk-w6-loopback-key"

/** What the server has seen since it started or was last reset. */
export interface Stats {
  /** Requests answered with 200, by path. */
  readonly requests: number
  readonly byPath: Readonly<Record<string, number>>
  /** Requests refused with 401 (a wrong or missing key). */
  readonly unauthorized: number
  /** TCP connections that carried a model request (the control requests' own are not counted). */
  readonly connections: number
  /** The most of those open at once. */
  readonly peakConnections: number
  /** The most requests in flight (received, not yet answered) at once. */
  readonly peakInFlight: number
  /** Tokens reported in `usage`, summed. */
  readonly inputTokens: number
  readonly outputTokens: number
}

export interface Server {
  readonly port: number
  readonly stats: () => Stats
  readonly reset: () => void
  readonly close: () => Promise<void>
}

/** A value that fits a JSON schema: the first of an enum, "text" for a string, 0, true, []. */
const fitting = (schema: unknown, root: unknown): unknown => {
  const node = (typeof schema === "object" && schema !== null ? schema : {}) as Record<string, unknown>
  if (typeof node.$ref === "string") {
    const target = node.$ref.replace(/^#\//, "").split("/").reduce<unknown>(
      (at, key) => (at as Record<string, unknown> | undefined)?.[key],
      root
    )
    return fitting(target, root)
  }
  if (Array.isArray(node.enum)) return node.enum[0]
  if ("const" in node) return node.const
  if (Array.isArray(node.anyOf)) return fitting(node.anyOf[0], root)
  const type = Array.isArray(node.type) ? node.type[0] : node.type
  switch (type) {
    case "object":
      return Object.fromEntries(
        Object.entries((node.properties ?? {}) as Record<string, unknown>).map(([key, value]) => [
          key,
          fitting(value, root)
        ])
      )
    case "array":
      return []
    case "number":
    case "integer":
      return 0
    case "boolean":
      return true
    case "null":
      return null
    default:
      return "text"
  }
}

// Roughly 4 characters a token, as tokenizers count English.
const tokens = (text: string) => Math.max(1, Math.ceil(text.length / 4))

const chatBody = (text: string, model: string, input: number, output: number, n: number) => ({
  id: `chatcmpl-${n}`,
  object: "chat.completion",
  created: 1_700_000_000,
  model,
  choices: [{
    index: 0,
    message: { role: "assistant", content: text, refusal: null },
    logprobs: null,
    finish_reason: "stop"
  }],
  usage: { prompt_tokens: input, completion_tokens: output, total_tokens: input + output }
})

/** The body of an answer from `/v1/responses`. */
export const responsesBody = (text: string, model: string, input: number, output: number, n: number) => ({
  id: `resp_${n}`,
  object: "response",
  created_at: 1_700_000_000,
  status: "completed",
  error: null,
  incomplete_details: null,
  instructions: null,
  metadata: {},
  model,
  output: [{
    type: "message",
    id: `msg_${n}`,
    status: "completed",
    role: "assistant",
    content: [{ type: "output_text", text, annotations: [] }]
  }],
  parallel_tool_calls: true,
  temperature: 1,
  top_p: 1,
  tool_choice: "auto",
  tools: [],
  usage: {
    input_tokens: input,
    output_tokens: output,
    total_tokens: input + output,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens_details: { reasoning_tokens: 0 }
  }
})

const send = (response: Http.ServerResponse, status: number, body: unknown) => {
  const text = JSON.stringify(body)
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) })
  response.end(text)
}

/** Starts the server on a free loopback port. */
export const start = (options: { readonly latencyMillis: number; readonly apiKey?: string }): Promise<Server> => {
  const apiKey = options.apiKey ?? API_KEY
  let requests = 0
  let byPath: Record<string, number> = {}
  let unauthorized = 0
  let connections = 0
  let peakConnections = 0
  let inFlight = 0
  let peakInFlight = 0
  let inputTokens = 0
  let outputTokens = 0
  let served = 0
  // Every socket, to close them all; those open that carried a model request since the reset, to count each once.
  const sockets = new Set<Net.Socket>()
  const live = new Set<Net.Socket>()
  const stats = (): Stats => ({
    requests,
    byPath: { ...byPath },
    unauthorized,
    connections,
    peakConnections,
    peakInFlight,
    inputTokens,
    outputTokens
  })
  const reset = () => {
    requests =
      unauthorized =
      connections =
      peakConnections =
      peakInFlight =
      inputTokens =
      outputTokens =
        0
    byPath = {}
    live.clear()
  }

  const server = Http.createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
    const path = (request.url ?? "").split("?")[0]!
    if (request.method === "GET" && path === "/__stats") return send(response, 200, stats())
    if (request.method === "POST" && path === "/__reset") {
      reset()
      return send(response, 200, {})
    }
    const chat = path === "/v1/chat/completions"
    if (request.method !== "POST" || (!chat && path !== "/v1/responses")) {
      return send(response, 404, { error: { message: `no route ${request.method} ${path}`, type: "not_found" } })
    }
    if (request.headers.authorization !== `Bearer ${apiKey}`) {
      unauthorized++
      request.resume()
      return send(response, 401, {
        error: {
          message: "Incorrect API key provided",
          type: "invalid_request_error",
          param: null,
          code: "invalid_api_key"
        }
      })
    }
    const socket = request.socket
    if (!live.has(socket)) {
      live.add(socket)
      connections++
      peakConnections = Math.max(peakConnections, live.size)
      socket.once("close", () => live.delete(socket))
    }
    inFlight++
    peakInFlight = Math.max(peakInFlight, inFlight)
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const raw = Buffer.concat(chunks).toString("utf8")
      let body: Record<string, unknown>
      try {
        body = JSON.parse(raw) as Record<string, unknown>
      } catch {
        inFlight--
        return send(response, 400, { error: { message: "the body is not JSON", type: "invalid_request_error" } })
      }
      const schema = chat
        ? (body.response_format as { json_schema?: { schema?: unknown } } | undefined)?.json_schema?.schema
        : (body.text as { format?: { schema?: unknown } } | undefined)?.format?.schema
      const text = schema === undefined ? "A fine answer." : JSON.stringify(fitting(schema, schema))
      const model = typeof body.model === "string" ? body.model : "unknown"
      const input = tokens(raw)
      const output = tokens(text)
      const n = ++served
      setTimeout(() => {
        inFlight--
        requests++
        byPath[path] = (byPath[path] ?? 0) + 1
        inputTokens += input
        outputTokens += output
        send(
          response,
          200,
          chat ? chatBody(text, model, input, output, n) : responsesBody(text, model, input, output, n)
        )
      }, options.latencyMillis)
    })
  })
  server.on("connection", (socket: Net.Socket) => {
    sockets.add(socket)
    socket.on("close", () => sockets.delete(socket))
  })
  return new Promise((resolve, reject) => {
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address() as Net.AddressInfo
      resolve({
        port: address.port,
        stats,
        reset,
        close: () =>
          new Promise<void>((resolve) => {
            for (const socket of sockets) socket.destroy()
            server.close(() => resolve())
          })
      })
    })
  })
}

// Runs as its own process: prints the port, serves until killed.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const latencyMillis = Number(process.argv[2] ?? 50)
  if (!Number.isFinite(latencyMillis) || latencyMillis < 0) {
    throw new Error("usage: node build/bench/w6/server.js [latency-ms]")
  }
  const server = await start({ latencyMillis })
  process.stdout.write(JSON.stringify({ port: server.port }) + "\n")
}
