#!/usr/bin/env bash
# GPU kernels on one H200 (torch, triton, nvcc; no Node, no network), in one go of about 7 minutes:
# (a) hardware profile of the cuda and triton platforms, (b) every cuda/triton seed baseline and template default checked on
# the specs' sizes, (c) every template autotuned at a GPU size (~100-500 MB of traffic) round-robin until the budget is
# spent, (d) the GPU cheats of tests/fixtures/gpu-cheats each rejected with the expected reason, (e) summary.json and
# summary.md. Results (7 files) under $OUT: profile.json correctness.json autotune.json cheats.json summary.json summary.md log.txt.
# Usage: OUT=/path/to/results bash scripts/gpu/kernels.sh   (PYTHON=python3 BUDGET=420 to override; extra arguments go to
# gpu_bench, e.g. --only gelu,rmsnorm --platforms cuda). Without a GPU it says so and exits with NO_GPU_EXIT (default 3).
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?set OUT to the folder for results}"
if [ -z "${PYTHON:-}" ]; then if [ -x .venv/bin/python ]; then PYTHON=.venv/bin/python; else PYTHON=python3; fi; fi
BUDGET="${BUDGET:-420}"
if ! "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
  echo "kernels.sh: no CUDA GPU on this host (or no torch for $PYTHON): nothing to benchmark. CPU-side checks: pytest tests/python/test_gpu_*.py tests/python/test_triton_*.py"
  exit "${NO_GPU_EXIT:-3}"
fi
mkdir -p "$OUT"
export PYTHONPATH="$PWD/python"
{
  echo "== environment"
  "$PYTHON" -c 'import torch, triton; print("torch", torch.__version__, "triton", triton.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
  nvidia-smi --query-gpu=name,memory.total,clocks.sm,clocks.mem --format=csv,noheader 2>/dev/null || true
  command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || echo "no nvcc: the cuda platform will be unavailable"
} >>"$OUT/log.txt" 2>&1
# The runtime's compile cache lives in the repository copy (.cache/compile); the budget leaves ~2 minutes of the 10-minute slot spare.
timeout $(( BUDGET + 150 )) "$PYTHON" -m kernelevolve_runtime.bench.gpu --out "$OUT" --budget-seconds "$BUDGET" "$@"
status=$?
echo "== gpu_bench exit $status" >>"$OUT/log.txt"
[ -f "$OUT/summary.md" ] && cat "$OUT/summary.md"
exit $status
