#!/bin/sh
# json-files.sh - what jq and scripts read: a schema_version in every JSON
# file, timestamps in RFC 3339, qc.json's figures as numbers with their
# unit apart.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

mkdir -p "$T/in"
cp "$(clip h264_short.mp4)" "$T/in/short.mp4"
printf 'junk' > "$T/in/junk.mp4"
"$VBATCH" -q process "$T/in" -P kling-clip -o "$T/out" --deep --thumbnails
n=0
for f in $(find "$T/out" -name '*.json'); do
    n=$((n + 1))
    pyjson "$f" 'isinstance(d, dict) and d.get("schema_version") == 1' || fail "schema_version: $f"
done
check "JSON files found ($n)" [ "$n" -ge 6 ]
"$VBATCH" status -o "$T/out" --format json > "$T/st.json"
pyjson "$T/st.json" 'd["schema_version"] == 1' || fail "status --format json: schema_version"
"$PYTHON3" - "$T/out/summary/batch_report.json" "$T/st.json" <<'PY' || fail "RFC 3339 timestamps"
import datetime, json, re, sys
r = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
rfc = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)$")
for t in (r["started"], r["finished"], s["batches"][0]["started"], s["batches"][0]["finished"]):
    assert rfc.match(t), t
    datetime.datetime.fromisoformat(t.replace("Z", "+00:00"))
PY
"$PYTHON3" - "$T/out/short/metadata/qc.json" <<'PY' || fail "qc.json: numbers and units"
import json, sys
d = json.load(open(sys.argv[1]))
c = {x["rule"]: x for x in d["checks"]}
assert c["duration_min"]["measured"] == 2.0 and c["duration_min"]["threshold"] == 4.5, c["duration_min"]
assert c["duration_min"]["unit"] == "s" and c["duration_min"]["value"] == "2.000 s"
assert c["audio_bitrate_min"]["unit"] == "kb/s" and isinstance(c["audio_bitrate_min"]["measured"], float)
assert c["true_peak"]["unit"] == "dBTP" and c["true_peak"]["measured"] < 0
assert c["min_resolution"]["measured"] is None and c["min_resolution"]["unit"] is None
# A target with a tolerance: the range it allows, as numbers.
assert c["loudness"]["limit"] == "-14.0 LUFS +/- 2.0 LU", c["loudness"]
assert c["loudness"]["threshold_min"] == -16.0 and c["loudness"]["threshold_max"] == -12.0, c["loudness"]
PY

finish
