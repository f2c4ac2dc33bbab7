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
for v in N MAX_CONCURRENT RPM; do
    case ${!v} in
    '' | *[!0-9]* | 0) echo "generate-baseline.sh: $v must be a positive whole number, not '${!v}'" >&2; exit 2 ;;
    esac
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export KLING_MOCK=$here/../tests/lib/mock_kling.py
export KLING_CACHE=${TMPDIR:-/tmp}/vbatch-mock-kling-media
PYTHON3=${PYTHON3:-python3}
. "$here/../tests/lib/kling.sh"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vbatch-bench.XXXXXX") || exit 2
trap 'kling_stop; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM

# Benchmark keys, made up for the run
KLING_ACCESS_KEY=bench-ak-$$
KLING_SECRET_KEY=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
export KLING_ACCESS_KEY KLING_SECRET_KEY

kling_jobs_csv "$tmp/jobs.csv" "$N" || exit 2
kling_start "$tmp/mock" --gen-time "$GEN_TIME" --max-concurrent "$MAX_CONCURRENT" \
    --rpm "$RPM" --url-ttl 300 || exit 2

# lower bound: creates paced at RPM and at most MAX_CONCURRENT tasks in
# flight, each GEN_TIME long; then the last task's generation
lower=$(awk -v n="$N" -v c="$MAX_CONCURRENT" -v r="$RPM" -v g="$GEN_TIME" 'BEGIN {
    a = (n - 1) * 60 / r; w = int((n + c - 1) / c) - 1; b = w * g
    printf "%.1f", (a > b ? a : b) + g }')

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
