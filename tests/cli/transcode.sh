#!/bin/sh
# The fix engine (transcode.h) through its driver tests/lib/transcode-run,
# checked with outside oracles (the ffmpeg and ffprobe tools): a remux to
# faststart MP4 copies every packet bit-identical; gain and the true-peak
# limiter as ebur128 measures them; conforming (size, fit, rate, key
# frames, rotation, pixel format, VFR); a frame-exact cut; a cut that
# copying can not make; bad inputs and refused settings leave no file.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

RUN=$(dirname "$VBATCH")/tests/lib/transcode-run
[ -x "$RUN" ] || { echo "SKIP: $RUN not built"; exit 77; }
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
V="testsrc2=size=640x360:rate=25"

# ---- remux: MOV and MKV with the index at the end to faststart MP4 ----
ff -f lavfi -i "$V" -f lavfi -i sine=sample_rate=48000 -t 2 -c:v libx264 -preset ultrafast \
    -bf 2 -c:a aac "$T/late.mov"
ff -f lavfi -i "$V" -f lavfi -i sine=sample_rate=44100 -t 2 -c:v libx264 -preset ultrafast \
    -c:a aac "$T/late.mkv"
case $(boxes "$T/late.mov") in *"mdat moov"*) ok "input MOV: moov at the end" ;;
    *) fail "input MOV is not moov-last: $(boxes "$T/late.mov")" ;; esac
for src in late.mov late.mkv; do
    out="$T/remux-$src.mp4"
    check "$src remuxed" "$RUN" "$T/$src" "$out"
    packets "$T/$src" > "$T/in.txt"; packets "$out" > "$T/out.txt"
    check "$src: every packet copied bit-identical" cmp -s "$T/in.txt" "$T/out.txt"
    b=$(boxes "$out")
    case $b in *moov*mdat*) ok "$src: moov before mdat ($b)" ;; *) fail "$src: box order $b" ;; esac
    case $b in *no-elst) ok "$src: no edit list" ;; *) fail "$src: has an edit list" ;; esac
    check "$src: the MP4 plays without an error" plays_clean "$out"
    check "$src: video starts at 0" [ "$(probe "$out" stream=start_time v:0)" = "0.000000" ]
done
check "codec fits: H.264 in MP4" sh -c "'$RUN' --fits mp4:h264 | grep -qx fits=1"
check "codec fits: ProRes in MOV" sh -c "'$RUN' --fits mov:prores | grep -qx fits=1"
check "codec fits: no ProRes in MP4" sh -c "'$RUN' --fits mp4:prores | grep -qx fits=0"

# ---- audio: gain, the true-peak limiter, silence ----
ff -f lavfi -i "$V" -f lavfi -i "anoisesrc=color=pink:amplitude=0.127:sample_rate=48000:seed=3,pan=stereo|c0=c0|c1=c0" \
    -t 4 -c:v libx264 -preset ultrafast -c:a aac -b:a 128k "$T/quiet.mp4"
set -- $(loudness "$T/quiet.mp4"); qin=$1
check "quiet clip near -30 LUFS ($qin)" near "$qin" -30 1.5
"$RUN" --audio encode --gain 16 "$T/quiet.mp4" "$T/gain.mp4" > "$T/gain.txt"
set -- $(loudness "$T/gain.mp4"); qout=$1
want=$("$PYTHON3" -c "print($qin + 16)")
check "gain +16 dB: $qin -> $qout LUFS (want $want +- 0.5)" near "$qout" "$want" 0.5
check "gain: the video copied" grep -q '^video_packets_copied=[1-9]' "$T/gain.txt"

# 2 s of clipped pink noise: sample peaks at full scale, true peak above
ff -f lavfi -i "$V" -f lavfi -i "anoisesrc=color=pink:amplitude=0.5:sample_rate=48000:seed=7,volume=12dB,aformat=sample_fmts=s16,pan=stereo|c0=c0|c1=c0" \
    -t 2 -c:v libx264 -preset ultrafast -c:a aac -b:a 192k "$T/loud.mp4"
set -- $(loudness "$T/loud.mp4")
check "loud clip: true peak above 0 dBTP ($2)" le 0 "$2"
"$RUN" --audio encode --limit -1 "$T/loud.mp4" "$T/limited.mp4" > "$T/limited.txt"
set -- $(loudness "$T/limited.mp4"); tp=$2
check "limiter at -1 dBTP on a 2 s clip: true peak $tp" le "$tp" -1.0
check "limiter reported engaged" grep -qx limiter_engaged=1 "$T/limited.txt"
"$RUN" --audio encode --gain -20 --limit -1 "$T/loud.mp4" "$T/unlimited.mp4" > "$T/unlimited.txt"
check "limiter not engaged 20 dB down" grep -qx limiter_engaged=0 "$T/unlimited.txt"

ff -f lavfi -i "$V" -t 3 -c:v libx264 -preset ultrafast "$T/mute.mp4"
check "silent track added" "$RUN" --audio silent "$T/mute.mp4" "$T/silent.mp4"
check "silent track: AAC" [ "$(probe "$T/silent.mp4" stream=codec_name a:0)" = aac ]
vd=$(probe "$T/silent.mp4" stream=duration v:0); ad=$(probe "$T/silent.mp4" stream=duration a:0)
check "silent track as long as the video ($ad s, video $vd s)" near "$ad" "$vd" 0.03
set -- $(loudness "$T/silent.mp4")
check "silent track is silent ($1)" le "$1" -70
expect_status 1 "silent track refused where there is sound" \
    "$RUN" --audio silent "$T/quiet.mp4" "$T/nosilent.mp4" 2>/dev/null
check "  and no file left" [ ! -e "$T/nosilent.mp4" ]

# ---- conform ----
ff -f lavfi -i testsrc2=size=1920x1080:rate=25 -f lavfi -i sine=sample_rate=48000 -t 2 \
    -c:v libx264 -preset ultrafast -c:a aac "$T/hd.mp4"
"$RUN" --video encode --width 1080 --height 1920 --fit pad --fps 30 --gop 15 --preset ultrafast \
    --maxrate 4000000 "$T/hd.mp4" "$T/vertical.mp4" > "$T/vertical.txt"
s=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,profile,pix_fmt,width,height,r_frame_rate,avg_frame_rate,color_space,color_range -of csv=p=0 "$T/vertical.mp4")
check "1080p padded to 1080x1920 H.264 High 4:2:0 CFR BT.709 ($s)" \
    [ "$s" = "h264,High,1080,1920,yuv420p,tv,bt709,30/1,30/1" ]
ffprobe -v error -select_streams v:0 -show_entries frame=pts,key_frame -of csv=p=0 "$T/vertical.mp4" | cut -d, -f1,2 > "$T/frames.txt"
check "constant frame spacing" "$PYTHON3" -c "
import sys
f = [l.strip().split(',') for l in open('$T/frames.txt') if l.strip()]
pts = [int(x[1]) for x in f]
d = {b - a for a, b in zip(pts, pts[1:])}
sys.exit(len(d) != 1 or len(f) != 60)"
check "key frames every 15 frames exactly" "$PYTHON3" -c "
import sys
f = [l.strip().split(',') for l in open('$T/frames.txt') if l.strip()]
keys = [i for i, x in enumerate(f) if x[0] == '1']
sys.exit(keys != [0, 15, 30, 45])"
# black bars: the top 200 rows are black, the middle is not
y=$(ffmpeg -nostdin -v error -i "$T/vertical.mp4" -vf crop=1080:200:0:0,signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=- -frames:v 1 -f null - | sed -n 's/.*YAVG=//p' | head -1)
check "pad bars are black (Y $y)" le "$y" 17
check "audio copied through" grep -q '^audio_packets_copied=[1-9]' "$T/vertical.txt"

# a phone clip: stored 640x360, shown turned 90 degrees
# (tagged BT.709, so that the reference needs no colour conversion)
ff -f lavfi -i "$V" -t 2 -c:v libx264 -preset ultrafast -colorspace bt709 -color_primaries bt709 \
    -color_trc bt709 "$T/landscape.mp4"
ff -i "$T/landscape.mp4" -c copy -metadata:s:v:0 rotate=90 "$T/rotated.mp4"
check "rotated input has a display matrix" sh -c "ffprobe -v error -show_streams '$T/rotated.mp4' | grep -q rotation=90"
"$RUN" --video encode --preset ultrafast "$T/rotated.mp4" "$T/upright.mp4" > "$T/upright.txt"
check "upright: 360x640" [ "$(probe "$T/upright.mp4" stream=width v:0)x$(probe "$T/upright.mp4" stream=height v:0)" = 360x640 ]
check "upright: no rotation left" sh -c "! ffprobe -v error -show_streams -show_entries stream_side_data '$T/upright.mp4' | grep -Eq 'rotation|rotate|Display Matrix'"
ff -i "$T/rotated.mp4" -t 2 -c:v libx264 -preset ultrafast -qp 0 "$T/rotated-ref.mp4"
psnr=$(ffmpeg -nostdin -hide_banner -i "$T/upright.mp4" -i "$T/rotated-ref.mp4" -lavfi psnr -f null - 2>&1 | sed -n 's/.*average:\([0-9.inf]*\).*/\1/p')
check "upright: the pixels match ffmpeg's autorotate (PSNR $psnr)" le 30 "${psnr:-0}"

ff -f lavfi -i "$V" -t 1 -pix_fmt yuv444p10le -c:v ffv1 "$T/deep.mkv"
check "10-bit 4:4:4 re-encoded" "$RUN" --video encode --preset ultrafast "$T/deep.mkv" "$T/deep.mp4"
check "  to yuv420p 8-bit High" [ "$(probe "$T/deep.mp4" stream=pix_fmt v:0),$(probe "$T/deep.mp4" stream=profile v:0)" = "yuv420p,High" ]

ff -f lavfi -i "$V" -t 3 -vf "setpts='if(lt(N,25),N*0.04,1+(N-25)*0.1)/TB'" -fps_mode passthrough \
    -c:v libx264 -preset ultrafast "$T/vfr.mkv"
"$RUN" --video encode --fps 25 --preset ultrafast "$T/vfr.mkv" "$T/cfr.mp4" > /dev/null
ffprobe -v error -select_streams v:0 -show_entries frame=pts -of csv=p=0 "$T/cfr.mp4" | cut -d, -f1 > "$T/cfr.txt"
check "VFR made CFR: r_frame_rate = avg_frame_rate = 25" \
    [ "$(probe "$T/cfr.mp4" stream=r_frame_rate v:0) $(probe "$T/cfr.mp4" stream=avg_frame_rate v:0)" = "25/1 25/1" ]
check "VFR made CFR: constant spacing" "$PYTHON3" -c "
import sys
p = [int(l) for l in open('$T/cfr.txt') if l.strip()]
sys.exit(len({b - a for a, b in zip(p, p[1:])}) != 1)"

# HDR: tone-mapped with --tonemap, refused without (needs libx265 to make)
if media_make "$CLIPS" hevc_hdr10.mp4 2>/dev/null; then
    expect_status 1 "HDR refused without --tonemap" "$RUN" --video encode "$CLIPS/hevc_hdr10.mp4" "$T/hdr.mp4" 2>/dev/null
    "$RUN" --video encode --tonemap --preset ultrafast --trim 0:1 "$CLIPS/hevc_hdr10.mp4" "$T/sdr.mp4" > "$T/sdr.txt"
    check "HDR tone-mapped to BT.709" [ "$(ffprobe -v error -select_streams v:0 -show_entries stream=pix_fmt,color_transfer,color_primaries,color_space -of csv=p=0 "$T/sdr.mp4")" = "yuv420p,bt709,bt709,bt709" ]
    check "  and said so" grep -qx tonemapped=1 "$T/sdr.txt"
fi

# ---- trim ----
ff -f lavfi -i color=black:size=640x360:rate=25:duration=1 -f lavfi -i "$V" -f lavfi -i sine=sample_rate=48000 \
    -filter_complex "[1]trim=duration=2[m];[0][m]concat[v]" -map "[v]" -map 2 -t 3 -c:v libx264 \
    -preset ultrafast -g 50 -keyint_min 50 -sc_threshold 0 -c:a aac "$T/leader.mp4"
"$RUN" --video encode --audio encode --preset ultrafast --trim 1.0 "$T/leader.mp4" "$T/trimmed.mp4" > /dev/null
b=$(ffmpeg -nostdin -hide_banner -i "$T/trimmed.mp4" -vf blackdetect=d=0.04:pix_th=0.1 -an -f null - 2>&1 | grep -c black_start)
check "trimmed at 1.0: no black left ($b runs)" [ "$b" = 0 ]
din=$(probe "$T/leader.mp4" format=duration); dout=$(probe "$T/trimmed.mp4" stream=duration v:0)
check "trimmed: $din s -> $dout s, 1 s shorter within a frame" near "$(echo "$din - 1" | bc)" "$dout" 0.04
expect_status 1 "a copied video can not be cut between key frames" \
    "$RUN" --trim 1.0 "$T/leader.mp4" "$T/cut.mp4" 2> "$T/cut.err"
check "  the message says so" grep -q "not on a key frame.*needs_video_encode" "$T/cut.err"
check "  and no file left" [ ! -e "$T/cut.mp4" ]
check "a copied video cut on its key frame (2.0 s)" "$RUN" --trim 2.0 "$T/leader.mp4" "$T/cut2.mp4"
check "  plays" plays_clean "$T/cut2.mp4"
check "  1 s long" near "$(probe "$T/cut2.mp4" stream=duration v:0)" 1.0 0.05

# ---- bad input and refused settings ----
head -c 20000 /dev/urandom > "$T/noise.mp4"
expect_status 1 "undecodable input fails" "$RUN" "$T/noise.mp4" "$T/bad.mp4" 2> "$T/bad.err"
check "  with a message" grep -q "noise.mp4" "$T/bad.err"
check "  and no file left" [ ! -e "$T/bad.mp4" ]
expect_status 1 "x264 refuses a bogus preset" \
    "$RUN" --video encode --preset bogus "$T/hd.mp4" "$T/bogus.mp4" 2> "$T/bogus.err"
check "  with a message" grep -q "libx264 refused" "$T/bogus.err"
check "  and no file left" [ ! -e "$T/bogus.mp4" ]
expect_status 1 "odd size refused" \
    "$RUN" --video encode --width 1081 --height 1920 "$T/hd.mp4" "$T/odd.mp4" 2> "$T/odd.err"
check "  with a message" grep -q "must be even" "$T/odd.err"
check "  and no file left" [ ! -e "$T/odd.mp4" ]

expect_status 1 "the item's deadline stops a re-encode" \
    "$RUN" --deadline 0.3 --video encode --preset medium "$T/hd.mp4" "$T/late.mp4" 2> "$T/late.err"
check "  with a message" grep -q "deadline" "$T/late.err"
check "  and no file left" [ ! -e "$T/late.mp4" ]

finish
