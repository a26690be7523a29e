#!/bin/bash
# The fm20x runs of docs/exfm.md (issue 17) on the 2-core CPU machine: small jobs, one seed and one thread each, so a
# shared machine finishes some of them; results go to $OUT/<kind>_seed<seed>.json (the last line is the result), then
# merge-experiments pools them. Usage: OUT=/tmp/exfm_fm20x bash scripts/exfm/fm20x.sh [parallel jobs, default 4] [seeds...]
#   e13   E1, E3 (k = 1, 4; no scalar-adapter ablation) and the 80-dim FM of 'scale' (reuses E1's VMs)
#   d16 / d192   one more 'scale' FM size (distilled VMs only)
#   e2    the biased FM; cf: the no-drift control and the fast-drift stream (k = 1, 4)
#   v2d16 / v2d80   capacity control: the same VM and FM sizes on the second design's stream (no category interactions)
set -euo pipefail
OUT=${OUT:-/tmp/exfm_fm20x}
PARALLEL=${1:-4}
shift || true
SEEDS=${*:-0 1 2}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$OUT"
job() {
  local kind=$1 seed=$2 extra
  case $kind in
    e13) extra='"claims":["e1","e3","scale"],"fm_sizes":[80],"staleness":[1,4],"scalar_adapter":false' ;;
    d16|d192) extra="\"claims\":[\"scale\"],\"fm_sizes\":[${kind#d}],\"scale_auxiliary\":false" ;;
    e2) extra='"claims":["e2"],"staleness":[1]' ;;
    cf) extra='"claims":["control","fast_drift"],"staleness":[1,4]' ;;
    v2d*) extra="\"data\":{\"cross_signal\":0.0,\"categories\":24,\"context_vocabulary\":16},\"claims\":[\"scale\"],\"fm_sizes\":[${kind#v2d}],\"scale_auxiliary\":false" ;;
    *) echo "unknown job $kind" >&2; return 2 ;;
  esac
  cd "$ROOT" && PYTHONPATH=python .venv/bin/python -m pipelines.exfm experiment \
    --args-json "{\"output\":\"$OUT/w_$kind\",\"seeds\":[$seed],\"threads\":1,\"preset\":\"fm20x\",$extra}" \
    > "$OUT/${kind}_seed$seed.json" 2> "$OUT/${kind}_seed$seed.err"
}
export -f job
export OUT ROOT
for seed in $SEEDS; do for kind in e13 d16 d192; do echo "$kind $seed"; done; done > "$OUT/jobs.txt"
for seed in $SEEDS; do for kind in e2 cf; do echo "$kind $seed"; done; done >> "$OUT/jobs.txt"
echo "v2d16 0" >> "$OUT/jobs.txt"; echo "v2d80 0" >> "$OUT/jobs.txt"
xargs -P "$PARALLEL" -L 1 bash -c 'job "$0" "$1"' < "$OUT/jobs.txt"
# The capacity control pools apart: its 'scale' rows have the same names as the fm20x stream's.
for f in "$OUT"/e13_seed*.json "$OUT"/d*_seed*.json "$OUT"/e2_seed*.json "$OUT"/cf_seed*.json; do if [ -s "$f" ]; then tail -n 1 "$f"; fi; done > "$OUT/results.jsonl"
for f in "$OUT"/v2d*_seed*.json; do if [ -s "$f" ]; then tail -n 1 "$f"; fi; done > "$OUT/control.jsonl"
cd "$ROOT"
for name in results control; do
  PYTHONPATH=python .venv/bin/python -m pipelines.exfm merge-experiments --args-json "{\"inputs\":[\"$OUT/$name.jsonl\"]}" | tail -n 1 > "$OUT/merged-$name.json"
done
