#!/bin/sh
# vbatch process on a folder: layout, reports, verdicts, exit status,
# patterns, publish, and the input left untouched.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

media_all "$CLIPS" || exit 99
IN="$T/in"; mkdir -p "$IN"
for c in h264_aac_720p.mp4 silent_video.mp4 h264_short.mp4 vp9_opus.webm rotated.mp4 prores_pcm.mov; do
    cp "$CLIPS/$c" "$IN/"
done
echo "notes" > "$IN/readme.txt"
( cd "$IN" && md5sum * > "$T/before.md5" )

OUT="$T/out"
"$VBATCH" process "$IN" --preset kling-clip --output "$OUT" > "$T/stdout" 2> "$T/stderr"
check "a gate failure gives exit 1" [ $? -eq 1 ]
check "summary printed" grep -q "qc_failed" "$T/stdout"
pyjson "$OUT/summary/batch_report.json" 'd["command_line"].startswith("vbatch process ") and "--preset kling-clip" in d["command_line"]' || fail "command line recorded as typed"

for c in h264_aac_720p silent_video h264_short vp9_opus rotated prores_pcm; do
    check "$c: probe.json" test -s "$OUT/$c/metadata/probe.json"
    check "$c: qc.json" test -s "$OUT/$c/metadata/qc.json"
    v=$(ls "$OUT/$c/video/")
    check "$c: original placed" test -s "$OUT/$c/video/$v"
    check "$c: placed by hard link" [ "$(stat -c %i "$OUT/$c/video/$v")" = "$(stat -c %i "$IN/$v")" ]
done
check "non-video file not taken" test ! -e "$OUT/readme"
( cd "$IN" && md5sum -c --quiet "$T/before.md5" ) || fail "input files changed"

S="$OUT/summary"
for f in batch_report.json processing_metrics.json error_log.json results.csv; do
    check "summary/$f exists" test -s "$S/$f"
done
check "no temporary files left" [ -z "$(find "$OUT" -name '*.vbtmp.*')" ]
pyjson "$S/batch_report.json" 'len(d["items"]) == 6 and d["counts"]["total"] == 6' || fail "6 items reported"
pyjson "$S/batch_report.json" '[i["folder"] for i in d["items"]] == sorted(i["folder"] for i in d["items"])' || fail "items in sorted order"
pyjson "$S/batch_report.json" 'd["config"]["preset"]["name"] == "kling-clip" and d["config"]["qc"]["duration_min"] == 4.5' || fail "effective preset recorded"
pyjson "$S/batch_report.json" '{i["folder"]: i["status"] for i in d["items"]} == {"h264_aac_720p": "done", "h264_short": "qc_failed", "prores_pcm": "qc_failed", "rotated": "done", "silent_video": "done", "vp9_opus": "qc_failed"}' || fail "statuses"
pyjson "$S/batch_report.json" '"duration_min" in [i for i in d["items"] if i["folder"] == "h264_short"][0]["failed_rules"]' || fail "h264_short fails duration_min"
pyjson "$S/batch_report.json" 'set(["container", "video_codec"]) <= set([i for i in d["items"] if i["folder"] == "vp9_opus"][0]["failed_rules"])' || fail "vp9_opus fails container and codec"
pyjson "$S/batch_report.json" '"faststart" in [i for i in d["items"] if i["folder"] == "rotated"][0]["warned_rules"]' || fail "rotated warns on faststart"
pyjson "$S/processing_metrics.json" 'd["counts"]["qc_failed"] == 3 and d["counts"]["done"] == 3 and d["bytes_read"] > 0 and d["bytes_read"] < d["bytes_total"]' || fail "metrics (probe reads less than the files)"
pyjson "$S/error_log.json" 'd["errors"] == []' || fail "no errors"
pyjson "$OUT/h264_short/metadata/qc.json" 'any(c["rule"] == "duration_min" and c["verdict"] == "fail" and c["value"] == "2.000 s" and c["limit"] == "4.500 s" and "minimum" in c["message"] for c in d["checks"])' || fail "qc.json carries value, limit, verdict, message"
pyjson "$OUT/rotated/metadata/probe.json" 'd["streams"][0]["display_width"] == 720' || fail "probe.json content"
"$PYTHON3" - "$S/results.csv" <<'PY' || fail "results.csv: one row per item, RFC 4180"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
assert len(rows) == 6, len(rows)
r = {x["folder"]: x for x in rows}
assert r["h264_short"]["status"] == "qc_failed"
assert "duration_min" in r["h264_short"]["failed_rules"]
assert r["h264_aac_720p"]["video_codec"] == "h264"
PY

# Only passing clips: exit 0. --publish links them into OUT/publish.
"$VBATCH" process "$IN/h264_aac_720p.mp4" "$IN/silent_video.mp4" --preset kling-clip --output "$T/out2" --publish --quiet > "$T/q.out"
check "all pass gives exit 0" [ $? -eq 0 ]
check "--quiet prints nothing" [ ! -s "$T/q.out" ]
check "published h264_aac_720p" test -f "$T/out2/publish/h264_aac_720p.mp4"
check "published silent_video" test -f "$T/out2/publish/silent_video.mp4"

# Patterns: --pattern picks by name; --exclude drops.
"$VBATCH" process "$IN" --pattern '*.mov' --output "$T/out3" --quiet
pyjson "$T/out3/summary/batch_report.json" '[i["folder"] for i in d["items"]] == ["prores_pcm"]' || fail "--pattern '*.mov'"
"$VBATCH" process "$IN" --pattern '*.mp4' --pattern '*.webm' --exclude 'h264_*' --output "$T/out4" --quiet
pyjson "$T/out4/summary/batch_report.json" '[i["folder"] for i in d["items"]] == ["rotated", "silent_video", "vp9_opus"]' || fail "--pattern twice and --exclude"

# --publish with a failing item: only passing ones are linked.
"$VBATCH" process "$IN" --preset kling-clip --output "$T/out5" --publish --quiet
check "failing item not published" test ! -e "$T/out5/publish/h264_short.mp4"
check "passing item published" test -e "$T/out5/publish/rotated.mp4"

# --jobs 1 and --jobs 4 give the same items in the same order.
"$VBATCH" process "$IN" --output "$T/j1" --jobs 1 --quiet
"$VBATCH" process "$IN" --output "$T/j4" --jobs 4 --quiet
check "--jobs 1 and --jobs 4 give the same results.csv (without timings)" \
    [ "$(cut -d, -f1-19 "$T/j1/summary/results.csv")" = "$(cut -d, -f1-19 "$T/j4/summary/results.csv")" ]
finish
