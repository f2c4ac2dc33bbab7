#!/bin/bash
# rerun.sh - the incremental skip: an unchanged rerun of N files
# (`vbatch process CORPUS -o OUT` again, every item done there with the
# same settings and the same file) against the floor of any such check, a
# `find` that stats every file of the corpus and prints its size and mtime.
#
# The corpus is N hard links to one 1 s 160x120 H.264 + AAC clip
# (synthesised with ffmpeg, no disk space per file). OUT is made once by a
# first run (probe, gates, layout, thumbnails: timed too, for scale); then
# the rerun and the floor are taken in turns, REPEAT times each, medians
# shown. CPU time (user + system) beside the wall time tells load from
# cost on a busy machine. Each rerun is a batch of its own: the journal
# gains N skipped rows a run (its quick_check at open reads them all).
#
# Environment:
#   VBATCH   the binary (else ./vbatch, else vbatch on PATH)
#   N        files (default 10000)
#   REPEAT   runs of each, median taken (default 5)
#
# Goal (issue 16, goal 5): the rerun of 10,000 files under 1 s wall.
set -u

N=${N:-10000}
REPEAT=${REPEAT:-5}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
bench_positive rerun.sh N REPEAT
if [ ! -x /usr/bin/time ]; then
    echo "rerun.sh: /usr/bin/time not found (Debian package time)" >&2
    exit 2
fi
bench_init rerun.sh ffmpeg find

# timed CMD...: "WALL CPU PEAK_KIB" of one run (exit 0 or 1 expected)
timed() {
    local t0 rc wall
    t0=$(now)
    /usr/bin/time -o "$tmp/time.out" -f '%U %S %M' "$@" > /dev/null 2> "$tmp/err.out"
    rc=$?
    wall=$(elapsed "$t0")
    if [ $rc -gt 1 ]; then
        echo "rerun.sh: exit status $rc: $*" >&2
        cat "$tmp/err.out" >&2
        return 1
    fi
    tail -n 1 "$tmp/time.out" | awk -v w="$wall" '{ printf "%s %.2f %d\n", w, $1 + $2, $3 }'
}
col() { local k=$1; shift; printf '%s\n' "$@" | awk -v k="$k" '{ print $k }'; }
med() { local k=$1; shift; median $(col "$k" "$@"); }
runs_of() { local k=$1; shift; col "$k" "$@" | tr '\n' ' ' | sed 's/ $//'; }

echo "vbatch:  $vbatch (from $how)"
"$vbatch" --version | head -n 1 | sed 's/^/         /'
echo "machine: $(nproc) cores, $(uname -sr); load average now: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)"

ffmpeg -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc=d=1:s=160x120:r=10 \
    -f lavfi -i sine=d=1 -c:v libx264 -c:a aac -shortest "$tmp/clip.mp4" || exit 1
bench_link_folder "$tmp" "$tmp/corpus" "$N" clip.mp4 || exit 1
echo "corpus:  $N hard links to one 1 s 160x120 H.264 + AAC clip"

first=$(timed "$vbatch" process "$tmp/corpus" -o "$tmp/out" --quiet) || exit 1
echo "first run (everything processed): $(col 1 "$first") s wall, $(col 2 "$first") s CPU, peak $(col 3 "$first") KiB"

rer=(); flo=()
for ((r = 1; r <= REPEAT; r++)); do
    t=$(timed "$vbatch" process "$tmp/corpus" -o "$tmp/out" --quiet) || exit 1
    rer+=("$t")
    t=$(timed find "$tmp/corpus" -type f -printf '%s %T@ %p\n') || exit 1
    flo+=("$t")
done
if ! grep -q "\"skipped\": $N," "$tmp/out/summary/batch_report.json" &&
    ! head -n 1 "$tmp/out/summary/batch_report.json" | grep -q "\"skipped\":$N,"; then
    echo "rerun.sh: the rerun did not skip every item" >&2
    exit 1
fi
rw=$(med 1 "${rer[@]}"); fw=$(med 1 "${flo[@]}")
echo
echo "unchanged rerun of $N files, median of $REPEAT (runs: $(runs_of 1 "${rer[@]}") s)"
printf '  vbatch process (skip all): %s s wall, %s s CPU, peak %s KiB\n' "$rw" \
    "$(med 2 "${rer[@]}")" "$(med 3 "${rer[@]}")"
printf '  floor: find + stat:        %s s wall, %s s CPU\n' "$fw" "$(med 2 "${flo[@]}")"
awk -v a="$rw" -v b="$fw" -v n="$N" 'BEGIN {
    if (b > 0) printf "  vbatch / floor: %.1fx\n", a / b
    if (n == 10000) printf "  goal: under 1 s wall at 10,000 files: %s\n", a < 1 ? "met" : "NOT met" }'
du -sh "$tmp/out/summary" "$tmp/out/.vbatch" | sed 's/^/  size: /'
