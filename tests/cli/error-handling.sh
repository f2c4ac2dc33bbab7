#!/bin/sh
# [batch] error_handling = stop (and --error-handling stop): no new item is
# taken after the first one that fails (not a qc_failed one); the rest stay
# pending in the journal, the reports are written, exit status 3; `vbatch
# resume` finishes the batch. continue (the default) processes everything.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

clip h264_short.mp4 > /dev/null
IN="$T/in"; mkdir -p "$IN"
cp "$CLIPS/h264_short.mp4" "$IN/a.mp4"
printf 'not a video\n' > "$IN/b.mp4"
for f in c d e; do cp "$CLIPS/h264_short.mp4" "$IN/$f.mp4"; done

batch_id() { "$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batches"][-1]["batch_id"])' "$1"; }
counts() {
    "$VBATCH" status --output "$1" --format json > "$T/st.json"
    "$PYTHON3" -c 'import json,sys; c = json.load(open(sys.argv[1]))["batches"][-1]["counts"]; print(" ".join("%s=%s" % (k, c.get(k, 0)) for k in ("done", "failed", "pending", "total")))' "$T/st.json"
}
report_seqs() {
    "$PYTHON3" -c 'import json,sys; print(" ".join(str(i["seq"]) for i in json.load(open(sys.argv[1]))["items"]))' "$1/summary/batch_report.json"
}

expect_status 2 "--error-handling takes continue or stop" "$VBATCH" process "$IN" --output "$T/x" --error-handling maybe

# default: continue
expect_status 3 "continue: every item processed, exit 3" "$VBATCH" process "$IN" --output "$T/cont" --quiet --jobs 1
check "continue: 4 done, 1 failed" [ "$(counts "$T/cont")" = "done=4 failed=1 pending=0 total=5" ]

# stop, from the command line
OUT="$T/stop"
expect_status 3 "--error-handling stop: exit 3" "$VBATCH" process "$IN" --output "$OUT" --quiet --jobs 1 --error-handling stop
check "stop: a done, b failed, the rest pending" [ "$(counts "$OUT")" = "done=1 failed=1 pending=3 total=5" ]
check "stop: the reports hold the items processed, once" [ "$(report_seqs "$OUT")" = "1 2" ]
ID=$(batch_id "$T/st.json")
pyjson "$T/st.json" 'd["batches"][-1]["status"] == "interrupted"' || fail "stop: the batch is resumable (interrupted)"
# resume finishes it (the failed item is not redone)
expect_status 3 "resume after a stop: exit 3" "$VBATCH" resume --output "$OUT" --job-id "$ID" --quiet --jobs 1
check "resume: 4 done, 1 failed, nothing pending" [ "$(counts "$OUT")" = "done=4 failed=1 pending=0 total=5" ]
check "resume: every item once in the reports" [ "$(report_seqs "$OUT")" = "1 2 3 4 5" ]

# stop, from the preset; recorded with the batch, overridden on resume
OUT="$T/stop-ini"
printf '[batch]\nerror_handling = stop\n' > "$T/stop.ini"
printf 'not a video\n' > "$IN/c.mp4"
expect_status 3 "[batch] error_handling = stop: exit 3" "$VBATCH" process "$IN" --output "$OUT" --quiet --jobs 1 --config "$T/stop.ini"
check "ini stop: stops at b" [ "$(counts "$OUT")" = "done=1 failed=1 pending=3 total=5" ]
ID=$(batch_id "$T/st.json")
expect_status 3 "resume keeps stop: stops at c" "$VBATCH" resume --output "$OUT" --job-id "$ID" --quiet --jobs 1
c=$(counts "$OUT"); check "resume with stop: c failed, d e pending ($c)" [ "$c" = "done=1 failed=2 pending=2 total=5" ]
expect_status 3 "resume --error-handling continue finishes" "$VBATCH" resume --output "$OUT" --job-id "$ID" --quiet --error-handling continue
check "resume continue: nothing pending" [ "$(counts "$OUT")" = "done=3 failed=2 pending=0 total=5" ]
check "every item once in the reports" [ "$(report_seqs "$OUT")" = "1 2 3 4 5" ]
finish
