#!/bin/bash
# analyse.sh - how fast `vbatch process --deep` decodes and analyses
# (blackdetect, freezedetect, silencedetect, ebur128 with true peak)
# against the ffmpeg tool running the same filters with the same settings,
# and how much key-frame mode saves on a long file.
#
#   (a) a folder of 20 clips of 10 s (h264 + AAC, varied pictures and
#       tones): vbatch with --jobs J against `ffmpeg -f null -` on each
#       file, J at a time (xargs -P J); J = number of cores.
#   (b) one 10-minute 1280x720 file: [analyse] mode = full against
#       mode = keyframes.
#
# The clips are synthesised with the ffmpeg tool once and kept in
# ${BENCH_CACHE:-${TMPDIR:-/tmp}/vbatch-bench} (the long one takes a minute
# or two to make); outputs go to a temporary folder removed at the end.
#
# Environment:
#   VBATCH       the binary (else ./vbatch, else vbatch on PATH)
#   REPEAT       runs of each measurement, median taken (default 3)
#   JOBS         parallel files (default: number of cores)
#   BENCH_CACHE  where the synthesised clips are kept
#
# Goals: vbatch / ffmpeg <= 1.0 on the folder; full / keyframes >= 10x.
set -u

REPEAT=${REPEAT:-3}
JOBS=${JOBS:-$(nproc)}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
bench_positive analyse.sh REPEAT JOBS
cache=${BENCH_CACHE:-${TMPDIR:-/tmp}/vbatch-bench}

bench_init analyse.sh ffmpeg
mkdir -p "$cache" || exit 2


# ---- helpers ----


ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

# make_clip N: the Nth 10 s clip (pictures and tones vary with N)
make_clip() {
    local n=$1 out src size tone
    out=$(printf '%s/analyse-clip-%02d.mp4' "$cache" "$n")
    [ -s "$out" ] && return 0
    case $((n % 3)) in
    0) src=testsrc2 ;;
    1) src=smptebars ;;
    2) src=mandelbrot ;;
    esac
    if [ $((n % 2)) -eq 0 ]; then size=1280x720; else size=640x360; fi
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

# run_vbatch INPUT CONFIG: one timed run; prints the seconds
run_vbatch() {
    rm -rf "$tmp/out"
    local t0 rc
    t0=$(now)
    "$vbatch" process "$1" --deep --preset default --config "$2" --output "$tmp/out" \
        --quiet --jobs "$JOBS" > /dev/null
    rc=$?
    if [ $rc -gt 1 ]; then
        echo "analyse.sh: vbatch exited with status $rc" >&2
        return 1
    fi
    elapsed "$t0"
}

run_ffmpeg() {
    local t0
    t0=$(now)
    # xargs appends the file name: sh -c gets it as $2
    # shellcheck disable=SC2016
    printf '%s\0' "$tmp/in"/*.mp4 |
        xargs -0 -n 1 -P "$JOBS" sh -c 'ffmpeg -nostdin -v error -i "$2" -vf "$0" -af "$1" -f null - ||
                                        echo "analyse.sh: ffmpeg failed on $2" >&2' "$VF" "$AF"
    elapsed "$t0"
}

# ---- set up ----

echo "vbatch:  $vbatch (from $how)"
"$vbatch" --version | head -n 2 | sed 's/^/         /'
echo "machine: $(nproc) cores, $(uname -sr); jobs: $JOBS"
echo "runs:    $REPEAT of each (median)"
echo

pids=()
for ((i = 1; i <= 20; i++)); do
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
for ((i = 1; i <= 20; i++)); do
    f=$(printf 'analyse-clip-%02d.mp4' "$i")
    ln "$cache/$f" "$tmp/in/$f" 2>/dev/null || cp "$cache/$f" "$tmp/in/$f" || exit 1
done
# The folder holds the 10-minute file too (LONG_IN_FOLDER=0 leaves it out
# for a quicker run); it sorts first, so it starts first on both sides.
if [ "${LONG_IN_FOLDER:-1}" != 0 ]; then
    ln "$long" "$tmp/in/analyse-600s-720p.mp4" 2>/dev/null ||
        cp "$long" "$tmp/in/analyse-600s-720p.mp4" || exit 1
fi

printf '[thumbnails]\nenabled = false\n' > "$tmp/full.ini"
printf '[thumbnails]\nenabled = false\n[analyse]\nmode = keyframes\n' > "$tmp/keyframes.ini"

# ---- (a) the folder: vbatch against the ffmpeg tool ----

echo "(a) $(ls "$tmp/in" | wc -l) files (20 clips of 10 s$([ "${LONG_IN_FOLDER:-1}" != 0 ] && echo ' and the 10-minute one')), $JOBS at a time"
# Taken in turns, so that a change in the machine's load hits both alike.
vtimes=(); ftimes=()
for ((i = 1; i <= REPEAT; i++)); do
    t=$(run_vbatch "$tmp/in" "$tmp/full.ini") || exit 1
    vtimes+=("$t")
    ftimes+=("$(run_ffmpeg)")
done
vb=$(median "${vtimes[@]}")
ffm=$(median "${ftimes[@]}")
echo "    vbatch process --deep:        $vb s   runs: ${vtimes[*]}"
echo "    ffmpeg -f null (xargs -P $JOBS): $ffm s   runs: ${ftimes[*]}"
awk -v a="$vb" -v b="$ffm" 'BEGIN { if (b <= 0) { print "    vbatch / ffmpeg: n/a"; exit }
    r = a / b; printf "    vbatch / ffmpeg: %.2f (goal <= 1.0: %s)\n", r, (r <= 1.0) ? "met" : "NOT met" }'

# ---- (b) the long file: full against key frames ----

echo
echo "(b) one 10-minute 1280x720 file"
times=()
for ((i = 1; i <= REPEAT; i++)); do
    t=$(run_vbatch "$long" "$tmp/full.ini") || exit 1
    times+=("$t")
done
full=$(median "${times[@]}")
echo "    mode = full:      $full s   runs: ${times[*]}"
times=()
for ((i = 1; i <= REPEAT; i++)); do
    t=$(run_vbatch "$long" "$tmp/keyframes.ini") || exit 1
    times+=("$t")
done
kf=$(median "${times[@]}")
echo "    mode = keyframes: $kf s   runs: ${times[*]}"
awk -v a="$full" -v b="$kf" 'BEGIN { if (b <= 0) { print "    full / keyframes: n/a"; exit }
    r = a / b; printf "    full / keyframes: %.1fx (goal >= 10x: %s)\n", r, (r >= 10) ? "met" : "NOT met" }'
