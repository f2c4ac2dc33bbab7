#!/bin/bash
# probe.sh [N] - how fast `vbatch process` probes and gates a folder of N
# videos (default 1000), against a loop of ffprobe and one of mediainfo
# over the same files, how fast a second run into the same output folder
# is (every file unchanged, so skipped), and how much memory vbatch needs
# at N and 10*N.
#
# The folder holds N hard links to a mixed corpus synthesised with
# tests/lib/media.sh (H.264/AAC MP4, HEVC 10-bit MP4, VP9/Opus WebM,
# VP9 10-bit WebM, H.264 Matroska, MPEG-TS), so it costs no disk space.
# The floor is measured in the same run: bench/probe-floor.c, built here,
# only calls avformat_open_input on each file (and, a second time,
# avformat_find_stream_info too, as ffprobe does). Everything is made under
# a temporary folder in ${TMPDIR:-/tmp} and removed at the end.
#
# Environment:
#   VBATCH       the binary (else ./vbatch, else vbatch on PATH)
#   REPEAT       vbatch runs, median taken (default 5)
#   PEER_REPEAT  ffprobe/mediainfo loop runs, median taken (default 1)
#   MEM_SCALE    the memory run is also made at MEM_SCALE*N files
#                (default 10; skipped above 100000 files)
#
# Goals: ffprobe loop / vbatch >= 50x, mediainfo loop / vbatch >= 15x,
# unchanged rerun at least 2x faster than the first run,
# vbatch peak memory < 64 MiB at any N.
set -u

N=${1:-1000}
REPEAT=${REPEAT:-5}
PEER_REPEAT=${PEER_REPEAT:-1}
MEM_SCALE=${MEM_SCALE:-10}
for v in N REPEAT PEER_REPEAT MEM_SCALE; do
    case ${!v} in
    '' | *[!0-9]* | 0) echo "probe.sh: $v must be a positive whole number, not '${!v}'" >&2; exit 2 ;;
    esac
done

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
media_sh=$here/../tests/lib/media.sh
if [ ! -r "$media_sh" ]; then
    echo "probe.sh: cannot find $media_sh" >&2
    exit 2
fi

. "$here/common.sh"
bench_init probe.sh ffmpeg ffprobe

# ---- helpers ----

# per_file_ms SECONDS COUNT
per_file_ms() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.2f", s * 1000 / n }'; }

# times_of A B: A / B, as "4.2x"
times_of() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else printf "n/a" }'; }

clips=(h264_aac_720p.mp4 hevc_hdr10.mp4 vp9_opus.webm vp9_10bit.webm h264_ntsc.mkv mpeg2.ts)

# make_folder DIR COUNT: COUNT hard links to the clips, in rotation
make_folder() { bench_link_folder "$tmp/clips" "$1" "$2" "${clips[@]}"; }

# run_vbatch DIR OUT: one timed run; prints the seconds
run_vbatch() {
    rm -rf "$2"
    local t0 rc
    t0=$(now)
    "$vbatch" process "$1" --preset kling-clip --output "$2" --quiet > /dev/null
    rc=$?
    # 1 is expected: some clips fail a gate of kling-clip
    if [ $rc -gt 1 ]; then
        echo "probe.sh: vbatch exited with status $rc" >&2
        return 1
    fi
    elapsed "$t0"
}

# peak_kib DIR OUT: peak RSS of one vbatch run, in KiB
peak_kib() {
    rm -rf "$2"
    /usr/bin/time -o "$tmp/time.out" -f %M \
        "$vbatch" process "$1" --preset kling-clip --output "$2" --quiet > /dev/null
    if [ $? -gt 1 ]; then
        echo "probe.sh: vbatch failed in the memory run" >&2
        return 1
    fi
    tail -n 1 "$tmp/time.out"
}

# ---- set up ----

echo "vbatch:  $vbatch (from $how)"
"$vbatch" --version | head -n 2 | sed 's/^/         /'
echo "machine: $(nproc) cores, $(uname -sr)"
echo "files:   $N (hard links to ${clips[*]})"
echo "runs:    vbatch $REPEAT (median), ffprobe/mediainfo loops $PEER_REPEAT$([ "$PEER_REPEAT" -gt 1 ] && echo ' (median)')"
echo

# shellcheck source=tests/lib/media.sh
. "$media_sh"
mkdir -p "$tmp/clips"
for c in "${clips[@]}"; do
    media_make "$tmp/clips" "$c" || { echo "probe.sh: cannot make $c" >&2; exit 1; }
done
make_folder "$tmp/in" "$N" || exit 1

# ---- (a) vbatch ----

times=()
for ((i = 1; i <= REPEAT; i++)); do
    t=$(run_vbatch "$tmp/in" "$tmp/out") || exit 1
    times+=("$t")
done
vb=$(median "${times[@]}")
echo "vbatch process --preset kling-clip: $vb s  ($(per_file_ms "$vb" "$N") ms/file)  runs: ${times[*]}"

# ---- (a2) the same run again into the same output folder: all skipped ----

times=()
for ((i = 1; i <= REPEAT; i++)); do
    t0=$(now)
    "$vbatch" process "$tmp/in" --preset kling-clip --output "$tmp/out" --quiet > /dev/null
    rc=$?
    if [ $rc -gt 1 ]; then
        echo "probe.sh: vbatch exited with status $rc on the rerun" >&2
        exit 1
    fi
    times+=("$(elapsed "$t0")")
done
re=$(median "${times[@]}")
echo "the same again, unchanged (skipped):  $re s  ($(per_file_ms "$re" "$N") ms/file)  runs: ${times[*]}"
echo "first run / unchanged rerun:        $(ratio "$vb" "$re" 2)"

# ---- (a3) vbatch probe alone, against the floor ----

times=()
for ((i = 1; i <= REPEAT; i++)); do
    t0=$(now)
    "$vbatch" probe --format json "$tmp/in"/* > /dev/null
    times+=("$(elapsed "$t0")")
done
vp=$(median "${times[@]}")
echo "vbatch probe --format json:         $vp s  ($(per_file_ms "$vp" "$N") ms/file)"
floor=
if ${CC:-cc} -O2 -o "$tmp/probe-floor" "$here/probe-floor.c" \
    $(pkg-config --cflags --libs libavformat libavutil 2>/dev/null) 2>/dev/null; then
    ls -d "$tmp/in"/* > "$tmp/list"
    for mode in "" --info; do
        times=()
        for ((i = 1; i <= REPEAT; i++)); do
            t0=$(now)
            "$tmp/probe-floor" $mode < "$tmp/list"
            times+=("$(elapsed "$t0")")
        done
        if [ -z "$mode" ]; then
            floor=$(median "${times[@]}")
            echo "floor, avformat_open_input only:    $floor s  ($(per_file_ms "$floor" "$N") ms/file)"
        else
            t=$(median "${times[@]}")
            echo "floor + find_stream_info:           $t s  ($(per_file_ms "$t" "$N") ms/file)"
        fi
    done
    echo "vbatch probe / floor:               $(times_of "$vp" "$floor") (goal <= 3)"
else
    echo "floor: not measured (no C compiler or libavformat-dev)"
fi

# ---- (b) ffprobe loop ----

times=()
for ((i = 1; i <= PEER_REPEAT; i++)); do
    t0=$(now)
    for f in "$tmp/in"/*; do
        ffprobe -v error -show_format -show_streams -of json "$f" > /dev/null
    done
    times+=("$(elapsed "$t0")")
done
ff=$(median "${times[@]}")
echo "ffprobe loop:                       $ff s  ($(per_file_ms "$ff" "$N") ms/file)"

# ---- (b2) ffprobe under xargs -P2 ----

times=()
for ((i = 1; i <= PEER_REPEAT; i++)); do
    t0=$(now)
    ls -d "$tmp/in"/* | xargs -P2 -n1 ffprobe -v error -show_format -show_streams -of json > /dev/null
    times+=("$(elapsed "$t0")")
done
fx=$(median "${times[@]}")
echo "ffprobe under xargs -P2:            $fx s  ($(per_file_ms "$fx" "$N") ms/file)"

# ---- (c) mediainfo loop ----

mi=
if command -v mediainfo >/dev/null 2>&1; then
    times=()
    for ((i = 1; i <= PEER_REPEAT; i++)); do
        t0=$(now)
        for f in "$tmp/in"/*; do
            mediainfo --Output=JSON "$f" > /dev/null
        done
        times+=("$(elapsed "$t0")")
    done
    mi=$(median "${times[@]}")
    echo "mediainfo loop:                     $mi s  ($(per_file_ms "$mi" "$N") ms/file)"
    times=()
    for ((i = 1; i <= PEER_REPEAT; i++)); do
        t0=$(now)
        mediainfo --Output=JSON "$tmp/in" > /dev/null
        times+=("$(elapsed "$t0")")
    done
    mi1=$(median "${times[@]}")
    echo "mediainfo, one call:                $mi1 s  ($(per_file_ms "$mi1" "$N") ms/file)"
else
    echo "mediainfo loop:                     skipped (mediainfo not installed: Debian package mediainfo)"
fi

echo
echo "ffprobe / vbatch:   $(ratio "$ff" "$vb" 50)"
echo "ffprobe loop / vbatch probe:      $(times_of "$ff" "$vp")"
echo "ffprobe xargs -P2 / vbatch probe: $(times_of "$fx" "$vp")"
if [ -n "$mi" ]; then
    echo "mediainfo / vbatch: $(ratio "$mi" "$vb" 15)"
    echo "mediainfo one call / vbatch probe: $(times_of "$mi1" "$vp")"
else
    echo "mediainfo / vbatch: skipped"
fi

# ---- memory ----

echo
if [ ! -x /usr/bin/time ]; then
    echo "peak memory: skipped (/usr/bin/time not installed: Debian package time)"
    exit 0
fi
mem_line() { # COUNT KIB
    awk -v n="$1" -v k="$2" 'BEGIN {
        printf "peak memory at %d files: %.1f MiB (goal < 64 MiB: %s)\n", n, k / 1024,
               k < 64 * 1024 ? "met" : "NOT met" }'
}
k=$(peak_kib "$tmp/in" "$tmp/out") || exit 1
mem_line "$N" "$k"
big=$((N * MEM_SCALE))
if [ "$MEM_SCALE" -le 1 ]; then
    :
elif [ "$big" -gt 100000 ]; then
    echo "peak memory at $big files: skipped (more than 100000 files)"
else
    rm -rf "$tmp/out"
    make_folder "$tmp/big" "$big" || exit 1
    k=$(peak_kib "$tmp/big" "$tmp/out-big") || exit 1
    mem_line "$big" "$k"
fi
