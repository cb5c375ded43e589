import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // The README's example imports the package by name; the tests run it against the sources.
  resolve: { alias: { "@aeontel/react": fileURLToPath(new URL("./src/index.ts", import.meta.url)) } },
  test: {
    environment: "jsdom",
    globalSetup: ["./test/global-setup.ts"],
    setupFiles: ["./test/setup.ts"],
    include: ["test/**/*.test.{ts,tsx}"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: one worker per file is plenty, and the real server is shared by all of them.
    maxWorkers: 2,
    reporters: ["default"],
    // Files and the tests in them run in random order (the seed is printed; `--sequence.seed=N` repeats one), so
    // no test leans on another having run first.
    sequence: { shuffle: true },
  },
});
