#!/bin/bash
# probe.sh [N] - how fast vbatch probes a folder of N videos (default
# 1000): `vbatch probe --format json` and `vbatch process` (probe and
# gate) against the floor, a loop of ffprobe, ffprobe under xargs -P2, a
# loop of mediainfo and one mediainfo call over the folder; how fast a
# second run into the same output folder is (every file unchanged, so
# skipped), and how much memory vbatch needs at N and 10*N.
#
# The folder holds N hard links to a mixed corpus synthesised with
# tests/lib/media.sh (H.264/AAC MP4, HEVC 10-bit MP4, VP9/Opus WebM,
# VP9 10-bit WebM, AV1/Opus WebM, H.264 Matroska, MPEG-2, H.264/AAC and
# interlaced H.264 in MPEG-TS), so it costs no disk space. The floor is
# measured in the same run: bench/probe-floor.c, built here, only calls
# avformat_open_input on each file (and, a second time,
# avformat_find_stream_info too, as ffprobe does). Every contender runs
# once a round, in turn, the order reversed every other round (the
# machine's load drifts); the ratios are taken within a round and their
# medians printed. Everything is made under a temporary folder in
# ${TMPDIR:-/tmp} and removed at the end.
#
# Environment:
#   VBATCH       the binary (else ./vbatch, else vbatch on PATH)
#   ROUNDS       rounds of every contender, medians taken (default 3)
#   REPEAT       unchanged reruns, median taken (default 3)
#   MI_LOOP      0: leave out the mediainfo loop (one process a file)
#   MEM_SCALE    the memory run is also made at MEM_SCALE*N files
#                (default 10; 1: not made; skipped above 100000 files)
#
# Goals: ffprobe loop / vbatch >= 50x, mediainfo loop / vbatch >= 15x,
# unchanged rerun at least 2x faster than the first run,
# vbatch peak memory < 64 MiB at any N.
set -u

N=${1:-1000}
ROUNDS=${ROUNDS:-3}
REPEAT=${REPEAT:-3}
MI_LOOP=${MI_LOOP:-1}
MEM_SCALE=${MEM_SCALE:-10}
for v in N ROUNDS REPEAT MEM_SCALE; do
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

clips=(h264_aac_720p.mp4 hevc_hdr10.mp4 vp9_opus.webm vp9_10bit.webm av1_opus.webm h264_ntsc.mkv
       mpeg2.ts h264_aac.ts h264_interlaced.ts)

# make_folder DIR COUNT: COUNT hard links to the clips, in rotation
make_folder() { bench_link_folder "$tmp/clips" "$1" "$2" "${clips[@]}"; }

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
echo "runs:    $ROUNDS rounds of every contender (medians; ratios within a round), reruns $REPEAT"
echo

# shellcheck source=tests/lib/media.sh
. "$media_sh"
mkdir -p "$tmp/clips"
for c in "${clips[@]}"; do
    media_make "$tmp/clips" "$c" || { echo "probe.sh: cannot make $c" >&2; exit 1; }
done
make_folder "$tmp/in" "$N" || exit 1

# ---- the contenders ----

# run_one NAME: time contender NAME once; prints the seconds
run_one() {
    local t0 rc=0
    t0=$(now)
    case $1 in
    vbprobe) "$vbatch" probe --format json "$tmp/in"/* > /dev/null || rc=$? ;;
    vbproc)
        rm -rf "$tmp/out"
        t0=$(now)
        "$vbatch" process "$tmp/in" --preset kling-clip --output "$tmp/out" --quiet > /dev/null
        rc=$?
        # 1 is expected: some clips fail a gate of kling-clip
        [ $rc -eq 1 ] && rc=0 ;;
    floor) "$tmp/probe-floor" < "$tmp/list" || rc=$? ;;
    floorinfo) "$tmp/probe-floor" --info < "$tmp/list" || rc=$? ;;
    ffloop)
        for f in "$tmp/in"/*; do
            ffprobe -v error -show_format -show_streams -of json "$f" > /dev/null || rc=$?
        done ;;
    ffx2) xargs -P2 -n1 ffprobe -v error -show_format -show_streams -of json < "$tmp/list" > /dev/null || rc=$? ;;
    miloop)
        for f in "$tmp/in"/*; do
            mediainfo --Output=JSON "$f" > /dev/null || rc=$?
        done ;;
    mione) mediainfo --Output=JSON "$tmp/in" > /dev/null || rc=$? ;;
    esac
    if [ $rc -ne 0 ]; then
        echo "probe.sh: $1 failed (status $rc)" >&2
        return 1
    fi
    elapsed "$t0"
}

ls -d "$tmp/in"/* > "$tmp/list"
names=(vbprobe vbproc)
have_floor=
if ${CC:-cc} -O2 -o "$tmp/probe-floor" "$here/probe-floor.c" \
    $(pkg-config --cflags --libs libavformat libavutil 2>/dev/null) 2>/dev/null; then
    names+=(floor floorinfo)
    have_floor=1
else
    echo "floor: not measured (no C compiler or libavformat-dev)"
fi
names+=(ffloop ffx2)
if command -v mediainfo >/dev/null 2>&1; then
    [ "$MI_LOOP" = 0 ] || names+=(miloop)
    names+=(mione)
else
    echo "mediainfo: skipped (not installed: Debian package mediainfo)"
fi
declare -A label=(
    [vbprobe]="vbatch probe --format json FILE..."
    [vbproc]="vbatch process DIR --preset kling-clip"
    [floor]="floor: avformat_open_input"
    [floorinfo]="floor + avformat_find_stream_info"
    [ffloop]="ffprobe -show_format -show_streams, a loop"
    [ffx2]="ffprobe, xargs -P2 -n1"
    [miloop]="mediainfo --Output=JSON, a loop"
    [mione]="mediainfo --Output=JSON DIR (one call)"
)

# Which files took find_stream_info (the slow path), once.
"$vbatch" probe --verbose --format json "$tmp/in"/* 2> "$tmp/verbose" > /dev/null
echo "slow path: $(tail -n 1 "$tmp/verbose" | sed 's/^vbatch: //')"
echo

declare -A times
for ((r = 1; r <= ROUNDS; r++)); do
    order=("${names[@]}")
    if ((r % 2 == 0)); then
        order=()
        for ((k = ${#names[@]} - 1; k >= 0; k--)); do order+=("${names[k]}"); done
    fi
    line="round $r:"
    for c in "${order[@]}"; do
        t=$(run_one "$c") || exit 1
        times[$c]="${times[$c]:-} $t"
        eval "t_${c}_$r=$t"
        line="$line $c $t"
    done
    echo "$line"
done
echo

# med NAME: the median time of contender NAME
med() { median ${times[$1]}; }
# rmed A B: the median over the rounds of A / B within a round
rmed() {
    local r a b v=()
    for ((r = 1; r <= ROUNDS; r++)); do
        a=$(eval echo "\${t_${1}_$r:-}"); b=$(eval echo "\${t_${2}_$r:-}")
        [ -n "$a" ] && [ -n "$b" ] && v+=("$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f", a / b }')")
    done
    [ ${#v[@]} -gt 0 ] && median "${v[@]}" || printf 'n/a'
}

for c in "${names[@]}"; do
    m=$(med "$c")
    printf '%-46s %8s s  (%s ms/file)\n' "${label[$c]}:" "$m" "$(per_file_ms "$m" "$N")"
done
echo
echo "ratios (medians of the rounds' own ratios):"
if [ -n "$have_floor" ]; then
    echo "  vbatch probe / floor:                 $(rmed vbprobe floor) (goal <= 3)"
    echo "  floor + find_stream_info / floor:     $(rmed floorinfo floor)"
fi
echo "  ffprobe loop / vbatch probe:          $(rmed ffloop vbprobe)"
echo "  ffprobe xargs -P2 / vbatch probe:     $(rmed ffx2 vbprobe)"
echo "  ffprobe loop / vbatch process:        $(rmed ffloop vbproc) (goal >= 50)"
if [ -n "${times[mione]:-}" ]; then
    [ -n "${times[miloop]:-}" ] &&
        echo "  mediainfo loop / vbatch process:      $(rmed miloop vbproc) (goal >= 15)"
    [ -n "${times[miloop]:-}" ] &&
        echo "  mediainfo loop / vbatch probe:        $(rmed miloop vbprobe)"
    echo "  mediainfo one call / vbatch probe:    $(rmed mione vbprobe)"
fi

# ---- the same run again into the same output folder: all skipped ----

rm -rf "$tmp/out"
"$vbatch" process "$tmp/in" --preset kling-clip --output "$tmp/out" --quiet > /dev/null
rt=()
for ((i = 1; i <= REPEAT; i++)); do
    t0=$(now)
    "$vbatch" process "$tmp/in" --preset kling-clip --output "$tmp/out" --quiet > /dev/null
    rc=$?
    if [ $rc -gt 1 ]; then
        echo "probe.sh: vbatch exited with status $rc on the rerun" >&2
        exit 1
    fi
    rt+=("$(elapsed "$t0")")
done
re=$(median "${rt[@]}")
echo
echo "the same again, unchanged (skipped):  $re s  ($(per_file_ms "$re" "$N") ms/file)  runs: ${rt[*]}"
echo "first run / unchanged rerun:        $(ratio "$(med vbproc)" "$re" 2)"

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
