#!/bin/sh
# Every [qc] rule at fail, warn and off; preset errors stop the run with
# file:line and exit 2 before any work.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

media_all "$CLIPS" || exit 99
GOOD=$(clip h264_aac_720p.mp4)   # 6 s 1280x720 25 fps h264+aac 48 kHz, faststart

# run_gate NAME EXPECTED_EXIT RULE VERDICT INI_LINES... : one clip through
# a config; RULE must appear in qc.json with VERDICT ("absent" = not run).
run_gate() {
    _name=$1; _want=$2; _rule=$3; _verdict=$4; _file=$5; shift 5
    printf '[qc]\n' > "$T/$_name.ini"
    for _l in "$@"; do printf '%s\n' "$_l" >> "$T/$_name.ini"; done
    "$VBATCH" process "$_file" --config "$T/$_name.ini" --output "$T/o-$_name" --quiet
    _got=$?
    [ "$_got" -eq "$_want" ] || fail "$_name: exit $_got, expected $_want"
    _qc=$(ls "$T/o-$_name"/*/metadata/qc.json)
    if [ "$_verdict" = absent ]; then
        pyjson "$_qc" "all(c['rule'] != '$_rule' for c in d['checks'])" || fail "$_name: $_rule should be off"
    else
        pyjson "$_qc" "any(c['rule'] == '$_rule' and c['verdict'] == '$_verdict' for c in d['checks'])" ||
            fail "$_name: $_rule should be $_verdict"
    fi
}

run_gate dur-fail 1 duration_min fail "$GOOD" "duration_min = 10"
run_gate dur-warn 0 duration_min warn "$GOOD" "duration_min = 10" "duration_level = warn"
run_gate dur-off 0 duration_min absent "$GOOD" "duration_min = 10" "duration_level = off"
run_gate dur-max 1 duration_max fail "$GOOD" "duration_max = 5.5"
run_gate dur-pass 0 duration_min pass "$GOOD" "duration_min = 5.9" "duration_max = 6.1"
run_gate width 1 min_width fail "$GOOD" "min_width = 1920"
run_gate height 0 min_height pass "$GOOD" "min_height = 720"
run_gate orient 0 min_resolution pass "$(clip rotated.mp4)" "min_width = 1280" "min_height = 720" "any_orientation = true"
run_gate rot-width 1 min_width fail "$(clip rotated.mp4)" "min_width = 1280"
run_gate aspect 0 aspect_ratio pass "$GOOD" "aspect_ratio = 16:9"
run_gate aspect-rot 1 aspect_ratio fail "$(clip rotated.mp4)" "aspect_ratio = 16:9"
run_gate aspect-vert 0 aspect_ratio pass "$(clip rotated.mp4)" "aspect_ratio = 9:16" "aspect_tolerance = 0.01"
run_gate aspect-sar 0 aspect_ratio pass "$(clip anamorphic.mp4)" "aspect_ratio = 4:3"
run_gate container 1 container fail "$GOOD" "containers = mov mkv"
run_gate container-ok 0 container pass "$GOOD" "containers = mp4, mov"
run_gate vcodec 1 video_codec fail "$GOOD" "video_codecs = hevc"
run_gate acodec 1 audio_codec fail "$GOOD" "audio_codecs = opus"
run_gate br-min 1 bitrate_min fail "$GOOD" "bitrate_min = 50M"
run_gate br-max 1 bitrate_max fail "$GOOD" "bitrate_max = 1M"
run_gate vbr 0 video_bitrate_min pass "$GOOD" "video_bitrate_min = 1M"
run_gate vbr-max 1 video_bitrate_max fail "$GOOD" "video_bitrate_max = 2M"
run_gate fps 1 fps_min fail "$GOOD" "fps_min = 29.97"
run_gate fps-ntsc 0 fps_max pass "$(clip h264_ntsc.mkv)" "fps_min = 29.97" "fps_max = 30000/1001"
run_gate audio-req 1 audio fail "$(clip silent_video.mp4)" "audio = required"
run_gate audio-forb 1 audio fail "$GOOD" "audio = forbidden"
run_gate abr 1 audio_bitrate_min fail "$GOOD" "audio_bitrate_min = 256k"
run_gate rates 1 sample_rate fail "$GOOD" "sample_rates = 44100"
run_gate rates-ok 0 sample_rate pass "$GOOD" "sample_rates = 44100 48000"
run_gate size 1 max_file_size fail "$GOOD" "max_file_size = 1MB"
run_gate faststart 1 faststart fail "$(clip h264_short.mp4)" "faststart = true"
run_gate faststart-ok 0 faststart pass "$GOOD" "faststart = true"
run_gate hdr 1 hdr fail "$(clip hevc_hdr10.mp4)" "hdr_allowed = false"
run_gate hdr-ok 0 hdr absent "$(clip hevc_hdr10.mp4)" "hdr_allowed = true"
run_gate novideo 1 video_stream fail "$(clip audio_only.m4a)"
run_gate maxw 1 max_width fail "$GOOD" "max_width = 1000"
run_gate maxh 0 max_height pass "$GOOD" "max_height = 720"
run_gate maxres 1 max_resolution fail "$(clip rotated.mp4)" "max_width = 1000" "max_height = 1000" "any_orientation = true"
run_gate maxres-ok 0 max_resolution pass "$(clip rotated.mp4)" "max_width = 1280" "max_height = 720" "any_orientation = true"
run_gate pixfmt 1 pix_fmt fail "$(clip yuv444.mp4)" "pix_fmts = yuv420p yuvj420p"
run_gate pixfmt-ok 0 pix_fmt pass "$GOOD" "pix_fmts = yuv420p yuvj420p"
run_gate depth 1 bit_depth fail "$(clip h264_10bit.mp4)" "max_bit_depth = 8"
run_gate depth-ok 0 bit_depth pass "$GOOD" "max_bit_depth = 8"
run_gate profile 1 video_profile fail "$(clip baseline.mp4)" "video_profiles = main high"
run_gate profile-444 1 video_profile fail "$(clip yuv444.mp4)" "video_profiles = main high"
run_gate profile-ok 0 video_profile pass "$(clip baseline.mp4)" "video_profiles = constrained_baseline"
run_gate profile-10 0 video_profile pass "$(clip h264_10bit.mp4)" "video_profiles = high_10"
run_gate vfr 1 frame_rate_mode fail "$(clip vfr.mp4)" "constant_frame_rate = true"
run_gate cfr 0 frame_rate_mode pass "$GOOD" "constant_frame_rate = true"
run_gate vfr-warn 0 frame_rate_mode warn "$(clip vfr.mp4)" "constant_frame_rate = true" "frame_rate_mode_level = warn"
# Matroska indexes key frames only: the probe cannot tell, so no verdict.
run_gate cfr-mkv 0 frame_rate_mode absent "$(clip h264_ntsc.mkv)" "constant_frame_rate = true"

# The frame rate mode against ffprobe's packet timestamps: variable when
# the decode-time steps differ by more than a tick.
for c in vfr.mp4 h264_aac_720p.mp4 rotated.mp4 h264_short.mp4; do
    want=$(ffprobe -v error -select_streams v:0 -show_entries packet=dts -of csv=p=0 "$(clip $c)" |
        sort -n | awk 'NR>1 { d=$1-p; if (min=="" || d<min) min=d; if (d>max) max=d } { p=$1 }
            END { print (max-min <= 1 || max-min <= 0.01*min) ? "constant" : "variable" }')
    "$VBATCH" probe --format json "$(clip $c)" > "$T/frm-$c.json"
    pyjson "$T/frm-$c.json" "(d[0] if isinstance(d, list) else d)['streams'][0]['frame_rate_mode'] == '$want'" ||
        fail "frame_rate_mode of $c: ffprobe's packets say $want"
done

# Shipped presets on the clips they were written for.
"$VBATCH" process "$(clip rotated.mp4)" --preset shorts-vertical --output "$T/sv" --quiet
pyjson "$T/sv/summary/batch_report.json" '"min_resolution" in d["items"][0]["failed_rules"] or "min_width" in d["items"][0]["failed_rules"]' ||
    fail "shorts-vertical: 720x1280 is too small"
pyjson "$T/sv/summary/batch_report.json" '"aspect_ratio" not in d["items"][0]["failed_rules"]' ||
    fail "shorts-vertical: rotated clip is 9:16"
# The delivery specs: a clip made to them passes each (headers only); a
# landscape 720p clip whose index is at the end fails each.
_ff -f lavfi -i testsrc2=size=1080x1920:rate=30 -f lavfi -i sine=frequency=550:sample_rate=48000 \
    -t 5 -c:v libx264 -preset veryfast -profile:v high -pix_fmt yuv420p -c:a aac -b:a 192k \
    -movflags +faststart -shortest "$T/spec.mp4"
for p in youtube-shorts tiktok instagram-reels; do
    "$VBATCH" process "$T/spec.mp4" --preset $p --output "$T/spec-$p" --quiet
    check "$p passes a 1080x1920 H.264 High AAC 48 kHz faststart clip" [ $? -eq 0 ]
    "$VBATCH" process "$(clip h264_short.mp4)" --preset $p --output "$T/spec-bad-$p" --quiet
    check "$p fails a 2 s 720p clip with the index at the end" [ $? -eq 1 ]
done
pyjson "$T/spec-bad-youtube-shorts/summary/batch_report.json" \
    'set(["faststart", "aspect_ratio", "sample_rate"]) <= set(d["items"][0]["failed_rules"])' ||
    fail "youtube-shorts: faststart, aspect ratio and 44.1 kHz fail"
# kling-clip says 1:1 passes: Kling's square outputs meet "720p or better".
for sq in 960 1080 1440; do
    _ff -f lavfi -i testsrc2=size=${sq}x${sq}:rate=24 -t 5 -c:v libx264 -preset ultrafast \
        -pix_fmt yuv420p -movflags +faststart "$T/sq$sq.mp4"
    "$VBATCH" process "$T/sq$sq.mp4" --preset kling-clip --output "$T/kc$sq" --quiet
    check "kling-clip passes ${sq}x${sq}" [ $? -eq 0 ]
done
_ff -f lavfi -i testsrc2=size=640x360:rate=24 -t 5 -c:v libx264 -preset ultrafast \
    -pix_fmt yuv420p -movflags +faststart "$T/small.mp4"
"$VBATCH" process "$T/small.mp4" --preset kling-clip --output "$T/kcsmall" --quiet
check "kling-clip fails 640x360" [ $? -eq 1 ]
pyjson "$T/kcsmall/summary/batch_report.json" '"min_resolution" in d["items"][0]["failed_rules"]' ||
    fail "kling-clip: 640x360 fails min_resolution"
"$VBATCH" process "$(clip prores_pcm.mov)" --preset broadcast --output "$T/bc" --quiet
pyjson "$T/bc/summary/batch_report.json" '"video_codec" not in d["items"][0]["failed_rules"] and "sample_rate" not in d["items"][0]["failed_rules"]' ||
    fail "broadcast accepts ProRes with 48 kHz PCM"

# Configuration errors: exit 2, file:line named, nothing done.
printf '[qc]\nduration_min = 1\nduration_mni = 2\n' > "$T/typo.ini"
"$VBATCH" process "$GOOD" --config "$T/typo.ini" --output "$T/never1" 2> "$T/typo.err"
check "unknown key: exit 2" [ $? -eq 2 ]
check "unknown key: file:line" grep -q "typo.ini:3" "$T/typo.err"
check "unknown key: no output folder" test ! -e "$T/never1"
printf '[qc]\n\n[nonsense]\nx = 1\n' > "$T/sect.ini"
"$VBATCH" process "$GOOD" --config "$T/sect.ini" --output "$T/never2" 2> "$T/sect.err"
check "unknown section: exit 2" [ $? -eq 2 ]
check "unknown section: file:line" grep -q "sect.ini:3" "$T/sect.err"
printf '; comment\n[qc]\nduration_min = abc\n' > "$T/val.ini"
"$VBATCH" process "$GOOD" --config "$T/val.ini" --output "$T/never3" 2> "$T/val.err"
check "bad value: exit 2" [ $? -eq 2 ]
check "bad value: file:line" grep -q "val.ini:3" "$T/val.err"
printf '[qc]\nduration_level = sometimes\n' > "$T/lvl.ini"
expect_status 2 "bad level" "$VBATCH" process "$GOOD" --config "$T/lvl.ini" --output "$T/never4"
expect_status 2 "unknown preset" "$VBATCH" process "$GOOD" --preset no-such-preset --output "$T/never5"
expect_status 2 "missing config file" "$VBATCH" process "$GOOD" --config "$T/absent.ini" --output "$T/never6"
expect_status 2 "missing list file" "$VBATCH" process --from-list "$T/absent.txt" --output "$T/never7"
for n in 1 2 3 4 5 6 7; do check "run $n left no output" test ! -e "$T/never$n"; done
finish
