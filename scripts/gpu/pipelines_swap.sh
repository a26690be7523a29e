#!/usr/bin/env bash
# Pipeline -> kernels -> pipeline on one machine (issue 17, item 3; docs/pipeline-kernels.md), run from the repository root:
#   1. profile the AOViFT and ExFM training and inference steps on DEVICE; specs of the hottest measured operators,
#      with their seed kernels, go to $OUT/specs (python -m pipelines.kernels profile);
#   2. `kernelevolve optimize <spec> --specs-dir $OUT/specs --platform <triton|cpu>` (offline autotune, no model) on
#      each swappable operator measured hot whose spec has seeds for the platform, best kernel -> $OUT/kernels/<op>.<py|cpp>;
#      an operator whose run fails (or with SKIP_OPTIMIZE=1, or no node) falls back to the committed optimised kernel of
#      the platform (python/pipelines/kernels/optimised/<platform>/), else its seed baseline, said so in
#      $OUT/kernels/sources.json;
#   3. swap those kernels into both pipelines' steps (torch custom operators), check the step outputs against the
#      torch ops and time each step before/after in alternating rounds: $OUT/swap.json and $OUT/summary.md.
# DEVICE: cuda when torch sees a GPU (kernels: Triton), else cpu (kernels: C++ of the cpu platform ABI).
# On the GPU host (python3 with torch + triton, Node from .carry via scripts/gpu/unpack.sh):
#   OUT=$OUT bash scripts/gpu/pipelines_swap.sh            # ~5-7 minutes on one H100 (4.3 min on the 2-core CPU, small sizes)
# Knobs: OPT_BUDGET (4), OPT_TIME (45s per spec), ROUNDS (10), DEADLINE_S (270: no optimize run starts after it),
#   AOVIFT_OPTIONS / EXFM_OPTIONS (JSON step options), SKIP_OPTIMIZE=1.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT="$PWD"
: "${OUT:?set OUT to a results folder}"
mkdir -p "$OUT/specs" "$OUT/kernels" "$OUT/runs"
PY="${PYTHON:-${KERNELEVOLVE_PYTHON:-python3}}"
[ -x "$ROOT/.venv/bin/python" ] && [ -z "${PYTHON:-}" ] && PY="$ROOT/.venv/bin/python"
export PYTHONPATH="$ROOT/python${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
LOG="$OUT/log.txt"
STARTED=$(date +%s)
elapsed() { echo $(( $(date +%s) - STARTED )); }
say() { echo "[$(elapsed)s] $*" | tee -a "$LOG"; }

DEVICE="${DEVICE:-$("$PY" -c 'import torch; print("cuda" if torch.cuda.is_available() else "cpu")' 2>/dev/null || echo cpu)}"
if [ "$DEVICE" = "cuda" ]; then
  PLATFORM=triton; EXT=py
  [ -n "${AOVIFT_OPTIONS:-}" ] || AOVIFT_OPTIONS='{"batch": 32}'
  [ -n "${EXFM_OPTIONS:-}" ] || EXFM_OPTIONS='{"target": "fm", "batch": 4096, "examples": 32768}'
else
  PLATFORM=cpu; EXT=cpp
  [ -n "${AOVIFT_OPTIONS:-}" ] || AOVIFT_OPTIONS='{"batch": 8}'
  [ -n "${EXFM_OPTIONS:-}" ] || EXFM_OPTIONS='{"target": "fm", "batch": 1024, "examples": 8192}'
fi
{ echo "device $DEVICE platform $PLATFORM python $PY"; date -u +%FT%TZ; git rev-parse HEAD 2>/dev/null || cat COMMIT 2>/dev/null
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  nproc; "$PY" -c 'import torch; print("torch", torch.__version__)'; "$PY" -c 'import triton; print("triton", triton.__version__)' 2>&1 | tail -1
} > "$OUT/environment.txt" 2>&1
say "device $DEVICE, kernels for the $PLATFORM platform"

# 1. Profile.
for pipeline in aovift exfm; do
  options="$AOVIFT_OPTIONS"; [ "$pipeline" = exfm ] && options="$EXFM_OPTIONS"
  "$PY" -m pipelines.kernels profile --args-json "{\"pipeline\": \"$pipeline\", \"device\": \"$DEVICE\", \"out_dir\": \"$OUT/specs\", \"options\": $options, \"top\": 12, \"min_share\": 0.0}" \
    > "$OUT/profile-$pipeline.json" 2>>"$LOG"
  code=$?
  say "profile $pipeline exit $code: $("$PY" -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r.get("error") or ", ".join("%s %.0f%% -> %s" % (e["operator"], 100 * e["share"], e.get("spec_id", "-")) for e in r.get("hot_operators", [])))' "$OUT/profile-$pipeline.json" 2>&1 | tail -1)"
done

# Swappable operators whose spec was written with seeds for this platform: "op spec_id" lines.
TARGETS=$("$PY" - "$OUT" "$PLATFORM" <<'PYEOF'
import json, os, sys
out, platform = sys.argv[1], sys.argv[2]
seen = {}
for pipeline in ("aovift", "exfm"):
    try:
        result = json.load(open(os.path.join(out, f"profile-{pipeline}.json")))
    except (OSError, ValueError):
        continue
    for entry in result.get("hot_operators", []):
        op, spec = entry.get("swap_op"), entry.get("spec_id")
        if op and spec and op not in seen and os.path.isdir(os.path.join(out, "specs", "seeds", platform, spec)):
            seen[op] = spec
for op, spec in seen.items():
    print(op, spec)
PYEOF
)
say "swappable operators measured hot: $(echo "$TARGETS" | tr '\n' ';')"

# 2. Optimise (Node CLI; on the GPU host it comes from .carry).
NODE_OK=0
if [ "${SKIP_OPTIMIZE:-0}" != 1 ]; then
  if ! command -v node >/dev/null && [ -d .carry ]; then source scripts/gpu/unpack.sh >>"$LOG" 2>&1; fi
  command -v node >/dev/null && [ -d node_modules ] && NODE_OK=1
fi
# Run databases stay outside $OUT (the device tool brings back few files); each run's report.md is copied there.
export KERNELEVOLVE_RUNS="${RUNS_DIR:-$(mktemp -d)}" KERNELEVOLVE_PYTHON="$PY"
echo "{}" > "$OUT/kernels/sources.json"
while read -r op spec; do
  [ -n "$op" ] || continue
  if [ "$NODE_OK" = 1 ] && [ "$(elapsed)" -lt "${DEADLINE_S:-270}" ]; then
    timeout 100 node bin/kernelevolve.js optimize "$spec" --specs-dir "$OUT/specs" --platform "$PLATFORM" --budget "${OPT_BUDGET:-4}" \
      --time "${OPT_TIME:-45s}" --size small --size profiled --min-time-ms 50 > "$OUT/runs/optimize-$spec.txt" 2>&1
    code=$?
    run=$(sed -n 's/^run \([^:]*\): .*/\1/p' "$OUT/runs/optimize-$spec.txt" | head -1)
    best=$(grep -o 'best kernel: .*' "$OUT/runs/optimize-$spec.txt" | tail -1)
    say "optimize $spec exit $code run ${run:-none} ${best:-no best kernel}"
    if [ -n "$run" ] && node bin/kernelevolve.js report "$run" >>"$LOG" 2>&1; then
      cp "$KERNELEVOLVE_RUNS/$run/report.md" "$OUT/runs/report-$spec.md" 2>/dev/null
    fi
    # Each failed candidate's reason and message (the report counts reasons only).
    [ -n "$run" ] && "$PY" - "$KERNELEVOLVE_RUNS/$run/run.sqlite" <<'PYEOF' 2>&1 | tee -a "$LOG"
import json, sqlite3, sys
for cid, raw in sqlite3.connect(sys.argv[1]).execute("select id, result_json from candidates where status = 'failed' order by sequence limit 4"):
    result = json.loads(raw or "{}")
    print(f"    {cid} {result.get('reason')}: {str(result.get('message', ''))[:600]}")
PYEOF
    if [ -n "$run" ] && [ "$code" = 0 ] && node bin/kernelevolve.js best "$run" -o "$OUT/kernels/$op.$EXT" >>"$LOG" 2>&1; then
      "$PY" -c 'import json,sys; p=sys.argv[1]; d=json.load(open(p)); d[sys.argv[2]]={"from":"optimize","run":sys.argv[3],"spec":sys.argv[4],"line":sys.argv[5]}; json.dump(d,open(p,"w"),indent=1)' \
        "$OUT/kernels/sources.json" "$op" "$run" "$spec" "$best"
    fi
  else
    say "optimize $spec skipped (node $NODE_OK, SKIP_OPTIMIZE ${SKIP_OPTIMIZE:-0}, $(elapsed)s elapsed)"
  fi
done <<< "$TARGETS"

# 3. Kernels: the optimised ones, else the seed baselines; then swap and time.
KERNELS=$("$PY" - "$OUT" "$PLATFORM" "$EXT" <<'PYEOF'
import json, os, sys
from pipelines.kernels.bench import default_kernels, seed_kernels
out, platform, ext = sys.argv[1:4]
sources = json.load(open(os.path.join(out, "kernels", "sources.json")))
kernels = {}
committed = default_kernels(platform)
for op, path in seed_kernels(platform).items():
    optimised = os.path.join(out, "kernels", f"{op}.{ext}")
    if os.path.isfile(optimised):
        kernels[op] = optimised
    elif op in committed:
        kernels[op] = committed[op]
        sources[op] = {"from": "committed optimised kernel (no optimize run here)", "path": committed[op]}
    else:
        kernels[op] = path
        sources[op] = {"from": "seed baseline (no optimize run)", "path": path}
json.dump(sources, open(os.path.join(out, "kernels", "sources.json"), "w"), indent=1)
print(json.dumps(kernels))
PYEOF
)
say "kernels: $KERNELS"
"$PY" -m pipelines.kernels bench --args-json "{\"device\": \"$DEVICE\", \"language\": \"none\", \"kernels\": $KERNELS, \"rounds\": ${ROUNDS:-10}, \"skip_failing\": true, \"options\": {\"aovift\": $AOVIFT_OPTIONS, \"exfm\": $EXFM_OPTIONS}, \"out\": \"$OUT/swap.json\"}" \
  > "$OUT/bench.out" 2>>"$LOG"
say "bench exit $?"
"$PY" - "$OUT" <<'PYEOF' | tee "$OUT/summary.md"
import json, os, sys
out = sys.argv[1]
result = json.load(open(os.path.join(out, "swap.json")))
sources = json.load(open(os.path.join(out, "kernels", "sources.json")))
machine = result["machine"]
print(f"machine: {machine.get('gpu') or machine['cpu']}, torch {machine['torch']}, {result['seconds']} s")
print("| pipeline | step | torch ms | swapped ms | speed-up | outputs match (max abs diff) | swapped ops in step |")
print("|---|---|---|---|---|---|---|")
for run in result["runs"]:
    for kind, item in run["results"].items():
        check = item["check"]
        print(f"| {run['pipeline']} | {kind} | {item['torch_ms']:.2f} | {item['swapped_ms']:.2f} | {item['speedup']:.2f}x | "
              f"{check['outputs_match']} ({check['max_abs_difference']:.2g}) | {', '.join(item['swapped_ops_in_step']) or '-'} |")
print()
for run in result["runs"]:
    for op, why in run.get("refused", {}).items():
        print(f"- {op}: REFUSED, left as torch: {why[:300]}")
for op, source in sorted(sources.items()):
    print(f"- {op}: {source.get('from')} {source.get('run', source.get('path', ''))} {source.get('line', '')}")
PYEOF
find "$OUT/runs" -name "*.sqlite*" -size +4M -delete 2>/dev/null
say "done in $(elapsed)s"
