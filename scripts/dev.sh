#!/usr/bin/env bash
# `make dev`: migrate, seed the demo workspace, make sure Redis answers, then run web, worker and images with honcho.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
export PATH="$PWD/$VENV/bin:$PATH"
[ -f .env ] && set -a && . ./.env && set +a

export PORT=${PORT:-5000}
export IMAGESD_PORT=${IMAGESD_PORT:-8787}
export PUBLIC_URL=${PUBLIC_URL:-http://127.0.0.1:$PORT}
# The stand-in fetches uploads from this machine's signed storage URLs; upload-by-URL refuses loopback otherwise.
export IMAGESD_FETCH_ALLOW=${IMAGESD_FETCH_ALLOW:-127.0.0.0/8,::1}

. scripts/redis.sh
REDIS_PID=""
trap '[ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null; true' EXIT
ensure_redis

aeontel db upgrade 2>&1 | grep -v "^INFO" || true
aeontel storage init
aeontel seed-demo
echo "web: $PUBLIC_URL   images stand-in: http://127.0.0.1:$IMAGESD_PORT   (Ctrl-C stops everything)"
# The stand-in starts as a new Cloudflare account does (flexible variants off, only `public`); once it answers, set it
# up the way an operator sets up Cloudflare, with the same command.
(
  "$PY" - <<'WAIT'
import os, time, urllib.request
url = f"http://127.0.0.1:{os.environ['IMAGESD_PORT']}/healthz"
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    try:
        urllib.request.urlopen(url, timeout=1).close()
        break
    except OSError:
        time.sleep(0.2)
WAIT
  aeontel images setup || echo "aeontel images setup failed: gallery tiles need it (run it again once the stand-in answers)" >&2
) &
honcho start -f Procfile -p "$PORT"
