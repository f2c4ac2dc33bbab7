#!/bin/sh
# lock.sh - the output folder's lock, OUT/.vbatch/lock. A run (process,
# resume, retry, generate) holds it from start to end: a second run into
# the same OUT, whose inputs have the same names, is refused at once
# (exit 2, naming the folder, the batch and the process) and writes
# nothing; the first's results are its own. A process killed with -9
# holds nothing: status shows its batch as "interrupted (process gone)"
# (text and JSON) and resume finishes it, also when the pid the journal
# recorded now belongs to another live process.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
need_throttle

A="$T/a"; B="$T/b"; mkdir -p "$A" "$B"
# The same names, other contents: had both runs written, B's files would
# be in A's folders.
good=$(clip h264_aac_720p.mp4)
other=$(clip h264_short.mp4)
for n in 1 2 3 4 5 6; do
    cp "$good" "$A/clip$n.mp4"
    cp "$other" "$B/clip$n.mp4"
done
OUT="$T/out"
TO=; command -v timeout >/dev/null 2>&1 && TO="timeout -s KILL 120"

# slow_run OUT ARGS...: `vbatch process A` reading its inputs slowly
# (4 kB per 100 ms: a few seconds in all), in the background (JOB: the
# shell's job; the vbatch process's pid is in the journal: run_pid).
slow_run() {
    _o=$1; shift
    THROTTLE_SLOW=/a/clip THROTTLE_DELAY_MS=100 THROTTLE_BYTES=4096 \
        throttled $TO "$VBATCH" process "$A" --output "$_o" --jobs 1 --quiet "$@" \
        > "$T/slow.out" 2> "$T/slow.err" &
    JOB=$!
}
run_pid() {
    "$PYTHON3" -c 'import sqlite3,sys; print(sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True).execute("SELECT pid FROM batches ORDER BY rowid DESC").fetchone()[0])' "$1/.vbatch/state.db"
}
# wait_batch OUT: until the slow run has entered its batch and begun
# working (a probe.json written), or 30 s.
wait_batch() {
    _i=0
    while [ $_i -lt 300 ]; do
        [ -n "$(find "$1" -name probe.json 2>/dev/null | head -n 1)" ] && return 0
        sleep 0.1; _i=$((_i + 1))
    done
    return 1
}
batch_ids() {
    "$VBATCH" status --output "$1" --format json |
        "$PYTHON3" -c 'import json,sys; print(" ".join(b["batch_id"] for b in json.load(sys.stdin)["batches"]))'
}

# ---- two runs at once ----
slow_run "$OUT"
wait_batch "$OUT" || fail "the slow run began"
ID=$(batch_ids "$OUT")
PID=$(run_pid "$OUT")
check "the lock names its holder" grep -qx "pid $PID" "$OUT/.vbatch/lock"
"$VBATCH" status --output "$OUT" --format json > "$T/st-running.json"
pyjson "$T/st-running.json" 'd["batches"][0]["status"] == "running"' || fail "status: the live batch runs"
find "$OUT" -path "$OUT/.vbatch" -prune -o -print | sort > "$T/tree-before"
expect_status 2 "a second run into the same OUT is refused" \
    "$VBATCH" process "$B" --output "$OUT" --quiet 2> "$T/second.err"
cat "$T/second.err" >&2
check "the refusal names the folder" grep -q "$OUT: another vbatch run is using this output folder" "$T/second.err"
check "... the batch and the process holding it" grep -q "(batch $ID, process $PID)" "$T/second.err"
find "$OUT" -path "$OUT/.vbatch" -prune -o -print | sort > "$T/tree-after"
# The first run may have made more of its own meanwhile: nothing of B's.
check "the refused run wrote nothing" [ -z "$(comm -13 "$T/tree-before" "$T/tree-after" | grep -v "$OUT/clip[1-6]")" ]
# resume and retry of the running batch, and a generate, are refused too.
expect_status 2 "resume of the running batch is refused" \
    "$VBATCH" resume --job-id "$ID" --output "$OUT" --quiet 2> "$T/resume.err"
check "... saying why" grep -q "another vbatch run is using this output folder (batch $ID" "$T/resume.err"
expect_status 2 "retry is refused" "$VBATCH" retry --job-id "$ID" --output "$OUT" --quiet 2> /dev/null
printf 'id,prompt\nj1,a kite\n' > "$T/jobs.csv"
printf '[provider.kling]\nbase_url = http://127.0.0.1:9\n' > "$T/kling.ini"
KLING_ACCESS_KEY=ak KLING_SECRET_KEY=sk expect_status 2 "generate is refused" \
    "$VBATCH" generate "$T/jobs.csv" --config "$T/kling.ini" --output "$OUT" --quiet 2> "$T/gen.err"
check "... saying why" grep -q "another vbatch run is using this output folder" "$T/gen.err"
# status and report read while the batch runs (no lock taken).
expect_status 0 "status reads while the batch runs" "$VBATCH" status --output "$OUT" > /dev/null
wait $JOB; rc=$?
check "the first run ends well (exit $rc)" [ "$rc" -eq 0 ]
check "one batch in the journal" [ "$(batch_ids "$OUT")" = "$ID" ]
for n in 1 2 3 4 5 6; do
    cmp -s "$OUT/clip$n/video/clip$n.mp4" "$A/clip$n.mp4" || fail "clip$n holds the first run's file"
    pyjson "$OUT/clip$n/metadata/probe.json" 'd["file"].endswith("/a/clip'$n'.mp4") and d["size"] == '"$(wc -c < "$A/clip$n.mp4")" ||
        fail "clip$n: the first run's probe"
done
check "no other item folder" [ "$(find "$OUT" -mindepth 1 -maxdepth 1 -type d ! -name .vbatch ! -name summary | wc -l)" -eq 6 ]
pyjson "$OUT/summary/batch_report.json" 'd["batch_id"] == "'"$ID"'" and d["counts"]["done"] == 6 and all("/a/clip" in i["source"] for i in d["items"])' ||
    fail "the reports are the first run's"
check "the lock names nobody once free" [ ! -s "$OUT/.vbatch/lock" ]
expect_status 0 "a run after the first ended works" "$VBATCH" process "$B" --output "$OUT" --quiet --force

# ---- kill -9: the process is gone, and so is its lock ----
K="$T/killed"
slow_run "$K"
wait_batch "$K" || fail "the run to kill began"
KID=$(batch_ids "$K")
PID=$(run_pid "$K")
kill -9 "$PID"; wait $JOB 2>/dev/null
"$VBATCH" status --output "$K" > "$T/st-killed.txt"
check "status (text): interrupted (process gone)" grep -q "^batch_[0-9_]*  interrupted (process gone)  " "$T/st-killed.txt"
"$VBATCH" status --output "$K" --format json > "$T/st-killed.json"
pyjson "$T/st-killed.json" 'd["batches"][0]["status"] == "interrupted (process gone)"' || fail "status (JSON): interrupted (process gone)"
"$VBATCH" status --output "$K" --job-id "$KID" --format json > "$T/st-killed1.json"
pyjson "$T/st-killed1.json" 'd["status"] == "interrupted (process gone)" and len(d["running"]) >= 1' ||
    fail "status of the batch: interrupted (process gone), its item left running listed"
check "the journal still says running" [ "$("$PYTHON3" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT status FROM batches").fetchone()[0])' "$K/.vbatch/state.db")" = running ]

# The pid the journal recorded, now another live process's (a pid
# reused): the lock, not the pid, says whether the batch runs.
sleep 60 &
SLEEP=$!
"$PYTHON3" - "$K/.vbatch/state.db" "$SLEEP" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("UPDATE batches SET pid = ?", (int(sys.argv[2]),))
db.commit()
PY
"$VBATCH" status --output "$K" --format json > "$T/st-reused.json"
pyjson "$T/st-reused.json" 'd["batches"][0]["status"] == "interrupted (process gone)"' || fail "status: a live pid holds no lock"
expect_status 0 "resume works though the recorded pid is alive" \
    "$VBATCH" resume --job-id "$KID" --output "$K" --quiet
kill $SLEEP 2>/dev/null; wait $SLEEP 2>/dev/null
"$VBATCH" status --output "$K" --job-id "$KID" --format json > "$T/st-resumed.json"
pyjson "$T/st-resumed.json" 'd["status"] == "done" and d["counts"]["done"] == 6 and d["counts"]["running"] == 0' ||
    fail "the resumed batch is done"
expect_status 0 "a new run into the folder works" "$VBATCH" process "$A" --output "$K" --quiet
finish
