#!/bin/bash
# generate-baseline.sh [N] - the baseline half of bench/generate.sh on its
# own: N text-to-video jobs (default 500) run by bench/generate-baseline.py
# against the mock Kling server with the benchmark's account limits (each
# task 2 s to generate, 20 tasks at once, 600 creates per minute). Prints
# the wall time, the lower bound those limits allow, and what the mock saw
# (peak concurrency, creates per external id, rejections).
#
# Environment: GEN_TIME (2), MAX_CONCURRENT (20), RPM (600), POLL (5).
# Everything is made under a temporary folder in ${TMPDIR:-/tmp} and
# removed at the end (the mock's clips are cached in
# ${TMPDIR:-/tmp}/vbatch-mock-kling-media).
set -u

N=${1:-500}
GEN_TIME=${GEN_TIME:-2}
MAX_CONCURRENT=${MAX_CONCURRENT:-20}
RPM=${RPM:-600}
POLL=${POLL:-5}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
bench_positive generate-baseline.sh N MAX_CONCURRENT RPM

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vbatch-bench.XXXXXX") || exit 2
trap 'exit 130' INT TERM
bench_kling_mock "$N" "$GEN_TIME" "$MAX_CONCURRENT" "$RPM"

echo "baseline: $N jobs, limits $MAX_CONCURRENT concurrent, $RPM rpm, ${GEN_TIME} s per task, polling every ${POLL} s"
/usr/bin/env time -f '%e s wall, %U s user, %S s sys, %M KiB peak' -o "$tmp/time" \
    "$PYTHON3" "$here/generate-baseline.py" "$tmp/jobs.csv" --base-url "$KLING_URL" \
    --output "$tmp/out" --max-concurrent "$MAX_CONCURRENT" --rpm "$RPM" --poll "$POLL" \
    --summary "$tmp/summary.json"
rc=$?
echo "baseline resources: $(cat "$tmp/time")"
kling_stats "$tmp/stats.json" && kling_summary "$tmp/stats.json"
wall=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["wall_seconds"])' "$tmp/summary.json" 2>/dev/null)
echo "lower bound ${lower} s; baseline ${wall:-?} s ($(awk -v a="${wall:-0}" -v b="$lower" 'BEGIN { printf "%.2f", a / b }')x the bound)"
exit $rc
