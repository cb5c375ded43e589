#!/usr/bin/env bash
# Creates the virtualenv and installs the product with its test tools; says exactly what is missing otherwise.
set -euo pipefail
PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}

if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "error: $PYTHON not found; install Python 3.11 or newer" >&2; exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "error: Python 3.11 or newer is needed, $PYTHON is $("$PYTHON" -V 2>&1)" >&2; exit 1
fi
if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV" || { echo "error: could not create a virtualenv; on Debian/Ubuntu: apt-get install python3-venv" >&2; exit 1; }
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet -e ".[test]"
bash "$(dirname "$0")/system-deps.sh"
