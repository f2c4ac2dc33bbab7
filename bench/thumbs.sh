#!/bin/bash
# thumbs.sh [N] - how fast `vbatch process` makes 5 thumbnails and a
# contact sheet for each of N videos (default 20), against what people
# script by hand, with the same parallelism (xargs -P over videos), per
# video:
#   (b) five `ffmpeg -ss T -i F -frames:v 1` calls and one `vips arrayjoin`;
#   (c) five `ffmpegthumbnailer -t T` calls and one `vips arrayjoin`
#       (skipped if ffmpegthumbnailer is not installed);
#   (d) the fastest single ffmpeg process we found for the same work:
#       key frames only (-skip_frame nokey), scaled, the first five
#       written and tiled into the sheet in the same filter graph. These
#       videos have a key frame every 2 s, so those are the five frames
#       vbatch takes (it snaps each time to the nearest key frame). Five
#       inputs each seeked with -ss (-noaccurate_seek) and stacked with
#       hstack took 8x the instructions (4.1G against 0.50G per video).
# The sides run alternated, REPEAT rounds, each side's median taken.
#
# The videos are 10 s of 1280x720 25 fps H.264 (x264 veryfast, a keyframe
# every 2 s, B-frames) with AAC sound, each with a different picture. They
# are made once and kept in the cache folder; the outputs go to a
# temporary folder removed at the end.
#
# Environment:
#   VBATCH       the binary (else ./vbatch, else vbatch on PATH)
#   REPEAT       runs of each side, median taken (default 3)
#   JOBS         parallel videos for both sides (default: nproc)
#   BENCH_CACHE  where the videos are kept (default ${TMPDIR:-/tmp}/vbatch-bench)
#
# Goals: ffmpegthumbnailer / vbatch >= 10x, single ffmpeg / vbatch >= 6x.
set -u

N=${1:-20}
REPEAT=${REPEAT:-3}
JOBS=${JOBS:-$(nproc)}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
bench_positive thumbs.sh N REPEAT JOBS
CACHE=${BENCH_CACHE:-${TMPDIR:-/tmp}/vbatch-bench}

bench_init thumbs.sh ffmpeg ffprobe vips xargs

# ---- helpers ----

per_video() { awk -v s="$1" -v n="$2" 'BEGIN { printf "%.3f", s / n }'; }

# ---- the videos (cached) ----

# make_video I: video number I, a different hue each
make_video() {
    local f
    f=$(printf '%s/thumbs-720p-%03d.mp4' "$CACHE" "$1")
    [ -s "$f" ] && return 0
    ffmpeg -nostdin -hide_banner -loglevel error -y \
        -f lavfi -i "testsrc2=size=1280x720:rate=25" -f lavfi -i "sine=frequency=$((300 + $1 * 10)):sample_rate=48000" \
        -t 10 -vf "hue=h=$(($1 * 37 % 360))" -c:v libx264 -preset veryfast -g 50 -pix_fmt yuv420p \
        -c:a aac -b:a 128k -movflags +faststart "$f.part.mp4" && mv -f "$f.part.mp4" "$f"
}

mkdir -p "$CACHE" "$tmp/in" || exit 2
for ((i = 1; i <= N; i++)); do
    make_video "$i" || { echo "thumbs.sh: cannot make video $i" >&2; exit 1; }
    src=$(printf '%s/thumbs-720p-%03d.mp4' "$CACHE" "$i")
    dst=$(printf '%s/in/v%03d.mp4' "$tmp" "$i")
    # a hard link where possible, so that vbatch can place it by linking too
    ln "$src" "$dst" 2>/dev/null || ln -s "$src" "$dst" || exit 1
done

cat > "$tmp/thumbs.ini" <<'EOF'
[batch]
jobs = 0
[analyse]
enabled = false
[thumbnails]
enabled = true
count = 5
width = 320
format = jpeg
contact_sheet = true
columns = 5
EOF
if [ "$JOBS" != "$(nproc)" ]; then
    sed -i "s/^jobs = 0/jobs = $JOBS/" "$tmp/thumbs.ini"
fi

# The peer, per video: the same five times vbatch picks for 10 s
# (duration * (i + 0.5) / 5), then the sheet.
cat > "$tmp/peer.sh" <<'EOF'
#!/bin/sh
f=$1; out=$2/$(basename "$f" .mp4)
mkdir -p "$out"
n=0; list=
for t in 1 3 5 7 9; do
    n=$((n + 1))
    ffmpeg -nostdin -hide_banner -loglevel error -y -ss $t -i "$f" -frames:v 1 -vf scale=320:-2 \
        "$out/thumb-$n.jpg" || exit 1
    list="$list $out/thumb-$n.jpg"
done
vips arrayjoin "${list# }" "$out/sheet.jpg" --across 5
EOF
chmod +x "$tmp/peer.sh"

cat > "$tmp/peer-ft.sh" <<'EOF'
#!/bin/sh
f=$1; out=$2/$(basename "$f" .mp4)
mkdir -p "$out"
n=0; list=
for t in 1 3 5 7 9; do
    n=$((n + 1))
    ffmpegthumbnailer -i "$f" -o "$out/thumb-$n.jpg" -s 320 -t 00:00:0$t 2>/dev/null || exit 1
    list="$list $out/thumb-$n.jpg"
done
vips arrayjoin "${list# }" "$out/sheet.jpg" --across 5
EOF
chmod +x "$tmp/peer-ft.sh"

cat > "$tmp/peer-one.sh" <<'EOF'
#!/bin/sh
f=$1; out=$2/$(basename "$f" .mp4)
mkdir -p "$out"
exec ffmpeg -nostdin -hide_banner -loglevel error -y -skip_frame nokey -i "$f" -an \
    -filter_complex "[0:v]scale=320:-2,split[t][s];[s]tile=5x1[sheet]" \
    -map '[t]' -fps_mode passthrough -frames:v 5 "$out/thumb-%d.jpg" \
    -map '[sheet]' -frames:v 1 "$out/sheet.jpg"
EOF
chmod +x "$tmp/peer-one.sh"
have_ft=0
command -v ffmpegthumbnailer >/dev/null 2>&1 && have_ft=1

echo "vbatch:  $vbatch (from $how)"
"$vbatch" --version | head -n 3 | sed 's/^/         /'
echo "machine: $(nproc) cores, $(uname -sr)"
echo "videos:  $N x 10 s 1280x720 25 fps H.264 + AAC (cache: $CACHE)"
echo "work:    5 thumbnails 320 px wide + a contact sheet per video, $JOBS at a time"
echo "runs:    $REPEAT each (median)"
echo

# ---- the sides ----

run_vbatch() { # CONFIG: seconds
    rm -rf "$tmp/out"
    local t0 rc
    t0=$(now)
    "$vbatch" process "$tmp/in" --output "$tmp/out" --quiet --config "$1" > /dev/null
    rc=$?
    if [ $rc -gt 1 ]; then
        echo "thumbs.sh: vbatch exited with status $rc" >&2
        return 1
    fi
    elapsed "$t0"
}

run_peer() { # SCRIPT: seconds
    rm -rf "$tmp/peer"
    mkdir -p "$tmp/peer"
    local t0
    t0=$(now)
    printf '%s\0' "$tmp"/in/*.mp4 | xargs -0 -P "$JOBS" -I{} "$1" {} "$tmp/peer" || {
        echo "thumbs.sh: the peer $(basename "$1") failed" >&2
        return 1
    }
    elapsed "$t0"
}

# The same run without thumbnails: what probing and reporting cost.
sed 's/^enabled = true/enabled = false/' "$tmp/thumbs.ini" > "$tmp/plain.ini"

tv=(); tb=(); tp=(); tf=(); to=()
for ((r = 1; r <= REPEAT; r++)); do
    t=$(run_vbatch "$tmp/thumbs.ini") || exit 1
    tv+=("$t")
    if [ "$r" -eq 1 ]; then
        made=$(find "$tmp/out" -path '*/thumbnails/thumb-*.jpg' | wc -l)
        sheets=$(find "$tmp/out" -name contact.jpg | wc -l)
        if [ "$made" -ne $((N * 5)) ] || [ "$sheets" -ne "$N" ]; then
            echo "thumbs.sh: vbatch made $made thumbnails and $sheets sheets, expected $((N * 5)) and $N" >&2
            exit 1
        fi
    fi
    t=$(run_peer "$tmp/peer-one.sh") || exit 1
    to+=("$t")
    if [ "$have_ft" -eq 1 ]; then
        t=$(run_peer "$tmp/peer-ft.sh") || exit 1
        tf+=("$t")
    fi
    t=$(run_peer "$tmp/peer.sh") || exit 1
    tp+=("$t")
    t=$(run_vbatch "$tmp/plain.ini") || exit 1
    tb+=("$t")
done
vb=$(median "${tv[@]}")
echo "(a) vbatch process (thumbnails):  $vb s  ($(per_video "$vb" "$N") s/video)  runs: ${tv[*]}"
base=$(median "${tb[@]}")
echo "    vbatch process (no thumbs):   $base s  ($(per_video "$base" "$N") s/video)"
peer=$(median "${tp[@]}")
echo "(b) ffmpeg x5 + vips arrayjoin:   $peer s  ($(per_video "$peer" "$N") s/video)  runs: ${tp[*]}"
if [ "$have_ft" -eq 1 ]; then
    ft=$(median "${tf[@]}")
    echo "(c) ffmpegthumbnailer x5 + vips:  $ft s  ($(per_video "$ft" "$N") s/video)  runs: ${tf[*]}"
else
    echo "(c) ffmpegthumbnailer: not installed (Debian package ffmpegthumbnailer), skipped"
fi
one=$(median "${to[@]}")
echo "(d) one ffmpeg process per video: $one s  ($(per_video "$one" "$N") s/video)  runs: ${to[*]}"

echo
echo "ffmpeg x5 / vbatch:           $(ratio "$peer" "$vb" 10)"
[ "$have_ft" -eq 1 ] && echo "ffmpegthumbnailer / vbatch:   $(ratio "$ft" "$vb" 10)"
echo "single ffmpeg / vbatch:       $(ratio "$one" "$vb" 6)"
