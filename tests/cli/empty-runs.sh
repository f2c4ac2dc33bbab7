#!/bin/sh
# empty-runs.sh - a run that checks nothing does not pass: an empty
# folder or a pattern that matches nothing says so on stderr and exits 5
# (--allow-empty: 0); -o equal to an input folder is refused (exit 2),
# one inside it is fine and skips no input; an earlier output folder met
# by -r is not input again; --strict and [batch] warnings = fail make a
# warning fail the run (exit 1).
. "$TOP_SRCDIR/tests/lib/testlib.sh"

mkdir -p "$T/empty" "$T/in/sub"
cp "$(clip h264_aac_720p.mp4)" "$T/in/a.mp4"
cp "$(clip h264_aac_720p.mp4)" "$T/in/sub/b.mp4"

# ---- nothing found ----
expect_status 5 "empty folder" "$VBATCH" -q process "$T/empty" -o "$T/o1" 2> "$T/e1"
check "empty folder: stderr says nothing was checked" grep -q "no item found.*nothing was checked" "$T/e1"
check "empty folder: --allow-empty named" grep -q -- "--allow-empty" "$T/e1"
expect_status 5 "pattern matching nothing" "$VBATCH" process "$T/in" -p '*.xyz' -o "$T/o2" \
    > /dev/null 2> "$T/e2"
check "pattern: stderr says so" grep -q "no item found" "$T/e2"
expect_status 0 "--allow-empty" "$VBATCH" -q process "$T/empty" -o "$T/o3" --allow-empty
expect_status 5 "--fix --dry-run of an empty folder" "$VBATCH" -q process "$T/empty" --fix --dry-run \
    -o "$T/o3d" 2> /dev/null
expect_status 0 "--fix --dry-run --allow-empty" "$VBATCH" -q process "$T/empty" --fix --dry-run \
    --allow-empty -o "$T/o3e"
expect_status 0 "a run with items" "$VBATCH" -q process "$T/in" -o "$T/o4"

# ---- the output folder and the inputs ----
expect_status 2 "-o equal to the input folder" "$VBATCH" -q process "$T/in" -r -o "$T/in" \
    2> "$T/e5"
check "-o = input: said" grep -q "is the input folder" "$T/e5"
check "-o = input: nothing written" [ ! -e "$T/in/.vbatch" ] && [ ! -e "$T/in/summary" ]
expect_status 2 "-o equal to the input folder, other spelling" "$VBATCH" -q process "$T/in" \
    -o "$T/in/sub/.." 2> /dev/null

# OUT inside the input: every input taken, OUT itself not.
expect_status 0 "-o inside the input, -r" "$VBATCH" -q process "$T/in" -r -o "$T/in/out"
pyjson "$T/in/out/summary/batch_report.json" 'd["counts"]["total"] == 2' ||
    fail "-o inside: both inputs, nothing of OUT"
# Again, into another folder: the first output (its item folders link the
# inputs) is not input.
expect_status 0 "an earlier output inside the input, -r" "$VBATCH" -q process "$T/in" -r \
    -o "$T/in/out2"
pyjson "$T/in/out2/summary/batch_report.json" 'd["counts"]["total"] == 2' ||
    fail "the earlier output folder is not walked"
pyjson "$T/in/out2/summary/batch_report.json" \
    'not any("out/" in i["source"] for i in d["items"])' || fail "no item from out/"
# A folder of the user's, with files, given as OUT inside a walked input:
# its files would be left out, so refused.
mkdir -p "$T/in/sub/mine"
cp "$T/in/a.mp4" "$T/in/sub/mine/c.mp4"
expect_status 2 "-o a non-output folder with files inside the input" "$VBATCH" -q process \
    "$T/in" -r -o "$T/in/sub/mine" 2> "$T/e6"
check "said why" grep -q "would not be read" "$T/e6"
rm -rf "$T/in/sub/mine"

# ---- warnings fail the run ----
cat > "$T/warn.ini" <<'EOF'
[qc]
duration_min = 100
duration_level = warn
EOF
expect_status 0 "a warning passes by default" "$VBATCH" -q process "$T/in/a.mp4" -c "$T/warn.ini" \
    -o "$T/w1"
expect_status 1 "--strict: a warning fails" "$VBATCH" -q process "$T/in/a.mp4" -c "$T/warn.ini" \
    -o "$T/w2" --strict 2> "$T/e7"
check "--strict: said" grep -q "warnings fail the run" "$T/e7"
printf '[batch]\nwarnings = fail\n' > "$T/strict.ini"
expect_status 1 "[batch] warnings = fail" "$VBATCH" -q process "$T/in/a.mp4" -c "$T/warn.ini" \
    -c "$T/strict.ini" -o "$T/w3"
# A rerun skips the unchanged item: its warning still fails.
expect_status 1 "--strict: a skipped item's warning" "$VBATCH" -q process "$T/in/a.mp4" \
    -c "$T/warn.ini" -o "$T/w2" --strict 2> /dev/null
printf '[batch]\nwarnings = maybe\n' > "$T/bad.ini"
expect_status 2 "[batch] warnings = maybe" "$VBATCH" -q process "$T/in/a.mp4" -c "$T/bad.ini" \
    -o "$T/w4" 2> /dev/null

finish
