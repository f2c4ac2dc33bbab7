#!/bin/sh
# json-lines.sh - batch_report.json as JSON Lines for large batches:
# [output] json_lines = auto (from json_lines_min items; a small threshold
# here keeps the test small), yes, no. Every line parses, the first is the
# batch (every key of the document but items, and "format"), the items
# follow one a line, equal to the ordinary document's; neither key makes an
# unchanged item be processed again.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

mkdir -p "$T/in"
cp "$(clip h264_short.mp4)" "$T/in/a.mp4"
cp "$(clip h264_aac_720p.mp4)" "$T/in/b \"q\" é.mp4"
printf 'not a video' > "$T/in/c.mp4"

"$VBATCH" -q process "$T/in" -o "$T/doc" -j 1
"$VBATCH" -q process "$T/in" -o "$T/lines" -j 1 --set output.json_lines_min=3
"$VBATCH" -q process "$T/in" -o "$T/below" -j 1 --set output.json_lines_min=4

check "auto below the threshold: one document" pyjson "$T/below/summary/batch_report.json" \
    'len(d["items"]) == 3'
check "auto at the threshold: JSON Lines equal to the document" "$PYTHON3" - \
    "$T/doc/summary/batch_report.json" "$T/lines/summary/batch_report.json" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
text = open(sys.argv[2], encoding="utf-8").read()
assert text.endswith("\n") and "\n\n" not in text, "one value a line"
lines = [json.loads(l) for l in text.splitlines()]
head, items = lines[0], lines[1:]
assert head["format"] == "json_lines" and "items" not in head, head
assert set(head) - {"format"} == set(doc) - {"items"}, (sorted(head), sorted(doc))
assert head["counts"] == doc["counts"] and head["counts"]["total"] == 3, head["counts"]
assert len(items) == len(doc["items"]) == 3
# Each item as the document has it, but for what differs between two
# runs (batch, times).
def same(x):
    x = dict(x)
    x.pop("seconds", None)
    return x
for a, b in zip(doc["items"], items):
    assert same(a) == same(b), (a, b)
assert [i["seq"] for i in items] == [1, 2, 3]
PY

# yes and no whatever the size; a rerun with either skips everything.
"$VBATCH" -q process "$T/in" -o "$T/doc" -j 1 --set output.json_lines=yes
check "json_lines = yes: lines, every item skipped (the key is not compared)" "$PYTHON3" -c '
import json, sys
ls = [json.loads(l) for l in open(sys.argv[1])]
assert ls[0]["format"] == "json_lines" and ls[0]["counts"]["skipped"] == 2, ls[0]["counts"]
assert len(ls) == 4 and all("seq" in i for i in ls[1:])' "$T/doc/summary/batch_report.json"
"$VBATCH" -q process "$T/in" -o "$T/lines" -j 1 --set output.json_lines=no \
    --set output.json_lines_min=1
check "json_lines = no: one document" pyjson "$T/lines/summary/batch_report.json" \
    'len(d["items"]) == 3 and d["counts"]["skipped"] == 2'
"$VBATCH" report -o "$T/doc"
check "vbatch report keeps the batch's setting" "$PYTHON3" -c '
import json, sys
assert len([json.loads(l) for l in open(sys.argv[1])]) == 4' "$T/doc/summary/batch_report.json"
check "error_log.json stays one document" pyjson "$T/doc/summary/error_log.json" \
    'len(d["errors"]) == 1'

expect_status 2 "json_lines = maybe" "$VBATCH" -q process "$T/in" -o "$T/o3" \
    --set output.json_lines=maybe 2> /dev/null
expect_status 2 "json_lines_min = 0" "$VBATCH" -q process "$T/in" -o "$T/o3" \
    --set output.json_lines_min=0 2> /dev/null
finish
