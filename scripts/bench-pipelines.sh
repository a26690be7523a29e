#!/usr/bin/env bash
# `npm run bench:pipelines`: the committed optimised kernels swapped into the AOViFT and ExFM training and inference
# steps on the CPU, torch and swapped alternating in one process (python -m pipelines.kernels bench). One torch and
# OpenMP thread, so the process CPU time measures the work even on a shared, loaded machine (wall time is reported too).
# Results: docs/results/pipelines/swap-cpu.json and .md (ROUNDS, default 21; OUT_DIR to write elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${KERNELEVOLVE_PYTHON:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
OUT_DIR="${OUT_DIR:-docs/results/pipelines}"
mkdir -p "$OUT_DIR"
OMP_NUM_THREADS=1 PYTHONPATH="$PWD/python" "$PY" -m pipelines.kernels bench --threads 1 \
  --args-json "{\"rounds\": ${ROUNDS:-21}, \"out\": \"$OUT_DIR/swap-cpu.json\", \"markdown\": \"$OUT_DIR/swap-cpu.md\"}" > /dev/null
cat "$OUT_DIR/swap-cpu.md"
