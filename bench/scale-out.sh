#!/bin/bash
# scale-out.sh - vbatch on several workers sharing a Redis Streams queue
# (issue 15): what a second worker buys, what the queue costs per item,
# and how close workers sharing one account's limits come to the least
# time those limits allow.
#
#   (a) `--deep` analysis (no thumbnails) of 40 synthesised 10 s 1280x720
#       H.264 + AAC clips, enqueued and drained by 2 workers (one process
#       each, --jobs 1) against 1 worker: the speed-up. Then the queue's
#       overhead for probe-only items (--preset kling-clip, no --deep): N
#       files (hard links to four clips) through enqueue + 1 worker
#       (--jobs 1) against a local `vbatch process --jobs 1` of the same
#       files, as milliseconds per item and as a share of the local run.
#   (b) G generation jobs (default 500) enqueued and split over 3 workers
#       (--jobs 1 each) sharing MAX_CONCURRENT (20) tasks at once and RPM
#       (600) creates a minute in Redis, against the mock Kling server
#       (tests/lib/mock_kling.py, each task GEN_TIME = 2 s, the account's
#       limits enforced there too): wall time from the first worker's start
#       to the last one's drained exit, against the lower bound of
#       bench_kling_mock (common.sh); and what the mock counted: its peak
#       concurrency and creates a minute, creates refused for the limits,
#       creates per external_task_id.
#
# A redis-server of the script's own runs on a free 127.0.0.1 port (no
# persistence), removed at the end with everything else. Runs of (a) are
# taken in turns; each figure is the median of REPEAT runs.
#
# Environment: VBATCH (the binary; else ./vbatch, else vbatch on PATH),
# REPEAT (3), N (1000), G (500), GEN_TIME (2), MAX_CONCURRENT (20), RPM
# (600), PARTS (a, b or ab; default ab; p: only (a)'s probe-only part), BENCH_CACHE (where the 40 clips
# are kept between runs, as scale.sh's).
#
# Goals: (a) 2 workers / 1 worker >= 1.8x on 2 cores; the queue's
# overhead under 1 ms per probe-only item; (b) within 5% of the bound.
set -u

REPEAT=${REPEAT:-3}
N=${N:-1000}
G=${G:-500}
GEN_TIME=${GEN_TIME:-2}
MAX_CONCURRENT=${MAX_CONCURRENT:-20}
RPM=${RPM:-600}
PARTS=${PARTS:-ab}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
bench_positive scale-out.sh REPEAT N G MAX_CONCURRENT RPM
case $PARTS in
a | b | p | ab | ba | pb | bp) ;;
*) echo "scale-out.sh: PARTS must be a, b, ab, p or pb, not '$PARTS'" >&2; exit 2 ;;
esac
cache=${BENCH_CACHE:-${TMPDIR:-/tmp}/vbatch-bench}
bench_init scale-out.sh ffmpeg redis-server redis-cli python3
mkdir -p "$cache" || exit 2

# ---- Redis ----
redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/redis"
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$tmp/redis" > "$tmp/redis/log" 2>&1 &
redis_pid=$!
stop_all() { kill "$redis_pid" 2>/dev/null; wait "$redis_pid" 2>/dev/null; }
trap 'stop_all; rm -rf "$tmp"' EXIT
for ((i = 0; i < 100; i++)); do
    [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && break
    sleep 0.1
done
redis=redis://127.0.0.1:$redis_port/0
nq=0
newq() { nq=$((nq + 1)); Q=$redis/b$nq; }

# drain QUEUE OUT WORKERS: that many workers (--jobs 1, one process
# each) until the queue is done; prints the wall seconds
drain() {
    local t0 pids=() w rc=0
    t0=$(now)
    for ((w = 1; w <= $3; w++)); do
        "$vbatch" worker --queue "$1" --output "$2" --jobs 1 --drain --quiet --name "w$w" \
            2>> "$tmp/workers.err" &
        pids+=($!)
    done
    for w in "${pids[@]}"; do wait "$w" || rc=$?; done
    [ $rc -eq 0 ] || { echo "scale-out.sh: a worker exited with status $rc" >&2; tail -5 "$tmp/workers.err" >&2; return 1; }
    elapsed "$t0"
}
secs() { local t0; t0=$(now); "$@" > /dev/null 2>> "$tmp/run.err" || [ $? -le 1 ] || return 1; elapsed "$t0"; }

echo "vbatch:  $vbatch (from $how)"
"$vbatch" --version | head -n 1 | sed 's/^/         /'
echo "machine: $(nproc) cores, $(uname -sr); load average now: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "redis:   $(redis-server --version | awk '{ print $3 }') on 127.0.0.1:$redis_port"

# ---- (a) ----
if [[ $PARTS == *a* ]]; then
    echo
    make_clip() {
        local f
        f=$(printf '%s/scale-720p-%02d.mp4' "$cache" "$1")
        [ -s "$f" ] && return 0
        ffmpeg -nostdin -hide_banner -loglevel error -y \
            -f lavfi -i testsrc2=size=1280x720:rate=25 \
            -f lavfi -i "sine=frequency=$((200 + $1 * 15)):sample_rate=48000" \
            -t 10 -vf "hue=h=$(($1 * 29 % 360))" -c:v libx264 -preset veryfast -g 50 \
            -pix_fmt yuv420p -c:a aac -b:a 128k -ac 2 -movflags +faststart "$f.part.mp4" &&
            mv -f "$f.part.mp4" "$f"
    }
    for ((i = 1; i <= 40; i++)); do make_clip "$i" || exit 1; done
    mkdir -p "$tmp/clips"
    for ((i = 1; i <= 40; i++)); do
        f=$(printf 'scale-720p-%02d.mp4' "$i")
        ln "$cache/$f" "$tmp/clips/$f" 2>/dev/null || cp "$cache/$f" "$tmp/clips/$f" || exit 1
    done
    printf '[thumbnails]\nenabled = false\n' > "$tmp/deep.ini"
    echo "(a) --deep on 40 clips of 10 s 1280x720 H.264 + AAC, workers of --jobs 1"
    deep() { # WORKERS (the queue: $Q, new, made by newq out of this subshell)
        "$vbatch" enqueue "$tmp/clips" --deep --preset default --config "$tmp/deep.ini" \
            --queue "$Q" 2> /dev/null || return 1
        rm -rf "$tmp/out-a"
        drain "$Q" "$tmp/out-a" "$1"
    }
    one=(); two=()
    for ((r = 1; r <= REPEAT; r++)); do
        newq; t=$(deep 1) || exit 1; one+=("$t")
        newq; t=$(deep 2) || exit 1; two+=("$t")
    done
    w1=$(median "${one[@]}"); w2=$(median "${two[@]}")
    echo "    1 worker:  $w1 s   runs: ${one[*]}"
    echo "    2 workers: $w2 s   runs: ${two[*]}"
    awk -v a="$w1" -v b="$w2" 'BEGIN { r = a / b; printf "    speed-up (1 worker / 2 workers): %.2fx (goal >= 1.8x: %s)\n", r, (r >= 1.8) ? "met" : "NOT met" }'
    rm -rf "$tmp/out-a" "$tmp/clips"
fi
if [[ $PARTS == *a* || $PARTS == *p* ]]; then
    echo
    clips=(h264_aac_720p.mp4 vertical_1080x1920.mp4 silent_video.mp4 hevc_hdr10.mp4)
    # shellcheck source=tests/lib/media.sh
    . "$here/../tests/lib/media.sh"
    mkdir -p "$tmp/media"
    for c in "${clips[@]}"; do media_make "$tmp/media" "$c" || exit 1; done
    bench_link_folder "$tmp/media" "$tmp/in" "$N" "${clips[@]}" || exit 1
    echo "(a) probe-only (--preset kling-clip) on $N files: the queue against a local run, --jobs 1"
    loc=(); enq=(); wrk=()
    for ((r = 1; r <= REPEAT; r++)); do
        rm -rf "$tmp/out-l"
        t=$(secs "$vbatch" process "$tmp/in" --preset kling-clip --jobs 1 --output "$tmp/out-l" --quiet) || exit 1
        loc+=("$t")
        newq
        t=$(secs "$vbatch" enqueue "$tmp/in" --preset kling-clip --queue "$Q") || exit 1
        enq+=("$t")
        rm -rf "$tmp/out-q"
        t=$(drain "$Q" "$tmp/out-q" 1) || exit 1
        wrk+=("$t")
    done
    l=$(median "${loc[@]}"); e=$(median "${enq[@]}"); k=$(median "${wrk[@]}")
    echo "    local process: $l s   runs: ${loc[*]}"
    echo "    enqueue:       $e s   runs: ${enq[*]}"
    echo "    1 worker:      $k s   runs: ${wrk[*]}"
    awk -v l="$l" -v e="$e" -v k="$k" -v n="$N" 'BEGIN {
        o = (k - l) / n * 1000; oe = (e + k - l) / n * 1000
        printf "    overhead per item: %+.3f ms worker (goal < 1 ms: %s), %+.3f ms with the enqueue; worker / local %.2f, (enqueue + worker) / local %.2f\n",
               o, (o < 1) ? "met" : "NOT met", oe, k / l, (e + k) / l }'
    rm -rf "$tmp/out-l" "$tmp/out-q" "$tmp/in" "$tmp/media"
fi

# ---- (b) ----
if [[ $PARTS == *b* ]]; then
    echo
    bench_kling_mock "$G" "$GEN_TIME" "$MAX_CONCURRENT" "$RPM"
    trap 'kling_stop; stop_all; rm -rf "$tmp"' EXIT
    # kling_jobs_csv's jobs are kling-v2-6 (the legacy style); the same
    # jobs on the current style (batch lookups) are bench/generate.sh's.
    cat > "$tmp/gen.ini" <<EOI
[provider.kling]
base_url = $KLING_URL
[generate]
max_concurrent = $MAX_CONCURRENT
rpm = $RPM
EOI
    echo "(b) $G generation jobs, 3 workers (--jobs 1) sharing $MAX_CONCURRENT at once / $RPM a minute, $GEN_TIME s a task"
    newq
    "$vbatch" enqueue "$tmp/jobs.csv" --config "$tmp/gen.ini" --queue "$Q" 2> /dev/null || exit 1
    t=$(drain "$Q" "$tmp/out-g" 3) || exit 1
    kling_stats "$tmp/gen-stats.json"
    echo "    wall: $t s; lower bound: $lower s"
    awk -v t="$t" -v b="$lower" 'BEGIN { r = t / b; printf "    wall / bound: %.3f (goal <= 1.05: %s)\n", r, (r <= 1.05) ? "met" : "NOT met" }'
    echo "    $(kling_summary "$tmp/gen-stats.json")"
    "$vbatch" report --queue "$Q" --output "$tmp/out-g" > /dev/null 2>&1
    python3 - "$tmp/out-g/summary/batch_report.json" "$G" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
seqs = [i["seq"] for i in d["items"]]
ok = sum(i["status"] in ("done", "qc_failed") for i in d["items"])
print("    report --queue: %d items (%d distinct, %d made) of %s" % (len(seqs), len(set(seqs)), ok, sys.argv[2]))
PY
fi
