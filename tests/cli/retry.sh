#!/bin/sh
# vbatch retry: a batch with a broken file (text named .mp4) exits 3; once
# the file is replaced by a real clip, `vbatch retry` redoes only the
# failed item (attempts 2), done items are untouched, and every item
# appears exactly once in the reports.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

clip h264_short.mp4 > /dev/null
IN="$T/in"; OUT="$T/out"; mkdir -p "$IN"
cp "$CLIPS/h264_short.mp4" "$IN/a.mp4"
cp "$CLIPS/h264_short.mp4" "$IN/c.mp4"
printf 'not a video\n' > "$IN/b.mp4"

batch_id() { "$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batches"][-1]["batch_id"])' "$1"; }
# items OUT: "source status attempts" per item, by seq
items() {
    "$PYTHON3" - "$1" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect(os.path.join(sys.argv[1], ".vbatch", "state.db"))
for src, st, n in db.execute("SELECT source, status, attempts FROM items ORDER BY seq"):
    print(os.path.basename(src), st, n)
PY
}

expect_status 3 "a batch with a broken file" "$VBATCH" process "$IN" --output "$OUT" --quiet --jobs 1
"$VBATCH" status --output "$OUT" --format json > "$T/st.json"
ID=$(batch_id "$T/st.json")
check "the broken item failed once" [ "$(items "$OUT" | grep '^b.mp4')" = "b.mp4 failed 1" ]

expect_status 2 "retry needs --job-id" "$VBATCH" retry --output "$OUT"
expect_status 2 "retry --only takes failed or qc_failed" "$VBATCH" retry --output "$OUT" --job-id "$ID" --only done
expect_status 2 "retry --retry-count takes a number" "$VBATCH" retry --output "$OUT" --job-id "$ID" --retry-count 0

# still broken: the item fails again, up to --retry-count rounds
expect_status 3 "retry of a file still broken" "$VBATCH" retry --output "$OUT" --job-id "$ID" --retry-count 2 --quiet
check "two more attempts (--retry-count 2)" [ "$(items "$OUT" | grep '^b.mp4')" = "b.mp4 failed 3" ]

# fixed: the item is redone and passes; done items are not redone
cp "$CLIPS/h264_short.mp4" "$IN/b.mp4"
"$VBATCH" retry --output "$OUT" --job-id "$ID" --quiet
rc=$?
check "retry after the file was replaced exits 0 or 1 ($rc)" [ $rc -eq 0 -o $rc -eq 1 ]
items "$OUT" > "$T/items.txt"
check "the fixed item is done with attempts 4" grep -qx 'b.mp4 \(done\|qc_failed\) 4' "$T/items.txt"
check "done items untouched" [ "$(grep -c ' 1$' "$T/items.txt")" = 2 ]
"$VBATCH" status --output "$OUT" --format json > "$T/st2.json"
pyjson "$T/st2.json" 'len(d["batches"]) == 1 and d["batches"][0]["status"] == "done" and d["batches"][0]["counts"]["total"] == 3 and d["batches"][0]["counts"].get("failed", 0) == 0' || fail "the same batch, done, nothing failed"
"$PYTHON3" - "$OUT" <<'PY' || fail "reports after retry: every item once"
import csv, json, os, sys
out = sys.argv[1]
r = json.load(open(os.path.join(out, "summary", "batch_report.json")))
assert [i["seq"] for i in r["items"]] == [1, 2, 3], r["items"]
srcs = sorted(os.path.basename(i["source"]) for i in r["items"])
assert srcs == ["a.mp4", "b.mp4", "c.mp4"], srcs
assert all(i["status"] != "failed" for i in r["items"])
rows = list(csv.DictReader(open(os.path.join(out, "summary", "results.csv"), newline="")))
assert [x["seq"] for x in rows] == ["1", "2", "3"], "results.csv: each item once"
PY

# nothing left to retry: the reports are rendered again, exit as before
"$VBATCH" retry --output "$OUT" --job-id "$ID" --quiet
check "a retry with nothing failed exits 0 or 1" [ $? -le 1 ]
check "still three items" [ "$(items "$OUT" | wc -l)" -eq 3 ]
finish
