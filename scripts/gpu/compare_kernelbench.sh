#!/usr/bin/env bash
# One honest candidate (an @triton.jit ModelNew for KernelBench level 1 #19 ReLU) at KernelBench's full size
# (4096 x 393216 fp32) through (1) KernelBench's evaluation loop (scripts/gpu/kernelbench_harness.py: 5 correctness
# trials, 100 timed, reference timed too) and (2) this project's `python -m kernelevolve_runtime evaluate` on the triton
# platform (wrapped by profile_evaluate.py for the runtime-side profile), each in a fresh process, wall-clocked; then
# (3) profile_stages.py: the steps of one of this project's correctness trials timed one by one at the same size.
# Writes to $OUT: compare.json, compare.md, kernelbench.json, project.json, project-profile.json, stages.json, compare.log.
# Usage: OUT=/path bash scripts/gpu/compare_kernelbench.sh
#   PYTHON=python3  PROJECT_TIMEOUT=300 (seconds for the project's evaluate)  TRIALS=5  PERF_TRIALS=100
#   PROJECT_OPTIONS='{"trials": 5}'  SKIP_STAGES=1  STAGES_TIMEOUT=150  SIZES=small,bench (project sizes; default all of the spec's)
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?set OUT to the folder for results}"
if [ -z "${PYTHON:-}" ]; then if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi; fi
HERE=scripts/gpu/kernelbench
TRIALS="${TRIALS:-5}"; PERF_TRIALS="${PERF_TRIALS:-100}"; PROJECT_TIMEOUT="${PROJECT_TIMEOUT:-300}"
PROJECT_OPTIONS="${PROJECT_OPTIONS:-}"; [ -n "$PROJECT_OPTIONS" ] || PROJECT_OPTIONS="{\"trials\": $TRIALS}"
mkdir -p "$OUT"
export PYTHONPATH="$PWD/python" PYTHONUNBUFFERED=1
LOG="$OUT/compare.log"
if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "compare_kernelbench.sh: no CUDA GPU here (or no torch for $PYTHON)"; exit "${NO_GPU_EXIT:-3}"
fi
now() { date +%s.%N; }
WORK="$(mktemp -d)"; trap 'rm -rf "$WORK"' EXIT
{
  echo "== $(date -u +%FT%TZ) environment"
  "$PYTHON" -c 'import torch, triton; print("torch", torch.__version__, "triton", triton.__version__, torch.cuda.get_device_name(0))'
  nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem --format=csv,noheader 2>/dev/null || true
  free -g | head -2; df -h /tmp | tail -1
} >>"$LOG" 2>&1

# The spec: the problem imported at full size (sizes small and bench = full).
"$PYTHON" -m kernelevolve_runtime.kernelbench import --path "$HERE" --problems 19 --scale none >"$WORK/import.jsonl" 2>>"$LOG"
"$PYTHON" - "$WORK/import.jsonl" "$WORK/relu.json" <<'EOF' || { echo "compare: import failed" | tee -a "$LOG"; exit 1; }
import json, sys
record = json.loads(open(sys.argv[1]).readline())
assert record["ok"], record
json.dump(record["spec"], open(sys.argv[2], "w"))
EOF

echo "== $(date -u +%T) KernelBench loop" | tee -a "$LOG"
start=$(now)
"$PYTHON" scripts/gpu/kernelbench_harness.py --problem "$HERE/19_ReLU.py" --candidate "$HERE/relu_modelnew_triton.py" \
  --out "$OUT/kernelbench.json" --correct-trials "$TRIALS" --perf-trials "$PERF_TRIALS" >>"$LOG" 2>&1
kb_status=$?; kb_wall=$(awk "BEGIN{print $(now) - $start}")
echo "kernelbench exit $kb_status wall ${kb_wall}s" | tee -a "$LOG"

echo "== $(date -u +%T) this project's evaluate (timeout ${PROJECT_TIMEOUT}s)" | tee -a "$LOG"
size_args=(); [ -n "${SIZES:-}" ] && size_args=(--sizes "$SIZES")
start=$(now)
timeout "$PROJECT_TIMEOUT" "$PYTHON" scripts/gpu/profile_evaluate.py --profile-out "$OUT/project-profile.json" -- \
  evaluate --spec "$WORK/relu.json" --platform triton --candidates "$HERE/relu_modelnew_triton.py" \
  --out "$OUT/project.json" --options "$PROJECT_OPTIONS" "${size_args[@]}" >>"$LOG" 2>&1
project_status=$?; project_wall=$(awk "BEGIN{print $(now) - $start}")
echo "project exit $project_status wall ${project_wall}s (124 = timed out)" | tee -a "$LOG"

if [ -z "${SKIP_STAGES:-}" ]; then
  echo "== $(date -u +%T) stage profile (one trial's steps at the bench size)" | tee -a "$LOG"
  timeout "${STAGES_TIMEOUT:-150}" "$PYTHON" scripts/gpu/profile_stages.py --spec "$WORK/relu.json" --size bench \
    --candidate "$HERE/relu_modelnew_triton.py" --out "$OUT/stages.json" --repeat 1 >>"$LOG" 2>&1
  echo "stages exit $?" | tee -a "$LOG"
fi

"$PYTHON" scripts/gpu/compare_report.py --out "$OUT" --kernelbench-wall "$kb_wall" --kernelbench-exit "$kb_status" \
  --project-wall "$project_wall" --project-exit "$project_status" --project-timeout "$PROJECT_TIMEOUT" \
  --project-options "$PROJECT_OPTIONS" 2>>"$LOG"
cat "$OUT/compare.md"
