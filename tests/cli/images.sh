#!/bin/sh
# Still images as items: header-only checks with the [qc] image rules,
# metadata/image.json instead of probe.json, and the files that must be
# refused without being decoded: a decompression bomb and a text file
# named .png (per-item errors at the probe stage, exit 3).
. "$TOP_SRCDIR/tests/lib/testlib.sh"

IN="$T/in"; mkdir -p "$IN"
_ff -f lavfi -i testsrc2=size=1280x720 -frames:v 1 "$IN/wide.png" || exit 99
_ff -f lavfi -i testsrc2=size=640x480 -frames:v 1 "$IN/small.jpg" || exit 99
echo "notes" > "$IN/readme.txt"

cat > "$T/strict.ini" <<'EOF'
[qc]
image_min_width = 1000
image_formats = png
image_level = fail
EOF

# ---- good images, one failing the gates ----
OUT="$T/out"
expect_status 1 "a failing image gives exit 1" "$VBATCH" process "$IN" --pattern '*.png' --pattern '*.jpg' \
    --output "$OUT" --config "$T/strict.ini" --quiet
check "wide: image.json" test -s "$OUT/wide/metadata/image.json"
check "wide: no probe.json" test ! -e "$OUT/wide/metadata/probe.json"
check "readme.txt not taken" test ! -e "$OUT/readme"
size=$(wc -c < "$IN/wide.png")
pyjson "$OUT/wide/metadata/image.json" \
    "d['width'] == 1280 and d['height'] == 720 and d['bands'] == 3 and d['format'] == 'png' and d['size'] == $size" \
    || fail "image.json: width, height, bands, format, size"
pyjson "$OUT/small/metadata/image.json" "d['width'] == 640 and d['height'] == 480 and d['format'] == 'jpeg'" \
    || fail "small.jpg read as jpeg 640x480"
pyjson "$OUT/wide/metadata/qc.json" \
    "{c['rule']: c['verdict'] for c in d['checks']} == {'image_min_width': 'pass', 'image_format': 'pass'}" \
    || fail "wide.png passes image_min_width and image_format"
pyjson "$OUT/small/metadata/qc.json" \
    "any(c['rule'] == 'image_min_width' and c['verdict'] == 'fail' and c['value'] == '640 px' and c['limit'] == '1000 px' for c in d['checks'])" \
    || fail "small.jpg fails image_min_width with value and limit"
pyjson "$OUT/small/metadata/qc.json" \
    "any(c['rule'] == 'image_format' and c['verdict'] == 'fail' and c['value'] == 'jpeg' for c in d['checks'])" \
    || fail "small.jpg fails image_format (png only)"
pyjson "$OUT/summary/batch_report.json" \
    "{i['folder']: i['status'] for i in d['items']} == {'small': 'qc_failed', 'wide': 'done'}" \
    || fail "statuses"

# "jpg" in the list admits JPEG; a lower minimum passes both: exit 0.
cat > "$T/loose.ini" <<'EOF'
[qc]
image_min_width = 600
image_min_height = 400
image_formats = png, jpg
image_aspect_ratio = 16:9
image_aspect_tolerance = 0.4
image_level = fail
EOF
expect_status 0 "all images pass" "$VBATCH" process "$IN" --pattern '*.png' --pattern '*.jpg' \
    --output "$T/out2" --config "$T/loose.ini" --quiet
pyjson "$T/out2/small/metadata/qc.json" \
    "sorted(c['rule'] for c in d['checks']) == ['image_aspect_ratio', 'image_format', 'image_min_height', 'image_min_width'] and d['verdict'] == 'pass'" \
    || fail "every image rule evaluated"

# ---- HEIF (AVIF): libvips reads it through its heif module, which
# vbatch loads only when a still image needs it (image-vips.c). Made by
# libvips's own saver where it has an AV1 encoder; a .avif named .png is
# sniffed, not taken by its name.
if command -v vips >/dev/null 2>&1 && mkdir -p "$T/heif" &&
    vips black "$T/heif/black.png" 64 48 --bands 3 2>/dev/null &&
    vips copy "$T/heif/black.png" "$T/heif/pic.avif" 2>/dev/null; then
    cp "$T/heif/pic.avif" "$T/heif/named.png"
    rm -f "$T/heif/black.png"
    expect_status 0 "AVIF images processed" "$VBATCH" process "$T/heif" --pattern '*.avif' \
        --pattern '*.png' --output "$T/outh" --quiet
    for f in pic named; do
        pyjson "$T/outh/$f/metadata/image.json" "d['width'] == 64 and d['height'] == 48 and d['format'] == 'heif'" \
            || fail "$f: AVIF read as heif 64x48"
    done
else
    echo "note: vips cannot write AVIF here: the HEIF case is skipped"
fi

# ---- files to refuse: a decompression bomb and a text file named .png ----
# A valid PNG whose IHDR claims 100000 x 100000 RGB pixels (30 GB decoded)
# in 69 bytes.
"$PYTHON3" - "$IN/bomb.png" <<'PY' || exit 99
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
ihdr = struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0)
with open(sys.argv[1], "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
PY
echo "this is not a picture" > "$IN/fake.png"

OUT="$T/out3"
expect_status 3 "bomb and fake image give exit 3" "$VBATCH" process "$IN" --pattern '*.png' --pattern '*.jpg' \
    --output "$OUT" --config "$T/loose.ini" --quiet
E="$OUT/summary/error_log.json"
pyjson "$E" "sorted(x['source'].split('/')[-1] for x in d['errors']) == ['bomb.png', 'fake.png'] and all(x['stage'] == 'probe' for x in d['errors'])" \
    || fail "two probe errors"
pyjson "$E" "any(x['source'].endswith('bomb.png') and '100000 x 100000' in x['message'] and 'decompression bomb' in x['message'] for x in d['errors'])" \
    || fail "the bomb is refused from its header"
pyjson "$E" "any(x['source'].endswith('fake.png') and 'not an image' in x['message'] for x in d['errors'])" \
    || fail "the text file is not an image"
check "good images still processed" test -s "$OUT/wide/metadata/image.json"
check "good images still processed" test -s "$OUT/small/metadata/image.json"

# With the limit raised the bomb's header is accepted, and still nothing is
# decoded: fast and small (decoding would need 30 GB).
cat > "$T/big.ini" <<'EOF'
[qc]
image_max_pixels = 20G
EOF
if [ -x /usr/bin/time ]; then
    /usr/bin/time -o "$T/time" -f "%e %M" "$VBATCH" process "$IN/bomb.png" --output "$T/out4" \
        --config "$T/big.ini" --quiet
    check "bomb with a raised limit: processed" [ $? -eq 0 ]
    read -r secs kib < "$T/time"
    check "bomb header read without decoding (${secs} s, ${kib} KiB)" \
        awk -v s="$secs" -v k="$kib" 'BEGIN { exit !(s < 5 && k < 512 * 1024) }'
else
    expect_status 0 "bomb with a raised limit: processed" "$VBATCH" process "$IN/bomb.png" \
        --output "$T/out4" --config "$T/big.ini" --quiet
fi
pyjson "$T/out4/bomb/metadata/image.json" "d['width'] == 100000 and d['height'] == 100000" \
    || fail "bomb's header dimensions recorded"
finish
