#!/usr/bin/env bash
# ExFM on one GPU (H200, torch 2.x, no Node, no network): profiles an FM training step into kernel specs and
# runs the E1/E2/E3 claims at a larger scale than the CPU run, one seed per command so a slow seed
# cannot cost the others. Results (8 files): $OUT/specs/*.yaml (5), $OUT/profile_fm.json,
# $OUT/experiment.jsonl (one JSON line per finished seed), $OUT/log.txt (ends with the seeds pooled by
# merge-experiments). Budget: about 6 minutes.
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?set OUT to the folder for results}"
PYTHON="${PYTHON:-python3}"
WORK="$(mktemp -d)"
LOG="$OUT/log.txt"
mkdir -p "$OUT/specs"
export PYTHONPATH="$PWD/python"
start=$(date +%s)
{
  echo "== environment"; "$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")'
  nvidia-smi --query-gpu=name,memory.total --format=csv,noheader 2>/dev/null || true
} >>"$LOG" 2>&1

echo "== profile: FM training step, batch 4096, on cuda" >>"$LOG"
timeout 90 "$PYTHON" -m pipelines.exfm profile --args-json "{\"target\":\"fm\",\"device\":\"cuda\",\"batch_size\":4096,\"steps\":10,\"warmup\":3,\"top\":20,\"output\":\"$WORK/specs\",\"data\":{\"windows\":2,\"domains\":3,\"examples_per_window\":8192,\"users\":50000,\"ads_per_domain\":5000}}" \
  2>>"$LOG" | tail -n 1 >"$OUT/profile_fm.json"
cp "$WORK"/specs/*.yaml "$OUT/specs/" 2>>"$LOG"

# Larger stream (more users, ads and examples), a 4x wider FM, the pipeline's VM defaults (one pass per
# window, batch 64, weight decay 0.1: the fair baseline of docs/exfm.md; a bigger VM batch would starve it of steps).
EXPERIMENT='"data":{"windows":8,"examples_per_window":8000,"users":20000,"ads_per_domain":2000},"foundation":{"model":{"embedding_dim":64,"bottom_mlp":[128],"top_mlp":[512,256],"cross_layers":2},"batch_size":1024,"history_epochs":2},"staleness":[1,2,4]'
for seed in 0 1 2; do
  elapsed=$(( $(date +%s) - start ))
  if [ "$elapsed" -gt 240 ]; then echo "== seed $seed skipped: $elapsed s used" >>"$LOG"; continue; fi
  echo "== experiment seed $seed (after $elapsed s)" >>"$LOG"
  timeout $(( 350 - elapsed )) "$PYTHON" -m pipelines.exfm experiment --args-json "{\"output\":\"$WORK/exp\",\"seeds\":[$seed],\"device\":\"cuda\",$EXPERIMENT}" \
    2>>"$LOG.stderr" | tail -n 1 >>"$OUT/experiment.jsonl"
  grep -v "^\[exfm\] VM\|^\[exfm\] FM window" "$LOG.stderr" >>"$LOG"; rm -f "$LOG.stderr"
done
echo "== pooled over the finished seeds (mean, std, values per claim)" >>"$LOG"
"$PYTHON" -m pipelines.exfm merge-experiments --args-json "{\"inputs\":[\"$OUT/experiment.jsonl\"]}" 2>>"$LOG" | tail -n 1 >>"$LOG"
echo "== done after $(( $(date +%s) - start )) s" >>"$LOG"
rm -rf "$WORK"
