#!/usr/bin/env node
// `npm run example:build [OUT]`: bundles examples/site (index.html + main.tsx, with the package from src/) with Vite
// into OUT (default examples/site/dist, which git ignores). The browser test and bench/ build it into a temp folder.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const out = resolve(process.argv[2] ?? join(root, "examples", "site", "dist"));
await build({
  root: join(root, "examples", "site"),
  base: "./",
  logLevel: "warn",
  configFile: false,
  resolve: { alias: { "@aeontel/react": join(root, "src", "index.ts") } },
  esbuild: { jsx: "automatic" },
  build: {
    outDir: out, emptyOutDir: true, target: "es2022", sourcemap: false,
    rollupOptions: {
      // TanStack Query's "use client" markers mean nothing in a plain browser bundle.
      onwarn(warning, warn) {
        if (warning.code !== "MODULE_LEVEL_DIRECTIVE") warn(warning);
      },
    },
  },
});
console.log(`built the example site into ${out}`);
