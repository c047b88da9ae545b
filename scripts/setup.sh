#!/usr/bin/env bash
# Sets up everything cqbot needs on a fresh machine: venv, CPU torch, the package, the model.
# Usage: scripts/setup.sh [--dev]   (--dev adds test tools and the Chromium used by browser tests)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
VENV=.venv
dev=0
[ "${1:-}" = "--dev" ] && dev=1

if [ ! -x "$VENV/bin/python" ]; then
  echo "==> creating virtual environment in $VENV"
  "$PY" -m venv "$VENV"
fi
pip() { "$VENV/bin/python" -m pip --disable-pip-version-check -q "$@"; }

# The CPU build of torch first: a bare 'torch' requirement would pull a multi-GB CUDA build.
if ! "$VENV/bin/python" -c "import torch" 2>/dev/null; then
  echo "==> installing torch (CPU build)"
  pip install "torch==2.13.0"
fi

stamp="$VENV/.cqbot-installed"
want=$(cat pyproject.toml | sha256sum | cut -c1-16)-$dev
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "==> installing cqbot and its dependencies"
  if [ $dev = 1 ]; then pip install -e ".[dev]"; else pip install -e .; fi
  echo "$want" > "$stamp"
fi

if [ $dev = 1 ] && [ ! -x /usr/bin/chromium ]; then
  echo "==> installing Chromium for the browser tests"
  if [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver fonts-noto-cjk >/dev/null) \
      || echo "warning: could not install chromium; browser tests will be skipped" >&2
  else
    echo "warning: not root, cannot apt-get install chromium; browser tests will be skipped" >&2
  fi
fi

echo "==> provisioning the embedding model (once)"
"$VENV/bin/cqbot" provision
