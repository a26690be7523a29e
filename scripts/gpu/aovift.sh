#!/usr/bin/env bash
# AOViFT at GPU scale (64^3 volumes, T-size ViT with patches 32->16 vs a 3D CNN of matched FLOPs).
# Runs on the GPU host (python3 + torch, no Node, no network) from the repository root:
#   OUT=/some/folder bash scripts/gpu/aovift.sh
# Writes to $OUT (at most 8 files): results.json (training, evaluation, correction loop, profile),
# run.log (progress), env.txt (versions, GPU), specs/*.yaml (4 kernel specs from the profile).
# Budget: about 5 minutes on one H200; results.json is rewritten after every stage, so a run cut
# short still leaves the stages it finished.
set -euo pipefail
OUT="${OUT:?set OUT to the output folder}"
mkdir -p "$OUT"
cd "$(dirname "$0")/../.."
PYTHON="${PYTHON:-python3}"
{
  echo "date: $(date -u +%FT%TZ)"
  "$PYTHON" -c 'import torch, sys; print("python", sys.version.split()[0]); print("torch", torch.__version__); print("cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "-")'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || true
} > "$OUT/env.txt" 2>&1
DEVICE=cuda
"$PYTHON" -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' || DEVICE=cpu
SCALE="${AOVIFT_SCALE:-gpu}"  # AOVIFT_SCALE=smoke checks the script on a CPU in a few minutes
PYTHONPATH=python timeout 340 "$PYTHON" -m pipelines.aovift.benchmark --scale "$SCALE" --device "$DEVICE" \
  --out "$OUT" > "$OUT/summary.json" 2> "$OUT/run.log" || echo "benchmark exited with $? (see run.log)" >> "$OUT/run.log"
ls -R "$OUT" >> "$OUT/run.log"
