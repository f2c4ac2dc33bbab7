#!/bin/sh
# dry-run.sh - process --dry-run (without --fix) lists what a run would
# take and the folder each item would get, writes nothing, and says which
# items an earlier run into OUT leaves unchanged (skipped); the folders are
# those the run then gives; --format json. --fix --dry-run still plans.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

IN="$T/in"; mkdir -p "$IN/sub"
cp "$(clip h264_aac_720p.mp4)" "$IN/a.mp4"
cp "$(clip h264_aac_720p.mp4)" "$IN/sub/a.mp4"
cp "$(clip h264_short.mp4)" "$IN/b b.mp4"
OUT="$T/out"

expect_status 0 "dry run" "$VBATCH" process "$IN" -r -n -o "$OUT" > "$T/l1" 2> "$T/e1"
check "nothing written" [ ! -e "$OUT" ]
check "three to process" [ "$(grep -c '^process ' "$T/l1")" -eq 3 ]
check "each with its folder" grep -qF "process  $IN/sub/a.mp4  ->  $OUT/sub__a/" "$T/l1"
check "counts on stderr" grep -q "3 to process, 0 unchanged (skipped), 0 not readable; nothing written" "$T/e1"
"$VBATCH" process "$IN" -r -n -o "$OUT" --format json > "$T/l1.json"
"$VBATCH" -q process "$IN" -r -o "$OUT"
"$PYTHON3" - "$T/l1.json" "$OUT/summary/batch_report.json" <<'PY' || fail "the run gives the folders the dry run said"
import json, sys
dry = json.load(open(sys.argv[1])); run = json.load(open(sys.argv[2]))
assert dry["schema_version"] == 1
assert all(i["action"] == "process" for i in dry["items"])
assert {i["source"]: i["folder"] for i in dry["items"]} == {i["source"]: i["folder"] for i in run["items"]}
PY

# Again, one file new: the others unchanged.
cp "$(clip h264_short.mp4)" "$IN/c.mp4"
"$VBATCH" process "$IN" -r -n -o "$OUT" --format json > "$T/l2.json"
check "dry run after a run: exit 0" [ $? -eq 0 ]
pyjson "$T/l2.json" '[i["action"] for i in d["items"]].count("skip") == 3' || fail "three unchanged"
pyjson "$T/l2.json" '[i["folder"] for i in d["items"] if i["action"] == "process"] == ["c"]' ||
    fail "the new one to process"
pyjson "$T/l2.json" 'all(i["unchanged_since"].startswith("batch_") for i in d["items"] if i["action"] == "skip")' ||
    fail "skips name their batch"
check "the journal untouched" [ "$("$VBATCH" status -o "$OUT" --format json | "$PYTHON3" -c 'import json,sys; print(len(json.load(sys.stdin)["batches"]))')" -eq 1 ]
"$VBATCH" process "$IN" -r -n -o "$OUT" --force > "$T/l3" 2> /dev/null
check "--force: all to process" [ "$(grep -c '^process ' "$T/l3")" -eq 4 ]

# Bad entries and empty inputs.
"$VBATCH" process "$T/nothing.mp4" -n -o "$T/o2" > "$T/l4" 2> /dev/null
check "dry run: a missing file, exit 3" [ $? -eq 3 ]
check "missing: an error line" grep -q "^error    $T/nothing.mp4  (cannot read" "$T/l4"
mkdir -p "$T/empty"
expect_status 5 "dry run: nothing found" "$VBATCH" process "$T/empty" -n -o "$T/o3" 2> /dev/null
expect_status 0 "dry run: nothing found, --allow-empty" "$VBATCH" process "$T/empty" -n -o "$T/o3" \
    --allow-empty 2> /dev/null
check "still nothing written" [ ! -e "$T/o2" ] && [ ! -e "$T/o3" ]

# --fix --dry-run: the plans, as before.
"$VBATCH" process "$IN/b b.mp4" -P kling-clip --fix -n -o "$T/o4" > "$T/l5" 2>&1
check "--fix --dry-run: a plan" grep -qi "duration_min" "$T/l5"
check "--fix --dry-run: nothing written" [ ! -e "$T/o4" ]

finish
