#!/usr/bin/env bash
# `make dev`: migrate, seed the demo workspace, then run Redis (when none answers), web, worker and images with the
# one launcher (app/devstack.py) that the tests, the benchmarks and the React checks use too.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY="$VENV/bin/python"
export PATH="$PWD/$VENV/bin:$PATH"
[ -f .env ] && set -a && . ./.env && set +a

export PORT=${PORT:-5000}
export IMAGESD_PORT=${IMAGESD_PORT:-8787}
export PUBLIC_URL=${PUBLIC_URL:-http://127.0.0.1:$PORT}
# The product talks to the stand-in where it listens.
export IMAGES_API_BASE=${IMAGES_API_BASE:-http://127.0.0.1:$IMAGESD_PORT/client/v4}
export IMAGES_DELIVERY_BASE=${IMAGES_DELIVERY_BASE:-http://127.0.0.1:$IMAGESD_PORT}
# The stand-in fetches uploads from the web app's signed storage URLs; upload-by-URL refuses loopback otherwise, and
# only the web app's own address is let through (not Redis or any other port on this machine).
export IMAGESD_FETCH_ALLOW=${IMAGESD_FETCH_ALLOW:-$PUBLIC_URL}
# Webhooks to a receiver on this machine (development only; production leaves WEBHOOK_ALLOW empty).
export WEBHOOK_ALLOW=${WEBHOOK_ALLOW:-127.0.0.0/8,::1}

aeontel db upgrade 2>&1 | grep -v "^INFO" || true
aeontel storage init
aeontel seed-demo
# Uses REDIS_URL when it answers, otherwise starts a private redis-server under instance/redis; Ctrl-C stops all.
exec "$PY" -m app.devstack dev
