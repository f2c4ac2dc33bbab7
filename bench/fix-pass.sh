#!/bin/bash
# fix-pass.sh - the fix engine (transcode.h, through its driver
# tests/lib/transcode-run) against the ffmpeg tool doing the same work:
#
#   (a) faststart remux of N small clips (MOV, moov at the end, H.264 +
#       AAC, 2 s 320x240) to MP4: the driver against
#       `ffmpeg -i F -c copy -movflags +faststart`, one process per file
#       for both;
#   (b) conform of 4 clips of 1080p 5 s to 1080x1920 (scaled, padded)
#       H.264 with the same x264 settings (preset, CRF, maxrate/bufsize),
#       audio copied: wall time, and the PSNR of each output against its
#       source (the picture cropped out of the bars and scaled back to
#       1920x1080, the same way for both).
#
# Medians of REPEAT runs, the two tools alternated; the ratio driver /
# ffmpeg is printed (below 1: the driver is faster).
#
# Run after a build, from the build folder (or set RUN to the driver).
# Environment: RUN, N (default 50), REPEAT (default 3), PRESET (veryfast),
# CRF (23), MAXRATE (6M), BUFSIZE (12M), BENCH_CACHE (clips kept there).
set -u
N=${N:-50}
REPEAT=${REPEAT:-3}
PRESET=${PRESET:-veryfast}
CRF=${CRF:-23}
MAXRATE=${MAXRATE:-6M}
BUFSIZE=${BUFSIZE:-12M}
RUN=${RUN:-$PWD/tests/lib/transcode-run}
CACHE=${BENCH_CACHE:-${TMPDIR:-/tmp}/vbatch-bench}/fix-pass
[ -x "$RUN" ] || { echo "fix-pass.sh: no driver at $RUN: build (make check builds it, or make tests/lib/transcode-run) or set RUN" >&2; exit 2; }
command -v ffmpeg >/dev/null || { echo "fix-pass.sh: ffmpeg not found" >&2; exit 2; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/fix-pass.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
mkdir -p "$CACHE"
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
# bytes as ffmpeg's maxrate takes them: 6M -> 6000000
bits() { python3 -c "import sys; s=sys.argv[1]; m={'k':1e3,'K':1e3,'M':1e6}; print(int(float(s[:-1])*m[s[-1]]) if s[-1] in m else int(s))" "$1"; }
now() { date +%s.%N; }
median() { python3 -c "import statistics,sys; print('%.3f' % statistics.median(map(float, sys.argv[1:])))" "$@"; }
ratio() { python3 -c "import sys; print('%.2f' % (float(sys.argv[1]) / float(sys.argv[2])))" "$1" "$2"; }

# ---- the clips ----
for i in $(seq 1 "$N"); do
    f="$CACHE/small$i.mov"
    [ -s "$f" ] || ff -f lavfi -i "testsrc2=size=320x240:rate=25" -f lavfi -i "sine=frequency=$((200 + i * 10)):sample_rate=48000" \
        -t 2 -c:v libx264 -preset ultrafast -c:a aac "$f" || exit 2
done
for i in 1 2 3 4; do
    f="$CACHE/hd$i.mp4"
    [ -s "$f" ] || ff -f lavfi -i "testsrc2=size=1920x1080:rate=25" -f lavfi -i "sine=frequency=$((300 + i * 100)):sample_rate=48000" \
        -t 5 -vf "hue=h=$((i * 60))" -c:v libx264 -preset veryfast -crf 18 -colorspace bt709 \
        -color_primaries bt709 -color_trc bt709 -c:a aac "$f" || exit 2
done

remux_driver() { for i in $(seq 1 "$N"); do "$RUN" "$CACHE/small$i.mov" "$tmp/r$i.mp4" > /dev/null || exit 1; done; }
remux_ffmpeg() { for i in $(seq 1 "$N"); do ff -i "$CACHE/small$i.mov" -map 0 -c copy -movflags +faststart "$tmp/f$i.mp4" || exit 1; done; }
# 1920x1080 in 1080x1920: 1080x608, bars of 656 above and below
VF="scale=1080:608:flags=bicubic,pad=1080:1920:0:656:black,setsar=1,format=yuv420p"
conform_driver() {
    for i in 1 2 3 4; do
        "$RUN" --video encode --width 1080 --height 1920 --fit pad --preset "$PRESET" --crf "$CRF" \
            --maxrate "$(bits "$MAXRATE")" --bufsize "$(bits "$BUFSIZE")" "$CACHE/hd$i.mp4" "$tmp/cd$i.mp4" > /dev/null || exit 1
    done
}
conform_ffmpeg() {
    for i in 1 2 3 4; do
        ff -i "$CACHE/hd$i.mp4" -vf "$VF" -c:v libx264 -preset "$PRESET" -crf "$CRF" -maxrate "$MAXRATE" \
            -bufsize "$BUFSIZE" -profile:v high -c:a copy "$tmp/cf$i.mp4" || exit 1
    done
}
timed() { local t0; t0=$(now); "$@"; python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$t0" "$(now)"; }

measure() {  # measure NAME: alternated runs of NAME_driver and NAME_ffmpeg
    local d=() f=() r
    for r in $(seq 1 "$REPEAT"); do
        d+=("$(timed "$1_driver")") || exit 1
        f+=("$(timed "$1_ffmpeg")") || exit 1
    done
    md=$(median "${d[@]}"); mf=$(median "${f[@]}")
    printf '%-8s driver %7.3f s   ffmpeg %7.3f s   driver/ffmpeg %s\n' "$1" "$md" "$mf" "$(ratio "$md" "$mf")"
}

echo "fix-pass.sh: $N clips to remux, 4 x 1080p 5 s to conform (x264 $PRESET, crf $CRF, maxrate $MAXRATE), $REPEAT runs"
measure remux
measure conform
# PSNR: the picture cut out of its bars, scaled back, against the source
psnr() {
    ffmpeg -nostdin -hide_banner -i "$1" -i "$2" -lavfi \
        "[0]crop=1080:608:0:656,scale=1920:1080:flags=bicubic[a];[a][1]psnr" -f null - 2>&1 |
        sed -n 's/.*average:\([0-9.]*\).*/\1/p'
}
for i in 1 2 3 4; do
    pd=$(psnr "$tmp/cd$i.mp4" "$CACHE/hd$i.mp4"); pf=$(psnr "$tmp/cf$i.mp4" "$CACHE/hd$i.mp4")
    sd=$(stat -c %s "$tmp/cd$i.mp4"); sf=$(stat -c %s "$tmp/cf$i.mp4")
    printf 'hd%d     PSNR driver %6.2f dB  ffmpeg %6.2f dB   size driver %8d  ffmpeg %8d\n' "$i" "$pd" "$pf" "$sd" "$sf"
done
