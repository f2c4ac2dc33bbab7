#!/bin/sh
# [thumbnails]: count, size and displayed aspect (rotation, pixel shape),
# output formats, moving off black frames, fixed times and the contact
# sheet's grid. Sizes are read back with vipsheader (libvips-tools), not
# with vbatch's own code.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
need_tool vipsheader

IN="$T/in"; mkdir -p "$IN"
for c in h264_aac_720p.mp4 rotated.mp4 anamorphic.mp4; do
    cp "$(clip $c)" "$IN/" || exit 99
done
media_make_thumbs "$CLIPS" thumbs_black_start.mp4 || exit 99
cp "$CLIPS/thumbs_black_start.mp4" "$IN/"

# hdr FILE FIELD: one header field as the oracle reads it
hdr() { vipsheader -f "$2" "$1" 2>/dev/null; }
# between V LO HI
between() { [ "$1" -ge "$2" ] && [ "$1" -le "$3" ]; }

# ---- JPEG, 4 thumbnails 240 px wide, 3 columns ----
cat > "$T/jpeg.ini" <<'EOF'
[thumbnails]
enabled = true
count = 4
width = 240
format = jpeg
quality = 85
columns = 3
contact_sheet = true
EOF
OUT="$T/out"
expect_status 0 "process with thumbnails" "$VBATCH" process "$IN" --output "$OUT" --config "$T/jpeg.ini" --quiet

# item, displayed width x height of the video
for spec in h264_aac_720p:1280:720 rotated:720:1280 anamorphic:768:576 thumbs_black_start:1280:720; do
    item=${spec%%:*}; dims=${spec#*:}; dw=${dims%:*}; dh=${dims#*:}
    want_h=$(awk -v w="$dw" -v h="$dh" 'BEGIN { printf "%d", 240 * h / w + 0.5 }')
    n=0
    for f in "$OUT/$item"/thumbnails/thumb-0[1-4].jpg; do [ -f "$f" ] && n=$((n + 1)); done
    check "$item: 4 thumbnails" [ "$n" -eq 4 ]
    check "$item: nothing else in thumbnails/" [ "$(ls "$OUT/$item/thumbnails" | wc -l)" -eq 4 ]
    for f in "$OUT/$item"/thumbnails/thumb-*.jpg; do
        w=$(hdr "$f" width); h=$(hdr "$f" height)
        if [ "$w" = 240 ] && [ "$h" = "$want_h" ]; then :; else
            fail "$item: $(basename "$f") is ${w}x$h, expected 240x$want_h"
        fi
        check "$item: $(basename "$f") is a JPEG" [ "$(hdr "$f" vips-loader)" = jpegload ]
    done
    pyjson "$OUT/$item/metadata/thumbnails.json" \
        "len(d['thumbnails']) == 4 and all(t['width'] == 240 and t['height'] == $want_h for t in d['thumbnails']) and [t['file'] for t in d['thumbnails']] == ['thumb-01.jpg', 'thumb-02.jpg', 'thumb-03.jpg', 'thumb-04.jpg'] and d['seconds'] > 0" \
        || fail "$item: thumbnails.json lists the 4 thumbnails"

    # The contact sheet: 3 across, 2 down, with thin gaps.
    cs="$OUT/$item/contact.jpg"
    check "$item: contact.jpg" test -s "$cs"
    cw=$(hdr "$cs" width); ch=$(hdr "$cs" height)
    check "$item: contact sheet is 3 thumbnails across (${cw} px)" between "$cw" 720 760
    check "$item: contact sheet is 2 thumbnails down (${ch} px)" \
        between "$ch" $((2 * want_h)) $((2 * want_h + 40))
    pyjson "$OUT/$item/metadata/thumbnails.json" \
        "d['contact']['file'] == 'contact.jpg' and d['contact']['width'] == $cw and d['contact']['height'] == $ch" \
        || fail "$item: thumbnails.json describes the contact sheet"
done
# The sheet's layout and pixels, from an independent decoder (ffmpeg):
# 4 px gaps and border of grey 24, each cell the thumbnail itself above
# a darkened label strip; and the thumbnails baseline JPEGs without EXIF.
sheet_check() {
    "$PYTHON3" - "$OUT/$1" "$FFMPEG" <<'PY2'
import json, subprocess, sys
item, ffmpeg = sys.argv[1:3]
d = json.load(open(item + "/metadata/thumbnails.json"))
def raw(f):
    return subprocess.run([ffmpeg, "-nostdin", "-loglevel", "error", "-i", f, "-f", "rawvideo",
                           "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
t0 = d["thumbnails"][0]
w, h = t0["width"], t0["height"]
sw, sh = d["contact"]["width"], d["contact"]["height"]
bad = []
if (sw, sh) != (3 * w + 2 * 4 + 8, 2 * h + 4 + 8):
    bad.append("sheet %dx%d for tiles %dx%d" % (sw, sh, w, h))
s = raw(item + "/contact.jpg")
px = lambda x, y: s[3 * (y * sw + x):3 * (y * sw + x) + 3]
grey = [px(x, y) for x in range(0, sw, 7) for y in (0, 2, sh - 1)] + \
       [px(4 + w + 2, y) for y in range(0, sh, 5)]
# JPEG blurs the tiles' colours a few pixels into the gaps: the mean.
off = sum(abs(c - 24) for p in grey for c in p) / (3 * len(grey))
if off > 8:
    bad.append("border or gap %.1f off grey 24" % off)
for i, t in enumerate(d["thumbnails"]):
    x0, y0 = 4 + (i % 3) * (w + 4), 4 + (i // 3) * (h + 4)
    img = raw(item + "/thumbnails/" + t["file"])
    def mean(buf, get, rows):
        v = [c for y in rows for x in range(0, w, 3) for c in get(buf, x, y)]
        return sum(v) / len(v)
    top = range(0, h // 2)
    diff = sum(abs(a - b) for y in top for x in range(0, w, 3)
               for a, b in zip(px(x0 + x, y0 + y), img[3 * (y * w + x):3 * (y * w + x) + 3]))
    diff /= 3 * len(top) * len(range(0, w, 3))
    strip = range(h - 3, h)     # the label strip's bottom rows: below the text
    dark = mean(s, lambda b, x, y: px(x0 + x, y0 + y), strip)
    orig = mean(img, lambda b, x, y: b[3 * (y * w + x):3 * (y * w + x) + 3], strip)
    if diff > 6 or not dark < 0.45 * orig + 6:
        bad.append("%s: cell off by %.1f, strip %.0f against %.0f" % (t["file"], diff, dark, orig))
print("; ".join(bad) or "sheet ok")
sys.exit(1 if bad else 0)
PY2
}
for item in h264_aac_720p rotated anamorphic; do
    pyjson "$OUT/$item/metadata/qc.json" \
        "any(c['rule'] == 'thumbnails' and c['verdict'] == 'pass' and c['value'] == '4 of 4 readable' for c in d['checks'])" \
        || fail "$item: the thumbnails read back: 4 of 4 readable, 240 px wide JPEG"
done
check "h264_aac_720p: the contact sheet's grid, cells and label strips" sheet_check h264_aac_720p
check "thumbnails are baseline JPEG (not progressive)" \
    [ "$(hdr "$OUT/h264_aac_720p/thumbnails/thumb-01.jpg" jpeg-multiscan)" = 0 ]
check "thumbnails carry no EXIF block (stripped)" \
    sh -c "! vipsheader -a '$OUT/h264_aac_720p/thumbnails/thumb-01.jpg' | grep -q '^exif-data'"
check "rotated: thumbnails are portrait" \
    [ "$(hdr "$OUT/rotated/thumbnails/thumb-01.jpg" height)" -gt "$(hdr "$OUT/rotated/thumbnails/thumb-01.jpg" width)" ]
# Evenly spaced times; by default each uses the nearest key frame within
# half the spacing (one decoded frame each), and the frames are key frames
# (ffprobe, the oracle); with exact = true, the frames at those times.
pyjson "$OUT/h264_aac_720p/metadata/thumbnails.json" \
    "[t['requested'] for t in d['thumbnails']] == [0.75, 2.25, 3.75, 5.25] and all(abs(t['actual'] - t['requested']) <= 0.75 for t in d['thumbnails'])" \
    || fail "evenly spaced times, frames within half the spacing"
keys=$(ffprobe -v error -select_streams v -skip_frame nokey -show_entries frame=pts_time -of default=nw=1:nk=1 "$IN/h264_aac_720p.mp4" | tr '\n' ' ')
pyjson "$OUT/h264_aac_720p/metadata/thumbnails.json" \
    "all(t['moved_off_black'] or any(abs(t['actual'] - float(k)) < 0.001 for k in '$keys'.split()) for t in d['thumbnails'] if abs(t['actual'] - t['requested']) > 0.05)" \
    || fail "moved thumbnails sit on key frames"
sed 's/^count = 4$/count = 4\nexact = true/' "$T/jpeg.ini" > "$T/exact.ini"
"$VBATCH" process "$IN/h264_aac_720p.mp4" --output "$T/exact" --config "$T/exact.ini" --quiet
pyjson "$T/exact/h264_aac_720p/metadata/thumbnails.json" \
    "[t['requested'] for t in d['thumbnails']] == [0.75, 2.25, 3.75, 5.25] and all(abs(t['actual'] - t['requested']) < 0.05 for t in d['thumbnails'])" \
    || fail "exact = true: frames at those times"
check "no temporary files left" [ -z "$(find "$OUT" -name '*.vbtmp.*')" ]

# ---- pixels against an independent shrink (ffmpeg's area scaling of
# the same frame): 240 px (1280/240: swscale's own shrink) and 320 px
# (a whole factor of 4: vbatch's box shrink in YUV, then swscale's
# conversion alone) ----
pix_check() { # WIDTH
    sed "s/^width = 240$/width = $1/" "$T/jpeg.ini" > "$T/w$1.ini"
    "$VBATCH" process "$IN/h264_aac_720p.mp4" --output "$T/w$1" --config "$T/w$1.ini" --quiet || return 1
    "$PYTHON3" - "$T/w$1/h264_aac_720p" "$IN/h264_aac_720p.mp4" "$FFMPEG" "$1" <<'PY3'
import json, subprocess, sys
item, video, ffmpeg, width = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
d = json.load(open(item + "/metadata/thumbnails.json"))
def raw(args):
    return subprocess.run([ffmpeg, "-nostdin", "-loglevel", "error"] + args +
                          ["-f", "rawvideo", "-pix_fmt", "rgb24", "-"], check=True, capture_output=True).stdout
worst = 0
for t in d["thumbnails"]:
    w, h = t["width"], t["height"]
    ref = raw(["-ss", "%.3f" % t["actual"], "-i", video, "-frames:v", "1", "-vf",
               "scale=%d:%d:flags=area+accurate_rnd+full_chroma_int" % (w, h)])
    got = raw(["-i", item + "/thumbnails/" + t["file"]])
    if len(ref) != len(got) or w != width:
        print("%s: %dx%d, %d bytes against %d" % (t["file"], w, h, len(got), len(ref)))
        sys.exit(1)
    worst = max(worst, sum(abs(a - b) for a, b in zip(ref, got)) / len(ref))
# JPEG at quality 85 of a busy test picture: ~5 either way.
print("mean difference at most %.2f" % worst)
sys.exit(0 if worst < 7 else 1)
PY3
}
check "240 px thumbnails match an area shrink of the frames" pix_check 240
check "320 px thumbnails (a whole factor) match an area shrink of the frames" pix_check 320

# ---- black at the start: the early thumbnails move off it ----
J="$OUT/thumbs_black_start/metadata/thumbnails.json"
pyjson "$J" "d['thumbnails'][0]['requested'] == 0.75 and d['thumbnails'][0]['moved_off_black'] and 2.0 <= d['thumbnails'][0]['actual'] < 2.1" \
    || fail "first thumbnail moved off the black leader"
pyjson "$J" "not d['thumbnails'][2]['moved_off_black'] and 0 <= d['thumbnails'][2]['actual'] - d['thumbnails'][2]['requested'] < 0.04" \
    || fail "a thumbnail on picture stays where it was asked for"
avg=$(vips avg "$OUT/thumbs_black_start/thumbnails/thumb-01.jpg" 2>/dev/null || echo 0)
check "first thumbnail is not black (mean $avg)" awk -v a="$avg" 'BEGIN { exit !(a > 40) }'

cat > "$T/black.ini" <<'EOF'
[thumbnails]
enabled = true
count = 4
avoid_black = false
contact_sheet = false
EOF
expect_status 0 "avoid_black = false" "$VBATCH" process "$IN/thumbs_black_start.mp4" --output "$T/out-nb" \
    --config "$T/black.ini" --quiet
pyjson "$T/out-nb/thumbs_black_start/metadata/thumbnails.json" \
    "not d['thumbnails'][0]['moved_off_black'] and d['thumbnails'][0]['actual'] < 1 and d['contact'] is None" \
    || fail "without avoid_black the black frame is kept"
check "contact_sheet = false: no contact.jpg" test ! -e "$T/out-nb/thumbs_black_start/contact.jpg"

# ---- WebP and PNG, fixed times ----
for fmt in webp png; do
    cat > "$T/$fmt.ini" <<EOF
[thumbnails]
enabled = true
format = $fmt
width = 160
times = 4.5 1 99
EOF
    O="$T/out-$fmt"
    expect_status 0 "format = $fmt" "$VBATCH" process "$IN/h264_aac_720p.mp4" --output "$O" --config "$T/$fmt.ini" --quiet
    check "$fmt: three thumbnails" [ "$(ls "$O/h264_aac_720p/thumbnails" | wc -l)" -eq 3 ]
    for i in 1 2 3; do
        f="$O/h264_aac_720p/thumbnails/thumb-0$i.$fmt"
        check "$fmt: thumb-0$i.$fmt is ${fmt}load" [ "$(hdr "$f" vips-loader)" = "${fmt}load" ]
        check "$fmt: thumb-0$i.$fmt is 160x90" [ "$(hdr "$f" width)x$(hdr "$f" height)" = 160x90 ]
    done
    # in time order; 99 s is past the end: the last frame (6 s at 25 fps)
    pyjson "$O/h264_aac_720p/metadata/thumbnails.json" \
        "[t['requested'] for t in d['thumbnails']][:2] == [1.0, 4.5] and 5.9 < d['thumbnails'][2]['requested'] < 6 and abs(d['thumbnails'][2]['actual'] - 5.96) < 0.001" \
        || fail "$fmt: times sorted and clamped to the last frame"
    pyjson "$O/h264_aac_720p/metadata/qc.json" \
        "any(c['rule'] == 'thumbnails' and c['verdict'] == 'pass' and c['value'] == '3 of 3 readable' for c in d['checks'])" \
        || fail "$fmt: the thumbnails read back: 3 of 3 readable, 160 px wide $fmt"
    check "$fmt: contact sheet is a JPEG" [ "$(hdr "$O/h264_aac_720p/contact.jpg" vips-loader)" = jpegload ]
    check "$fmt: contact sheet 3 across" between "$(hdr "$O/h264_aac_720p/contact.jpg" width)" 480 520
done

# Thumbnails off (the default): no thumbnails folder.
"$VBATCH" process "$IN/h264_aac_720p.mp4" --output "$T/out-off" --quiet
check "thumbnails off by default" test ! -e "$T/out-off/h264_aac_720p/thumbnails"
# --thumbnails turns them on with the defaults: 5 JPEGs 320 px wide.
"$VBATCH" process "$IN/h264_aac_720p.mp4" --output "$T/out-on" --thumbnails --quiet
check "--thumbnails: 5 thumbnails" [ "$(ls "$T/out-on/h264_aac_720p/thumbnails" | wc -l)" -eq 5 ]
check "--thumbnails: 320 px wide" [ "$(hdr "$T/out-on/h264_aac_720p/thumbnails/thumb-05.jpg" width)" = 320 ]
finish
