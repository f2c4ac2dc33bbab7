#!/bin/bash
# analyse.sh - how fast `vbatch process --deep` decodes and analyses
# (blackdetect, freezedetect, silencedetect, ebur128 with true peak)
# against the ffmpeg tool running the same filters with the same settings
# and against the decode-only floor (the ffmpeg tool decoding the same
# files with no filter, run the same way), and how much key-frame mode
# saves on a long file.
#
#   (a) a folder of 20 clips of 10 s (1920x1080 h264 + AAC, varied
#       pictures and tones): vbatch with --jobs J; `ffmpeg -f null -` with
#       the filters on each file, J at a time (xargs -P J); the same
#       without filters (the floor); J = number of cores. Wall time and
#       CPU time (user + sys of every process) of each; CPU / wall says
#       how busy the cores were.
#   (b) one 10-minute 1280x720 file alone: vbatch, the ffmpeg tool with
#       the filters, the decode-only floor, and the video decode alone
#       (-an): audio and video decoded and filtered side by side bring
#       the wall time near the last.
#   (c) the same file: [analyse] mode = full against mode = keyframes.
#
# Each round runs every contender once, in turn, so that a change in the
# machine's load hits all alike; the ratios are taken within a round and
# their median printed with the medians of the times. On a machine shared
# with other benchmarks, run it under `flock /tmp/vbatch-bench.lock`.
#
# The clips are synthesised with the ffmpeg tool once and kept in
# ${BENCH_CACHE:-${TMPDIR:-/tmp}/vbatch-bench} (the long one takes a minute
# or two to make); outputs go to a temporary folder removed at the end.
#
# Environment:
#   VBATCH       the binary (else ./vbatch, else vbatch on PATH)
#   REPEAT       rounds of each measurement, median taken (default 3)
#   JOBS         parallel files (default: number of cores)
#   LONG_IN_FOLDER=1  put the 10-minute file in the folder of (a) too
#   SKIP_LONG=1  leave out (b) and (c)
#   SKIP_FOLDER=1  leave out (a) (its 20 clips are not even made)
#   VBATCH_BASE  another vbatch binary (an older build) timed alongside
#   BENCH_CACHE  where the synthesised clips are kept
#
# Goals (issue 16): on (a) vbatch / ffmpeg <= 0.8, vbatch / floor <= 1.15,
# CPU / wall >= 1.85 on 2 cores; on (b) vbatch near the video decode
# alone; full / keyframes >= 10x.
set -u

REPEAT=${REPEAT:-3}
JOBS=${JOBS:-$(nproc)}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
bench_positive analyse.sh REPEAT JOBS
cache=${BENCH_CACHE:-${TMPDIR:-/tmp}/vbatch-bench}

bench_init analyse.sh ffmpeg
if [ ! -x /usr/bin/time ]; then
    echo "analyse.sh: /usr/bin/time not found (Debian package time)" >&2
    exit 2
fi
mkdir -p "$cache" || exit 2


# ---- helpers ----


ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

# make_clip N: the Nth 10 s clip (pictures and tones vary with N)
make_clip() {
    local n=$1 out src size tone
    out=$(printf '%s/analyse-1080p-%02d.mp4' "$cache" "$n")
    [ -s "$out" ] && return 0
    case $((n % 3)) in
    0) src=testsrc2 ;;
    1) src=smptebars ;;
    2) src=mandelbrot ;;
    esac
    size=1920x1080
    tone=$((220 + 55 * n))
    ff -f lavfi -i "$src=size=$size:rate=25" -f lavfi -i "sine=frequency=$tone:sample_rate=48000" \
        -t 10 -c:v libx264 -preset veryfast -g 50 -pix_fmt yuv420p -c:a aac -b:a 128k -ac 2 \
        -movflags +faststart "$out.part.mp4" && mv -f "$out.part.mp4" "$out"
}

long=$cache/analyse-600s-720p.mp4
make_long() {
    [ -s "$long" ] && return 0
    echo "making the 10-minute clip once (kept in $cache) ..."
    ff -f lavfi -i testsrc2=size=1280x720:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
        -t 600 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 128k -ac 2 \
        -movflags +faststart "$long.part.mp4" && mv -f "$long.part.mp4" "$long"
}

# vbatch's built-in [analyse] settings, so that ffmpeg runs the same filters
VF="blackdetect=d=0.5:pic_th=0.98:pix_th=0.10,freezedetect=n=0.001:d=2"
AF="silencedetect=n=-60dB:d=2,ebur128=peak=true"

# timed OUT CMD...: run CMD under /usr/bin/time; OUT gets "wall cpu"
# (seconds; cpu = user + sys of CMD and every process it waits for)
timed() {
    local out=$1
    shift
    /usr/bin/time -f '%e %U %S' -o "$tmp/time" "$@" || return 1
    awk '{ printf "%.3f %.3f", $1, $2 + $3 }' "$tmp/time" > "$out"
}

# run_vbatch OUT INPUT CONFIG: one timed run
run_vbatch() {
    rm -rf "$tmp/out"
    timed "$1" "$vbatch" process "$2" --deep --preset default --config "$3" --output "$tmp/out" \
        --quiet --jobs "$JOBS" > /dev/null
    local rc=$?
    # 1: some gate failed, which is the analysis's business, not ours
    if [ $rc -gt 1 ]; then
        echo "analyse.sh: vbatch exited with status $rc" >&2
        return 1
    fi
}

# run_ffmpeg OUT INPUT MODE: the ffmpeg tool on each file of INPUT (a
# folder or one file), JOBS at a time; MODE: filters (the same as
# vbatch's), floor (decode only), video (the video decode alone)
run_ffmpeg() {
    timed "$1" sh -c 'find "$1" -name "*.mp4" -print0 | sort -z | xargs -0 -n 1 -P "$2" "$3" "$4"' \
        sh "$2" "$JOBS" "$tmp/ff.sh" "$3"
}

# ---- set up ----

echo "vbatch:  $vbatch (from $how)"
"$vbatch" --version | head -n 2 | sed 's/^/         /'
echo "machine: $(nproc) cores, $(uname -sr); jobs: $JOBS"
echo "runs:    $REPEAT of each (median)"
echo

pids=()
nclips=20
[ "${SKIP_FOLDER:-0}" != 0 ] && nclips=0
for ((i = 1; i <= nclips; i++)); do
    make_clip "$i" &
    pids+=($!)
    if [ ${#pids[@]} -ge "$JOBS" ]; then
        wait "${pids[0]}" || { echo "analyse.sh: cannot make clip" >&2; exit 1; }
        pids=("${pids[@]:1}")
    fi
done
for p in "${pids[@]}"; do
    wait "$p" || { echo "analyse.sh: cannot make clip" >&2; exit 1; }
done
make_long || { echo "analyse.sh: cannot make the 10-minute clip" >&2; exit 1; }
mkdir -p "$tmp/in"
for ((i = 1; i <= nclips; i++)); do
    f=$(printf 'analyse-1080p-%02d.mp4' "$i")
    ln "$cache/$f" "$tmp/in/$f" 2>/dev/null || cp "$cache/$f" "$tmp/in/$f" || exit 1
done
# LONG_IN_FOLDER=1: the 10-minute file in the folder too; it sorts first,
# so it starts first on every side.
if [ "${LONG_IN_FOLDER:-0}" != 0 ]; then
    ln "$long" "$tmp/in/analyse-600s-720p.mp4" 2>/dev/null ||
        cp "$long" "$tmp/in/analyse-600s-720p.mp4" || exit 1
fi

printf '[thumbnails]\nenabled = false\n' > "$tmp/full.ini"
printf '[thumbnails]\nenabled = false\n[analyse]\nmode = keyframes\n' > "$tmp/keyframes.ini"
# ff.sh MODE FILE: one ffmpeg run (see run_ffmpeg)
cat > "$tmp/ff.sh" <<EOF
#!/bin/sh
case \$1 in
filters) set -- -i "\$2" -vf "$VF" -af "$AF" ;;
floor) set -- -i "\$2" ;;
video) set -- -i "\$2" -an ;;
esac
ffmpeg -nostdin -v error "\$@" -f null - || echo "analyse.sh: ffmpeg failed on \$2" >&2
EOF
chmod +x "$tmp/ff.sh"

# rounds INPUT NAME:CMD...: REPEAT rounds of every contender in turn, each
# CMD a function called as CMD OUT INPUT; then one line per contender
# (median wall, median CPU, CPU / wall, its runs) and one per ratio of
# each contender after the first to the first, the median of the
# ratios taken within a round.
rounds() {
    local in=$1 c name i w u
    shift
    declare -gA W=() C=() R=()
    for ((i = 1; i <= REPEAT; i++)); do
        for c in "$@"; do
            name=${c%%:*}
            ${c#*:} "$tmp/t" "$in" || exit 1
            read -r w u < "$tmp/t"
            W[$name]+="$w "; C[$name]+="$u "
        done
        local first=${1%%:*} f0
        f0=$(echo "${W[$first]}" | awk '{ print $NF }')
        for c in "${@:2}"; do
            name=${c%%:*}
            R[$name]+=$(echo "${W[$name]}" | awk -v a="$f0" '{ printf "%.3f ", a / $NF }')
        done
    done
    for c in "$@"; do
        name=${c%%:*}
        # shellcheck disable=SC2086
        w=$(median ${W[$name]}); u=$(median ${C[$name]})
        printf '    %-26s wall %7.2f s  cpu %7.2f s  cpu/wall %.2f   walls: %s\n' \
            "$name" "$w" "$u" "$(awk -v a="$u" -v b="$w" 'BEGIN { print (b > 0 ? a / b : 0) }')" "${W[$name]}"
    done
    for c in "${@:2}"; do
        name=${c%%:*}
        # shellcheck disable=SC2086
        printf '    %s / %-20s %.2f   (rounds: %s)\n' "${1%%:*}" "$name" "$(median ${R[$name]})" "${R[$name]}"
    done
}
vb_full() { run_vbatch "$1" "$2" "$tmp/full.ini"; }
# VBATCH_BASE: another vbatch (an older build) timed alongside
vb_base() { local vbatch=$VBATCH_BASE; run_vbatch "$1" "$2" "$tmp/full.ini"; }
base=()
[ -n "${VBATCH_BASE:-}" ] && base=("vbatch base:vb_base")
vb_keyframes() { run_vbatch "$1" "$2" "$tmp/keyframes.ini"; }
ff_filters() { run_ffmpeg "$1" "$2" filters; }
ff_floor() { run_ffmpeg "$1" "$2" floor; }
ff_video() { run_ffmpeg "$1" "$2" video; }

# ---- (a) the folder: vbatch against the ffmpeg tool and the floor ----

if [ "${SKIP_FOLDER:-0}" = 0 ]; then
echo "(a) $(ls "$tmp/in" | wc -l) files (20 clips of 10 s 1080p$([ "${LONG_IN_FOLDER:-0}" != 0 ] && echo ' and the 10-minute one')), $JOBS at a time"
rounds "$tmp/in" vbatch:vb_full "ffmpeg filters:ff_filters" "ffmpeg floor:ff_floor" "${base[@]}"
echo "    goals: vbatch / ffmpeg filters <= 0.8, vbatch / floor <= 1.15, vbatch cpu/wall >= 1.85 on 2 cores"
fi

[ "${SKIP_LONG:-0}" != 0 ] && exit 0

# ---- (b) the long file alone ----

echo
echo "(b) one 10-minute 1280x720 file alone"
rounds "$long" vbatch:vb_full "ffmpeg filters:ff_filters" "ffmpeg floor:ff_floor" \
    "ffmpeg video only:ff_video" "${base[@]}"
echo "    goal: vbatch near the video decode alone"

# ---- (c) the long file: full against key frames ----

echo
echo "(c) the same file: mode = full against mode = keyframes"
rounds "$long" full:vb_full keyframes:vb_keyframes
echo "    goal: full / keyframes >= 10x"
