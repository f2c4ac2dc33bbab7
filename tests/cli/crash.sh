#!/bin/sh
# A fatal signal while one item is worked on (a decoder or demuxer
# crashing on a hostile file, made here by tests/lib/throttle.so raising
# SIGSEGV in a read of that file) costs that item only: the results shown
# before are in the journal and not redone, the crashed item is recorded
# as failed with the signal and its stage, the batch goes on by itself
# (`vbatch resume` in place of the dying process) and ends with exit 3.
# A crash in a thread of no item (a decoder's own pool) while two items
# work: both are suspects, each is taken again alone, and the second crash
# names the file.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
need_throttle

good=$(clip h264_aac_720p.mp4)
IN="$T/in"; mkdir -p "$IN"
for n in a b c crash e f; do ln "$good" "$IN/$n.mp4" 2>/dev/null || cp "$good" "$IN/$n.mp4"; done
TO=; command -v timeout >/dev/null 2>&1 && TO="timeout -s KILL 120"

# 1. Crash in the worker's own thread (the probe's read), --jobs 1: a, b
# and c are done and shown before it (the crash waits 500 ms, time for
# the recorder to commit them).
THROTTLE_CRASH=/crash.mp4 THROTTLE_CRASH_DELAY_MS=500 \
    throttled $TO "$VBATCH" --verbose process "$IN" --jobs 1 --output "$T/out" \
    > "$T/stdout" 2> "$T/stderr"
rc=$?
check "exit status 3: one item could not be processed (got $rc)" [ "$rc" -eq 3 ]
check "the crash is reported with the item and its stage" \
    grep -q 'SIGSEGV (segmentation fault) while processing item 4 .*crash.mp4.* in the probe stage' "$T/stderr"
check "the batch goes on by itself" grep -q 'the batch goes on' "$T/stderr"
R="$T/out/summary/batch_report.json"
check "reports written" test -s "$R"
"$PYTHON3" - "$R" "$T/stderr" <<'PY' || fail "results before the crash kept, the crashed item failed, the rest done"
import json, re, sys
d = json.load(open(sys.argv[1]))
it = {i["source"].rsplit("/", 1)[1]: i for i in d["items"]}
assert sorted(it) == ["a.mp4", "b.mp4", "c.mp4", "crash.mp4", "e.mp4", "f.mp4"], sorted(it)
for n in "abcef":
    assert it[n + ".mp4"]["status"] == "done", it[n + ".mp4"]
c = it["crash.mp4"]
assert c["status"] == "failed" and c["error_stage"] == "probe", c
assert "crashed vbatch: SIGSEGV (segmentation fault) in the probe stage" in c["error"], c
assert "vbatch retry" in c["error"], c
# What was shown before the crash was recorded then: taken once only.
before = open(sys.argv[2]).read().split("SIGSEGV")[0]
shown = re.findall(r"\] ok +\S*/(\w+\.mp4)", before)
assert shown, before
for n in shown:
    assert it[n]["attempts"] == 1, (n, it[n])
assert d["counts"]["total"] == 6 and d["counts"]["failed"] == 1, d["counts"]
PY
"$VBATCH" status --output "$T/out" --format json > "$T/status.json"
pyjson "$T/status.json" 'd["batches"][0]["status"] == "done" and d["batches"][0]["counts"]["running"] == 0 and d["batches"][0]["counts"]["pending"] == 0' ||
    fail "the batch is done, nothing left running or pending"
check "the crash file is gone once the batch is done" \
    [ -z "$(find "$T/out/.vbatch" -name 'crash-*')" ]
check "no reserve left behind" [ ! -e "$T/out/.vbatch/reserve" ]

# retry tries the crashed item again (it crashes again: still failed).
id=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$R")
THROTTLE_CRASH=/crash.mp4 throttled $TO "$VBATCH" retry --job-id "$id" --output "$T/out" \
    > /dev/null 2> "$T/retry.err"
rc=$?
check "retry: exit 3 (got $rc)" [ "$rc" -eq 3 ]
check "retry tried the crashed item" grep -q 'SIGSEGV .*crash.mp4' "$T/retry.err"

# 2. A crash from a thread of no item while two items work (--jobs 2; e
# is slow so it is working too): suspects, each taken alone, then named.
THROTTLE_CRASH=/crash.mp4 THROTTLE_CRASH_THREAD=1 THROTTLE_CRASH_DELAY_MS=1000 \
THROTTLE_SLOW=/e.mp4 THROTTLE_DELAY_MS=100 THROTTLE_BYTES=1024 \
    throttled $TO "$VBATCH" process "$IN" --jobs 2 --output "$T/out2" \
    > "$T/stdout2" 2> "$T/stderr2"
rc=$?
check "thread crash: exit 3 (got $rc)" [ "$rc" -eq 3 ]
check "thread crash: suspects taken again alone" grep -q 'items were working: each is taken again alone' "$T/stderr2"
"$PYTHON3" - "$T/out2/summary/batch_report.json" <<'PY' || fail "thread crash: only the guilty file failed"
import json, sys
d = json.load(open(sys.argv[1]))
it = {i["source"].rsplit("/", 1)[1]: i for i in d["items"]}
assert len(it) == 6, sorted(it)
bad = [n for n, i in it.items() if i["status"] != "done"]
assert bad == ["crash.mp4"], bad
assert "crashed vbatch: SIGSEGV" in it["crash.mp4"]["error"], it["crash.mp4"]
PY

# 3. Too many crashes: the chain stops, the batch is left to resume (no
# loop). Every file crashes; the limit is 16 continues in all.
mkdir -p "$T/all"
for n in 01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18; do
    ln "$good" "$T/all/boom$n.mp4" 2>/dev/null || cp "$good" "$T/all/boom$n.mp4"
done
THROTTLE_CRASH=/boom throttled $TO "$VBATCH" process "$T/all" --jobs 1 --output "$T/out3" \
    > /dev/null 2> "$T/stderr3"
rc=$?
check "too many crashes: the process dies of its signal (got $rc)" [ "$rc" -ne 0 ] && [ "$rc" -ne 3 ]
check "too many crashes: said so, with the resume command" \
    grep -q 'too many crashes in this batch' "$T/stderr3"
check "too many crashes: the resume command is shown" grep -q 'vbatch resume --job-id' "$T/stderr3"
n=$(grep -c 'while processing item' "$T/stderr3")
check "too many crashes: 17 crashes seen, 16 continued ($n)" [ "$n" -eq 17 ]
# The batch is resumable and ends (the crashed ones failed, the rest too).
THROTTLE_CRASH=/boom throttled $TO "$VBATCH" resume --output "$T/out3" \
    --job-id "$("$VBATCH" status --output "$T/out3" --format json | "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["batches"][0]["batch_id"])')" \
    > /dev/null 2> "$T/stderr3b"
rc=$?
check "resumed by hand: exit 3 (got $rc)" [ "$rc" -eq 3 ]
"$VBATCH" status --output "$T/out3" --format json > "$T/status3.json"
pyjson "$T/status3.json" 'd["batches"][0]["status"] == "done" and d["batches"][0]["counts"]["failed"] == 18' ||
    fail "resumed by hand: every crashing file failed, the batch done"

finish
