/**
 * The package as users get it: `npm pack` on a copy of the repository as a fresh clone has it (its `prepack` builds
 * it), then the tarball installed into scratch projects, one per entry point, each with only that entry's peers,
 * and each entry imported and used by a real Node process; the `parallel-agents` executable runs over a JSONL file.
 * Installs use the npm cache (`--prefer-offline`) and the versions of the repository's lock file.
 */
import { Command, FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { assert, layer } from "@effect/vitest"
import { Context, Effect, Layer, Stream } from "effect"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))

// A fresh clone, two builds, three installs and the processes on a busy 2-core machine: minutes, not seconds.
const timeout = 300_000

interface Output {
  readonly exitCode: number
  readonly stdout: string
  readonly stderr: string
}

/**
 * The environment of the commands: this process's, without what `npm test` sets for its own scripts
 * (`npm_config_local_prefix` would point the scratch projects' npm at this repository) and without `NODE_OPTIONS`
 * (a loader such as tsx would change how the scratch projects' Node resolves the package).
 */
const environment = Object.fromEntries(
  Object.entries(process.env).filter(([key, value]) =>
    value !== undefined && !/^npm_/i.test(key) && key !== "INIT_CWD" && key !== "NODE_OPTIONS"
  )
) as Record<string, string>

/** Runs a command in `directory` and returns its exit code and output. */
const run = (directory: string, command: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const child = yield* Command.make(command, ...args).pipe(
      Command.workingDirectory(directory),
      Command.env({ ...environment, ...env }, { extendEnv: false }),
      Command.start
    )
    const [stdout, stderr, exitCode] = yield* Effect.all([
      Stream.mkString(Stream.decodeText(child.stdout)),
      Stream.mkString(Stream.decodeText(child.stderr)),
      child.exitCode
    ], { concurrency: "unbounded" })
    return { exitCode: Number(exitCode), stdout, stderr } satisfies Output
  }))

/** Runs a command that must succeed; its stdout. */
const succeed = (directory: string, command: string, args: ReadonlyArray<string>, env?: Record<string, string>) =>
  Effect.flatMap(run(directory, command, args, env), (output) => {
    assert.strictEqual(
      output.exitCode,
      0,
      `${command} ${args.join(" ")} in ${directory}:\n${output.stdout}\n${output.stderr}`
    )
    return Effect.succeed(output.stdout)
  })

/** What `npm pack --json` prints after the output of the package's scripts: an array with one entry per package. */
const packJson = (stdout: string): { readonly filename: string; readonly files: ReadonlyArray<string> } => {
  const start = stdout.search(/^\[$/m)
  assert.isAtLeast(start, 0, `no JSON in npm pack's output:\n${stdout}`)
  const [packed] = JSON.parse(stdout.slice(start)) as [{
    readonly filename: string
    readonly files: ReadonlyArray<{ readonly path: string }>
  }]
  return { filename: packed.filename, files: packed.files.map((file) => file.path).sort() }
}

const readJson = (file: string) =>
  Effect.flatMap(FileSystem.FileSystem, (fs) => fs.readFileString(file)).pipe(Effect.map(JSON.parse))

// =============================================================================
// the packed package
// =============================================================================

interface PackedService {
  /** The temporary directory everything happens in. */
  readonly directory: string
  /** The copy of the repository that was packed. */
  readonly clone: string
  /** The tarball. */
  readonly tarball: string
  /** The paths in the tarball, sorted. */
  readonly files: ReadonlyArray<string>
  /** The repository's package.json. */
  readonly pkg: {
    readonly name: string
    readonly exports: Record<string, unknown>
    readonly bin: Record<string, string>
    readonly overrides?: Record<string, string>
    readonly allowScripts?: Record<string, boolean>
  }
  /** The version of a package in the repository's lock file. */
  readonly version: (name: string) => string
}

class Packed extends Context.Tag("test/package/Packed")<Packed, PackedService>() {}

/**
 * Copies what a fresh clone has (the files git tracks, plus new files git does not ignore, as they are now), links
 * the repository's node_modules for the build tools, and packs it: `npm pack` runs `prepack`, which builds.
 */
const PackedLive = Layer.scoped(
  Packed,
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const directory = yield* fs.makeTempDirectoryScoped({ prefix: "effect-parallel-agents-pack-" })
    const clone = path.join(directory, "clone")
    const listed = yield* succeed(root, "git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"])
    const files = listed.split("\0").filter((file) => file !== "")
    yield* Effect.forEach(files, (file) =>
      Effect.gen(function*() {
        // A tracked file deleted in the working tree is not there to copy, and would not be in the next commit.
        if (!(yield* fs.exists(path.join(root, file)))) return
        yield* fs.makeDirectory(path.dirname(path.join(clone, file)), { recursive: true })
        yield* fs.copyFile(path.join(root, file), path.join(clone, file))
      }), { concurrency: 16, discard: true })
    assert.isFalse(yield* fs.exists(path.join(clone, "build")), "the copy has a build/: it is not a fresh clone")
    yield* fs.symlink(path.join(root, "node_modules"), path.join(clone, "node_modules"))

    const packed = packJson(
      yield* succeed(clone, "npm", ["pack", "--json", "--pack-destination", directory, "--no-audit", "--no-fund"])
    )
    const lock: { readonly packages: Record<string, { readonly version?: string }> } = yield* readJson(
      path.join(root, "package-lock.json")
    )
    return {
      directory,
      clone,
      tarball: path.join(directory, packed.filename),
      files: packed.files,
      pkg: yield* readJson(path.join(root, "package.json")),
      version: (name) => {
        const version = lock.packages[`node_modules/${name}`]?.version
        assert(version !== undefined, `${name} is not in package-lock.json`)
        return version
      }
    }
  })
).pipe(Layer.provideMerge(NodeContext.layer))

/**
 * A scratch project in its own directory with the tarball and these packages installed, at the lock file's
 * versions (and with its `overrides` and `allowScripts`), and nothing else but what npm installs for them.
 */
const scratch = (name: string, peers: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const { directory, pkg, tarball, version } = yield* Packed
    const project = path.join(directory, name)
    yield* fs.makeDirectory(project)
    yield* fs.writeFileString(
      path.join(project, "package.json"),
      JSON.stringify(
        {
          name: `scratch-${name}`,
          private: true,
          type: "module",
          ...(pkg.overrides === undefined ? {} : { overrides: pkg.overrides }),
          ...(pkg.allowScripts === undefined ? {} : { allowScripts: pkg.allowScripts })
        },
        null,
        2
      )
    )
    yield* succeed(project, "npm", [
      "install",
      "--prefer-offline",
      "--no-audit",
      "--no-fund",
      tarball,
      ...peers.map((peer) => `${peer}@${version(peer)}`)
    ])
    const installed = (name: string) => fs.exists(path.join(project, "node_modules", ...name.split("/")))
    /** Writes a module into the project and runs it with Node; its exit code and output. */
    const node = (file: string, source: string, env?: Record<string, string>) =>
      Effect.zipRight(
        fs.writeFileString(path.join(project, file), source),
        run(project, "node", [file], env)
      )
    return { project, installed, node }
  })

/** The last line of a script's stdout, as JSON. */
const lastJson = (output: Output): any => {
  assert.strictEqual(output.exitCode, 0, `${output.stdout}\n${output.stderr}`)
  return JSON.parse(output.stdout.trim().split("\n").at(-1)!)
}

/** What importing `specifier` fails with in the project, as `{ code, message }`. */
const importError = (specifier: string) =>
  `await import(${JSON.stringify(specifier)}).then(
    () => ({ code: "imported" }),
    (error) => ({ code: error.code, message: error.message })
  )`

const engine = ["effect", "@effect/platform"]
const models = [...engine, "@effect/ai"]
const cli = [...models, "@effect/ai-openai", "@effect/cli", "@effect/platform-node"]
const cluster = [
  ...engine,
  "@effect/cluster",
  "@effect/sql",
  "@effect/sql-pg",
  "@effect/rpc",
  "@effect/workflow",
  "@effect/experimental",
  "@effect/platform-node"
]

// =============================================================================
// tests
// =============================================================================

layer(PackedLive, { timeout, excludeTestServices: true })("the packed package", (it) => {
  it.effect("holds the built engine and services, their sources, the bundled executable, and nothing else", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const { clone, files, pkg } = yield* Packed
      for (const file of files) {
        assert.match(
          file,
          /^(package\.json|README\.md|LICENSE(\.md)?|build\/(src|services)\/.+\.(js|d\.ts)(\.map)?|build\/bin\/[\w-]+\.js|build\/bin\/LICENSES\.txt|(src|services)\/.+\.ts)$/,
          `${file} should not be in the package`
        )
      }
      assert.notInclude(files.join("\n"), "tsbuildinfo")
      assert.notInclude(files.join("\n"), "tsconfig")

      // Everything the package.json points at is there.
      assert.include(files, Object.values(pkg.bin)[0]!.replace(/^\.\//, ""))
      for (const [key, target] of Object.entries(pkg.exports)) {
        const paths = target === null ? [] : typeof target === "string" ? [target] : Object.values(target as object)
        for (const target of paths as Array<string>) {
          const pattern = new RegExp(
            "^" + target.replace(/^\.\//, "").replace(/[.]/g, "\\.").replace("*", "[^/]+") + "$"
          )
          assert.isTrue(files.some((file) => pattern.test(file)), `exports["${key}"]: nothing matches ${target}`)
        }
      }
      // Every public module of the engine and of each group of services/, built.
      for (
        const folder of [
          "src",
          "services/models",
          "services/testing",
          "services/cli",
          "services/http",
          "services/store",
          "services/cluster"
        ]
      ) {
        const modules = (yield* fs.readDirectory(path.join(clone, folder))).filter((file) => file.endsWith(".ts"))
        assert.isNotEmpty(modules)
        for (const module of modules) {
          assert.include(files, `build/${folder}/${module.replace(/\.ts$/, ".js")}`)
          assert.include(files, `build/${folder}/${module.replace(/\.ts$/, ".d.ts")}`)
        }
      }

      // What a working tree has besides: benchmarks and tests built by `tsc -b`, the README's programs the
      // tests write, what `npm start` writes. `files` keeps them out (--dry-run: nothing written or built).
      const leftovers = [
        "build/bench/run.js",
        "build/readme/short-example.ts",
        "build/test/utils.js",
        "build/examples/partial-failure.js",
        "build/tsbuildinfo/bench.tsbuildinfo",
        "build/src/src.tsbuildinfo",
        "results.jsonl",
        "run-report.html",
        "bench/results/results.md",
        "examples/run-report.html"
      ]
      for (const file of leftovers) {
        yield* fs.makeDirectory(path.dirname(path.join(clone, file)), { recursive: true })
        yield* fs.writeFileString(path.join(clone, file), "left over\n")
      }
      const dryRun = packJson(yield* succeed(clone, "npm", ["pack", "--dry-run", "--json", "--ignore-scripts"]))
      assert.deepStrictEqual(dryRun.files.filter((file) => leftovers.includes(file)), [])
      assert.deepStrictEqual(dryRun.files, files)
    }))

  it.effect(
    "effect-parallel-agents and /testing: imported and run with only effect and @effect/platform installed",
    () =>
      Effect.gen(function*() {
        const project = yield* scratch("engine", engine)
        for (const absent of ["@effect/ai", "@effect/ai-openai", "@effect/cli", "@effect/platform-node"]) {
          assert.isFalse(yield* project.installed(absent), `${absent} was installed`)
        }
        const result = lastJson(
          yield* project.node(
            "engine.mjs",
            `
import { Effect } from "effect"
import { Executor, Task, TaskResult } from "effect-parallel-agents"
import * as RunReport from "effect-parallel-agents/RunReport"
import { TestAgent } from "effect-parallel-agents/testing"

const models = ${importError("effect-parallel-agents/models")}
const internal = ${importError("effect-parallel-agents/internal/run")}

const program = Effect.gen(function*() {
  const agent = yield* TestAgent.make({ name: "double", run: (n) => Effect.succeed(n * 2) })
  const report = yield* Executor.run(Task.fromIterable([1, 2, 3]), agent.factory, { concurrency: 2 })
  return {
    summary: report.summary,
    values: report.results.filter(TaskResult.isSucceeded).map((result) => result.value),
    stats: yield* agent.stats,
    formatted: RunReport.format(report).length > 0,
    models,
    internal
  }
})

console.log(JSON.stringify(await Effect.runPromise(program.pipe(Effect.provide(Executor.layer())))))
`
          )
        )
        assert.deepStrictEqual(result.summary, { total: 3, succeeded: 3, failed: 0, timedOut: 0, interrupted: 0 })
        assert.deepStrictEqual(result.values, [2, 4, 6])
        assert.strictEqual(result.stats.builds, 3)
        assert.strictEqual(result.stats.releases, 3)
        assert.isTrue(result.formatted)
        // The language models need their optional peer, which is not there; internal modules are not exported.
        assert.strictEqual(result.models.code, "ERR_MODULE_NOT_FOUND")
        assert.include(result.models.message, "@effect/ai")
        assert.strictEqual(result.internal.code, "ERR_PACKAGE_PATH_NOT_EXPORTED")
      }),
    timeout
  )

  it.effect("/http: imported and run with only effect and @effect/platform installed", () =>
    Effect.gen(function*() {
      const project = yield* scratch("http", engine)
      for (const absent of ["@effect/ai", "@effect/cli", "@effect/platform-node"]) {
        assert.isFalse(yield* project.installed(absent), `${absent} was installed`)
      }
      const result = lastJson(
        yield* project.node(
          "http.mjs",
          `
import { HttpApiBuilder, HttpServer } from "@effect/platform"
import { Effect, Layer, Schema } from "effect"
import { Executor } from "effect-parallel-agents"
import { Runs, RunsApi, RunsServer, RunStore } from "effect-parallel-agents/http"
import { TestAgent } from "effect-parallel-agents/testing"

const models = ${importError("effect-parallel-agents/models")}
const agent = await Effect.runPromise(TestAgent.make({ name: "double", run: (input) => Effect.succeed(input.n * 2) }))
const input = Schema.Struct({ n: Schema.Number })
const ApiLive = HttpApiBuilder.api(RunsApi.Api).pipe(
  Layer.provide(RunsServer.layer(RunsApi.Api)),
  Layer.provide(RunsServer.layerAuthorization),
  Layer.provide(RunsServer.layerAccessToken("t0ken")),
  Layer.provide(Runs.layer({ agents: [Runs.agent({ name: "double", description: "doubles n", input, factory: agent.factory })] })),
  Layer.provide(Layer.mergeAll(Executor.layer(), RunStore.layerMemory()))
)
// No server: the API as a web handler, called with web requests.
const { dispose, handler } = HttpApiBuilder.toWebHandler(Layer.mergeAll(ApiLive, HttpServer.layerContext))
const headers = { authorization: "Bearer t0ken", "content-type": "application/json" }
const call = (path, init) => handler(new Request("http://localhost" + path, { headers, ...init }))
const started = await call("/runs", { method: "POST", body: JSON.stringify({ agent: "double", tasks: [{ n: 1 }, { n: 2 }] }) })
const run = await started.json()
let info = run
while (info.state === "running") {
  await new Promise((resolve) => setTimeout(resolve, 20))
  info = await (await call("/runs/" + run.id)).json()
}
const results = (await (await call("/runs/" + run.id + "/results")).text()).trim().split("\\n").map((line) => JSON.parse(line))
const unauthorized = (await handler(new Request("http://localhost/runs"))).status
const page = await handler(new Request("http://localhost/"))
await dispose()
console.log(JSON.stringify({
  status: started.status,
  state: info.state,
  summary: info.summary,
  values: results.map((line) => line.value).sort(),
  unauthorized,
  page: [page.status, page.headers.get("content-type")],
  models
}))
`
        )
      )
      assert.strictEqual(result.status, 202)
      assert.strictEqual(result.state, "finished")
      assert.deepStrictEqual(result.summary, { total: 2, succeeded: 2, failed: 0, timedOut: 0, interrupted: 0 })
      assert.deepStrictEqual(result.values, [2, 4])
      assert.strictEqual(result.unauthorized, 401)
      assert.deepStrictEqual(result.page, [200, "text/html; charset=utf-8"])
      assert.strictEqual(result.models.code, "ERR_MODULE_NOT_FOUND")
    }), timeout)

  it.effect(
    "/models: imported and run with @effect/ai added; openai: models say they need @effect/ai-openai",
    () =>
      Effect.gen(function*() {
        const project = yield* scratch("models", models)
        for (const absent of ["@effect/ai-openai", "@effect/cli", "@effect/platform-node"]) {
          assert.isFalse(yield* project.installed(absent), `${absent} was installed`)
        }
        const result = lastJson(
          yield* project.node(
            "models.mjs",
            `
import { FetchHttpClient } from "@effect/platform"
import { Effect, Layer, Redacted } from "effect"
import { Executor, Task } from "effect-parallel-agents"
import { AgentModel, AgentRegistry } from "effect-parallel-agents/models"

const cli = ${importError("effect-parallel-agents/cli")}
const openai = await Effect.runPromise(Effect.flip(Layer.build(
  AgentModel.layer({ model: "openai:gpt-4o-mini", apiKey: Redacted.make("sk-scratch-0123456789") }).pipe(
    Layer.provide(FetchHttpClient.layer)
  )
).pipe(Effect.scoped)))

const program = Effect.gen(function*() {
  const tasks = Task.fromIterable([{ text: "document 2" }, { text: "document 3" }])
  const report = yield* Executor.run(tasks, AgentRegistry.classify.factory, { concurrency: 2 })
  return {
    summary: report.summary,
    values: report.results.map((result) => result.value),
    model: (yield* AgentModel.AgentModel).spec,
    cli,
    openai: { op: openai._op, path: openai.path, message: openai.message }
  }
})

const ModelLive = AgentModel.layerConfig().pipe(Layer.provide(FetchHttpClient.layer))
console.log(JSON.stringify(await Effect.runPromise(program.pipe(Effect.provide(Layer.mergeAll(Executor.layer(), ModelLive))))))
`,
            { AGENT_MODEL: "offline" }
          )
        )
        assert.deepStrictEqual(result.summary, { total: 2, succeeded: 2, failed: 0, timedOut: 0, interrupted: 0 })
        assert.deepStrictEqual(result.values, [{ label: "positive" }, { label: "negative" }])
        assert.strictEqual(result.model, "offline")
        assert.strictEqual(result.cli.code, "ERR_MODULE_NOT_FOUND")
        assert.include(result.cli.message, "@effect/cli")
        // The offline model ran without @effect/ai-openai; an openai: model is a configuration error that names it.
        assert.strictEqual(result.openai.op, "InvalidData")
        assert.deepStrictEqual(result.openai.path, ["AGENT_MODEL"])
        assert.include(result.openai.message, "openai:gpt-4o-mini needs the package @effect/ai-openai")
        assert.notInclude(result.openai.message, "sk-scratch")
      }),
    timeout
  )

  it.effect(
    "/cli: imported with @effect/cli and @effect/platform-node added, and the parallel-agents executable runs",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        const project = yield* scratch("cli", cli)
        const imported = lastJson(
          yield* project.node(
            "cli.mjs",
            `
import { Cli, RunCommand } from "effect-parallel-agents/cli"
console.log(JSON.stringify({ exitCodes: Cli.ExitCode, command: typeof RunCommand.command }))
`
          )
        )
        assert.strictEqual(imported.exitCodes.Interrupted, 130)
        assert.strictEqual(imported.command, "object")

        const input = ["doc 1", "doc 2", "doc 3", "doc 4"].map((text, i) => JSON.stringify({ id: `d${i}`, text }))
        yield* fs.writeFileString(path.join(project.project, "tasks.jsonl"), input.join("\n") + "\n")
        const output = yield* run(
          project.project,
          path.join(project.project, "node_modules", ".bin", "parallel-agents"),
          ["run", "--input", "tasks.jsonl", "--agent", "classify", "--output", "results.jsonl"],
          { AGENT_MODEL: "offline", OPENAI_API_KEY: "", OPENAI_BASE_URL: "" }
        )
        assert.strictEqual(output.exitCode, 0, output.stderr)
        assert.include(output.stderr, "classify: 4 tasks from tasks.jsonl")
        const lines = (yield* fs.readFileString(path.join(project.project, "results.jsonl")))
          .trim()
          .split("\n")
          .map((line) => JSON.parse(line))
          .sort((a, b) => a.line - b.line)
        assert.deepStrictEqual(
          lines.map((line) => [line.line, line.id, line.status, line.value]),
          [
            [1, "d0", "Succeeded", { label: "negative" }],
            [2, "d1", "Succeeded", { label: "positive" }],
            [3, "d2", "Succeeded", { label: "negative" }],
            [4, "d3", "Succeeded", { label: "positive" }]
          ]
        )

        // The executable is one bundle, the runner's code in it: without /cluster's peers installed, `parallel-agents
        // runner` still starts, reaches for the database (none at this address) and says so, with exit code 2.
        assert.isFalse(yield* project.installed("@effect/sql-pg"), "@effect/sql-pg was installed")
        const runner = yield* run(
          project.project,
          path.join(project.project, "node_modules", ".bin", "parallel-agents"),
          ["runner"],
          { DATABASE_URL: "postgres://127.0.0.1:1/none", AGENT_MODEL: "offline" }
        )
        assert.strictEqual(runner.exitCode, 2, runner.stderr)
        assert.include(runner.stderr, "Failed to connect to the database at DATABASE_URL")
      }),
    timeout
  )

  it.effect(
    "the parallel-agents executable alone (one bundle): it runs with no optional peer; --journal asks for its driver",
    () =>
      Effect.gen(function*() {
        const fs = yield* FileSystem.FileSystem
        // npm installs the required peers (effect, @effect/platform) with the tarball; the bundle uses neither.
        const project = yield* scratch("bin", [])
        assert.isFalse(yield* project.installed("@effect/cli"), "@effect/cli was installed")
        const bin = path.join(project.project, "node_modules", ".bin", "parallel-agents")
        const input = ["doc 1", "doc 2"].map((text, i) => JSON.stringify({ id: `d${i}`, text }))
        yield* fs.writeFileString(path.join(project.project, "tasks.jsonl"), input.join("\n") + "\n")
        const env = { AGENT_MODEL: "offline", OPENAI_API_KEY: "", OPENAI_BASE_URL: "" }
        const args = ["run", "--input", "tasks.jsonl", "--agent", "classify", "--output", "results.jsonl"]
        const plain = yield* run(project.project, bin, args, env)
        assert.strictEqual(plain.exitCode, 0, plain.stderr)
        assert.include(plain.stderr, "classify: 2 tasks from tasks.jsonl")

        // SQLite's driver is a native add-on, left out of the bundle: without it, --journal names what to install.
        const missing = yield* run(project.project, bin, [...args, "--journal", "runs.db"], env)
        assert.notStrictEqual(missing.exitCode, 0)
        assert.include(missing.stderr, "npm install @effect/sql-libsql")
        yield* succeed(project.project, "npm", [
          "install",
          "--prefer-offline",
          "--no-audit",
          "--no-fund",
          `@effect/sql-libsql@${(yield* Packed).version("@effect/sql-libsql")}`
        ])
        const journaled = yield* run(project.project, bin, [...args, "--journal", "runs.db"], env)
        assert.strictEqual(journaled.exitCode, 0, journaled.stderr)
        assert.include(journaled.stdout + journaled.stderr, "Journal: runs.db")
      }),
    timeout
  )

  it.effect(
    "/cluster: imported with its peers, without /cli's, and a runner's registered agent runs a task",
    () =>
      Effect.gen(function*() {
        const project = yield* scratch("cluster", cluster)
        for (const absent of ["@effect/ai", "@effect/cli"]) {
          assert.isFalse(yield* project.installed(absent), `${absent} was installed`)
        }
        const result = lastJson(
          yield* project.node(
            "cluster.mjs",
            `
import { Context, Effect, Layer, Schema } from "effect"
import { Agent, Executor } from "effect-parallel-agents"
import { AgentRunner, AgentTask, ClusterConfig, ClusterExecutor, Coordinator } from "effect-parallel-agents/cluster"

const cli = ${importError("effect-parallel-agents/cli")}

class Double extends Context.Tag("Double")() {}
const double = AgentRunner.agent({
  name: "double",
  input: Schema.Number,
  factory: Agent.factory(Double, Layer.succeed(Double, Agent.make({ name: "double", run: (n) => Effect.succeed(n * 2) })))
})
const result = await Effect.runPromise(
  double.run({ runId: "r", agent: "double", task: { id: "t", input: 21, labels: {} } }).pipe(
    Effect.provide(Executor.layer())
  )
)
console.log(JSON.stringify({
  result,
  key: AgentTask.primaryKey("r", "t"),
  shards: ClusterConfig.defaults.sharding.shardsPerGroup,
  coordinator: typeof Coordinator.run,
  executor: typeof ClusterExecutor.layer,
  cli
}))
`
          )
        )
        // The result as the runner sends it back: TaskResult.schema's encoded form.
        assert.deepStrictEqual(
          { _tag: result.result._tag, value: result.result.value, attempt: result.result.attempt },
          { _tag: "Succeeded", value: 42, attempt: 1 }
        )
        assert.strictEqual(result.result.agent, "Double")
        assert.strictEqual(result.executor, "function")
        assert.strictEqual(result.key, "r/t")
        assert.strictEqual(result.shards, 300)
        assert.strictEqual(result.coordinator, "function")
        assert.strictEqual(result.cli.code, "ERR_MODULE_NOT_FOUND")
        assert.include(result.cli.message, "@effect/cli")
      }),
    timeout
  )
})
