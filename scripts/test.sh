#!/usr/bin/env bash
# `make test`: every test on SQLite; `scripts/test.sh postgres` runs the database tests again on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
export PATH="$PWD/$VENV/bin:$PATH"
lint-imports --no-cache  # the layers of ARCHITECTURE.md (contracts in pyproject.toml); a broken one stops here
ruff check .             # lint rules chosen in pyproject.toml ([tool.ruff.lint])
ruff format --check .    # the one code style; `ruff format .` applies it

if [ "${1:-}" = postgres ]; then
  export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgresql://postgres@127.0.0.1:5432/test}
  echo "== database tests on PostgreSQL ($TEST_DATABASE_URL)"
  # The stand-in keeps no product data and the browser tests repeat what tests/web checks on the same rows; tests
  # marked one_database are about something else (decoding, HTTP bodies, Redis, the launcher, the house rules).
  exec python -m pytest -q -p no:cacheprovider tests --ignore=tests/imagesd --ignore=tests/e2e -m "not one_database"
fi
echo "== React hooks package (clients/react): typecheck, types drift check, Vitest against the real server"
if ! command -v node >/dev/null 2>&1; then
  echo "error: Node.js 20 or newer is needed for clients/react (Debian/Ubuntu: apt-get install nodejs npm)" >&2
  exit 1
fi
bash clients/react/run-checks.sh
echo "== all tests on SQLite"
exec python -m pytest -q -p no:cacheprovider tests
