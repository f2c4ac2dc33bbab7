#!/bin/sh
# `vbatch probe` agrees with ffprobe on every clip of the suite (the
# oracle), in JSON; the text form carries the same figures.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

media_all "$CLIPS" || exit 99
for c in $MEDIA_SUITE; do
    f="$CLIPS/$c"
    ffprobe -v error -show_format -show_streams -of json "$f" > "$T/$c.ff.json"
    "$VBATCH" probe --format json "$f" > "$T/$c.vb.json"
    check "$c: probe exits 0" [ $? -eq 0 ]
    check "$c: agrees with ffprobe" "$PYTHON3" "$TOP_SRCDIR/tests/lib/compare-ffprobe.py" "$T/$c.ff.json" "$T/$c.vb.json"
done

# VP9 read from the first key frame's header (no decoding): 10 bit in
# WebM, 4:4:4 with Vorbis in Matroska.
for c in vp9_10bit.webm vp9_444.mkv; do
    media_make "$CLIPS" "$c" || exit 99
    f="$CLIPS/$c"
    ffprobe -v error -show_format -show_streams -of json "$f" > "$T/$c.ff.json"
    "$VBATCH" probe --format json "$f" > "$T/$c.vb.json"
    check "$c: probe exits 0" [ $? -eq 0 ]
    check "$c: agrees with ffprobe" "$PYTHON3" "$TOP_SRCDIR/tests/lib/compare-ffprobe.py" "$T/$c.ff.json" "$T/$c.vb.json"
done
# AV1 read from the sequence header in the av1C record (probe-av1.c;
# no decoding): libaom and SVT-AV1, Main/High/Professional, 8/10/12 bit,
# 4:2:0/4:2:2/4:4:4, monochrome, sRGB, full range, HDR, in WebM,
# Matroska and MP4. ffprobe's figures are libdav1d's.
for c in av1_opus.webm av1_10bit_hdr.webm av1_444.mkv av1_422p12.mkv av1_gray_full.mkv av1_gbrp.mkv \
         av1_full_709.webm av1_aac.mp4; do
    media_make "$CLIPS" "$c" || exit 99
    f="$CLIPS/$c"
    ffprobe -v error -show_format -show_streams -of json "$f" > "$T/$c.ff.json"
    "$VBATCH" probe --format json "$f" > "$T/$c.vb.json"
    check "$c: probe exits 0" [ $? -eq 0 ]
    check "$c: agrees with ffprobe" "$PYTHON3" "$TOP_SRCDIR/tests/lib/compare-ffprobe.py" "$T/$c.ff.json" "$T/$c.vb.json"
done
pyjson "$T/av1_10bit_hdr.webm.vb.json" 'd[0]["streams"][0]["hdr"] is True and d[0]["streams"][0]["pix_fmt"] == "yuv420p10le"' ||
    fail "AV1 10 bit PQ"
pyjson "$T/av1_422p12.mkv.vb.json" 'd[0]["streams"][0]["profile"] == "Professional" and d[0]["streams"][0]["pix_fmt"] == "yuv422p12le"' ||
    fail "AV1 Professional 4:2:2 12 bit"
pyjson "$T/av1_gbrp.mkv.vb.json" 'd[0]["streams"][0]["pix_fmt"] == "gbrp" and d[0]["streams"][0]["color_range"] == "pc"' ||
    fail "AV1 sRGB as gbrp"
pyjson "$T/vp9_10bit.webm.vb.json" 'd[0]["streams"][0]["profile"] == "Profile 2" and d[0]["streams"][0]["bit_depth"] == 10' ||
    fail "VP9 profile 2, 10 bit"
pyjson "$T/vp9_444.mkv.vb.json" 'd[0]["streams"][0]["pix_fmt"] == "yuv444p" and d[0]["streams"][0]["profile"] == "Profile 1"' ||
    fail "VP9 profile 1, 4:4:4"

# MPEG-TS: MPEG-2, H.264 and HEVC video with MP2, AC-3, MP3 or AAC read
# from the first and last packets (H.264 cropped, full range, 4:2:2,
# 4:4:4 10 bit; HEVC 10 bit HDR, 4:2:2, 4:4:4, full range; AAC stereo,
# mono, 5.1), AAC's bit rate from all its frames; interlaced H.264 (MBAFF,
# either field first, with AAC) and HEVC (coded as fields, 720x576 or
# 720x288 at 50) with find_stream_info's whole window read; interlaced
# MPEG-2, AAC at 22.05 kHz (maybe HE-AAC) and interlaced H.264 whose rate
# doubles after 2 s through find_stream_info, as an 8 s AAC track (its
# bit rate from libav's default 5 s window, as ffprobe's), and so
# progressive H.264 and MPEG-2 whose rate doubles after the first 21
# frames (ffprobe's r_frame_rate is the gcd of every decode-time step of
# its window): two encodes joined, whose first frames and SPS say 25
# (the window's PES times read), and one whose SPS says 50 (the codec's
# frame duration, not the step).
# A longer TS: its last 250 kB hold only its end (the duration's window).
for c in h264_aac.ts hevc10_ac3.ts mpeg2_ac3_wide.ts mpeg2_709_mp3.ts mpeg2_interlaced.ts \
         h264_1080_ac3.ts h264_interlaced.ts h264_full_sar.ts h264_444p10.ts h264_422.ts \
         h264_aac_mono.ts h264_aac51.ts aac_22k.ts hevc_hdr_aac.ts hevc_422.ts hevc_444_full.ts \
         hevc_full.ts hevc_interlaced.ts h264_interlaced_aac.ts h264_interlaced_rate.ts hevc_fields.ts \
         h264_aac_8s.ts h264_rate_concat.ts mpeg2_rate_concat.ts h264_rate_vfr.ts; do
    media_make "$CLIPS" "$c" || exit 99
done
"$FFMPEG" -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=720x576:rate=25 \
    -f lavfi -i sine=sample_rate=48000 -t 12 -c:v mpeg2video -b:v 4M -c:a mp2 -shortest "$T/long.ts" ||
    exit 99
cp "$CLIPS/mpeg2_ac3_wide.ts" "$T/ts-named.mp4"
cp "$CLIPS/h264_aac.ts" "$T/ts-h264-named.mkv"
for f in "$CLIPS/h264_aac.ts" "$CLIPS/hevc10_ac3.ts" "$CLIPS/mpeg2_ac3_wide.ts" \
         "$CLIPS/mpeg2_709_mp3.ts" "$CLIPS/mpeg2_interlaced.ts" "$T/long.ts" \
         "$CLIPS/h264_1080_ac3.ts" "$CLIPS/h264_interlaced.ts" "$CLIPS/h264_full_sar.ts" \
         "$CLIPS/h264_444p10.ts" "$CLIPS/h264_422.ts" "$CLIPS/h264_aac_mono.ts" \
         "$CLIPS/h264_aac51.ts" "$CLIPS/aac_22k.ts" "$CLIPS/hevc_hdr_aac.ts" "$CLIPS/hevc_422.ts" \
         "$CLIPS/hevc_444_full.ts" "$CLIPS/hevc_full.ts" "$CLIPS/hevc_interlaced.ts" \
         "$CLIPS/h264_interlaced_aac.ts" "$CLIPS/h264_interlaced_rate.ts" "$CLIPS/hevc_fields.ts" \
         "$CLIPS/h264_aac_8s.ts" "$CLIPS/h264_rate_concat.ts" "$CLIPS/mpeg2_rate_concat.ts" \
         "$CLIPS/h264_rate_vfr.ts" "$T/ts-named.mp4" "$T/ts-h264-named.mkv"; do
    c=$(basename "$f")
    ffprobe -v error -show_format -show_streams -of json "$f" > "$T/$c.ff.json"
    "$VBATCH" probe --format json "$f" > "$T/$c.vb.json"
    check "$c: probe exits 0" [ $? -eq 0 ]
    check "$c: agrees with ffprobe" "$PYTHON3" "$TOP_SRCDIR/tests/lib/compare-ffprobe.py" "$T/$c.ff.json" "$T/$c.vb.json"
done
pyjson "$T/mpeg2_ac3_wide.ts.vb.json" 'd[0]["streams"][0]["display_aspect_ratio"] == "16:9" and d[0]["streams"][0]["profile"] == "Main" and d[0]["streams"][1]["codec"] == "ac3"' ||
    fail "MPEG-2 16:9 Main profile, AC-3"
pyjson "$T/mpeg2_709_mp3.ts.vb.json" 'd[0]["streams"][0]["color_primaries"] == "bt709" and d[0]["streams"][0]["avg_frame_rate"] == "50/1" and d[0]["streams"][1]["codec"] == "mp3"' ||
    fail "MPEG-2 BT.709 50 fps, MP3"
pyjson "$T/h264_1080_ac3.ts.vb.json" 'd[0]["streams"][0]["height"] == 1080 and d[0]["streams"][0]["color_primaries"] == "bt709" and d[0]["streams"][0]["profile"] == "Constrained Baseline"' ||
    fail "H.264 TS 1080 cropped, BT.709"
pyjson "$T/h264_full_sar.ts.vb.json" 'd[0]["streams"][0]["pix_fmt"] == "yuvj420p" and d[0]["streams"][0]["sample_aspect_ratio"] == "16:15"' ||
    fail "H.264 TS full range, 16:15"
pyjson "$T/h264_aac51.ts.vb.json" 'd[0]["streams"][1]["channel_layout"] == "5.1" and d[0]["streams"][1]["profile"] == "LC"' ||
    fail "AAC 5.1 in TS"
pyjson "$T/hevc_hdr_aac.ts.vb.json" 'd[0]["streams"][0]["hdr"] is True and d[0]["streams"][0]["sample_aspect_ratio"] == "4:3" and d[0]["streams"][0]["profile"] == "Main 10"' ||
    fail "HEVC TS HDR10, 4:3"
pyjson "$T/ts-named.mp4.vb.json" 'd[0]["format"] == "mpegts"' || fail "MPEG-TS named .mp4 probed as MPEG-TS"
pyjson "$T/h264_interlaced_aac.ts.vb.json" 'd[0]["streams"][0]["height"] == 1080 and d[0]["streams"][0]["r_frame_rate"] == "30000/1001" and d[0]["streams"][1]["codec"] == "aac"' ||
    fail "H.264 1080i 29.97 with AAC"
pyjson "$T/hevc_fields.ts.vb.json" 'd[0]["streams"][0]["height"] == 288 and d[0]["streams"][0]["avg_frame_rate"] == "50/1"' ||
    fail "HEVC fields at 50"
pyjson "$T/h264_interlaced_rate.ts.vb.json" 'd[0]["streams"][0]["r_frame_rate"] == "50/1"' ||
    fail "H.264 interlaced, its rate doubled after 2 s: ffprobe's 50"
for c in h264_rate_concat.ts mpeg2_rate_concat.ts h264_rate_vfr.ts; do
    pyjson "$T/$c.vb.json" 'd[0]["streams"][0]["r_frame_rate"] == "50/1" and d[0]["streams"][0]["avg_frame_rate"] == "50/1"' ||
        fail "$c: progressive, its rate doubled after 2 s: ffprobe's 50"
done

# Values the suite was built to have (a second look, independent of ffprobe).
pyjson "$T/rotated.mp4.vb.json" 'd[0]["streams"][0]["display_width"] == 720 and d[0]["streams"][0]["display_height"] == 1280' ||
    fail "rotated clip displayed as 720x1280"
pyjson "$T/hevc_hdr10.mp4.vb.json" 'd[0]["streams"][0]["hdr"] is True and d[0]["streams"][0]["bit_depth"] == 10' ||
    fail "HDR10 clip detected as HDR, 10 bit"
pyjson "$T/h264_aac_720p.mp4.vb.json" 'd[0]["faststart"] is True' || fail "faststart clip"
pyjson "$T/h264_short.mp4.vb.json" 'd[0]["faststart"] is False' || fail "moov-at-end clip"
pyjson "$T/mpeg2.ts.vb.json" 'd[0]["faststart"] is None and d[0]["container"] == "ts"' || fail "faststart n/a for TS"
pyjson "$T/anamorphic.mp4.vb.json" 'd[0]["streams"][0]["sample_aspect_ratio"] == "16:15"' || fail "anamorphic SAR"
pyjson "$T/h264_ntsc.mkv.vb.json" 'd[0]["streams"][1]["language"] == "eng"' || fail "language tag"

# Misnamed files: the MP4 demuxer tried first because of the name fails,
# and the content is probed as ffprobe does.
cp "$CLIPS/h264_ntsc.mkv" "$T/mkv-named.mp4"
cp "$CLIPS/mpeg2.ts" "$T/ts-named.mov"
cp "$CLIPS/vp9_opus.webm" "$T/webm-named.M4V"
cp "$CLIPS/vp9_10bit.webm" "$T/webm10-named.mkv"
for m in mkv-named.mp4 ts-named.mov webm-named.M4V webm10-named.mkv; do
    ffprobe -v error -show_format -show_streams -of json "$T/$m" > "$T/$m.ff.json"
    "$VBATCH" probe --format json "$T/$m" > "$T/$m.vb.json"
    check "$m: probe exits 0" [ $? -eq 0 ]
    check "$m: agrees with ffprobe" "$PYTHON3" "$TOP_SRCDIR/tests/lib/compare-ffprobe.py" "$T/$m.ff.json" "$T/$m.vb.json"
done
pyjson "$T/mkv-named.mp4.vb.json" 'd[0]["format"].startswith("matroska")' || fail "Matroska named .mp4 probed as Matroska"

# The first bytes name the demuxer without libavformat's probe when they
# prove it: a Matroska/WebM header (whatever the name), a transport
# stream named as one (188- or 192-byte packets). Where they do not
# (an MP4 named .ts, a TS of two packets, sync bytes that stop), the
# probe decides, as ffprobe's does.
cp "$CLIPS/h264_aac_720p.mp4" "$T/mp4-named.ts"
cp "$CLIPS/vp9_opus.webm" "$T/webm-named.ts"
cp "$CLIPS/h264_ntsc.mkv" "$T/mkv-named.avi"
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine \
    -t 1 -c:v libx264 -c:a aac -f mpegts -mpegts_m2ts_mode 1 "$T/bluray.m2ts" || fail "cannot make an M2TS"
ffmpeg -nostdin -v error -y -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine \
    -t 1 -c:v libx264 -c:a ac3 -f mpegts -mpegts_m2ts_mode 1 "$T/bluray-ac3.m2ts" || fail "cannot make an M2TS"
for m in mp4-named.ts webm-named.ts mkv-named.avi bluray.m2ts bluray-ac3.m2ts; do
    ffprobe -v error -show_format -show_streams -of json "$T/$m" > "$T/$m.ff.json"
    "$VBATCH" probe --format json "$T/$m" > "$T/$m.vb.json"
    check "$m: probe exits 0" [ $? -eq 0 ]
    check "$m: agrees with ffprobe" "$PYTHON3" "$TOP_SRCDIR/tests/lib/compare-ffprobe.py" "$T/$m.ff.json" "$T/$m.vb.json"
done
pyjson "$T/bluray.m2ts.vb.json" 'd[0]["format"] == "mpegts"' || fail "M2TS probed as MPEG-TS"
pyjson "$T/mp4-named.ts.vb.json" 'd[0]["format"].startswith("mov")' || fail "MP4 named .ts probed as MP4"
# A .ts of 2 packets of sync bytes followed by noise, one of noise with a
# sync byte every 188 bytes for 9 packets only, and real TSs of 2 and 5
# packets (the whole file in sync): the verdict ffprobe gives, whether
# it opens them or not.
head -c 376 "$CLIPS/h264_aac.ts" > "$T/sync2.ts"
head -c 200000 /dev/urandom >> "$T/sync2.ts"
"$PYTHON3" -c 'import os, sys
b = bytearray(os.urandom(188 * 40))
for k in range(9): b[188 * k] = 0x47
open(sys.argv[1], "wb").write(b)' "$T/sync9.ts"
head -c 376 "$CLIPS/h264_aac.ts" > "$T/short2.ts"
head -c 940 "$CLIPS/h264_aac.ts" > "$T/short5.ts"
for m in sync2.ts sync9.ts short2.ts short5.ts; do
    if ffprobe -v error -show_format -show_streams -of json "$T/$m" > "$T/$m.ff.json" 2>/dev/null; then
        "$VBATCH" probe --format json "$T/$m" > "$T/$m.vb.json"
        check "$m: ffprobe opens it, so does vbatch, with the same facts" \
            "$PYTHON3" "$TOP_SRCDIR/tests/lib/compare-ffprobe.py" "$T/$m.ff.json" "$T/$m.vb.json"
    else
        "$VBATCH" probe --format json "$T/$m" > "$T/$m.vb.json" 2>/dev/null
        pyjson "$T/$m.vb.json" '"error" in d[0] and "format" not in d[0]' ||
            fail "$m: ffprobe cannot open it, vbatch gives no error"
    fi
done
pyjson "$T/short5.ts.vb.json" 'd[0]["format"] == "mpegts"' || fail "a TS of 5 packets probed as MPEG-TS"
pyjson "$T/sync9.ts.vb.json" '"error" in d[0]' || fail "noise with 9 sync bytes refused"
pyjson "$T/ts-named.mov.vb.json" 'd[0]["format"] == "mpegts"' || fail "MPEG-TS named .mov probed as MPEG-TS"

# The fast path is taken: with --verbose every file read through
# find_stream_info (decoding: ten times the cost) is named on stderr with
# the reason and counted. Each fast-path clip above must not be; the
# known fallbacks must be, for their reason. A regression would
# otherwise show only as slowness.
fast=""
for c in $MEDIA_SUITE vp9_10bit.webm vp9_444.mkv av1_opus.webm av1_10bit_hdr.webm av1_444.mkv \
         av1_422p12.mkv av1_gray_full.mkv av1_gbrp.mkv av1_full_709.webm av1_aac.mp4 h264_aac.ts hevc10_ac3.ts mpeg2_ac3_wide.ts \
         mpeg2_709_mp3.ts h264_1080_ac3.ts h264_full_sar.ts h264_444p10.ts h264_422.ts \
         h264_aac_mono.ts h264_aac51.ts hevc_hdr_aac.ts hevc_422.ts hevc_444_full.ts hevc_full.ts \
         h264_interlaced.ts hevc_interlaced.ts h264_interlaced_aac.ts hevc_fields.ts; do
    [ "$c" = prores_pcm.mov ] || fast="$fast $CLIPS/$c"
done
# shellcheck disable=SC2086
"$VBATCH" probe --verbose --format json $fast "$T/long.ts" "$T/ts-named.mp4" "$T/ts-h264-named.mkv" \
    "$T/mkv-named.mp4" "$T/ts-named.mov" "$T/webm-named.M4V" "$T/webm10-named.mkv" \
    "$T/mp4-named.ts" "$T/webm-named.ts" "$T/mkv-named.avi" "$T/bluray-ac3.m2ts" \
    > "$T/fast.json" 2> "$T/fast.err"
check "fast-path clips probe exit 0" [ $? -eq 0 ]
nfast=$(($(echo $fast | wc -w) + 11))
check "no fast-path clip needs find_stream_info" \
    grep -qx "vbatch: 0 of $nfast files needed the decoders' stream information (slow path)" "$T/fast.err"
check "no fast-path clip named as slow" sh -c "! grep -q 'slow path):' '$T/fast.err'"
"$VBATCH" probe -v --format json "$CLIPS/mpeg2_interlaced.ts" "$CLIPS/h264_interlaced_rate.ts" \
    "$CLIPS/aac_22k.ts" "$CLIPS/prores_pcm.mov" "$CLIPS/h264_aac_8s.ts" "$T/bluray.m2ts" \
    > /dev/null 2> "$T/slow.err"
check "fallback clips probe exit 0" [ $? -eq 0 ]
check "fallbacks counted" grep -qx "vbatch: 6 of 6 files needed the decoders' stream information (slow path)" "$T/slow.err"
check "bluray.m2ts: slow for its AAC named by the demuxer from its packets" grep -q "bluray.m2ts: .*slow path): stream 1: a codec known only from its packets" "$T/slow.err"
check "mpeg2_interlaced.ts: slow for being interlaced" grep -q "mpeg2_interlaced.ts: read with the decoders' stream information (slow path): stream 0: interlaced" "$T/slow.err"
check "h264_interlaced_rate.ts: slow for its rate in the window" grep -q "h264_interlaced_rate.ts: .*slow path): stream 0: no constant standard frame rate in the decode times of find_stream_info's window" "$T/slow.err"
check "aac_22k.ts: slow for SBR" grep -q "aac_22k.ts: .*slow path): stream 0: AAC at 24 kHz or less" "$T/slow.err"
check "h264_aac_8s.ts: slow for its AAC's average" grep -q "h264_aac_8s.ts: .*slow path): stream 0: AAC in a file of 4 s or more" "$T/slow.err"
check "prores_pcm.mov: slow for its pixel format" grep -q "prores_pcm.mov: .*slow path): stream 0 (prores): no pixel format" "$T/slow.err"
"$VBATCH" probe --format json "$CLIPS/aac_22k.ts" > /dev/null 2> "$T/quiet.err"
check "no slow-path lines without --verbose" [ ! -s "$T/quiet.err" ]
# Progressive TS whose rate changes after the first 21 frames: a step of
# the window's PES times, or the codec's frame duration, other than the
# first frames' step.
"$VBATCH" probe -v --format json "$CLIPS/h264_rate_concat.ts" "$CLIPS/mpeg2_rate_concat.ts" \
    "$CLIPS/h264_rate_vfr.ts" > /dev/null 2> "$T/rate.err"
check "rate-change clips probe exit 0" [ $? -eq 0 ]
check "rate-change fallbacks counted" grep -qx "vbatch: 3 of 3 files needed the decoders' stream information (slow path)" "$T/rate.err"
for c in h264_rate_concat.ts mpeg2_rate_concat.ts; do
    check "$c: slow for a step of its window" grep -q "$c: .*slow path): stream 0: a decode-time step in find_stream_info's window other than its first frames'" "$T/rate.err"
done
check "h264_rate_vfr.ts: slow for the codec's frame duration" grep -q "h264_rate_vfr.ts: .*slow path): stream 0: a frame duration of the codec's other than its decode-time step" "$T/rate.err"

# Several files in one call, one of them bad: a JSON array with an error entry, exit 3.
printf 'not a video' > "$T/bad.mp4"
"$VBATCH" probe --format json "$CLIPS/h264_aac_720p.mp4" "$T/bad.mp4" > "$T/multi.json" 2> "$T/multi.err"
check "probe with a bad file exits 3" [ $? -eq 3 ]
pyjson "$T/multi.json" 'len(d) == 2 and "error" in d[1] and d[0]["container"] == "mp4"' || fail "multi-file JSON"
check "bad file message on stderr" grep -q "not a recognised media file" "$T/multi.err"

"$VBATCH" probe "$CLIPS/h264_aac_720p.mp4" > "$T/text.txt"
check "text output has the codec" grep -q "codec: h264" "$T/text.txt"
check "text output has the duration" grep -q "^duration: 6$" "$T/text.txt"
finish
