#!/usr/bin/env bash
# Checks that .carry/ (scripts/gpu/pack.sh) is enough to run the CLI in a copy of the tracked tree with no
# node_modules (what the device tool sends: tracked and untracked-not-ignored files): unpack.sh there, then `kernelevolve specs` with the unpacked node first on PATH.
# Usage: bash tests/gpu-pack/check-pack.sh   (after pack.sh; exits non-zero on failure)
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -f .carry/MANIFEST ] || { echo "check-pack: run scripts/gpu/pack.sh first" >&2; exit 2; }
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
git ls-files -z --cached --others --exclude-standard | xargs -0 cp --parents -t "$WORK" 2>/dev/null || true
cp -a scripts/gpu "$WORK/scripts/" && cp -a .carry "$WORK/.carry"
cd "$WORK"
[ ! -e node_modules ] || { echo "check-pack: the copy already has node_modules" >&2; exit 1; }
NODE_HOME="$WORK/.node" KERNELEVOLVE_PYTHON=/bin/false source scripts/gpu/unpack.sh
[ "$(command -v node)" = "$WORK/.node/bin/node" ] || { echo "check-pack: unpacked node is not first on PATH" >&2; exit 1; }
out="$(node bin/kernelevolve.js specs)"
echo "$out" | grep -q layernorm || { echo "check-pack: 'kernelevolve specs' did not list layernorm:"; echo "$out"; exit 1; } >&2
node -e 'require("better-sqlite3")(":memory:").prepare("select 1 as one").get(); const h = require("hnswlib-node"); new h.HierarchicalNSW("l2", 4).initIndex(8); console.log("native addons load")'
echo "check-pack: ok ($(du -sh .carry | cut -f1) carried)"
