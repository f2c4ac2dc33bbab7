#!/bin/bash
# probe-callgrind.sh [CLIP...] - instructions a file for `vbatch probe`
# against the floor (bench/probe-floor.c: avformat_open_input only),
# counted by callgrind, so that the figure does not depend on what else
# the machine runs. Each program is run on 1 and on 1+K copies of the
# clips (K=${K:-5}); the difference over K*clips is the cost of one file,
# start-up left out. The clips are made with tests/lib/media.sh; with no
# CLIP the mixed corpus of bench/probe.sh plus the TS clips of the suite.
#   VBATCH  the binary (default ./vbatch)
set -u
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../tests/lib/media.sh"
K=${K:-5}
vbatch=${VBATCH:-./vbatch}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/probe-cg.XXXXXX") || exit 2
trap 'rm -rf "$tmp"' EXIT
clips=("$@")
[ ${#clips[@]} -gt 0 ] || clips=(h264_aac_720p.mp4 hevc_hdr10.mp4 vp9_opus.webm vp9_10bit.webm
    h264_ntsc.mkv mpeg2.ts h264_aac.ts hevc10_ac3.ts mpeg2_ac3_wide.ts)
mkdir -p "$tmp/c"
for c in "${clips[@]}"; do
    media_make "${CLIPS:-$tmp/c}" "$c" || { echo "probe-callgrind.sh: cannot make $c" >&2; exit 2; }
done
dir=${CLIPS:-$tmp/c}
cc -O2 -o "$tmp/floor" "$here/probe-floor.c" $(pkg-config --cflags --libs libavformat libavutil) || exit 2
# list N: the clips N times, one path a line
list() { for ((i = 0; i < $1; i++)); do for c in "${clips[@]}"; do echo "$dir/$c"; done; done; }
# ir PROG...: the instructions callgrind counts for a run (stdin passed on)
ir() {
    valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.out" "$@" > /dev/null 2> "$tmp/cg.err"
    awk '/^summary:/ { print $2 }' "$tmp/cg.out"
}
n=$((K * ${#clips[@]}))
v1=$(ir "$vbatch" probe --format json $(list 1)); vk=$(ir "$vbatch" probe --format json $(list $((K + 1))))
f1=$(list 1 | ir "$tmp/floor"); fk=$(list $((K + 1)) | ir "$tmp/floor")
awk -v v1="$v1" -v vk="$vk" -v f1="$f1" -v fk="$fk" -v n="$n" -v c="${clips[*]}" 'BEGIN {
    v = (vk - v1) / n; f = (fk - f1) / n
    printf "%s: vbatch %.2fM, floor %.2fM instructions a file: %.2fx\n", c, v / 1e6, f / 1e6, v / f }'
