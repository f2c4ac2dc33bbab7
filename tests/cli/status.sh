#!/bin/sh
# vbatch status: the batches in the journal OUT/.vbatch/state.db with their
# counts, and one batch's counts, progress, failures and timings; the
# journal gives ids unique within OUT.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

for c in h264_aac_720p.mp4 h264_short.mp4 silent_video.mp4; do clip "$c" > /dev/null; done
IN="$T/in"; mkdir -p "$IN"
cp "$CLIPS/h264_aac_720p.mp4" "$CLIPS/h264_short.mp4" "$CLIPS/silent_video.mp4" "$IN/"
printf 'junk' > "$IN/junk.mp4"
OUT="$T/out"

expect_status 2 "no journal yet" "$VBATCH" status --output "$OUT"
"$VBATCH" process "$IN" --preset kling-clip --output "$OUT" --quiet
"$VBATCH" process "$IN" --preset kling-clip --output "$OUT" --quiet --jobs 1 --force
check "the journal exists" test -s "$OUT/.vbatch/state.db"
check "no JSON-lines spool any more" [ -z "$(find "$OUT/.vbatch" -name '*.jsonl')" ]

"$VBATCH" status --output "$OUT" --format json > "$T/list.json"
check "status lists (exit 0)" [ $? -eq 0 ]
pyjson "$T/list.json" 'len(d["batches"]) == 2' || fail "two batches listed"
pyjson "$T/list.json" 'len(set(b["batch_id"] for b in d["batches"])) == 2' || fail "batch ids unique"
pyjson "$T/list.json" 'all(b["status"] == "done" and b["counts"]["total"] == 4 and b["counts"]["failed"] == 1 and b["counts"]["pending"] == 0 for b in d["batches"])' || fail "counts by status"
pyjson "$T/list.json" 'all(__import__("re").fullmatch(r"batch_\d{8}_\d{6}(_\d+)?", b["batch_id"]) for b in d["batches"])' || fail "batch id form"
pyjson "$T/list.json" '"--jobs 1" in d["batches"][1]["command_line"]' || fail "oldest first, command line kept"

ID=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batches"][1]["batch_id"])' "$T/list.json")
"$VBATCH" status --output "$OUT" --job-id "$ID" --format json > "$T/one.json"
check "status of one batch (exit 0)" [ $? -eq 0 ]
pyjson "$T/one.json" 'd["batch_id"] == "'"$ID"'" and d["status"] == "done"' || fail "the batch asked for"
pyjson "$T/one.json" 'd["progress"]["finished"] == 4 and d["progress"]["total"] == 4' || fail "progress"
pyjson "$T/one.json" 'len(d["failures"]) == 1 and d["failures"][0]["source"].endswith("junk.mp4") and d["failures"][0]["stage"] == "probe" and d["failures"][0]["message"]' || fail "failures: source, stage, message"
pyjson "$T/one.json" 'set(d["stage_seconds"]) >= {"probe", "check", "publish"} and d["stage_seconds"]["probe"] >= 0' || fail "time per stage"
pyjson "$T/one.json" 'd["counts"]["done"] + d["counts"]["qc_failed"] == 3' || fail "one batch's counts"
pyjson "$T/one.json" 'd["attempts"] == {"total": 4, "items_retried": 0}' || fail "attempts"
pyjson "$T/one.json" 'd["running"] == [] and d["failures"][0]["attempts"] == 1 and d["failures"][0]["folder"] is None' || fail "no item running; a failure's attempts and folder"
pyjson "$T/one.json" 'd["wall_seconds"] > 0' || fail "the batch's wall time"
# A retry takes the failed item again: its attempts count it.
"$VBATCH" retry --output "$OUT" --job-id "$ID" --quiet
"$VBATCH" status --output "$OUT" --job-id "$ID" --format json > "$T/retried.json"
pyjson "$T/retried.json" 'd["attempts"] == {"total": 5, "items_retried": 1} and d["failures"][0]["attempts"] == 2' || fail "attempts after a retry"

# Many failures: counted by stage, the first 10 listed (--all: every one).
mkdir -p "$T/junk"
for i in 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15; do printf 'junk %s' "$i" > "$T/junk/j$i.mp4"; done
"$VBATCH" process "$T/junk" --output "$T/ojunk" --quiet
JID=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$T/ojunk/summary/batch_report.json")
"$VBATCH" status --output "$T/ojunk" --job-id "$JID" --format json > "$T/junk.json"
pyjson "$T/junk.json" 'len(d["failures"]) == 10 and d["failures_total"] == 15 and d["failures_listed"] == 10 and d["failures_by_stage"] == {"probe": 15}' ||
    fail "15 failures: 10 listed, 15 counted, all at the probe"
"$VBATCH" status --output "$T/ojunk" --job-id "$JID" --format json --all > "$T/junk-all.json"
pyjson "$T/junk-all.json" 'len(d["failures"]) == 15 and d["failures_listed"] == 15' || fail "--all lists all 15"
check "text: 10 failures listed" [ "$("$VBATCH" status --output "$T/ojunk" --job-id "$JID" | grep -c '^    source: .*junk/j')" -eq 10 ]

"$VBATCH" status --output "$OUT" --job-id "$ID" > "$T/one.txt"
check "text format names the batch" grep -q "batch_id: $ID" "$T/one.txt"
check "text format shows the failure" grep -q "junk.mp4" "$T/one.txt"
"$VBATCH" report --output "$OUT" --job-id "$ID" --format text > "$T/report.txt"
check "report still renders an older batch" grep -q "$ID" "$T/report.txt"
# The list as text: one line per batch (issue 14).
"$VBATCH" status --output "$OUT" > "$T/list.txt"
check "text list: one line per batch" [ "$(wc -l < "$T/list.txt")" -eq 2 ]
check "text list: id, status, start, counts" \
    grep -qE "^$ID  done         [0-9T:+Z-]+  4 items: [0-9] done, [0-9] qc_failed, 1 failed$" "$T/list.txt"
expect_status 2 "unknown batch" "$VBATCH" status --output "$OUT" --job-id batch_19990101_000000
expect_status 2 "bad format" "$VBATCH" status --output "$OUT" --format csv
finish
