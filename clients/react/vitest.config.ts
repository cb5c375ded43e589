import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // The README's example imports the package by name; the tests run it against the sources.
  // tus-js-client as a browser bundler resolves it (its package.json "browser" field): jsdom stands in for the browser
  // (XMLHttpRequest, Blob, localStorage), where Node's resolution would pick its Node build (Buffers and streams).
  resolve: {
    alias: {
      "@aeontel/react": fileURLToPath(new URL("./src/index.ts", import.meta.url)),
      "tus-js-client": fileURLToPath(new URL("./node_modules/tus-js-client/lib.esm/browser/index.js", import.meta.url)),
    },
  },
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
