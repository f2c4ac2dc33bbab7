#!/bin/sh
# presets.sh - `vbatch presets`: the list, one preset as JSON, and a bad
# preset file reported as FILE:LINE with exit status 2.
: "${VBATCH:?}" "${TEST_TMP:?}"
PY=${PYTHON3:-python3}
command -v "$PY" >/dev/null 2>&1 || { echo "python3 not found: skip"; exit 77; }

dir=$TEST_TMP/presets.$$
rm -rf "$dir" && mkdir -p "$dir" || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

# Use the source tree's presets, whatever the environment says.
unset VBATCH_PRESET_DIR

"$VBATCH" presets >"$dir/list" 2>"$dir/err" || fail "presets exited $?: $(cat "$dir/err")"
for name in default kling-clip youtube-1080p shorts-vertical broadcast; do
    grep -q "^$name " "$dir/list" || fail "'$name' not listed: $(cat "$dir/list")"
done

"$VBATCH" presets kling-clip --format json >"$dir/kling.json" 2>"$dir/err" ||
    fail "presets kling-clip exited $?: $(cat "$dir/err")"
"$PY" -c '
import json, sys
d = json.load(sys.stdin)
assert d["preset"]["name"] == "kling-clip", d["preset"]
assert d["qc"]["duration_min"] == 4.5, d["qc"]
assert d["qc"]["duration_max"] == 10.5, d["qc"]
assert d["qc"]["any_orientation"] is True, d["qc"]
assert d["qc"]["faststart_level"] == "warn", d["qc"]
assert "h264" in d["qc"]["video_codecs"], d["qc"]
for section in ("batch", "input", "qc", "output"):
    assert section in d, section
' <"$dir/kling.json" || fail "unexpected JSON: $(cat "$dir/kling.json")"

"$VBATCH" presets youtube-1080p >"$dir/yt.txt" 2>"$dir/err" ||
    fail "presets youtube-1080p (text) exited $?"
grep -q "^min_width = 1920$" "$dir/yt.txt" || fail "text output (an INI file): $(cat "$dir/yt.txt")"

# An unknown key on line 3 is an error naming bad.ini:3, exit status 2.
printf '[qc]\nduration_min = 1\nno_such_key = 2\n' >"$dir/bad.ini"
"$VBATCH" presets "$dir/bad.ini" >/dev/null 2>"$dir/err"
st=$?
[ "$st" -eq 2 ] || fail "bad.ini: exit status $st, expected 2"
grep -q "bad.ini:3" "$dir/err" || fail "bad.ini: stderr does not name bad.ini:3: $(cat "$dir/err")"

# An unknown preset name is a usage error that lists the available ones.
"$VBATCH" presets no-such-preset >/dev/null 2>"$dir/err"
st=$?
[ "$st" -eq 2 ] || fail "unknown preset: exit status $st, expected 2"
grep -q "kling-clip" "$dir/err" || fail "unknown preset: $(cat "$dir/err")"

# A bad --format is a usage error.
"$VBATCH" presets --format xml >/dev/null 2>&1
st=$?
[ "$st" -eq 2 ] || fail "--format xml: exit status $st, expected 2"

echo "ok"
exit 0
