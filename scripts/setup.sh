#!/usr/bin/env bash
# Installs what a fresh Debian 12 + Node 20 machine lacks: npm packages, the build (dist/), and a
# Python virtual environment (.venv) with the pinned torch, numpy, PyYAML, jsonschema, triton and pytest of
# python/pyproject.toml. Idempotent: a second run is quick.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[setup] %s\n' "$*" >&2; }

# 1. npm packages (better-sqlite3 and hnswlib-node build from source: a few minutes the first time).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm packages (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
else
  log "npm packages up to date"
fi

# 2. The build (dist/): the library with type declarations and the bundled CLI that bin/kernelevolve.js
#    runs; redone only when a TypeScript source is newer than it.
SOURCES=(index.ts core platforms retrieval tools agents graphs cli dashboard/server)
if [ ! -f dist/cli-bundle/main.js ] || [ ! -f dist/index.d.ts ] || [ -n "$(find "${SOURCES[@]}" -name '*.ts' -newer dist/cli-bundle/main.js 2>/dev/null | head -n 1)" ]; then
  log "building dist/ (npm run build)"
  npm run --silent build
else
  log "build up to date"
fi

# The dashboard's client bundle (dashboard/dist, served by `kernelevolve dashboard`), when a client source is newer.
if [ ! -f dashboard/dist/index.html ] || [ -n "$(find dashboard/client dashboard/vite.config.ts -newer dashboard/dist/index.html 2>/dev/null | head -n 1)" ]; then log "building the dashboard (npm run build:dashboard)"; npm run --silent build:dashboard; fi

# redis-server for the fleet tests (tests/fleet start their own on a free port) and bench:fleet.
if ! command -v redis-server >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
  log "installing redis-server (Debian package) for the fleet tests"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq redis-server >/dev/null; } \
    || log "redis-server could not be installed: the fleet tests will be skipped"
fi

# 3. Python runtime environment.
python_ok() { [ -x .venv/bin/python ] && .venv/bin/python -c "import torch, numpy, pytest, jsonschema" >/dev/null 2>&1; }
# A .venv made before a pin was added (e.g. jsonschema, which validates the contract's schemas) gets the packages of
# python/pyproject.toml other than torch and triton added in place, instead of a new environment.
if ! python_ok && [ -x .venv/bin/python ] && .venv/bin/python -c "import torch, numpy" >/dev/null 2>&1; then
  MISSING=$(.venv/bin/python - 2>/dev/null <<'EOF' || echo "jsonschema pytest"
import tomllib
project = tomllib.load(open("python/pyproject.toml", "rb"))["project"]
pins = project["dependencies"] + project["optional-dependencies"]["test"]
print(" ".join(pin for pin in pins if not pin.startswith(("torch", "triton"))))
EOF
)
  log "adding $MISSING to .venv"
  # shellcheck disable=SC2086 # one word per requirement
  .venv/bin/pip install --retries 0 --timeout 30 -q $MISSING || log "could not add $MISSING"
fi
if python_ok; then
  log "python environment ready: $(.venv/bin/python -c 'import torch; print("torch", torch.__version__)')"
  exit 0
fi

PYTHON=${KERNELEVOLVE_BOOTSTRAP_PYTHON:-python3}
# The pinned versions of python/pyproject.toml (with its triton and test extras); unpinned without tomllib.
python_requirements() {
  "$PYTHON" - 2>/dev/null <<'EOF' || echo "torch numpy pyyaml jsonschema triton pytest"
import tomllib
project = tomllib.load(open("python/pyproject.toml", "rb"))["project"]
print(" ".join(project["dependencies"] + project["optional-dependencies"]["triton"] + project["optional-dependencies"]["test"]))
EOF
}
REQUIREMENTS=$(python_requirements)
rm -rf .venv
log "creating .venv with $PYTHON and installing $REQUIREMENTS through pip"
# shellcheck disable=SC2086 # one word per requirement
if "$PYTHON" -m venv .venv && .venv/bin/pip install --retries 0 --timeout 30 -q $REQUIREMENTS; then
  python_ok && { log "python environment ready (pip)"; exit 0; }
fi

# Fallback: Debian's python3-torch (1.13) for Debian's own python3, in a venv that sees system packages.
log "pip could not provide torch; falling back to Debian's python3-torch"
rm -rf .venv
if command -v apt-get >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq python3-torch python3-numpy python3-pytest python3-jsonschema python3-venv >/dev/null
  /usr/bin/python3 -m venv --system-site-packages .venv
  .venv/bin/pip install --retries 0 --timeout 30 -q triton >/dev/null 2>&1 || log "triton unavailable: the triton platform's tests will be skipped with a reason"
fi
python_ok || { log "could not set up a Python environment with torch"; exit 1; }
log "python environment ready (Debian fallback)"
