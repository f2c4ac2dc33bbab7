#!/bin/bash
# generate.sh [N] - vbatch generate against the mock Kling server with an
# account's limits (each task GEN_TIME s to generate, MAX_CONCURRENT tasks
# at once, RPM creates per minute), next to the asyncio baseline
# (bench/generate-baseline.py: a semaphore, sleep pacing, polling every
# 5 s) on the same mock in the same run. Prints, for each: wall time
# (median of RUNS), CPU time, peak RSS, and the ratio to the lower bound
# those limits allow; then baseline / vbatch. vbatch downloads every video
# and probes and checks it (preset default) while the rest generate.
#
# Goals (issue 5): vbatch within 5% of the lower bound, CPU < 2 s, peak
# memory < 32 MiB. Peak RSS counts the shared libraries vbatch maps
# (FFmpeg, libvips ...): the figure of `vbatch --version` is printed too,
# and the private (anonymous) memory is sampled from /proc (10 Hz).
#
# Environment: GEN_TIME (2), MAX_CONCURRENT (20), RPM (600), RUNS (3),
# BASELINE (1: also run the baseline), VBATCH (the binary; default
# ./vbatch from the build folder).
set -u

N=${1:-500}
GEN_TIME=${GEN_TIME:-2}
MAX_CONCURRENT=${MAX_CONCURRENT:-20}
RPM=${RPM:-600}
RUNS=${RUNS:-3}
BASELINE=${BASELINE:-1}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
bench_init generate.sh python3
bench_positive generate.sh N MAX_CONCURRENT RPM RUNS
export KLING_MOCK=$here/../tests/lib/mock_kling.py
export KLING_CACHE=${TMPDIR:-/tmp}/vbatch-mock-kling-media
PYTHON3=${PYTHON3:-python3}
. "$here/../tests/lib/kling.sh"
trap 'kling_stop; rm -rf "$tmp"' EXIT

KLING_ACCESS_KEY=bench-ak-$$
KLING_SECRET_KEY=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
export KLING_ACCESS_KEY KLING_SECRET_KEY

kling_jobs_csv "$tmp/jobs.csv" "$N" || exit 2
kling_start "$tmp/mock" --gen-time "$GEN_TIME" --max-concurrent "$MAX_CONCURRENT" \
    --rpm "$RPM" --url-ttl 300 || exit 2
cat >"$tmp/kling.ini" <<EOF
[provider.kling]
base_url = $KLING_URL
EOF

lower=$(awk -v n="$N" -v c="$MAX_CONCURRENT" -v r="$RPM" -v g="$GEN_TIME" 'BEGIN {
    a = (n - 1) * 60 / r; w = int((n + c - 1) / c) - 1; b = w * g
    printf "%.2f", (a > b ? a : b) + g }')
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "generate.sh: $N jobs; limits $MAX_CONCURRENT concurrent, $RPM creates/min, ${GEN_TIME} s per task"
echo "lower bound: ${lower} s; vbatch: $how; $RUNS run(s) each"
/usr/bin/time -f '%M' -o "$tmp/idle" "$vbatch" --version >/dev/null
echo "vbatch --version peak RSS (shared libraries): $(( $(cat "$tmp/idle") / 1024 )) MiB"

: >"$tmp/v.wall"; : >"$tmp/v.cpu"; : >"$tmp/v.rss"; : >"$tmp/v.anon"
for r in $(seq "$RUNS"); do
    kling_ctl reset >/dev/null
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "$vbatch" generate "$tmp/jobs.csv" \
        --config "$tmp/kling.ini" --preset default --max-concurrent "$MAX_CONCURRENT" \
        --rpm "$RPM" --output "$tmp/out$r" --quiet &
    tp=$!
    # The private (anonymous) part of the RSS, sampled: the rest is the
    # shared libraries' pages.
    anon=0
    while kill -0 "$tp" 2>/dev/null; do
        vp=$(pgrep -P "$tp" | head -1)
        if [ -n "$vp" ]; then
            an=$(awk '/^RssAnon:/ { print $2 }' "/proc/$vp/status" 2>/dev/null)
            [ -n "$an" ] && [ "$an" -gt "$anon" ] && anon=$an
        fi
        sleep 0.1
    done
    wait "$tp"
    rc=$?
    read -r wall user sys rss <"$tmp/t"
    kling_stats "$tmp/stats$r.json"
    echo "  vbatch run $r: exit $rc, ${wall} s wall, $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') s CPU, $((rss / 1024)) MiB peak RSS ($((anon / 1024)) MiB private); mock: $(kling_summary "$tmp/stats$r.json")"
    echo "$wall" >>"$tmp/v.wall"
    awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }' >>"$tmp/v.cpu"
    echo "$rss" >>"$tmp/v.rss"
    echo "$anon" >>"$tmp/v.anon"
    rm -rf "$tmp/out$r"
done
vw=$(median <"$tmp/v.wall"); vc=$(median <"$tmp/v.cpu"); vr=$(median <"$tmp/v.rss")
va=$(median <"$tmp/v.anon")
echo "vbatch: median ${vw} s wall ($(awk -v a="$vw" -v b="$lower" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }') vs the bound), ${vc} s CPU, $((vr / 1024)) MiB peak RSS, $((${va%.*} / 1024)) MiB of it private"

if [ "$BASELINE" = 1 ]; then
    : >"$tmp/b.wall"; : >"$tmp/b.cpu"
    for r in $(seq "$RUNS"); do
        kling_ctl reset >/dev/null
        /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "$PYTHON3" "$here/generate-baseline.py" \
            "$tmp/jobs.csv" --base-url "$KLING_URL" --output "$tmp/bout$r" \
            --max-concurrent "$MAX_CONCURRENT" --rpm "$RPM" --poll 5 \
            --summary "$tmp/bsum$r.json" >/dev/null
        read -r wall user sys rss <"$tmp/t"
        echo "  baseline run $r: ${wall} s wall, $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') s CPU, $((rss / 1024)) MiB peak RSS"
        echo "$wall" >>"$tmp/b.wall"
        awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }' >>"$tmp/b.cpu"
        rm -rf "$tmp/bout$r"
    done
    bw=$(median <"$tmp/b.wall"); bc=$(median <"$tmp/b.cpu")
    echo "baseline: median ${bw} s wall ($(awk -v a="$bw" -v b="$lower" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }') vs the bound), ${bc} s CPU"
    echo "ratio baseline / vbatch (wall): $(awk -v a="$bw" -v b="$vw" 'BEGIN { printf "%.2fx", a / b }')"
fi
