#!/bin/sh
# `vbatch process --fix`: check -> fix -> check again in one run, judged
# by outside oracles (ffprobe, the ffmpeg CLI's framemd5, ebur128 and
# blackdetect): a faststart remux copies every packet; loudness lands on
# the target with the true peak under the ceiling (quiet, loud and
# clipping, 2 s); a silent track is added; leading black is cut; clips are
# conformed (size, rotation, 4:4:4, VFR, HDR); the input is never
# modified; an unfixable item or a fix that does not pass stays failed
# with the original delivered; the dry run writes nothing.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
V="testsrc2=size=640x360:rate=25"
mkdir -p "$T/in"
# Small, fast encodes: what the fix makes is judged, not its speed.
printf '[fix]\nx264_preset = ultrafast\n' > "$T/fast.ini"

# fixrun NAME EXPECTED_EXIT INPUT INI_LINES...: one input through --fix
# with a [qc] of its own; OUT is $T/o-NAME, its item folder $T/o-NAME/ITEM.
fixrun() {
    _n=$1; _want=$2; _in=$3; shift 3
    : > "$T/$_n.ini"
    for _l in "$@"; do printf '%s\n' "$_l" >> "$T/$_n.ini"; done
    "$VBATCH" process "$_in" --fix --config "$T/fast.ini" --config "$T/$_n.ini" \
        --output "$T/o-$_n" --quiet 2> "$T/$_n.err"
    _got=$?
    [ "$_got" -eq "$_want" ] || fail "$_n: exit $_got, expected $_want: $(cat "$T/$_n.err")"
}
item_dir() { ls -d "$T/o-$1"/*/ | grep -v '/summary/$' | grep -v '/publish/$' | head -1; }
inode() { stat -c %i "$1"; }

# ---- remux: the index at the end, moved first; every packet copied ----
ff -f lavfi -i "$V" -f lavfi -i sine=sample_rate=48000 -t 2 -c:v libx264 -preset ultrafast \
    -bf 2 -c:a aac "$T/in/late.mp4"
sum_before=$(md5sum < "$T/in/late.mp4")
case $(boxes "$T/in/late.mp4") in *"mdat moov"*) ok "input: moov at the end" ;;
    *) fail "input is not moov-last" ;; esac
fixrun remux 0 "$T/in/late.mp4" "[qc]" "faststart = true"
D=$(item_dir remux)
out="$D/video/late.mp4"
check "remux: delivered" [ -s "$out" ]
b=$(boxes "$out")
case $b in *moov*mdat*) ok "remux: moov before mdat ($b)" ;; *) fail "remux: box order $b" ;; esac
case $b in *no-elst) ok "remux: no edit list" ;; *) fail "remux: an edit list" ;; esac
packets "$T/in/late.mp4" > "$T/p-in"; packets "$out" > "$T/p-out"
check "remux: every packet bit-identical (framemd5)" cmp -s "$T/p-in" "$T/p-out"
check "remux: plays without an error" plays_clean "$out"
check "remux: the original's link in original/" [ "$(inode "$D/original/late.mp4")" = "$(inode "$T/in/late.mp4")" ]
check "remux: the input is unchanged" [ "$(md5sum < "$T/in/late.mp4")" = "$sum_before" ]
pyjson "$D/metadata/fix.json" 'd["fixed"] and d["plan"]["actions"] == ["remux"] and d["still_failing"] == []' ||
    fail "remux: fix.json"
pyjson "$D/metadata/qc.json" 'd["verdict"] == "pass"' || fail "remux: the fixed file passes"
pyjson "$D/metadata/probe.json" 'd["faststart"] is True' || fail "remux: probe.json describes the fixed file"
# The reports: the action list, the fixed figures, the fix in JUnit and HTML.
S="$T/o-remux/summary"
pyjson "$S/batch_report.json" 'd["items"][0]["fix_actions"] == ["remux"] and d["items"][0]["fix"] == "fixed: remux" and d["items"][0]["status"] == "done" and d["items"][0]["video"].endswith("/video/late.mp4") and d["counts"]["fixed"] == 1' ||
    fail "remux: batch_report.json's fix, fix_actions and counts"
"$PYTHON3" - "$S/results.csv" <<'PY' || fail "remux: results.csv has the action list"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
sys.exit(not (len(rows) == 1 and rows[0]["fix_actions"] == "remux" and rows[0]["fix"] == "fixed: remux"))
PY
"$PYTHON3" - "$S/junit.xml" <<'PY' || fail "remux: JUnit passes the item with the fix in system-out"
import sys, xml.etree.ElementTree as ET
t = ET.parse(sys.argv[1]).getroot()
cases = [c for c in t.iter("testcase") if c.get("classname") == "late"]
fix = [c for c in cases if c.get("name") == "fix"]
ok = fix and fix[0].findtext("system-out") == "fixed: remux" and not any(c.find("failure") is not None or c.find("error") is not None for c in cases)
ok = ok and int(t.get("tests")) == len(list(t.iter("testcase")))
sys.exit(not ok)
PY
check "remux: report.html shows the fix" grep -q "<b>fix</b>: fixed: remux" "$S/report.html"

# ---- loudness: a linear gain to the target, the limiter only when needed ----
LOUD="[qc]
loudness_target = -14
loudness_tolerance = 1
true_peak_max = -1"
ff -f lavfi -i "$V" -f lavfi -i "anoisesrc=color=pink:amplitude=0.127:sample_rate=48000:seed=3,pan=stereo|c0=c0|c1=c0" \
    -t 4 -c:v libx264 -preset ultrafast -c:a aac -b:a 128k -movflags +faststart "$T/in/quiet.mp4"
fixrun quiet 0 "$T/in/quiet.mp4" "$LOUD"
D=$(item_dir quiet)
set -- $(loudness "$D/video/quiet.mp4")
check "quiet: ebur128 $1 LUFS within 0.5 LU of -14" near "$1" -14 0.5
check "quiet: true peak $2 <= -1 dBTP" le "$2" -1
packets_of "$T/in/quiet.mp4" v > "$T/pv-in"; packets_of "$D/video/quiet.mp4" v > "$T/pv-out"
check "quiet: the video copied bit-identical" cmp -s "$T/pv-in" "$T/pv-out"
pyjson "$D/metadata/fix.json" 'd["plan"]["actions"] == ["remux", "audio"] and d["plan"]["video"]["mode"] == "copy"' ||
    fail "quiet: remux + audio, video copied"
# With the picture copied a pass costs little: up to five, the nearest
# delivered, and fix.json's figure is the delivered file's.
fine=$(lufs_fine "$D/video/quiet.mp4")
check "quiet: $fine LUFS within 0.05 LU of -14" near "$fine" -14 0.05
pyjson "$D/metadata/fix.json" '1 <= d["pass"]["passes"] <= 5 and abs([x["after"] for x in d["figures"] if x["name"] == "integrated_lufs"][0] - ('"$fine"')) < 0.0015' ||
    fail "quiet: fix.json's loudness after is the delivered file's ($fine)"

# 2 s of clipped pink noise: too loud, sample peaks at full scale
ff -f lavfi -i "$V" -f lavfi -i "anoisesrc=color=pink:amplitude=0.5:sample_rate=48000:seed=7,volume=12dB,aformat=sample_fmts=s16,pan=stereo|c0=c0|c1=c0" \
    -t 2 -c:v libx264 -preset ultrafast -c:a aac -b:a 192k -movflags +faststart "$T/in/loud.mp4"
fixrun loud 0 "$T/in/loud.mp4" "$LOUD"
D=$(item_dir loud)
set -- $(loudness "$D/video/loud.mp4")
check "loud 2 s: ebur128 $1 LUFS within 0.5 LU of -14" near "$1" -14 0.5
check "loud 2 s: true peak $2 <= -1.0 dBTP" le "$2" -1.0
fine=$(lufs_fine "$D/video/loud.mp4")
check "loud 2 s: $fine LUFS within 0.05 LU of -14" near "$fine" -14 0.05
pyjson "$D/metadata/fix.json" 'd["pass"]["limiter"] == d["plan"]["audio"]["limiter"] and d["plan"]["audio"]["limiter"] == ([x["before"] for x in d["figures"] if x["name"] == "true_peak"][0] + d["plan"]["audio"]["gain_db"] > -1)' ||
    fail "loud: the limiter only where the gain leaves the peak over the ceiling, and fix.json says which"

# A quiet clip whose gain would push its peak over the ceiling.
ff -f lavfi -i "$V" -f lavfi -i "aevalsrc=0.03*sin(2*PI*440*t)+if(lt(mod(t\\,1)\\,0.02)\\,0.9*sin(2*PI*1000*t)\\,0)|0.03*sin(2*PI*440*t):s=48000" \
    -t 3 -c:v libx264 -preset ultrafast -c:a aac -b:a 192k -movflags +faststart "$T/in/peaky.mp4"
fixrun peaky 0 "$T/in/peaky.mp4" "$LOUD"
D=$(item_dir peaky)
set -- $(loudness "$D/video/peaky.mp4")
check "peaky: $1 LUFS within 0.5 LU of -14" near "$1" -14 0.5
check "peaky: true peak $2 <= -1.0 dBTP" le "$2" -1.0
pyjson "$D/metadata/fix.json" 'd["plan"]["audio"]["limiter"] and d["pass"]["limiter_engaged"]' ||
    fail "peaky: the gain needed the limiter, and fix.json says so"

# ---- a silent track where the preset requires audio ----
ff -f lavfi -i "$V" -t 3 -c:v libx264 -preset ultrafast -movflags +faststart "$T/in/mute.mp4"
fixrun mute 0 "$T/in/mute.mp4" "[qc]" "audio = required" "audio_silent_level = warn"
D=$(item_dir mute)
check "mute: an AAC track added" [ "$(probe "$D/video/mute.mp4" stream=codec_name a:0)" = aac ]
vd=$(probe "$D/video/mute.mp4" stream=duration v:0); ad=$(probe "$D/video/mute.mp4" stream=duration a:0)
check "mute: the track as long as the video ($ad s, $vd s)" near "$ad" "$vd" 0.05
packets_of "$T/in/mute.mp4" v > "$T/pv-in"; packets_of "$D/video/mute.mp4" v > "$T/pv-out"
check "mute: the video copied bit-identical" cmp -s "$T/pv-in" "$T/pv-out"

# A silent track where a silent one fails: not fixable, said so.
fixrun mute-strict 1 "$T/in/mute.mp4" "[qc]" "audio = required"
D=$(item_dir mute-strict)
pyjson "$D/metadata/fix.json" 'not d["fixed"] and any(u.startswith("audio:") and "audio_silent" in u for u in d["plan"]["unfixable"])' ||
    fail "mute-strict: a silent track would fail audio_silent"

# ---- trim: a second of black at the start ----
ff -f lavfi -i color=black:size=640x360:rate=25:duration=1 -f lavfi -i "$V" -f lavfi -i sine=sample_rate=48000 \
    -filter_complex "[1]trim=duration=2[m];[0][m]concat[v]" -map "[v]" -map 2 -t 3 -c:v libx264 \
    -preset ultrafast -c:a aac -movflags +faststart "$T/in/leader.mp4"
fixrun trim 0 "$T/in/leader.mp4" "[qc]" "leading_black_max = 0.5"
D=$(item_dir trim)
n=$(ffmpeg -nostdin -hide_banner -i "$D/video/leader.mp4" -vf blackdetect=d=0.04:pix_th=0.1 -an -f null - 2>&1 | grep -c black_start)
check "trim: blackdetect finds no black ($n runs)" [ "$n" = 0 ]
din=$(probe "$T/in/leader.mp4" stream=duration v:0); dout=$(probe "$D/video/leader.mp4" stream=duration v:0)
check "trim: $din s -> $dout s, 1 s shorter within a frame" near "$("$PYTHON3" -c "print($din - 1)")" "$dout" 0.041
check "trim: plays" plays_clean "$D/video/leader.mp4"

# A late cut: reading starts at the key frame before it (a seek in the
# MP4's index), not at the start, and the cut is still frame-exact.
ff -f lavfi -i color=black:size=640x360:rate=25:duration=4.3 -f lavfi -i "$V" -f lavfi -i sine=sample_rate=48000 \
    -filter_complex "[1]trim=duration=2[m];[0][m]concat[v]" -map "[v]" -map 2 -t 6.3 -c:v libx264 \
    -preset ultrafast -g 25 -c:a aac -movflags +faststart "$T/in/late-lead.mp4"
fixrun late-trim 0 "$T/in/late-lead.mp4" "[qc]" "leading_black_max = 0.5"
D=$(item_dir late-trim)
pyjson "$D/metadata/fix.json" 'd["pass"]["read_from"] == 4.0 and abs(d["pass"]["cut_start"] - 4.32) < 0.001' ||
    fail "late trim: read from the key frame at 4 s, cut at 4.32 s"
n=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames -of csv=p=0 "$D/video/late-lead.mp4")
check "late trim: the 50 frames after the black, no more, no fewer ($n)" [ "$n" = 50 ]
n=$(ffmpeg -nostdin -hide_banner -i "$D/video/late-lead.mp4" -vf blackdetect=d=0.04:pix_th=0.1 -an -f null - 2>&1 | grep -c black_start)
check "late trim: blackdetect finds no black ($n runs)" [ "$n" = 0 ]
check "late trim: plays" plays_clean "$D/video/late-lead.mp4"

# Silence at the start: cut with the picture.
ff -f lavfi -i "$V" -f lavfi -i "sine=frequency=500:sample_rate=48000,adelay=2500|2500" -t 5 \
    -c:v libx264 -preset ultrafast -c:a aac -ac 1 -movflags +faststart "$T/in/hush.mp4"
fixrun hush 0 "$T/in/hush.mp4" "[qc]" "leading_silence_max = 0.5"
D=$(item_dir hush)
first=$(ffmpeg -nostdin -hide_banner -i "$D/video/hush.mp4" -af silencedetect=n=-60dB:d=0.3 -vn -f null - 2>&1 | sed -n 's/.*silence_start: //p' | head -1)
check "hush: silencedetect finds no silence at the start (${first:-none})" [ -z "$first" ] || le 0.5 "$first"
dout=$(probe "$D/video/hush.mp4" format=duration)
check "hush: 5 s -> $dout s, the 2.5 s of silence cut" near "$dout" 2.5 0.1

# ---- conform ----
ff -f lavfi -i testsrc2=size=1280x720:rate=50 -f lavfi -i sine=sample_rate=48000 -t 2 -c:v libx264 \
    -preset ultrafast -c:a aac -movflags +faststart "$T/in/wide.mp4"
fixrun conform 0 "$T/in/wide.mp4" "[qc]" "aspect_ratio = 9:16" "fps_max = 30" \
    "[fix]" "width = 360" "height = 640" "keyint = 0.5"
D=$(item_dir conform)
s=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,profile,width,height,pix_fmt,r_frame_rate,avg_frame_rate -of csv=p=0 "$D/video/wide.mp4")
check "conform: H.264 High 360x640 yuv420p at a constant 30 fps ($s)" [ "$s" = "h264,High,360,640,yuv420p,30/1,30/1" ]
check "conform: frames evenly spaced" constant_spacing "$D/video/wide.mp4"
keys=$(ffprobe -v error -select_streams v:0 -show_entries frame=key_frame -of csv=p=0 "$D/video/wide.mp4" | cut -d, -f1 | tr -d '\n')
check "conform: a key frame every 15 frames ($keys)" [ "$keys" = "100000000000000100000000000000100000000000000100000000000000" ]
check "conform: plays" plays_clean "$D/video/wide.mp4"

# A phone clip: shown turned; the fix turns the pixels.
ff -f lavfi -i "$V" -t 2 -c:v libx264 -preset ultrafast "$T/land.mp4"
ff -i "$T/land.mp4" -c copy -metadata:s:v:0 rotate=90 -movflags +faststart "$T/in/phone.mp4"
fixrun phone 0 "$T/in/phone.mp4" "[qc]" "video_profiles = high"
D=$(item_dir phone)
check "phone: upright 360x640" [ "$(probe "$D/video/phone.mp4" stream=width v:0)x$(probe "$D/video/phone.mp4" stream=height v:0)" = 360x640 ]
check "phone: no rotation left" sh -c "! ffprobe -v error -show_streams -show_entries stream_side_data '$D/video/phone.mp4' | grep -Eq 'rotation|rotate|Display Matrix'"

fixrun f444 0 "$(clip yuv444.mp4)" "[qc]" "pix_fmts = yuv420p"
D=$(item_dir f444)
check "4:4:4 -> yuv420p High" [ "$(probe "$D/video/yuv444.mp4" stream=pix_fmt v:0),$(probe "$D/video/yuv444.mp4" stream=profile v:0)" = "yuv420p,High" ]

fixrun vfr 0 "$(clip vfr.mp4)" "[qc]" "constant_frame_rate = true"
D=$(item_dir vfr)
check "VFR -> frames evenly spaced" constant_spacing "$D/video/vfr.mp4"
pyjson "$D/metadata/probe.json" 'd["streams"][0]["frame_rate_mode"] == "constant"' || fail "VFR: probe.json says constant"

if media_make "$CLIPS" hevc_hdr10.mp4 2>/dev/null; then
    fixrun hdr 0 "$CLIPS/hevc_hdr10.mp4" "[qc]" "hdr_allowed = false" "[fix]" "width = 640" "height = 360"
    D=$(item_dir hdr)
    check "HDR -> SDR BT.709 H.264 8-bit" [ "$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,pix_fmt,color_transfer,color_primaries -of csv=p=0 "$D/video/hevc_hdr10.mp4")" = "h264,yuv420p,bt709,bt709" ]
fi

# ---- what a fix cannot make pass stays failed, the original delivered ----
fixrun never 1 "$T/in/late.mp4" "[qc]" "faststart = true" "duration_min = 10"
D=$(item_dir never)
check "unfixable: the input's link delivered" [ "$(inode "$D/video/late.mp4")" = "$(inode "$T/in/late.mp4")" ]
check "unfixable: no original/" [ ! -e "$D/original" ]
pyjson "$D/metadata/fix.json" 'not d["fixed"] and any(u.startswith("duration_min:") for u in d["plan"]["unfixable"])' ||
    fail "unfixable: fix.json names duration_min"
pyjson "$D/metadata/qc.json" 'd["verdict"] == "fail"' || fail "unfixable: still failed"
pyjson "$T/o-never/summary/batch_report.json" 'd["items"][0]["fix"].startswith("not fixed: duration_min:") and d["items"][0]["fix_actions"] == [] and d["items"][0]["status"] == "qc_failed"' ||
    fail "unfixable: the report says why"

# A fix whose result still fails: the original stays, the rule is named.
fixrun still 1 "$T/in/wide.mp4" "[qc]" "fps_max = 30" "[fix]" "fps = 50"
D=$(item_dir still)
pyjson "$D/metadata/fix.json" 'not d["fixed"] and d["still_failing"] == ["fps_max"]' ||
    fail "still failing: fix.json names fps_max"
check "still failing: the input's link delivered" [ "$(inode "$D/video/wide.mp4")" = "$(inode "$T/in/wide.mp4")" ]
check "still failing: no temporary file left" [ -z "$(find "$T/o-still" -name '*.vbtmp.*')" ]

# ---- bad input, a full disk, the deadline: per-item errors, nothing partial ----
# A VP9 WebM whose key frames were dropped: its header never says its
# pixel format, which MP4's vpcC box needs; copied as it is, the muxer
# wrote an empty box and a file that does not open (found by fuzz-media).
ff -f lavfi -i testsrc2=size=64x48:rate=10 -t 1 -c:v libvpx-vp9 -g 100 "$T/vp9.webm"
mkdir -p "$T/nokey"
ff -i "$T/vp9.webm" -c copy -bsf:v noise=drop=key "$T/nokey/nokey.webm"
printf '[qc]\ncontainers = mp4\n' > "$T/to-mp4.ini"
"$VBATCH" process "$T/nokey" --fix --config "$T/fast.ini" --config "$T/to-mp4.ini" \
    --output "$T/o-nokey" --quiet 2> "$T/nokey.err"
check "no pixel format: exit 3" [ $? -eq 3 ]
pyjson "$T/o-nokey/summary/batch_report.json" 'd["items"][0]["error_stage"] == "fix" and "does not say its pixel format" in d["items"][0]["error"]' ||
    fail "no pixel format: the error says why"
check "no pixel format: no temporary file left" [ -z "$(find "$T/o-nokey" -name '*.vbtmp.*')" ]
# Timestamps that jump 5 minutes ahead (two MPEG-TS files end to end): a
# re-encode would fill the gap with copies of the last frame (7,500 of
# them, encoded until the deadline); the pass fails at once and says so.
ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -c:v libx264 -preset ultrafast "$T/a.ts"
ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -c:v libx264 -preset ultrafast -output_ts_offset 300 "$T/b.ts"
mkdir -p "$T/jump"
cat "$T/a.ts" "$T/b.ts" > "$T/jump/jump.ts"
printf '[qc]\naspect_ratio = 9:16\n[fix]\nwidth = 180\nheight = 320\n' > "$T/jump.ini"
"$VBATCH" process "$T/jump" --fix --config "$T/fast.ini" --config "$T/jump.ini" \
    --output "$T/o-jump" --quiet 2> "$T/jump.err"
check "a jump in the timestamps: exit 3" [ $? -eq 3 ]
pyjson "$T/o-jump/summary/batch_report.json" 'd["items"][0]["error_stage"] == "fix" and "timestamps jump from 1.960 s to 300.000 s" in d["items"][0]["error"]' ||
    fail "a jump in the timestamps: the error says where"
mkdir -p "$T/bad"
ln "$T/in/late.mp4" "$T/bad/late.mp4"
ln "$T/in/quiet.mp4" "$T/bad/quiet.mp4"
head -c 30000 /dev/urandom > "$T/bad/noise.mp4"
if [ -r "${THROTTLE_SO:-}" ]; then
    THROTTLE_FULL=.late.mp4.vbtmp. THROTTLE_FULL_AFTER=20000 throttled \
        "$VBATCH" process "$T/bad" --fix --config "$T/fast.ini" --config "$T/remux.ini" \
        --output "$T/o-full" --quiet 2> "$T/full.err"
    check "full disk: exit 3 (some items could not be processed)" [ $? -eq 3 ]
    pyjson "$T/o-full/summary/batch_report.json" '[(i["source"].split("/")[-1], i["status"], i["error_stage"] if i["status"] == "failed" else None, "No space left" in (i["error"] or "")) for i in d["items"]] == [("late.mp4", "failed", "fix", True), ("noise.mp4", "failed", "probe", False), ("quiet.mp4", "done", None, False)]' || fail "full disk: late.mp4 failed at fix (no space), noise.mp4 failed, quiet.mp4 done"
    check "full disk: no temporary or partial file left" [ -z "$(find "$T/o-full" -name '*.vbtmp.*')" ]
    check "full disk: nothing delivered for late.mp4" [ ! -e "$T/o-full/late/video/late.mp4" ] || \
        [ "$(inode "$T/o-full/late/video/late.mp4")" = "$(inode "$T/in/late.mp4")" ]
else
    echo "SKIP: the full disk (tests/lib/throttle.so not built)"
fi
# Slow enough on any machine: 10 s of 1080x1920 at veryslow (at 360x640
# a fast machine finished it inside the 2 s).
printf '[batch]\nitem_timeout = 2\n[fix]\nx264_preset = veryslow\nwidth = 1080\nheight = 1920\n' > "$T/slow.ini"
_ff -f lavfi -i testsrc2=size=1920x1080:rate=25 -t 10 -c:v libx264 -preset ultrafast "$T/bad/big.mp4"
_ff -f lavfi -i testsrc2=size=360x640:rate=25 -t 1 -c:v libx264 -preset ultrafast -movflags +faststart "$T/bad/ok.mp4"
"$VBATCH" process "$T/bad/big.mp4" "$T/bad/ok.mp4" --fix --config "$T/conform.ini" \
    --config "$T/slow.ini" --output "$T/o-slow" --quiet 2> "$T/slow.err"
check "the deadline during a fix: exit 3" [ $? -eq 3 ]
pyjson "$T/o-slow/summary/batch_report.json" '[(i["source"].split("/")[-1], i["status"], i["error_stage"] if i["status"] == "failed" else None, "deadline" in (i["error"] or "")) for i in d["items"]] == [("big.mp4", "failed", "fix", True), ("ok.mp4", "done", None, False)]' ||
    fail "the deadline: big.mp4 failed, the batch went on"
check "the deadline: no temporary or partial file left" [ -z "$(find "$T/o-slow" -name '*.vbtmp.*')" ]

# ---- a download: fixed, the body kept in original/ ----
mkdir -p "$T/www"
cp "$T/in/late.mp4" "$T/www/late.mp4"
httpd_start "$T/www"
trap 'httpd_stop' EXIT
printf '%s/late.mp4\n' "$HTTPD_URL" > "$T/urls.txt"
"$VBATCH" process --from-list "$T/urls.txt" --fix --config "$T/fast.ini" --config "$T/remux.ini" \
    --output "$T/o-url" --quiet
check "download: exit 0" [ $? -eq 0 ]
httpd_stop
D=$(item_dir url)
check "download: the body kept in original/, as downloaded" cmp -s "$D/original/late.mp4" "$T/in/late.mp4"
b=$(boxes "$D/video/late.mp4")
case $b in *moov*mdat*) ok "download: the fixed file delivered ($b)" ;; *) fail "download: delivered $b" ;; esac

# ---- publishing takes the fixed file ----
"$VBATCH" process "$T/in/late.mp4" --fix --publish --config "$T/fast.ini" --config "$T/remux.ini" \
    --output "$T/o-pub" --quiet
check "publish: exit 0" [ $? -eq 0 ]
D=$(item_dir pub)
check "publish: the fixed file is published" [ "$(inode "$T/o-pub/publish/late.mp4")" = "$(inode "$D/video/late.mp4")" ]

# ---- incremental runs take the fix settings into account ----
inc() { # inc EXPECTED_EXIT ARGS...: one run into o-inc; prints status:previous:fixed
    _w=$1; shift
    "$VBATCH" process "$T/in/late.mp4" --config "$T/fast.ini" --config "$T/remux.ini" \
        --output "$T/o-inc" --quiet "$@"
    _g=$?
    [ "$_g" -eq "$_w" ] || fail "incremental $*: exit $_g, expected $_w"
    "$PYTHON3" -c 'import json,sys; i=json.load(open(sys.argv[1]))["items"][0]; print("%s:%s:%s" % (i["status"], i["previous_status"] or "-", ",".join(i["fix_actions"]) or "-"))' \
        "$T/o-inc/summary/batch_report.json"
}
printf '[fix]\ncrf = 30\n' > "$T/crf.ini"
check "incremental: without --fix, qc_failed" [ "$(inc 1)" = "qc_failed:-:-" ]
check "incremental: then --fix: fixed, not skipped" [ "$(inc 0 --fix)" = "done:-:remux" ]
ino=$(inode "$T/o-inc/late/video/late.mp4")
check "incremental: --fix again: skipped, the fixed result kept" [ "$(inc 0 --fix)" = "skipped:done:remux" ]
check "incremental: the fixed file still delivered" [ "$(inode "$T/o-inc/late/video/late.mp4")" = "$ino" ]
check "incremental: another [fix] setting: processed again" [ "$(inc 0 --fix --config "$T/crf.ini")" = "done:-:remux" ]
check "incremental: without --fix again: processed, qc_failed" [ "$(inc 1)" = "qc_failed:-:-" ]
check "incremental: the original delivered again, original/ gone" [ "$(inode "$T/o-inc/late/video/late.mp4")" = "$(inode "$T/in/late.mp4")" ] && [ ! -e "$T/o-inc/late/original" ]
check "incremental: [fix] settings do not matter without --fix" [ "$(inc 1 --config "$T/crf.ini")" = "skipped:qc_failed:-" ]

# ---- the dry run: the plan, nothing written ----
"$VBATCH" process "$T/in" --fix --dry-run --config "$T/remux.ini" --output "$T/o-dry" > "$T/dry.txt" 2> "$T/dry.err"
check "dry run: exit 0" [ $? -eq 0 ]
check "dry run: nothing written" [ ! -e "$T/o-dry" ]
check "dry run: late.mp4's plan" grep -q "^late.mp4: fails faststart: fix: remux (video copied into mp4; audio copied)" "$T/dry.txt"
check "dry run: quiet.mp4 passes" grep -q "^quiet.mp4: passes" "$T/dry.txt"
"$VBATCH" process "$T/in" --fix --dry-run --format json --config "$T/never.ini" > "$T/dry.json"
check "dry run: an unfixable item exits 1" [ $? -eq 1 ]
pyjson "$T/dry.json" 'any(x["file"] == "late.mp4" and not x["fixable"] and "duration_min" in x["failed_rules"] for x in d)' ||
    fail "dry run json: late.mp4 unfixable"
# Without --fix a dry run lists what a run would take (issue 14; it was a
# usage error): nothing written either.
"$VBATCH" process "$T/in" --dry-run --output "$T/o-dry2" > "$T/dry2.txt" 2> /dev/null
check "--dry-run without --fix: the list, exit 0" [ $? -eq 0 ] && grep -q "^process " "$T/dry2.txt"
check "--dry-run without --fix: nothing written" [ ! -e "$T/o-dry2" ]

# ---- every file a fix delivered, by ffprobe and the ffmpeg CLI ----
n=0
for fj in "$T"/o-*/*/metadata/fix.json; do
    "$PYTHON3" -c 'import json,sys; sys.exit(not json.load(open(sys.argv[1]))["fixed"])' "$fj" || continue
    d=$(dirname "$(dirname "$fj")")
    f=$(ls "$d"/video/* | head -1)
    n=$((n + 1))
    b=$(boxes "$f")
    case $b in ftyp*moov*mdat*no-elst) ;; *) fail "$f: boxes $b (moov before mdat, no edit list)" ;; esac
    plays_clean "$f" || fail "$f: the ffmpeg CLI reports errors decoding it"
    if pyjson "$fj" 'd["plan"]["video"]["mode"] == "encode"' 2>/dev/null; then
        s=$(ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,profile,pix_fmt -of csv=p=0 "$f")
        [ "$s" = "h264,High,yuv420p" ] || fail "$f: re-encoded video is $s, not h264,High,yuv420p"
        constant_spacing "$f" || fail "$f: frames not evenly spaced"
        [ "$(probe "$f" stream=r_frame_rate v:0)" = "$(probe "$f" stream=avg_frame_rate v:0)" ] ||
            fail "$f: r_frame_rate differs from avg_frame_rate"
    fi
    pyjson "$d/metadata/probe.json" "abs(d['duration'] - $(probe "$f" format=duration)) < 0.01 and d['size'] == $(stat -c %s "$f")" ||
        fail "$f: probe.json's duration and size are ffprobe's"
done
check "every delivered fixed file checked ($n)" [ "$n" -ge 12 ]

finish
