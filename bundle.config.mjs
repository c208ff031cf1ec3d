// The `parallel-agents` executable as one bundle: `services/bin/parallel-agents.ts` and everything it imports (our
// modules, effect, @effect/*), bundled by esbuild into `build/bin/`, with a chunk of its own for each part loaded
// only when used (`openai:`, a journal, the cluster, `serve`). Node then loads 19 files instead of 723 modules: the
// command starts in ~0.42 s instead of ~0.94 s, and 100,000 offline documents take 12 % less wall time and 15 % less
// CPU (bench/README.md, "The executable as one bundle, round 10"). The library's own modules (`build/src`,
// `build/services`) are not bundled: users import those, with their own `effect`.
//
// `node bundle.config.mjs [outdir]` builds it into `outdir` (`build/bin` by default): `npm run build` and `npm pack`
// do, after `tsc -b`, and test/globalSetup.ts does for the tests that start the executable as a process.
import * as esbuild from "esbuild"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.dirname(fileURLToPath(import.meta.url))

/**
 * Packages left to Node's resolution at run time: native add-ons (a `.node` binary cannot be bundled; each is loaded
 * only by the part that needs it, and its package names what to install when it is missing), and the optional
 * native speed-ups that pure-JavaScript packages try to load and do without.
 */
const external = [
  // `--journal` (SQLite): @effect/sql-libsql → @libsql/client → libsql's native binding.
  "libsql",
  // PostgreSQL (the cluster): pg's optional native client.
  "pg-native",
  // ws's and msgpackr's optional native speed-ups.
  "bufferutil",
  "utf-8-validate",
  "msgpackr-extract"
]

/** esbuild's options for the executable, written to `outdir`. */
const options = (outdir) => ({
  absWorkingDir: root,
  entryPoints: { "parallel-agents": "services/bin/parallel-agents.ts" },
  tsconfig: "services/bin/tsconfig.json",
  outdir,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external,
  // CommonJS packages in the bundle (undici, pg, ws) call `require` for Node's own modules, which an ES module does
  // not have: give them one.
  banner: {
    js: "import { createRequire as __bundleCreateRequire } from \"node:module\"\n" +
      "const require = __bundleCreateRequire(import.meta.url)"
  },
  // Readable stack traces: names and lines as in the sources, each module marked by its path.
  minify: false,
  logLevel: "warning"
})

/** The folder of the package a bundled file is in (`node_modules/@scope/name`), or undefined for our own files. */
const packageOf = (file) => {
  const match = /^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//.exec(file)
  return match === null ? undefined : match[1]
}

/**
 * The notices of the packages in the bundle: their licenses ask that copies of their code carry them. One section per
 * package (name, version, license), with its license file's text.
 */
const notices = (inputs) => {
  const folders = [...new Set(Object.keys(inputs).map(packageOf).filter((folder) => folder !== undefined))]
  const sections = folders.map((folder) => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, folder, "package.json"), "utf8"))
    const file = fs.readdirSync(path.join(root, folder)).find((name) => /^licen[cs]e(\.(md|txt))?$/i.test(name))
    const text = file === undefined
      ? `(the package has no license file; its package.json says ${JSON.stringify(pkg.license)})`
      : fs.readFileSync(path.join(root, folder, file), "utf8").trim()
    return { title: `${pkg.name} ${pkg.version} (${pkg.license ?? "no license field"})`, text }
  }).sort((a, b) => a.title.localeCompare(b.title))
  return "The parallel-agents executable (parallel-agents.js and its chunks in this folder) bundles the code of these " +
    "packages.\nEach one's license follows.\n" +
    sections.map(({ text, title }) => `\n== ${title} ==\n\n${text}\n`).join("")
}

/**
 * Builds the executable into `outdir`, emptied first, with the notices of what it bundles in `LICENSES.txt`. A folder
 * outside build/ must be new or empty: a mistyped argument (`src`, `.`) is refused, not emptied.
 */
const bundle = async (outdir) => {
  const inBuild = path.relative(path.join(root, "build"), outdir)
  const emptiable = inBuild !== "" && !inBuild.startsWith("..") && !path.isAbsolute(inBuild)
  if (!emptiable && fs.existsSync(outdir) && fs.readdirSync(outdir).length > 0) {
    console.error(`bundle.config.mjs: ${outdir} is not empty and not under build/: refusing to empty it`)
    process.exit(2)
  }
  fs.rmSync(outdir, { recursive: true, force: true })
  const result = await esbuild.build({ ...options(outdir), metafile: true })
  fs.writeFileSync(path.join(outdir, "LICENSES.txt"), notices(result.metafile.inputs))
  return result
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [outdir, ...rest] = process.argv.slice(2)
  if (rest.length > 0 || outdir?.startsWith("-")) {
    console.error(`usage: node bundle.config.mjs [outdir] (build/bin by default); got ${process.argv.slice(2).join(" ")}`)
    process.exit(2)
  }
  await bundle(path.resolve(root, outdir ?? "build/bin"))
}
