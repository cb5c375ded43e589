#!/usr/bin/env node
// Generates src/schema.d.ts from the server's OpenAPI document, or (--check) fails when the committed file differs.
//
//   node scripts/generate-types.mjs                 write src/schema.d.ts from app.api.openapi.document()
//   node scripts/generate-types.mjs --check         exit 1 when src/schema.d.ts is not what the document generates
//   node scripts/generate-types.mjs --from URL      use a live document instead (e.g. http://127.0.0.1:5000/api/openapi.json)
//   node scripts/generate-types.mjs --from FILE     or a JSON dump of it
//
// By default the document comes from the project's Python (`$AEONTEL_PYTHON`, default <repo>/.venv/bin/python),
// which builds the app in a throwaway instance folder and prints `app.api.openapi.document()` as JSON: exactly what
// GET /api/openapi.json serves, without starting a server.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateSchemaTypes, TARGET } from "./schema-types.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const packageDir = resolve(here, "..");
const repo = resolve(packageDir, "..", "..");

const args = process.argv.slice(2);
const check = args.includes("--check");
const fromIndex = args.indexOf("--from");
const from = fromIndex >= 0 ? args[fromIndex + 1] : undefined;

export function pythonExecutable() {
  return process.env.AEONTEL_PYTHON || join(repo, ".venv", "bin", "python");
}

const DUMP = `
import json, sys
from app import create_app
from app.api.openapi import document
app = create_app()
with app.test_request_context():
    sys.stdout.write(json.dumps(document()))
`;

async function loadDocument() {
  if (from && /^https?:\/\//.test(from)) {
    const response = await fetch(from);
    if (!response.ok) throw new Error(`GET ${from} answered ${response.status}`);
    return await response.json();
  }
  if (from) return JSON.parse(readFileSync(from, "utf8"));
  const python = pythonExecutable();
  if (!existsSync(python)) {
    throw new Error(`no Python at ${python}: run \`make install\` in the repository, or set AEONTEL_PYTHON`);
  }
  const instance = mkdtempSync(join(tmpdir(), "aeontel-openapi-"));
  try {
    const out = execFileSync(python, ["-c", DUMP], {
      cwd: repo,
      env: { ...process.env, AEONTEL_INSTANCE_DIR: instance, PYTHONPATH: repo },
      stdio: ["ignore", "pipe", "pipe"],
      maxBuffer: 16 * 1024 * 1024,
    });
    return JSON.parse(out.toString("utf8"));
  } finally {
    rmSync(instance, { recursive: true, force: true });
  }
}

const document = await loadDocument();
const generated = await generateSchemaTypes(document);
const target = join(packageDir, TARGET);

if (check) {
  const committed = existsSync(target) ? readFileSync(target, "utf8") : "";
  if (committed !== generated) {
    const a = committed.split("\n");
    const b = generated.split("\n");
    let line = 0;
    while (line < Math.max(a.length, b.length) && a[line] === b[line]) line++;
    console.error(`${TARGET} has drifted from the server's OpenAPI document (first difference at line ${line + 1}):`);
    console.error(`  committed: ${JSON.stringify(a[line] ?? "<end of file>")}`);
    console.error(`  generated: ${JSON.stringify(b[line] ?? "<end of file>")}`);
    console.error("Run `npm run generate:types` in clients/react and commit the result.");
    process.exit(1);
  }
  console.log(`${TARGET} matches the server's OpenAPI document`);
} else {
  writeFileSync(target, generated);
  console.log(`wrote ${TARGET}`);
}
