#!/usr/bin/env bash
# On the GPU host (one device call): Redis, two fleet workers (cuda and triton) and one campaign per platform over
# the same seed specs, through the product's own CLI; then each campaign's table, every run's report and a fleet
# snapshot go to $OUT. Also runs the GPU test files of tests/python on the real GPU meanwhile.
#   OUT=$OUT bash scripts/gpu/fleet_campaign.sh       (after `source scripts/gpu/unpack.sh`)
# Redis: Debian's redis-server binary and the three libraries Ubuntu lacks, carried in .carry/redis (see docs/fleet.md).
# Knobs: SPECS (default 6 seed specs), BUDGET_PER_SPEC (2), CAMPAIGN_TIMEOUT (300 s), PYTEST_TIMEOUT (300 s).
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${OUT:?set OUT}"
STAGE="$(mktemp -d)"
SPECS="${SPECS:-layernorm rmsnorm row-softmax gelu row-sum-squares embedding-bag-sum}"
PER_SPEC="${BUDGET_PER_SPEC:-2}"
count=$(echo $SPECS | wc -w)
export KERNELEVOLVE_RUNS="$STAGE/runs" KERNELEVOLVE_CACHE=/tmp/ke-cache PYTHONUNBUFFERED=1
mkdir -p "$STAGE/fleet" "$STAGE/gpu-tests" "$KERNELEVOLVE_RUNS"
log="$STAGE/fleet/log.txt"

# The GPU test files, on the real GPU, while the campaigns run (they check correctness; the campaigns' timings share the GPU).
( cd "$PWD" && PYTHONPATH=python timeout "${PYTEST_TIMEOUT:-300}" python3 -m pytest -q -p no:cacheprovider -o addopts= \
    --junitxml="$STAGE/gpu-tests/junit.xml" tests/python/test_gpu_cheats.py tests/python/test_gpu_device_reference.py \
    tests/python/test_gpu_inputs_device.py tests/python/test_gpu_modelnew_triton.py tests/python/test_triton_seeds.py \
    > "$STAGE/gpu-tests/pytest.txt" 2>&1; echo "pytest exit $?" >> "$STAGE/gpu-tests/pytest.txt" ) &
tests_pid=$!

export LD_LIBRARY_PATH="$PWD/.carry/redis${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
mkdir -p /tmp/ke-redis
"$PWD/.carry/redis/redis-server" --port 6390 --bind 127.0.0.1 --dir /tmp/ke-redis --appendonly yes --save "" --daemonize no \
  > "$STAGE/fleet/redis.log" 2>&1 &
redis_pid=$!
sleep 1
QUEUE=redis://127.0.0.1:6390
if kill -0 "$redis_pid" 2>/dev/null; then
  echo "redis up" | tee -a "$log"
  node bin/kernelevolve.js worker --queue "$QUEUE" --platform cuda --tag h100 > "$STAGE/fleet/worker-cuda.txt" 2>&1 &
  wc=$!
  node bin/kernelevolve.js worker --queue "$QUEUE" --platform triton --tag h100 > "$STAGE/fleet/worker-triton.txt" 2>&1 &
  wt=$!
  sleep 5
  node bin/kernelevolve.js fleet --queue "$QUEUE" --json > "$STAGE/fleet/fleet-start.json" 2>&1
  pids=()
  for platform in cuda triton; do
    args=(); for spec in $SPECS; do args+=(--spec "$spec"); done
    ( s=$(date +%s); timeout "${CAMPAIGN_TIMEOUT:-300}" node bin/kernelevolve.js campaign start "gpu-$platform" "${args[@]}" \
        --platform "$platform" --queue "$QUEUE" --tag h100 --budget $((count * PER_SPEC)) --parallel 3 --trials 2 --min-time-ms 50 \
        > "$STAGE/fleet/campaign-$platform.txt" 2>&1
      echo "campaign $platform exit $? in $(( $(date +%s) - s ))s" >> "$log" ) &
    pids+=($!)
  done
  sleep 20; node bin/kernelevolve.js fleet --queue "$QUEUE" --json > "$STAGE/fleet/fleet-busy.json" 2>&1
  wait "${pids[@]}"
  node bin/kernelevolve.js fleet --queue "$QUEUE" --json > "$STAGE/fleet/fleet-end.json" 2>&1
  kill -TERM "$wc" "$wt" 2>/dev/null; sleep 3
  kill "$redis_pid" 2>/dev/null
else
  echo "redis did not start (see redis.log): plain optimize runs instead" | tee -a "$log"
  for platform in cuda triton; do
    for spec in $(echo $SPECS | cut -d' ' -f1-4); do
      s=$(date +%s)
      timeout 70 node bin/kernelevolve.js optimize "$spec" --platform "$platform" --budget 3 --time 60s --min-time-ms 50 \
        > "$STAGE/fleet/optimize-$spec-$platform.txt" 2>&1
      echo "optimize $spec $platform exit $? in $(( $(date +%s) - s ))s" | tee -a "$log"
    done
  done
fi
for run in "$KERNELEVOLVE_RUNS"/*/; do
  [ -f "$run/run.sqlite" ] || continue
  id=$(basename "$run")
  timeout 60 node bin/kernelevolve.js report "$id" > "$STAGE/fleet/report-$id.txt" 2>&1
  cp "$run/report.md" "$STAGE/fleet/report-$id.md" 2>/dev/null
done
cp -r "$KERNELEVOLVE_RUNS/campaigns" "$STAGE/fleet/" 2>/dev/null
wait "$tests_pid"
tar -czf "$OUT/fleet.tgz" -C "$STAGE" fleet
tar -czf "$OUT/gpu-tests.tgz" -C "$STAGE" gpu-tests
tail -3 "$STAGE/gpu-tests/pytest.txt"; cat "$log"
