import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { defineConfig } from "vitest/config"

const root = path.dirname(fileURLToPath(import.meta.url))

export default defineConfig({
  // The package's own name resolves to the sources, as tsconfig.json's `paths` say, so that a test can import an
  // example's module (written like user code) and run it under TestClock.
  resolve: {
    alias: [
      {
        find: /^effect-parallel-agents\/(models|testing|cli|http|store|cluster)$/,
        replacement: path.join(root, "services/$1/index.ts")
      },
      {
        find: /^effect-parallel-agents\/(models|testing|cli|http|store|cluster)\/(.*)$/,
        replacement: path.join(root, "services/$1/$2.ts")
      },
      { find: /^effect-parallel-agents$/, replacement: path.join(root, "src/index.ts") },
      { find: /^effect-parallel-agents\/(.*)$/, replacement: path.join(root, "src/$1.ts") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts"],
    setupFiles: ["./test/setup.ts"],
    // The executable bundled once for the tests that start it as a process (test/globalSetup.ts).
    globalSetup: ["./test/globalSetup.ts"],
    sequence: { concurrent: true },
    testTimeout: 60_000,
    hookTimeout: 60_000
  }
})
