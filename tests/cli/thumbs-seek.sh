#!/bin/sh
# Thumbnails of MPEG-TS and MPEG-PS clips with a single key frame
# (libx264's default GOP: every x264 clip of 10 s or less; MPEG-2 in one
# GOP): a seek in a file without an index lands past that key frame, and
# decoding must go back far enough to reach it. The frames taken are compared with
# ffmpeg's own frame at the same time (each frame of the clips has its
# own hue, so a neighbour does not pass).
. "$TOP_SRCDIR/tests/lib/testlib.sh"

IN="$T/in"; mkdir -p "$IN"
for c in onekey_h264.ts onekey_mpeg2.ts onekey_mpeg2.mpg; do
    media_make_hostile "$CLIPS" "$c" || exit 99
done
cp "$CLIPS/onekey_h264.ts" "$CLIPS/onekey_mpeg2.ts" "$IN/"
cp "$CLIPS/onekey_mpeg2.mpg" "$IN/onekey_ps.mpg"    # its own item folder name
check "the H.264 clip has one key frame (ffprobe)" \
    [ "$(ffprobe -v error -select_streams v -skip_frame nokey -show_entries frame=pts_time -of csv "$IN/onekey_h264.ts" | grep -c frame)" -eq 1 ]
check "the MPEG-2 clip has one key frame (ffprobe)" \
    [ "$(ffprobe -v error -select_streams v -skip_frame nokey -show_entries frame=pts_time -of csv "$IN/onekey_mpeg2.ts" | grep -c frame)" -eq 1 ]

OUT="$T/out"
expect_status 0 "thumbnails of single-key-frame TS and PS clips" \
    "$VBATCH" process "$IN" --output "$OUT" --thumbnails --quiet

# compare CLIP ITEM: each thumbnail against ffmpeg's frame at its time
# (the frame number from the time at 25 fps), scaled alike; the frames
# next to it must be much further off
compare() {
    "$PYTHON3" - "$IN/$1" "$OUT/$2" "$FFMPEG" <<'PY'
import json, subprocess, sys
clip, item, ffmpeg = sys.argv[1:4]
d = json.load(open(item + "/metadata/thumbnails.json"))
def raw(args):
    return subprocess.run([ffmpeg, "-nostdin", "-loglevel", "error"] + args +
                          ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                          check=True, capture_output=True).stdout
def diff(a, b):
    assert len(a) == len(b) and a
    return sum(abs(x - y) for x, y in zip(a, b)) / len(a)
bad = 0
if len(d["thumbnails"]) != 5:
    print("expected 5 thumbnails, got", len(d["thumbnails"]))
    bad += 1
for t in d["thumbnails"]:
    w, h = t["width"], t["height"]
    img = raw(["-i", item + "/thumbnails/" + t["file"]])
    n = round(t["actual"] * 25)
    near = []
    for k in (n - 1, n, n + 1):
        ref = raw(["-i", clip, "-vf", "select=eq(n\\,%d),scale=%d:%d:flags=bicubic" % (k, w, h),
                   "-frames:v", "1"])
        near.append(diff(img, ref))
    ok = abs(t["actual"] - t["requested"]) < 0.041 and near[1] < 8 and \
         near[1] * 4 < min(near[0], near[2])
    print("%s %.2f s (frame at %.2f s): off by %.1f, neighbours %.1f %.1f%s" %
          (t["file"], t["requested"], t["actual"], near[1], near[0], near[2],
           "" if ok else "  WRONG"))
    bad += not ok
sys.exit(1 if bad else 0)
PY
}
check "H.264 in TS: the thumbnails are ffmpeg's frames at their times" compare onekey_h264.ts onekey_h264
check "MPEG-2 in TS: the thumbnails are ffmpeg's frames at their times" compare onekey_mpeg2.ts onekey_mpeg2
check "MPEG-2 in PS: the thumbnails are ffmpeg's frames at their times" compare onekey_ps.mpg onekey_ps

# Exact times ask for the frame at each time, key frame or not.
cat > "$T/times.ini" <<'EOF'
[thumbnails]
enabled = true
times = 0.2 3.5 6.96
EOF
expect_status 0 "fixed times in a single-key-frame TS" \
    "$VBATCH" process "$IN/onekey_h264.ts" --output "$T/times" --config "$T/times.ini" --quiet
pyjson "$T/times/onekey_h264/metadata/thumbnails.json" \
    "[round(t['actual'], 2) for t in d['thumbnails']] == [0.2, 3.52, 6.96]" ||
    fail "fixed times: the first frames at or after 0.2, 3.5 and 6.96 s"
finish
