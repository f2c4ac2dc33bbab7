#!/bin/sh
# SIGINT with a long item running ([batch] grace_period): the batch takes
# no new item, the short ones running finish, the long deep analysis is
# interrupted when the grace period is over and left pending (not
# failed); exit status 4 soon after. `vbatch resume` then completes it,
# and every item appears exactly once in the reports. The long analysis
# is a clip read slowly through tests/lib/throttle.so (30 s for its data).
. "$TOP_SRCDIR/tests/lib/testlib.sh"
need_throttle

media_make_analyse "$CLIPS" analyse_clean.mp4 || { echo "cannot synthesise analyse_clean.mp4" >&2; exit 99; }
IN="$T/in"; mkdir -p "$IN"
for n in a-long b c d e; do
    ln "$CLIPS/analyse_clean.mp4" "$IN/$n.mp4" 2>/dev/null || cp "$CLIPS/analyse_clean.mp4" "$IN/$n.mp4"
done
OUT="$T/out"
printf '[batch]\ngrace_period = 1\n[thumbnails]\nenabled = false\n' > "$T/grace.ini"

# SIGINT once a-long.mp4 has been probed (its analysis has begun);
# interrupt.py prints the exit status and the seconds from the signal to
# the exit.
INTERRUPT_PRELOAD="$THROTTLE_SO" \
THROTTLE_SLOW=/a-long.mp4 THROTTLE_SLOW_AFTER=300000 THROTTLE_DELAY_MS=50 THROTTLE_BYTES=4096 \
"$PYTHON3" "$TOP_SRCDIR/tests/lib/interrupt.py" "$OUT/a-long*/metadata/probe.json" 1 0.3 \
    "$VBATCH" process "$IN" --deep --jobs 2 --config "$T/grace.ini" --output "$OUT" \
    > "$T/rc" 2> "$T/stderr"
read rc secs < "$T/rc"
check "exit status 4 after SIGINT (got $rc)" [ "$rc" = 4 ]
# grace_period (1 s) plus a little: the analysis stops at its next read.
check "ended within the grace period and a margin (${secs} s)" \
    "$PYTHON3" -c "import sys; sys.exit(0 if float('$secs') < 3.5 else 1)"
check "the grace period is reported" grep -q "grace period over" "$T/stderr"
check "the long item is reported left pending" grep -q "a-long.mp4.*left pending" "$T/stderr"

"$VBATCH" status --output "$OUT" --format json > "$T/status.json"
pyjson "$T/status.json" 'd["batches"][0]["status"] == "interrupted"' || fail "batch marked interrupted"
pyjson "$T/status.json" 'd["batches"][0]["counts"]["running"] == 0 and d["batches"][0]["counts"]["failed"] == 0' ||
    fail "nothing left running or failed"
"$PYTHON3" - "$OUT/.vbatch/state.db" <<'PY' || fail "the interrupted item is pending in the journal"
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT source, status, error FROM items").fetchall()
s = {src.rsplit("/", 1)[1]: (st, err) for src, st, err in rows}
assert s["a-long.mp4"] == ("pending", None), s
PY
pyjson "$OUT/summary/batch_report.json" 'all(not i["source"].endswith("a-long.mp4") for i in d["items"])' ||
    fail "the interrupted item is not in the reports"

id=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batches"][0]["batch_id"])' "$T/status.json")
"$VBATCH" resume --job-id "$id" --output "$OUT" --quiet
rc=$?
check "resume completes the batch (exit $rc)" [ "$rc" -eq 0 ]
"$PYTHON3" - "$OUT/summary/batch_report.json" <<'PY' || fail "every item exactly once in the reports, all done"
import json, sys
r = json.load(open(sys.argv[1]))
seqs = sorted(i["seq"] for i in r["items"])
assert seqs == [1, 2, 3, 4, 5], seqs
assert all(i["status"] == "done" for i in r["items"]), [i["status"] for i in r["items"]]
assert r["counts"]["total"] == 5, r["counts"]
PY
check "no temporary files left" [ -z "$(find "$OUT" -name '*.vbtmp.*')" ]
finish
