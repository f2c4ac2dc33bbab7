#!/bin/sh
# vbatch process --deep: what the in-process filter graph finds (black,
# freeze, silence, loudness, true peak) agrees with the ffmpeg tool running
# the same filters with the same settings; the [qc] gates on it; integrity
# (a file cut short); key-frame mode; the time limit.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

media_analyse_all "$CLIPS" || exit 99

# The settings spelt out, so that the ffmpeg run below uses the same ones
# whatever the built-in defaults become.
BLACK_D=0.5 BLACK_PIC=0.98 BLACK_PIX=0.10 FREEZE_N=0.001 FREEZE_D=2 SIL_N=-60 SIL_D=2
# One frame at 25 fps, the most a boundary may differ by.
FRAME=0.04

cat > "$T/analyse.ini" <<EOF
[thumbnails]
enabled = false
[analyse]
black_min_duration = $BLACK_D
black_picture_threshold = $BLACK_PIC
black_pixel_threshold = $BLACK_PIX
freeze_noise = $FREEZE_N
freeze_min_duration = $FREEZE_D
silence_noise = $SIL_N
silence_min_duration = $SIL_D
loudness = true
[qc]
black_max_seconds = 1
black_max_share = 0.05
leading_black_max = 0.5
trailing_black_max = 0.5
freeze_max_seconds = 3
silence_max_seconds = 2.5
audio_silent_level = fail
loudness_target = -14
loudness_tolerance = 1
true_peak_max = -3
decode_errors_max = 0
EOF

IN="$T/in"; mkdir -p "$IN"
for c in analyse_clean.mp4 analyse_black.mp4 analyse_edges.mp4 analyse_freeze.mp4 \
         analyse_silence.mp4 analyse_mute.mp4 analyse_loud.mp4 analyse_truncated.mkv \
         analyse_gap.mp4 analyse_damaged.mp4; do
    ln "$CLIPS/$c" "$IN/$c" 2>/dev/null || cp "$CLIPS/$c" "$IN/$c"
done
OUT="$T/out"
"$VBATCH" process "$IN" --deep --config "$T/analyse.ini" --output "$OUT" --quiet
check "defects give exit 1 (quality gates, not errors)" [ $? -eq 1 ]

ALL="clean black edges freeze silence mute loud truncated gap damaged"
for c in $ALL; do
    check "analyse_$c: analysis.json written" test -s "$OUT/analyse_$c/metadata/analysis.json"
done

# ---- agreement with the ffmpeg tool ----

cat > "$T/agree.py" <<'PY'
# agree.py ANALYSIS_JSON FFMPEG_STDERR FRAME: vbatch's segments within one
# frame of what the ffmpeg tool logs, loudness and true peak within 0.1.
import json, math, re, sys
a = json.load(open(sys.argv[1]))
err = open(sys.argv[2], errors="replace").read()
frame = float(sys.argv[3])
num = r"(-?[0-9.]+(?:e[-+]?[0-9]+)?|-?inf)"
problems = []

def runs(start, end):
    """[(start, end or None)] from 'start: X' ... 'end: Y' log lines"""
    out, cur = [], None
    for key, v in re.findall("(" + start + "|" + end + r"): ?" + num, err):
        if key == start:
            cur = float(v)
        elif cur is not None:
            out.append((cur, float(v)))
            cur = None
    if cur is not None:
        out.append((cur, None))   # still open at the end of the stream
    return out

# blackdetect logs start and end on one line, the last run from its uninit
black = [(float(s), float(e)) for s, e in
         re.findall(r"black_start:" + num + r" black_end:" + num, err)]
freeze = runs("freeze_start", "freeze_end")
silence = runs("silence_start", "silence_end")

def compare(name, ref, got, stream_end):
    if got is None:                  # not measured: no such stream
        if ref or a["has_audio"] or name != "silence":
            problems.append(name + ": not measured")
        return
    if len(ref) != len(got):
        problems.append("%s: ffmpeg found %s, vbatch %s" % (
            name, ref, [(g["start"], g["end"]) for g in got]))
        return
    for (s, e), g in zip(ref, got):
        # a run open at the end: ffmpeg logs no end (freeze) or the last
        # frame's start (black); vbatch closes it at the end of that frame
        e = stream_end if e is None else e
        if abs(g["start"] - s) > frame + 1e-3 or abs(g["end"] - e) > frame + 1e-3:
            problems.append("%s: ffmpeg %.3f-%.3f, vbatch %.3f-%.3f" % (
                name, s, e, g["start"], g["end"]))
        if abs(g["duration"] - (g["end"] - g["start"])) > 1e-6:
            problems.append(name + ": duration is not end - start")

compare("black", black, a["black"], a["video_end"])
compare("freeze", freeze, a["freeze"], a["video_end"])
compare("silence", silence, a["silence"], a["audio_end"])

summary = err[err.rfind("Summary:"):] if "Summary:" in err else ""
if not a["has_audio"]:
    if summary:
        problems.append("ffmpeg measured loudness, vbatch found no audio")
    if a["integrated_lufs"] is not None or a["silence"] is not None:
        problems.append("sound measured without audio")
    for p in problems:
        print("   ", p, file=sys.stderr)
    sys.exit(1 if problems else 0)

def figure(label):
    m = re.search(label + r":\s+" + num, summary)
    return float(m.group(1)) if m else None
for label, key in (("I", "integrated_lufs"), ("LRA", "loudness_range"), ("Peak", "true_peak")):
    ref, got = figure(label), a[key]
    if ref is None:
        problems.append("ffmpeg printed no " + label)
    elif ref == -math.inf:
        if got is not None:          # -inf is written as null
            problems.append("%s: ffmpeg -inf, vbatch %s" % (key, got))
    elif got is None or abs(got - ref) > 0.1:
        problems.append("%s: ffmpeg %s, vbatch %s" % (key, ref, got))

for p in problems:
    print("   ", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY

for c in $ALL; do
    f=$(ls "$IN"/analyse_"$c".*)
    "$FFMPEG" -nostdin -hide_banner -i "$f" \
        -vf "blackdetect=d=$BLACK_D:pic_th=$BLACK_PIC:pix_th=$BLACK_PIX,freezedetect=n=$FREEZE_N:d=$FREEZE_D" \
        -af "silencedetect=n=${SIL_N}dB:d=$SIL_D,ebur128=peak=true" -f null - 2> "$T/ff-$c.err"
    check "analyse_$c: agrees with ffmpeg (segments within a frame, loudness within 0.1)" \
        "$PYTHON3" "$T/agree.py" "$OUT/analyse_$c/metadata/analysis.json" "$T/ff-$c.err" "$FRAME"
done

# Black at the edges of blackdetect's thresholds: the pixel threshold of
# limited range (16 + 0.10 * 219, truncated: 37 is black, 38 not) and of
# full range (0.10 * 255: 25 and 26), a picture exactly 98% black and one
# pixel short of it, a width that is not a multiple of 16, and a run open
# at the end. Lossless, so each sample is the value written.
BIN="$T/black-in"; mkdir -p "$BIN"
for range in tv pc; do
    if [ $range = tv ]; then lo=37 hi=38; else lo=25 hi=26; fi
    # 170x120: 408 samples are 2% of 20400
    box="lt(X,17)*lt(Y,24)"
    lum="if(lt(T,1),$hi,if(lt(T,2),$lo,if(lt(T,3),$hi,if(lt(T,4),if($box,200,$lo),if(lt(T,5),if($box+eq(X,20)*eq(Y,0),200,$lo),0)))))"
    "$FFMPEG" -nostdin -v error -y -f lavfi -i "color=size=170x120:rate=25:d=7,format=yuv420p,geq=lum='$lum':cb=128:cr=128" \
        -color_range $range -c:v libx264 -qp 0 -pix_fmt yuv420p "$BIN/black_$range.mp4" ||
        fail "cannot make black_$range.mp4"
done
"$VBATCH" process "$BIN" --deep --config "$T/analyse.ini" --output "$T/black-out" --quiet
for range in tv pc; do
    "$FFMPEG" -nostdin -hide_banner -i "$BIN/black_$range.mp4" \
        -vf "blackdetect=d=$BLACK_D:pic_th=$BLACK_PIC:pix_th=$BLACK_PIX,freezedetect=n=$FREEZE_N:d=$FREEZE_D" \
        -f null - 2> "$T/ff-black-$range.err"
    check "black_$range: agrees with blackdetect at its thresholds" \
        "$PYTHON3" "$T/agree.py" "$T/black-out/black_$range/metadata/analysis.json" "$T/ff-black-$range.err" "$FRAME"
    pyjson "$T/black-out/black_$range/metadata/analysis.json" "len(d['black']) == 3" ||
        fail "black_$range: three black runs (the threshold, 98%, the end)"
done

# A file alone has both cores: its sound is decoded and filtered on a
# thread of its own (the batch above gave most items one core each, and
# one thread); the findings are the filters' all the same.
for c in clean silence mute loud damaged truncated; do
    f=$(ls "$IN"/analyse_"$c".*)
    rm -rf "$T/alone"
    "$VBATCH" process "$f" --deep --config "$T/analyse.ini" --output "$T/alone" --quiet
    check "analyse_$c alone: agrees with ffmpeg" \
        "$PYTHON3" "$T/agree.py" "$T/alone/analyse_$c/metadata/analysis.json" "$T/ff-$c.err" "$FRAME"
    check "analyse_$c alone: the counts of the batch's run" "$PYTHON3" - \
        "$OUT/analyse_$c/metadata/analysis.json" "$T/alone/analyse_$c/metadata/analysis.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
keys = ("video_frames", "audio_frames", "decode_errors", "corrupt_frames", "audio_end", "video_end",
        "incomplete", "broke_reason", "silence", "integrated_lufs", "loudness_range", "true_peak",
        "loudness_series")
bad = [k for k in keys if a.get(k) != b.get(k)]
if bad:
    print("    differ:", bad, file=sys.stderr)
sys.exit(1 if bad else 0)
PY
done

# The loudness over time: ebur128's momentary and short-term loudness of
# each 100 ms block, as the ffmpeg CLI's own filter prints them.
f=$(ls "$IN"/analyse_clean.*)
"$FFMPEG" -nostdin -hide_banner -nostats -i "$f" -map 0:a \
    -af "ebur128=metadata=1,ametadata=mode=print:file=$T/r128.txt" -f null - 2> /dev/null
"$PYTHON3" - "$OUT/analyse_clean/metadata/analysis.json" "$T/r128.txt" <<'PY' ||
import json, sys
l = json.load(open(sys.argv[1]))["loudness_series"]
m, s = [], []
for line in open(sys.argv[2]):
    if line.startswith("lavfi.r128.M="):
        m.append(float(line.split("=", 1)[1]))
    elif line.startswith("lavfi.r128.S="):
        s.append(float(line.split("=", 1)[1]))
assert l["interval"] == 0.1 and l["start"] == 0 and len(l["momentary"]) == len(m) == 100, (len(m), l["interval"])
for a, b in zip(l["momentary"] + l["short_term"], m + s):
    assert abs(a - round(b, 1)) < 0.051, (a, b)
PY
    fail "analyse_clean: the loudness series is ebur128's, block for block"

# ---- what was found ----

A() { pyjson "$OUT/analyse_$1/metadata/analysis.json" "$2" || fail "analyse_$1: $2"; }
near() { echo "abs(($1) - ($2)) <= $FRAME + 1e-3"; }
A clean 'd["mode"] == "full" and d["has_video"] and d["has_audio"] and d["black"] == [] and d["freeze"] == [] and d["silence"] == []'
A clean 'd["video_frames"] == 250 and d["decode_errors"] == 0 and d["corrupt_frames"] == 0 and d["timestamp_gaps"] == 0'
A clean 'not d["incomplete"] and d["broke_at"] is None and d["broke_reason"] is None and abs(d["video_end"] - 10) < 0.001'
A clean 'abs(d["integrated_lufs"] + 14) < 1 and d["true_peak"] < -10 and d["seconds"] > 0'
A black "len(d['black']) == 1 and $(near "d['black'][0]['start']" 3) and $(near "d['black'][0]['end']" 5)"
A black "$(near "d['black_total']" 2) and abs(d['black_share'] - 0.2) < 0.005 and d['leading_black'] == 0 and d['trailing_black'] == 0"
A edges "$(near "d['leading_black']" 1) and $(near "d['trailing_black']" 1.48)"
A freeze "len(d['freeze']) == 1 and $(near "d['freeze'][0]['start']" 2) and $(near "d['freeze'][0]['end']" 6) and $(near "d['freeze_max']" 4)"
A silence "len(d['silence']) == 1 and abs(d['silence_max'] - 3) < 0.05 and not d['audio_silent']"
A mute 'd["audio_silent"] and len(d["silence"]) == 1 and d["true_peak"] is None'
A loud 'd["integrated_lufs"] > -5 and d["true_peak"] > -3'
A gap 'd["timestamp_gaps"] == 1 and d["video_frames"] == 150 and not d["has_audio"] and not d["incomplete"]'
A gap 'd["silence"] is None and d["audio_silent"] is None and d["integrated_lufs"] is None and d["audio_end"] is None'
A damaged 'd["decode_errors"] + d["corrupt_frames"] > 0 and d["video_frames"] > 200 and not d["incomplete"]'
A truncated 'd["incomplete"] and 4 < d["broke_at"] < 6 and "video stream ends at" in d["broke_reason"] and "container says 10.0" in d["broke_reason"]'

# ---- the gates in qc.json ----

# Q ITEM RULE VERDICT [VALUE]
Q() {
    _e="any(c['rule'] == '$2' and c['verdict'] == '$3'"
    [ $# -ge 4 ] && _e="$_e and c['value'] == '$4'"
    pyjson "$OUT/analyse_$1/metadata/qc.json" "$_e for c in d['checks'])" ||
        fail "analyse_$1: $2 should be $3${4:+ ($4)}"
}
for r in black_max_seconds black_max_share leading_black trailing_black freeze_max silence_max \
         audio_silent loudness true_peak decode_errors integrity; do
    Q clean $r pass
done
Q black black_max_seconds fail "2.000 s"
Q black black_max_share fail "20.0%"
Q black leading_black pass
Q black freeze_max pass "2.000 s"
Q edges leading_black fail "1.000 s"
Q edges trailing_black fail
Q freeze freeze_max fail "4.000 s"
Q freeze black_max_seconds pass "0.000 s"
Q silence silence_max fail
Q silence audio_silent pass
Q mute audio_silent fail silent
Q mute true_peak pass "-inf dBTP"
Q loud loudness fail
Q loud true_peak fail
Q truncated integrity fail
Q truncated decode_errors pass "0"
Q damaged decode_errors fail
Q damaged integrity pass complete
pyjson "$OUT/analyse_gap/metadata/qc.json" "all(c['rule'] not in ('silence_max', 'audio_silent', 'loudness', 'true_peak') for c in d['checks'])" ||
    fail "analyse_gap: no sound gates without sound"
pyjson "$OUT/analyse_loud/metadata/qc.json" "any(c['rule'] == 'loudness' and c['limit'] == '-14.0 LUFS +/- 1.0 LU' and 'above' in c['message'] for c in d['checks'])" ||
    fail "loudness: limit and message"
pyjson "$OUT/analyse_truncated/metadata/qc.json" "any(c['rule'] == 'integrity' and c['value'].startswith('broke at 5.') and 'ends at 5.' in c['message'] for c in d['checks'])" ||
    fail "integrity: where it broke, in the value and the message"
pyjson "$OUT/summary/batch_report.json" "[i['status'] for i in d['items'] if i['folder'] == 'analyse_clean'] == ['done']" ||
    fail "the clean clip passes"

# Levels: warn does not fail the item, off leaves the check out.
printf '[thumbnails]\nenabled = false\n[qc]\nblack_max_seconds = 1\nblack_level = warn\nfreeze_max_seconds = 1\nfreeze_level = off\n' > "$T/warn.ini"
"$VBATCH" process "$CLIPS/analyse_black.mp4" --deep --config "$T/warn.ini" --output "$T/warn" --quiet
check "warn level: exit 0" [ $? -eq 0 ]
pyjson "$T/warn/analyse_black/metadata/qc.json" "any(c['rule'] == 'black_max_seconds' and c['verdict'] == 'warn' for c in d['checks'])" ||
    fail "black_max_seconds at warn"
pyjson "$T/warn/analyse_black/metadata/qc.json" "all(c['rule'] != 'freeze_max' for c in d['checks'])" ||
    fail "freeze_max off"

# ---- a faststart MP4 cut short: the index at the front gives it away ----

"$VBATCH" process "$CLIPS/analyse_truncated.mp4" --deep --config "$T/analyse.ini" --output "$T/cut" --quiet
check "truncated MP4: could not be processed (exit 3)" [ $? -eq 3 ]
pyjson "$T/cut/summary/error_log.json" "len(d['errors']) == 1 and 'truncated' in d['errors'][0]['message']" ||
    fail "truncated MP4: reported as truncated"

# ---- key-frame mode ----

printf '[analyse]\nmode = keyframes\n' | cat "$T/analyse.ini" - > "$T/keyframes.ini"
"$VBATCH" process "$CLIPS/analyse_black.mp4" --deep --config "$T/keyframes.ini" --output "$T/kf" --quiet
check "keyframes: exit 1 (black found)" [ $? -eq 1 ]
K="$T/kf/analyse_black/metadata/analysis.json"
pyjson "$K" 'd["mode"] == "keyframes" and d["video_frames"] == 10' || fail "keyframes: mode recorded, one frame a second decoded"
pyjson "$K" 'len(d["black"]) == 1 and abs(d["black"][0]["start"] - 3) <= 1 and abs(d["black"][0]["end"] - 5) <= 1' ||
    fail "keyframes: the black run found to within a key-frame interval"
pyjson "$K" 'd["freeze"] is None and d["silence"] is None and d["integrated_lufs"] is None and d["audio_frames"] == 0' ||
    fail "keyframes: no freeze or sound measurement"
pyjson "$K" 'not d["incomplete"] and abs(d["video_end"] - 10) < 0.05' || fail "keyframes: not mistaken for a file cut short"
pyjson "$T/kf/analyse_black/metadata/qc.json" "all(c['rule'] not in ('freeze_max', 'silence_max', 'loudness', 'true_peak', 'audio_silent') for c in d['checks'])" ||
    fail "keyframes: no gates on what was not measured"
pyjson "$T/kf/analyse_black/metadata/qc.json" "any(c['rule'] == 'black_max_seconds' and c['verdict'] == 'fail' for c in d['checks'])" ||
    fail "keyframes: black gate still applied"

# ---- the time limit ----

printf '[thumbnails]\nenabled = false\n[analyse]\ntimeout = 0.001\n' > "$T/timeout.ini"
"$VBATCH" process "$CLIPS/analyse_clean.mp4" --deep --config "$T/timeout.ini" --output "$T/slow" --quiet
check "timeout: the item could not be processed (exit 3)" [ $? -eq 3 ]
pyjson "$T/slow/summary/error_log.json" "len(d['errors']) == 1 and 'timeout' in d['errors'][0]['message'] and d['errors'][0]['stage'] == 'analyse'" ||
    fail "timeout: reported at the analyse stage"

finish
