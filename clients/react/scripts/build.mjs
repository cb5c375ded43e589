#!/usr/bin/env node
// `npm run build`: tsc emits dist/ (ESM + declarations); the generated schema.d.ts, which tsc does not copy, goes
// along; then the built entry point is imported once, as a consumer would, to prove the ESM output resolves.
import { execFileSync } from "node:child_process";
import { copyFileSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
rmSync(join(root, "dist"), { recursive: true, force: true });
execFileSync(process.execPath, [join(root, "node_modules", "typescript", "bin", "tsc"), "-p", "tsconfig.build.json"],
  { cwd: root, stdio: "inherit" });
copyFileSync(join(root, "src", "schema.d.ts"), join(root, "dist", "schema.d.ts"));
const built = await import(pathToFileURL(join(root, "dist", "index.js")).href);
for (const name of ["AeontelProvider", "useListImages", "useRetrieveImage", "useDeleteImage", "AeontelError",
  "AeontelImage", "useUploadFile", "useUploadedImage"]) {
  if (typeof built[name] !== "function") throw new Error(`dist/index.js does not export ${name}`);
}
console.log("built dist/ (ESM and declarations)");
