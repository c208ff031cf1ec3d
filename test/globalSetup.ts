/**
 * Before the tests, once: the `parallel-agents` executable bundled as `npm run build` bundles it (`node
 * bundle.config.mjs <folder>`), into a folder of this run's own under build/ (so that runs side by side do not share
 * one), for the tests that start it as a process: they run what users run. The folder is removed at the end.
 */
import { execFileSync } from "node:child_process"
import * as fs from "node:fs"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import type { TestProject } from "vitest/node"

const root = fileURLToPath(new URL("..", import.meta.url))

export default function setup(project: TestProject) {
  fs.mkdirSync(path.join(root, "build"), { recursive: true })
  const folder = fs.mkdtempSync(path.join(root, "build", "test-bin-"))
  execFileSync(process.execPath, [path.join(root, "bundle.config.mjs"), folder], { stdio: "inherit" })
  project.provide("bin", path.join(folder, "parallel-agents.js"))
  return () => fs.rmSync(folder, { recursive: true, force: true })
}

declare module "vitest" {
  export interface ProvidedContext {
    /** The bundled `parallel-agents` executable of this run. */
    readonly bin: string
  }
}
