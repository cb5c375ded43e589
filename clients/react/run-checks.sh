#!/usr/bin/env bash
# Every check of @aeontel/react, for `make test` / CI: install the locked dependencies when needed (npm ci),
# typecheck, build, type-check the package under React 18 and 19, check the generated API types against the server's OpenAPI document, then run the tests
# against the real stack (test/server.py starts Redis, the images stand-in, the web app and the worker).
# Exits non-zero on any failure; the last line is "react: N passed, M failed".
#
# Needs Node >= 20.19 with npm, the repository's Python environment (`make install`: .venv, or $AEONTEL_PYTHON)
# and redis-server on PATH.
set -euo pipefail
cd "$(dirname "$0")"
REPO=$(cd ../.. && pwd)
export AEONTEL_PYTHON=${AEONTEL_PYTHON:-$REPO/.venv/bin/python}
started=$SECONDS

step() { echo "== react: $* ($((SECONDS - started)) s)"; }

command -v node >/dev/null || { echo "react: node is not installed (Node >= 20.19 and npm are needed)" >&2; exit 1; }
[ -x "$AEONTEL_PYTHON" ] || { echo "react: no Python at $AEONTEL_PYTHON: run \`make install\` first" >&2; exit 1; }

# node_modules is what package-lock.json says, or it is installed again from it.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
stamp=node_modules/.aeontel-lock-sha256
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_hash" ]; then
  step "npm ci (node_modules missing or older than package-lock.json)"
  npm ci --no-audit --no-fund --prefer-offline --loglevel=error
  echo "$lock_hash" > "$stamp"
fi

step "typecheck (tsc --noEmit)"
node_modules/.bin/tsc --noEmit -p tsconfig.json

step "build (tsc to dist/)"
node scripts/build.mjs

step "pack: npm pack (prepack builds), install the tarball outside the repository, import it"
node scripts/check-pack.mjs

step "type-check the built package as a dependency under React 18 and React 19"
node scripts/check-react-versions.mjs

step "API types against the generated OpenAPI document (npm run check:types)"
node scripts/generate-types.mjs --check

step "tests against the real stack (vitest)"
report=$(mktemp)
trap 'rm -f "$report"' EXIT
set +e
node_modules/.bin/vitest run --reporter=default --reporter=json --outputFile.json="$report"
status=$?
set -e
summary=$(node -e '
  const fs = require("node:fs");
  try {
    const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
  } catch { console.log(""); }' "$report")
echo "== react: done in $((SECONDS - started)) s"
if [ -z "$summary" ]; then
  echo "react: 0 passed, 1 failed"   # vitest did not get to run the tests (the server did not start?)
  exit 1
fi
echo "react: $summary"
if [ "$status" -ne 0 ] || [[ "$summary" != *" 0 failed"* ]]; then exit 1; fi
