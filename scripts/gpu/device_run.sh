#!/usr/bin/env bash
# Driver for one device call (run from the repository root on the GPU host). Parts, any subset, in order:
#   compare   scripts/gpu/compare_kernelbench.sh (KernelBench loop vs this project's evaluate, full-size ReLU)
#   product   the Node CLI from .carry: specs, optimize on cuda and on triton (small budgets), report
#   triton    scripts/gpu/kernels.sh --platforms triton (every Triton seed and template default, then autotuning)
# The code under test is SNAPSHOT (default: the working tree; `.carry/head` = a `git archive` of a commit made by
# `bash scripts/gpu/device_run.sh --snapshot COMMIT` here, so others' uncommitted edits do not travel into the numbers).
# Each part's files are packed as $OUT/<part>.tgz right after it ends (the device tool returns at most 8 files).
# Usage on the device: OUT=$OUT bash scripts/gpu/device_run.sh compare product triton
#   OPT_SPECS="layernorm" OPT_BUDGET=4 OPT_TIME=75s TRITON_BUDGET=60 PROJECT_TIMEOUT=240
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
if [ "${1:-}" = "--snapshot" ]; then
  commit="${2:?--snapshot COMMIT}"
  rm -rf .carry/head && mkdir -p .carry/head
  git archive "$commit" | tar -x -C .carry/head && git rev-parse "$commit" > .carry/head/COMMIT
  echo "device_run: .carry/head = $(cat .carry/head/COMMIT) ($(du -sh .carry/head | cut -f1))"; exit 0
fi
: "${OUT:?set OUT}"
SNAPSHOT="${SNAPSHOT:-$ROOT}"
STAGE="$(mktemp -d)"
source "$ROOT/scripts/gpu/unpack.sh" || exit 2
[ "$SNAPSHOT" = "$ROOT" ] || ln -sfn "$ROOT/node_modules" "$SNAPSHOT/node_modules"
cd "$SNAPSHOT"
export PYTHON=python3 PYTHONUNBUFFERED=1
{ echo "snapshot $(cat COMMIT 2>/dev/null || git -C "$ROOT" rev-parse HEAD 2>/dev/null || echo working-tree)"; date -u +%FT%TZ
  nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem,driver_version --format=csv,noheader; nproc; free -g | head -2
  python3 -c 'import torch, triton; print("torch", torch.__version__, "triton", triton.__version__)'; } > "$OUT/environment.txt" 2>&1
pack() { tar -czf "$OUT/$1.tgz" -C "$STAGE" "$1" 2>/dev/null; }
for part in "$@"; do
  started=$(date +%s)
  mkdir -p "$STAGE/$part"
  case "$part" in
    compare)
      options="${PROJECT_OPTIONS:-}"; [ -n "$options" ] || options='{"trials": 5, "timeLimitSeconds": 900}'
      OUT="$STAGE/compare" PROJECT_TIMEOUT="${PROJECT_TIMEOUT:-240}" PROJECT_OPTIONS="$options" bash scripts/gpu/compare_kernelbench.sh
      ;;
    product)
      log="$STAGE/product/product.log"
      export KERNELEVOLVE_RUNS="$STAGE/product/runs" KERNELEVOLVE_CACHE="/tmp/ke-cache"
      node bin/kernelevolve.js specs >"$STAGE/product/specs.txt" 2>>"$log"; echo "specs exit $?" | tee -a "$log"
      for spec in ${OPT_SPECS:-layernorm}; do
        for platform in cuda triton; do
          s=$(date +%s)
          timeout 170 node bin/kernelevolve.js optimize "$spec" --platform "$platform" --budget "${OPT_BUDGET:-4}" \
            --time "${OPT_TIME:-75s}" --min-time-ms 50 >"$STAGE/product/optimize-$spec-$platform.txt" 2>&1
          echo "optimize $spec --platform $platform exit $? in $(( $(date +%s) - s ))s" | tee -a "$log"
          tail -5 "$STAGE/product/optimize-$spec-$platform.txt" | tee -a "$log"
        done
      done
      for run in "$KERNELEVOLVE_RUNS"/*/; do
        [ -d "$run" ] || continue
        id=$(basename "$run")
        timeout 60 node bin/kernelevolve.js report "$id" >"$STAGE/product/report-$id.txt" 2>&1; echo "report $id exit $?" | tee -a "$log"
      done
      find "$KERNELEVOLVE_RUNS" -name "*.sqlite*" -size +4M -delete 2>/dev/null
      ;;
    triton)
      OUT="$STAGE/triton" BUDGET="${TRITON_BUDGET:-60}" bash scripts/gpu/kernels.sh --platforms triton
      echo "kernels.sh exit $?" | tee -a "$STAGE/triton/log.txt"
      ;;
    *) echo "device_run: unknown part $part" >&2 ;;
  esac
  echo "== part $part took $(( $(date +%s) - started ))s" | tee -a "$OUT/environment.txt"
  pack "$part"
done
