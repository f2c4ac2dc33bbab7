#!/bin/sh
# Item folder names: from the relative path, safe and unique; recursive
# walks in a stable order; symlink loops reported once; the output folder
# inside the input folder is not walked.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

GOOD=$(clip h264_aac_720p.mp4)
IN="$T/in"
mkdir -p "$IN/b" "$IN/a/deeper" "$IN/c"
ln "$GOOD" "$IN/b/clip.mp4" 2>/dev/null || cp "$GOOD" "$IN/b/clip.mp4"
cp "$GOOD" "$IN/a/clip.mp4"
cp "$GOOD" "$IN/a/deeper/clip.MP4"
cp "$GOOD" "$IN/clip.mp4"
cp "$GOOD" "$IN/a__clip.mp4"        # would collide with a/clip.mp4's name
cp "$GOOD" "$IN/summary.mp4"        # reserved folder name
cp "$GOOD" "$IN/.hidden.mp4"        # hidden: skipped
ln -s .. "$IN/c/up"                 # a loop back to IN

# Without --recursive only the top level is taken.
"$VBATCH" process "$IN" --output "$T/flat" --quiet
pyjson "$T/flat/summary/batch_report.json" '[i["folder"] for i in d["items"]] == ["a__clip", "clip", "summary_"]' || fail "flat walk"

"$VBATCH" process "$IN" --recursive --output "$T/rec" --quiet
st=$?
check "recursive run with a loop exits 3 (the loop is an item error)" [ $st -eq 3 ]
R="$T/rec/summary/batch_report.json"
pyjson "$R" '[i["folder"] for i in d["items"] if i["folder"]] == ["a__clip", "a__deeper__clip", "a__clip-2", "b__clip", "clip", "summary_"]' ||
    fail "recursive: sorted, unique folder names"
pyjson "$R" 'len([i for i in d["items"] if i["status"] == "failed" and "loop" in i["error"]]) == 1' || fail "symlink loop reported once"
pyjson "$R" 'len(set(i["folder"] for i in d["items"] if i["folder"])) == len([i for i in d["items"] if i["folder"]])' || fail "folders unique"
check "two clip.mp4 in different folders do not collide" [ -f "$T/rec/a__clip/video/clip.mp4" ] && [ -f "$T/rec/b__clip/video/clip.mp4" ]
check "hidden file skipped" test ! -e "$T/rec/_hidden"

# Output folder inside the input folder: not walked, twice in a row.
"$VBATCH" process "$IN" --recursive --output "$IN/out" --quiet
"$VBATCH" process "$IN" --recursive --output "$IN/out" --quiet
pyjson "$IN/out/summary/batch_report.json" 'd["counts"]["total"] == 7' || fail "output folder inside the input is not walked"
rm -rf "$IN/out"

# Same input twice on the command line: two items, two folders.
"$VBATCH" process "$GOOD" "$GOOD" --output "$T/twice" --quiet
pyjson "$T/twice/summary/batch_report.json" '[i["folder"] for i in d["items"]] == ["h264_aac_720p", "h264_aac_720p-2"]' || fail "same file twice"
finish
