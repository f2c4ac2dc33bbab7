#!/bin/sh
# Untrusted containers (issue 10): a video track no FFmpeg can decode, a
# playlist or manifest named .mp4 that points at a private clip outside
# the input folder, a playlist whose segment is a FIFO, a gzip bomb named
# .mp4, a header that lies about the frame size, thumbnails that fail.
# Each is a per-item error (or a failed gate) with a clear message; the
# good files around them are recorded; nothing is read through them.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
need_tool /usr/bin/time

GOOD=$(clip h264_aac_720p.mp4)
GOOD2=$(clip h264_ntsc.mkv)
for n in hostile_unknown_codec.mkv hostile_header_liar.mp4 hostile_dead_video.mp4 hostile_gzip_bomb.mp4 \
         hostile_streams.mkv hostile_giant_frame.mkv; do
    media_make_hostile "$CLIPS" "$n" || exit 99
done

# errors OUT: the error log's (source, stage, message) lines
E() { "$PYTHON3" -c 'import json, sys
for e in json.load(open(sys.argv[1]))["errors"]:
    print(e["source"], "|", e["stage"], "|", e["message"])' "$1/summary/error_log.json"; }
# has_error OUT NAME STAGE TEXT
has_error() {
    pyjson "$1/summary/error_log.json" \
        "any(e['source'].endswith('/$2') and e['stage'] == '$3' and '$4' in e['message'] for e in d['errors'])" ||
        { fail "$2: $3 error with '$4'"; E "$1" >&2; }
}
# done_items OUT N: N items done
done_items() {
    pyjson "$1/summary/batch_report.json" "d['counts']['done'] == $2" || fail "$1: $2 items done"
}

# ---- 1. a video track with no decoder, among good clips ----
IN="$T/codec"; mkdir -p "$IN"
cp "$GOOD" "$IN/good.mp4"; cp "$GOOD2" "$IN/good2.mkv"
cp "$CLIPS/hostile_unknown_codec.mkv" "$IN/unknown.mkv"
expect_status 3 "unknown codec, --thumbnails: the item fails, the batch goes on" \
    "$VBATCH" process "$IN" --output "$T/codec-out" --thumbnails --quiet
has_error "$T/codec-out" unknown.mkv thumbs "video codec is unknown to this FFmpeg"
done_items "$T/codec-out" 2
check "good clips got their thumbnails" test -s "$T/codec-out/good/contact.jpg" -a -s "$T/codec-out/good2/contact.jpg"
expect_status 3 "unknown codec, --thumbnails --deep: no crash either" \
    "$VBATCH" process "$IN" --output "$T/codec-deep" --thumbnails --deep --quiet
has_error "$T/codec-deep" unknown.mkv analyse "video codec is unknown to this FFmpeg"
done_items "$T/codec-deep" 2

# ---- 2. playlists and manifests that point at a private clip ----
PRIV="$T/private"; mkdir -p "$PRIV"
# 352x208, 7.36 s: figures no other clip here has
"$FFMPEG" -nostdin -loglevel error -y -f lavfi -i testsrc2=size=352x208:rate=25 -t 7.36 \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p -f mpegts "$PRIV/secret.ts" || exit 99
"$FFMPEG" -nostdin -loglevel error -y -i "$PRIV/secret.ts" -c copy -movflags +faststart \
    "$PRIV/secret.mp4" || exit 99
IN="$T/lists"; mkdir -p "$IN/sub"
cp "$GOOD" "$IN/good.mp4"
hls() { printf '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:8\n#EXTINF:7.36,\n%s\n#EXT-X-ENDLIST\n' "$1"; }
hls "$PRIV/secret.ts" > "$IN/clip.mp4"
hls "../../private/secret.ts" > "$IN/sub/clip.mp4"
mpd() {
    cat <<EOF
<?xml version="1.0" encoding="utf-8"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT7.36S"
     minBufferTime="PT1S" profiles="urn:mpeg:dash:profile:isoff-on-demand:2011">
 <Period><AdaptationSet mimeType="video/mp4">
  <Representation id="1" bandwidth="100000" width="352" height="208" codecs="avc1.42c00d">
   <BaseURL>$1</BaseURL>
  </Representation>
 </AdaptationSet></Period>
</MPD>
EOF
}
mpd "$PRIV/secret.mp4" > "$IN/dash.mp4"
mpd "../private/secret.mp4" > "$IN/dash-rel.mp4"
# An ffconcat script (found by the fuzz harness's second-file check).
printf 'ffconcat version 1.0\nfile %s\n' "$PRIV/secret.mp4" > "$IN/concat.mp4"
OUT="$T/lists-out"
expect_status 3 "playlists and manifests are refused" \
    "$VBATCH" process "$IN" --output "$OUT" --recursive --thumbnails --publish --quiet
has_error "$OUT" lists/clip.mp4 probe "an HLS playlist"
has_error "$OUT" sub/clip.mp4 probe "an HLS playlist"
has_error "$OUT" lists/dash.mp4 probe "a DASH manifest"
has_error "$OUT" dash-rel.mp4 probe "a DASH manifest"
has_error "$OUT" lists/concat.mp4 probe "an FFmpeg concat script"
pyjson "$OUT/summary/error_log.json" "all('not a media file vbatch checks' in e['message'] for e in d['errors'])" ||
    fail "the refusals say why"
done_items "$OUT" 1
# The private clip's figures, as ffprobe reports them, appear nowhere.
for f in secret.ts secret.mp4; do
    for k in size bit_rate; do
        v=$(ffprobe -v error -show_entries format=$k -of default=nw=1:nk=1 "$PRIV/$f")
        check "$f's $k ($v) nowhere in OUT" [ -z "$(grep -rlaw -- "$v" "$OUT")" ]
    done
done
# Every number in every file of OUT (the journal too), read as a number:
# a timing such as 7.364e-06 is not the duration.
no_number() {
    "$PYTHON3" - "$1" "$2" <<'PY'
import os, re, sys
root, want = sys.argv[1], float(sys.argv[2])
num = re.compile(rb"(?<![0-9.eE+-])-?[0-9]+\.[0-9]+(?:[eE][+-]?[0-9]+)?")
for d, _, files in os.walk(root):
    for f in files:
        for m in num.findall(open(os.path.join(d, f), "rb").read()):
            if abs(float(m) - want) < 0.005:
                sys.exit("%s holds %s" % (os.path.join(d, f), m.decode()))
PY
}
check "the private duration (7.36 s) nowhere in OUT" no_number "$OUT" 7.36
check "the private frame size (352x208) nowhere in OUT" [ -z "$(grep -rlaE '352x208|"width": *352' "$OUT")" ]
check "only the good clip has thumbnails" \
    [ "$(find "$OUT" -name 'thumb-*' | grep -vc "/good/")" -eq 0 ]
check "only the good clip is published" [ "$(ls "$OUT/publish")" = "good.mp4" ]

# ---- 3. a playlist whose segment is a FIFO: nothing opens it ----
IN="$T/fifo"; mkdir -p "$IN"
mkfifo "$PRIV/pipe.ts"
hls "$PRIV/pipe.ts" > "$IN/clip.mp4"
cp "$GOOD" "$IN/good.mp4"
# A writer whose open returns only once someone opens the FIFO to read.
( exec 3> "$PRIV/pipe.ts"; echo opened > "$T/fifo-opened"; sleep 90 ) &
writer=$!
expect_status 3 "a FIFO segment does not block (under timeout 60)" \
    timeout 60 "$VBATCH" process "$IN" --output "$T/fifo-out" --quiet
check "the FIFO was never opened" [ ! -e "$T/fifo-opened" ]
kill "$writer" 2>/dev/null; wait "$writer" 2>/dev/null
has_error "$T/fifo-out" clip.mp4 probe "an HLS playlist"
done_items "$T/fifo-out" 1

# ---- 4. a 2 MB gzip named .mp4 (about 2 GB of zeros inside) ----
IN="$T/bomb"; mkdir -p "$IN"
cp "$CLIPS/hostile_gzip_bomb.mp4" "$IN/clip.mp4"
/usr/bin/time -f %M -o "$T/bomb-rss" "$VBATCH" process "$IN" --output "$T/bomb-out" --quiet
check "gzip bomb: exit 3" [ $? -eq 3 ]
has_error "$T/bomb-out" clip.mp4 probe "gzip-compressed data"
rss=$(tail -1 "$T/bomb-rss")
check "gzip bomb: peak RSS ${rss} KB < 200 MB" [ "$rss" -lt 204800 ]

# A container with 120 streams (each would get a decoder to complete its
# parameters): more than an item may have.
IN="$T/streams"; mkdir -p "$IN"
cp "$CLIPS/hostile_streams.mkv" "$IN/many.mkv"; cp "$GOOD" "$IN/good.mp4"
expect_status 3 "120 streams: the item is refused" \
    "$VBATCH" process "$IN" --output "$T/streams-out" --quiet
has_error "$T/streams-out" many.mkv probe "more than 100 streams"
done_items "$T/streams-out" 1

# A 9000x9000 picture: refused before a decoder allocates it. (Its peak
# RSS is measured alone: decoding a good clip under ASan costs more.)
IN="$T/giant"; mkdir -p "$IN"
cp "$CLIPS/hostile_giant_frame.mkv" "$IN/giant.mkv"
/usr/bin/time -f %M -o "$T/giant-rss" "$VBATCH" process "$IN" --output "$T/giant-out" \
    --thumbnails --deep --quiet
check "giant picture: exit 3" [ $? -eq 3 ]
has_error "$T/giant-out" giant.mkv analyse "pictures are 9000x9000, more than"
rss=$(tail -1 "$T/giant-rss")
check "giant picture: peak RSS ${rss} KB < 200 MB" [ "$rss" -lt 204800 ]
cp "$GOOD" "$IN/good.mp4"
expect_status 3 "giant picture, --thumbnails only" \
    "$VBATCH" process "$IN" --output "$T/giant-thumbs" --thumbnails --quiet
has_error "$T/giant-thumbs" giant.mkv thumbs "pictures are 9000x9000, more than"
done_items "$T/giant-thumbs" 1

# ---- 5. a header that declares 1920x1080 for a 320x256 stream ----
IN="$T/liar"; mkdir -p "$IN"
cp "$CLIPS/hostile_header_liar.mp4" "$IN/liar.mp4"
fw=$(ffprobe -v error -select_streams v -show_entries stream=width -of default=nw=1:nk=1 "$IN/liar.mp4")
fh=$(ffprobe -v error -select_streams v -show_entries stream=height -of default=nw=1:nk=1 "$IN/liar.mp4")
check "ffprobe (the oracle) says 320x256" [ "${fw}x$fh" = 320x256 ]
for deep in "" --deep; do
    O="$T/liar-out$deep"
    expect_status 1 "kling-clip fails the size gate $deep" \
        "$VBATCH" process "$IN" --output "$O" --preset kling-clip --quiet $deep
    pyjson "$O/liar/metadata/probe.json" \
        "[(s['width'], s['height'], s['header_width'], s['header_height']) for s in d['streams'] if s['type'] == 'video'] == [($fw, $fh, 1920, 1080)]" ||
        fail "probe.json: the stream's size like ffprobe's, the declared one kept $deep"
    pyjson "$O/liar/metadata/qc.json" \
        "any(c['rule'] == 'frame_size' and c['verdict'] == 'warn' and '1920x1080' in c['message'] and '320x256' in c['message'] for c in d['checks']) and any(c['rule'] == 'min_resolution' and c['verdict'] == 'fail' and c['value'] == '320x256' for c in d['checks'])" ||
        fail "qc.json: a frame_size warning naming both sizes, min_resolution on 320x256 $deep"
done
# A clip whose header tells the truth has no such finding.
"$VBATCH" process "$GOOD" --output "$T/truth" --preset kling-clip --quiet
pyjson "$T/truth/h264_aac_720p/metadata/qc.json" "not any(c['rule'] == 'frame_size' for c in d['checks'])" ||
    fail "no frame_size finding on an honest clip"
pyjson "$T/truth/h264_aac_720p/metadata/probe.json" "d['streams'][0]['header_width'] is None" ||
    fail "no header size on an honest clip"

# ---- 7. thumbnails that fail: an error, nothing leaked (ASan: exit 3) ----
IN="$T/dead"; mkdir -p "$IN"
cp "$CLIPS/hostile_dead_video.mp4" "$IN/dead.mp4"; cp "$GOOD" "$IN/good.mp4"
expect_status 3 "undecodable video: thumbnails fail, exit 3" \
    "$VBATCH" process "$IN" --output "$T/dead-out" --thumbnails --quiet
has_error "$T/dead-out" dead.mp4 thumbs "no video frame"
done_items "$T/dead-out" 1
finish
