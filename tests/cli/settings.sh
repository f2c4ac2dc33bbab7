#!/bin/sh
# settings.sh - `--set SECTION.KEY=VALUE` overrides one setting without an
# INI file (checked as a file's line, did-you-mean included); `presets
# NAME` prints an INI file that --config reads back to the same settings.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

mkdir -p "$T/in"
cp "$(clip h264_short.mp4)" "$T/in/short.mp4"

# ---- --set ----
expect_status 1 "kling-clip: the short clip fails" "$VBATCH" -q process "$T/in" -P kling-clip -o "$T/o1"
expect_status 0 "--set two limits down: passes" "$VBATCH" -q process "$T/in" -P kling-clip -o "$T/o2" \
    --set qc.duration_min=1 -s qc.audio_bitrate_min=64k
pyjson "$T/o2/summary/batch_report.json" 'd["config"]["qc"]["duration_min"] == 1' ||
    fail "--set: in the recorded settings"
printf '[qc]\nduration_min = 8\n' > "$T/c.ini"
expect_status 0 "--set wins over --config" "$VBATCH" -q process "$T/in" -P kling-clip -c "$T/c.ini" \
    -o "$T/o3" --set qc.duration_min=1 --set qc.audio_bitrate_min=64k
"$VBATCH" -q process "$T/in" -o "$T/o4" --set qc.duraton_min=1 2> "$T/e1"
check "--set unknown key: exit 2" [ $? -eq 2 ]
check "--set unknown key: did you mean" grep -qF "vbatch: --set qc.duraton_min=1: unknown key 'duraton_min' in [qc] (did you mean 'duration_min'?)" "$T/e1"
expect_status 2 "--set bad value" "$VBATCH" -q process "$T/in" -o "$T/o4" --set qc.duration_min=abc 2> /dev/null
expect_status 2 "--set without a section" "$VBATCH" -q process "$T/in" -o "$T/o4" --set duration_min=1 2> /dev/null
expect_status 2 "--set with a line break" "$VBATCH" -q process "$T/in" -o "$T/o4" \
    --set "$(printf 'qc.duration_min=1\n[batch]')" 2> /dev/null
expect_status 0 "--set a two-part section" "$VBATCH" -q process "$T/in" -o "$T/o5" \
    --set provider.kling.base_url=https://kling.example
pyjson "$T/o5/summary/batch_report.json" 'd["config"]["provider.kling"]["base_url"] == "https://kling.example"' ||
    fail "--set provider.kling.base_url recorded"

# generate takes --set too: the plan shows it, an unknown key stops it.
printf 'prompt,duration\n"a cat",5\n' > "$T/jobs.csv"
"$VBATCH" -q generate "$T/jobs.csv" --dry-run --format json -o "$T/g1" \
    --set generate.budget=1 -s generate.max_concurrent=7 > "$T/g1.json"
check "generate --dry-run --set: exit 0" [ $? -eq 0 ]
pyjson "$T/g1.json" 'd["limits"]["budget"] == 1 and d["limits"]["max_concurrent"] == 7 and d["totals"]["over_budget"] == 1' ||
    fail "generate --set: budget and max_concurrent in the plan"
"$VBATCH" -q generate "$T/jobs.csv" --dry-run -o "$T/g2" --set generate.max_concurent=7 2> "$T/e2"
check "generate --set unknown key: exit 2" [ $? -eq 2 ]
check "generate --set unknown key: did you mean" grep -qF "(did you mean 'max_concurrent'?)" "$T/e2"

# ---- presets NAME: an INI file --config takes ----
for p in default kling-clip youtube-shorts tiktok; do
    "$VBATCH" presets $p > "$T/$p.ini" || fail "presets $p"
    "$VBATCH" presets $p --format json > "$T/$p.json"
    # On top of another preset: the same settings.
    "$VBATCH" presets "$T/$p.ini" --format json > "$T/$p-back.json" ||
        fail "presets $p: the INI does not load"
    "$PYTHON3" - "$T/$p.json" "$T/$p-back.json" <<'PY' || fail "presets $p: the INI gives the same settings"
import json, sys
a, b = (json.load(open(f)) for f in sys.argv[1:3])
a.pop("preset"); b.pop("preset")
assert a == b, [(s, k, a[s][k], b[s].get(k)) for s in a for k in a[s] if a[s][k] != b[s].get(k)]
PY
done
expect_status 1 "presets kling-clip as --config over default: kling-clip's gates" "$VBATCH" -q process \
    "$T/in" -c "$T/kling-clip.ini" -o "$T/o6"
# An unset limit is written empty, and an empty value unsets it.
check "an unset limit: empty" grep -q "^aspect_ratio = *$" "$T/kling-clip.ini"
printf '[qc]\nduration_min =\naudio_bitrate_min =\n' > "$T/unset.ini"
expect_status 0 "empty values unset limits" "$VBATCH" -q process "$T/in" -P kling-clip -c "$T/unset.ini" -o "$T/o7"

finish
