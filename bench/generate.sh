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
# (FFmpeg's; libvips and libavfilter are in the media module, which
# generate does not load without input images): the figure of `vbatch --version` is printed too,
# and the private (anonymous) memory is sampled from /proc (10 Hz). Two
# references are measured in the same run: the floor of any process that
# probes such a video with libavformat (a minimal C program; needs cc and
# libavformat-dev), and the CPU time this file system takes to create the
# layout's files and folders (set TMPDIR to compare file systems).
#
# API=current (issue 13): Kling's current API style (the model in the
# path, batch lookups by task_ids) with an account limit that counts
# every request, polls too (the mock's --rpm-scope all), and the
# baseline at each polling interval of POLLS ("5 1 0.25"): for each, wall
# time against the bound, API requests per task and CPU; vbatch must win
# on all three against every interval.
#
# Environment: GEN_TIME (2), MAX_CONCURRENT (20), RPM (600), RUNS (3),
# BASELINE (1: also run the baseline), API (legacy, or current), POLLS
# (the baseline's polling intervals: 5, or "5 1 0.25" with API=current),
# VBATCH (the binary; default ./vbatch from the build folder).
set -u

N=${1:-500}
GEN_TIME=${GEN_TIME:-2}
MAX_CONCURRENT=${MAX_CONCURRENT:-20}
RPM=${RPM:-600}
RUNS=${RUNS:-3}
BASELINE=${BASELINE:-1}
API=${API:-legacy}
case $API in
legacy) POLLS=${POLLS:-5} ;;
current) POLLS=${POLLS:-5 1 0.25}; export KLING_MOCK_ARGS="--rpm-scope all" ;;
*) echo "generate.sh: API must be legacy or current" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
bench_init generate.sh python3
bench_positive generate.sh N MAX_CONCURRENT RPM RUNS
bench_kling_mock "$N" "$GEN_TIME" "$MAX_CONCURRENT" "$RPM"
# The mock's limit counts creates only on the legacy run (and every
# request with API=current): vbatch is told the same.
if [ "$API" = legacy ]; then counts=creates; else counts=all; fi
cat >"$tmp/kling.ini" <<EOF
[generate]
rpm_counts = $counts
[provider.kling]
base_url = $KLING_URL
api = $API
EOF
# API requests per task, polls per task and downloads per task, from the
# mock's stats: reqs STATS.json. API requests are what the account's
# limit counts (creates, queries and lookups, lists, /account/costs, the
# creates refused for the rate among them); the video downloads go to the
# media URLs, which no limit counts, and the admin's requests are the
# bench's own.
reqs() {
    "$PYTHON3" -c 'import json, sys
r = json.load(open(sys.argv[1]))["requests"]; n = int(sys.argv[2])
t = sum(v for k, v in r.items() if k not in ("admin", "media")); q = sum(v for k, v in r.items() if k in ("query", "lookup"))
print("%.2f %.2f %.2f" % (t / n, q / n, r.get("media", 0) / n))' "$1" "$N"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "generate.sh: $N jobs; limits $MAX_CONCURRENT concurrent, $RPM creates/min, ${GEN_TIME} s per task"
echo "lower bound: ${lower} s; vbatch: $how; $RUNS run(s) each"
/usr/bin/time -f '%M' -o "$tmp/idle" "$vbatch" --version >/dev/null
echo "vbatch --version peak RSS (shared libraries): $(( $(cat "$tmp/idle") / 1024 )) MiB"

# The floor any process pays to probe these videos with FFmpeg's
# libraries: a C program that only opens and probes one of the mock's
# MP4s with libavformat (on Debian 12 it loads ~130 libraries).
clip=$(find "$KLING_CACHE" -name '*.mp4' | head -1)
cat >"$tmp/floor.c" <<'EOF_C'
#include <libavformat/avformat.h>
int main(int argc, char **argv)
{
    AVFormatContext *f = NULL;
    if (argc < 2 || avformat_open_input(&f, argv[1], NULL, NULL) < 0)
        return 1;
    int rc = avformat_find_stream_info(f, NULL) < 0;
    avformat_close_input(&f);
    return rc;
}
EOF_C
if [ -n "$clip" ] && ${CC:-cc} -O2 -o "$tmp/floor" "$tmp/floor.c" \
        $(pkg-config --cflags --libs libavformat libavutil 2>/dev/null) 2>/dev/null &&
    /usr/bin/time -f '%M' -o "$tmp/floor.rss" "$tmp/floor" "$clip"; then
    echo "floor: a C program that only probes one of these MP4s with libavformat: $(( $(cat "$tmp/floor.rss") / 1024 )) MiB peak RSS"
else
    echo "floor: not measured (no C compiler or libavformat-dev)"
fi

# What this file system charges for the layout's files and folders
# (per video: its folder, video/, metadata/, the video and two JSON
# files), measured in the same folder with a plain loop: on some file
# systems creating an inode costs a fraction of a millisecond.
"$PYTHON3" - "$tmp" "$N" >"$tmp/fs" <<'EOF_PY'
import os, sys, time
base, n = sys.argv[1], int(sys.argv[2])
d = os.path.join(base, "fs-cost")
os.mkdir(d)
t = time.process_time()
for i in range(n):
    v = os.path.join(d, "j%05d" % i)
    for sub in ("", "video", "metadata"):
        os.mkdir(os.path.join(v, sub) if sub else v)
    for f in ("video/j.mp4", "metadata/probe.json", "metadata/qc.json"):
        with open(os.path.join(v, f), "w") as fh:
            fh.write("x")
print("%.2f" % (time.process_time() - t))
EOF_PY
echo "file system: creating the layout's $((N * 6)) files and folders alone costs $(cat "$tmp/fs") s CPU here (plain loop)"
rm -rf "$tmp/fs-cost"

# One run of each side in turn (vbatch, then the baseline at each polling
# interval), RUNS times: the machine's noise falls on all of them alike.
vbatch_run() { # RUN
    local r=$1
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
    read -r wall user sys rss < <(tail -n 1 "$tmp/t")
    kling_stats "$tmp/stats$r.json"
    reqs "$tmp/stats$r.json" >>"$tmp/v.req"
    echo "  vbatch run $r: exit $rc, ${wall} s wall, $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') s CPU (user $user, system $sys), $((rss / 1024)) MiB peak RSS ($((anon / 1024)) MiB private); mock: $(kling_summary "$tmp/stats$r.json")"
    echo "$wall" >>"$tmp/v.wall"
    awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }' >>"$tmp/v.cpu"
    echo "$rss" >>"$tmp/v.rss"
    echo "$anon" >>"$tmp/v.anon"
    rm -rf "$tmp/out$r"
}

baseline_run() { # POLL RUN
    local poll=$1 r=$2
    kling_ctl reset >/dev/null
    /usr/bin/time -f '%e %U %S %M' -o "$tmp/t" "$PYTHON3" "$here/generate-baseline.py" \
        "$tmp/jobs.csv" --base-url "$KLING_URL" --output "$tmp/bout$r" \
        --max-concurrent "$MAX_CONCURRENT" --rpm "$RPM" --poll "$poll" \
        --summary "$tmp/bsum$r.json" >/dev/null 2>"$tmp/b.err"
    read -r wall user sys rss < <(tail -n 1 "$tmp/t")
    kling_stats "$tmp/bstats$r.json"
    reqs "$tmp/bstats$r.json" >>"$tmp/b$poll.req"
    echo "  baseline (polls every $poll s) run $r: ${wall} s wall, $(awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }') s CPU, $((rss / 1024)) MiB peak RSS; $(grep -c '^job ' "$tmp/b.err") job(s) failed"
    echo "$wall" >>"$tmp/b$poll.wall"
    awk -v u="$user" -v s="$sys" 'BEGIN { print u + s }' >>"$tmp/b$poll.cpu"
    rm -rf "$tmp/bout$r"
}

: >"$tmp/v.wall"; : >"$tmp/v.cpu"; : >"$tmp/v.rss"; : >"$tmp/v.anon"; : >"$tmp/v.req"
for poll in $POLLS; do : >"$tmp/b$poll.wall"; : >"$tmp/b$poll.cpu"; : >"$tmp/b$poll.req"; done
for r in $(seq "$RUNS"); do
    vbatch_run "$r"
    if [ "$BASELINE" = 1 ]; then
        for poll in $POLLS; do baseline_run "$poll" "$r"; done
    fi
done
vw=$(median <"$tmp/v.wall"); vc=$(median <"$tmp/v.cpu"); vr=$(median <"$tmp/v.rss")
va=$(median <"$tmp/v.anon")
vq=$(cut -d' ' -f1 <"$tmp/v.req" | median); vp=$(cut -d' ' -f2 <"$tmp/v.req" | median)
vd=$(cut -d' ' -f3 <"$tmp/v.req" | median)
echo "vbatch: median ${vw} s wall ($(awk -v a="$vw" -v b="$lower" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }') vs the bound), ${vc} s CPU, $((vr / 1024)) MiB peak RSS, $((${va%.*} / 1024)) MiB of it private; ${vq} API requests per task (${vp} of them polls; and ${vd} downloads)"

if [ "$BASELINE" = 1 ]; then
    for poll in $POLLS; do
        bw=$(median <"$tmp/b$poll.wall"); bc=$(median <"$tmp/b$poll.cpu")
        bq=$(cut -d' ' -f1 <"$tmp/b$poll.req" | median); bp=$(cut -d' ' -f2 <"$tmp/b$poll.req" | median)
        echo "baseline (polls every $poll s): median ${bw} s wall ($(awk -v a="$bw" -v b="$lower" 'BEGIN { printf "%+.1f%%", (a / b - 1) * 100 }') vs the bound), ${bc} s CPU, ${bq} API requests per task (${bp} of them polls)"
        echo "  baseline / vbatch: wall $(awk -v a="$bw" -v b="$vw" 'BEGIN { printf "%.2fx", a / b }'), CPU $(awk -v a="$bc" -v b="$vc" 'BEGIN { printf "%.2fx", a / b }'), requests per task $(awk -v a="$bq" -v b="$vq" 'BEGIN { if (b > 0) printf "%.2fx", a / b; else print "n/a" }')"
    done
fi
