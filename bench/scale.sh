#!/bin/bash
# scale.sh - how vbatch scales with worker threads and with the number of
# files, and what its journal costs.
#
#   (a) `vbatch process --deep` (decode analysis, no thumbnails) of 40
#       synthesised 10 s 1280x720 H.264 + AAC clips with --jobs 2 against
#       the same run with --jobs 1.
#   (b) the probe-only pass (`vbatch process --preset kling-clip`, no
#       --deep) on N and 10 x N files (default 1000 and 10000, hard links
#       to four clips synthesised with tests/lib/media.sh): the journal on
#       disk (OUT/.vbatch/state.db) against the same run with the journal
#       in memory (VBATCH_JOURNAL=memory; the reports are written all the
#       same), and the peak memory (RSS) at N and 10 x N files.
#
# Runs are taken in turns (jobs 1, jobs 2, jobs 1 ...; disk, memory ...)
# so that a change in the machine's load hits both sides alike; each
# figure is the median of REPEAT runs. CPU time (user + system) is shown
# next to the wall time: on a busy machine it tells load from cost.
#
# The 40 clips are made once and kept in ${BENCH_CACHE:-${TMPDIR:-/tmp}/vbatch-bench}
# (a few minutes the first time); everything else goes to a temporary
# folder removed at the end.
#
# Environment:
#   VBATCH       the binary (else ./vbatch, else vbatch on PATH)
#   REPEAT       runs of each measurement, median taken (default 3)
#   N            files in the small folder of (b) (default 1000)
#   PARTS        which parts to run: a, b or ab (default ab)
#   BENCH_CACHE  where the synthesised clips are kept
#
# Goals: (a) jobs 1 / jobs 2 >= 1.8x on a machine of 2 cores or more;
# (b) journal on disk / in memory < 1.05; peak memory at 10 x N files no
# more than 10% above that at N files.
set -u

REPEAT=${REPEAT:-3}
N=${N:-1000}
PARTS=${PARTS:-ab}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
bench_positive scale.sh REPEAT N
case $PARTS in
a | b | ab | ba) ;;
*) echo "scale.sh: PARTS must be a, b or ab, not '$PARTS'" >&2; exit 2 ;;
esac
media_sh=$here/../tests/lib/media.sh
if [ ! -r "$media_sh" ]; then
    echo "scale.sh: cannot find $media_sh" >&2
    exit 2
fi
if [ ! -x /usr/bin/time ]; then
    echo "scale.sh: /usr/bin/time not found (Debian package time)" >&2
    exit 2
fi
cache=${BENCH_CACHE:-${TMPDIR:-/tmp}/vbatch-bench}

bench_init scale.sh ffmpeg
mkdir -p "$cache" || exit 2

# ---- helpers ----

NCLIPS=40

# make_clip I: clip I of (a), a different hue and tone each
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

# timed [ENV=VALUE...] -- CMD...: run a vbatch command once (exit status 0
# or 1 expected); prints "WALL CPU PEAK_KIB"
timed() {
    local envs=() t0 rc wall
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    t0=$(now)
    env "${envs[@]}" /usr/bin/time -o "$tmp/time.out" -f '%U %S %M' "$@" > /dev/null
    rc=$?
    wall=$(elapsed "$t0")
    if [ $rc -gt 1 ]; then
        echo "scale.sh: vbatch exited with status $rc: $*" >&2
        return 1
    fi
    tail -n 1 "$tmp/time.out" | awk -v w="$wall" '{ printf "%s %.2f %d\n", w, $1 + $2, $3 }'
}

# col K LINE...: field K of each line
col() { local k=$1; shift; printf '%s\n' "$@" | awk -v k="$k" '{ print $k }'; }
# med K LINE...: the median of field K
med() { local k=$1; shift; median $(col "$k" "$@"); }
# runs_of K LINE...: field K of each line, on one line
runs_of() { local k=$1; shift; col "$k" "$@" | tr '\n' ' ' | sed 's/ $//'; }

# ---- set up ----

echo "vbatch:  $vbatch (from $how)"
"$vbatch" --version | head -n 2 | sed 's/^/         /'
echo "machine: $(nproc) cores, $(uname -sr); load average now: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"
echo "runs:    $REPEAT of each (median), taken in turns"

# ---- (a) deep analysis: --jobs 2 against --jobs 1 ----

if [[ $PARTS == *a* ]]; then
    echo
    pids=()
    for ((i = 1; i <= NCLIPS; i++)); do
        make_clip "$i" &
        pids+=($!)
        if [ ${#pids[@]} -ge 2 ]; then
            wait "${pids[0]}" || { echo "scale.sh: cannot make clip" >&2; exit 1; }
            pids=("${pids[@]:1}")
        fi
    done
    for p in "${pids[@]}"; do
        wait "$p" || { echo "scale.sh: cannot make clip" >&2; exit 1; }
    done
    mkdir -p "$tmp/clips"
    for ((i = 1; i <= NCLIPS; i++)); do
        f=$(printf 'scale-720p-%02d.mp4' "$i")
        ln "$cache/$f" "$tmp/clips/$f" 2>/dev/null || cp "$cache/$f" "$tmp/clips/$f" || exit 1
    done
    printf '[thumbnails]\nenabled = false\n' > "$tmp/deep.ini"
    echo "(a) --deep on $NCLIPS clips of 10 s 1280x720 H.264 + AAC"
    deep() { # JOBS
        rm -rf "$tmp/out-a"
        timed -- "$vbatch" process "$tmp/clips" --deep --preset default --config "$tmp/deep.ini" \
            --output "$tmp/out-a" --quiet --jobs "$1"
    }
    j1=(); j2=()
    for ((r = 1; r <= REPEAT; r++)); do
        t=$(deep 1) || exit 1
        j1+=("$t")
        t=$(deep 2) || exit 1
        j2+=("$t")
    done
    w1=$(med 1 "${j1[@]}"); w2=$(med 1 "${j2[@]}")
    echo "    --jobs 1: $w1 s wall, $(med 2 "${j1[@]}") s CPU   runs: $(runs_of 1 "${j1[@]}")"
    echo "    --jobs 2: $w2 s wall, $(med 2 "${j2[@]}") s CPU   runs: $(runs_of 1 "${j2[@]}")"
    awk -v a="$w1" -v b="$w2" 'BEGIN { if (b <= 0) { print "    speed-up: n/a"; exit }
        r = a / b; printf "    speed-up (jobs 1 / jobs 2): %.2fx (goal >= 1.8x: %s)\n", r,
                          (r >= 1.8) ? "met" : "NOT met" }'
    rm -rf "$tmp/out-a" "$tmp/clips"
fi

# ---- (b) probe-only: the journal's cost, memory against the number of files ----

if [[ $PARTS == *b* ]]; then
    echo
    clips=(h264_aac_720p.mp4 vertical_1080x1920.mp4 silent_video.mp4 hevc_hdr10.mp4)
    # shellcheck source=tests/lib/media.sh
    . "$media_sh"
    mkdir -p "$tmp/media"
    for c in "${clips[@]}"; do
        media_make "$tmp/media" "$c" || { echo "scale.sh: cannot make $c" >&2; exit 1; }
    done
    big=$((N * 10))
    bench_link_folder "$tmp/media" "$tmp/in-$N" "$N" "${clips[@]}" || exit 1
    bench_link_folder "$tmp/media" "$tmp/in-$big" "$big" "${clips[@]}" || exit 1
    # Each run writes a new output folder, all removed at the end: on ext4
    # a run made right after thousands of folders were deleted spends much
    # of its time in the kernel finding inodes to reuse, whichever side it is.
    nrun=0
    probe() { # COUNT disk|memory
        local mode=()
        [ "$2" = memory ] && mode=(VBATCH_JOURNAL=memory)
        nrun=$((nrun + 1))
        timed "${mode[@]}" -- "$vbatch" process "$tmp/in-$1" --preset kling-clip \
            --output "$tmp/out-b$nrun" --quiet
    }
    declare -A rss
    for n in "$N" "$big"; do
        echo "(b) probe-only pass on $n files (hard links to ${clips[*]})"
        d=(); m=()
        for ((r = 1; r <= REPEAT; r++)); do
            probe "$n" disk > "$tmp/t" || exit 1
            d+=("$(cat "$tmp/t")")
            probe "$n" memory > "$tmp/t" || exit 1
            m+=("$(cat "$tmp/t")")
        done
        wd=$(med 1 "${d[@]}"); wm=$(med 1 "${m[@]}")
        cd_=$(med 2 "${d[@]}"); cm=$(med 2 "${m[@]}")
        rss[$n]=$(med 3 "${d[@]}")
        echo "    journal on disk:   $wd s wall, $cd_ s CPU   runs: $(runs_of 1 "${d[@]}")"
        echo "    journal in memory: $wm s wall, $cm s CPU   runs: $(runs_of 1 "${m[@]}")"
        awk -v a="$wd" -v b="$wm" -v ca="$cd_" -v cb="$cm" 'BEGIN {
            if (b <= 0 || cb <= 0) { print "    journal cost: n/a"; exit }
            r = (a / b - 1) * 100; c = (ca / cb - 1) * 100
            printf "    journal cost: %+.1f%% wall (goal < 5%%: %s), %+.1f%% CPU\n", r,
                   (r < 5) ? "met" : "NOT met", c }'
        awk -v k="${rss[$n]}" 'BEGIN { printf "    peak memory (journal on disk): %.1f MiB\n", k / 1024 }'
    done
    awk -v a="${rss[$N]}" -v b="${rss[$big]}" -v n="$N" -v m="$big" 'BEGIN {
        if (a <= 0) { print "peak memory growth: n/a"; exit }
        g = (b / a - 1) * 100
        printf "peak memory, %d against %d files: %+.1f%% (goal <= +10%%: %s)\n", m, n, g,
               (g <= 10) ? "met" : "NOT met" }'
fi
