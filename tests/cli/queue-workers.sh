#!/bin/sh
# Workers on a Redis Streams queue (vbatch enqueue, worker, status,
# report --queue), against a redis-server of the test's own:
#  1. three workers, one killed (-9) in the middle of an item: the item is
#     taken over once its visibility timeout has passed, the report from
#     the results stream has every item exactly once, no partial file is
#     left in OUT;
#  2. SIGTERM of a worker hands its item back: another worker takes it at
#     once (long before the visibility timeout), the first exits 4;
#  3. a poison item (it crashes every worker that reads it) ends in the
#     dead-letter stream after --max-deliveries deliveries, with the stage
#     its last delivery was in, and in the report as failed; the others
#     are done.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/redis.sh"
need_throttle
trap 'for p in $(jobs -p); do kill -9 $p 2>/dev/null; done; redis_stop' EXIT

good=$(clip h264_aac_720p.mp4)
IN="$T/in"; mkdir -p "$IN"
for n in a b c slow e f g h i; do ln "$good" "$IN/$n.mp4" 2>/dev/null || cp "$good" "$IN/$n.mp4"; done
redis_start "$T/redis"
TO=; command -v timeout >/dev/null 2>&1 && TO="timeout -s KILL 120"
# Reading slow.mp4 takes some seconds (64 KiB each 60 ms). Workers run
# in the background under env (so that $! is the worker itself).
SLOW="THROTTLE_SLOW=/slow.mp4 THROTTLE_BYTES=65536 THROTTLE_DELAY_MS=60 LD_PRELOAD=$THROTTLE_SO ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

# Every item of the report once; $2: the statuses wanted, as name=status.
report_check() {
    "$PYTHON3" - "$1/summary/batch_report.json" "$2" <<'PY'
import json, sys, collections
d = json.load(open(sys.argv[1]))
names = collections.Counter(i["source"].rsplit("/", 1)[1] for i in d["items"])
assert all(n == 1 for n in names.values()), names
want = dict(kv.split("=") for kv in sys.argv[2].split())
got = {i["source"].rsplit("/", 1)[1]: i["status"] for i in d["items"]}
for k, v in want.items():
    assert got.get(k) == v, (k, got.get(k), v)
assert d["counts"]["total"] == len(names), d["counts"]
PY
}
seq_of() { rcli --raw XRANGE "$1" - + | paste - - - - - - - - - - - - | awk -v n="/$2" 'index($0, n) { split($1, a, "-"); print a[1]; exit }'; }

# ---- 1. kill -9 of a worker mid-item ----
Q=$REDIS_URL/q1
expect_status 0 "enqueue" "$VBATCH" enqueue "$IN" --deep --queue "$Q" --visibility 2 \
    --max-deliveries 3
"$VBATCH" status --queue "$Q" --format json > "$T/st0.json"
pyjson "$T/st0.json" 'd["items"] == 9 and d["lag"] == 9 and d["pending"] == 0 and d["enqueue_ended"]' ||
    fail "status: 9 items, none delivered"
expect_status 2 "a second enqueue into the same queue is refused" \
    "$VBATCH" enqueue "$IN" --queue "$Q" 2> "$T/again.err"
check "... saying the queue exists" grep -q 'exists already' "$T/again.err"
S=$(seq_of q1 slow.mp4)
check "slow.mp4 is in the stream" [ -n "$S" ]
for w in 1 2 3; do
    env $SLOW "$VBATCH" worker --queue "$Q" --output "$T/out1" --jobs 1 --drain --name w$w \
        > "$T/w$w.out" 2> "$T/w$w.err" &
    eval pid$w=$!
done
held() { [ -n "$(pending_owner "$1" "$2")" ]; }
held_by() { [ "$(pending_owner "$1" "$2")" = "$3" ]; }
wait_for 60 held q1 "$S"
owner=$(pending_owner q1 "$S")
check "a worker took slow.mp4 ($owner)" [ -n "$owner" ]
sleep 1
victim=$(eval echo "\$pid${owner#w}")
kill -9 "$victim"
wait "$victim" 2>/dev/null
for w in 1 2 3; do
    p=$(eval echo "\$pid$w")
    [ "$p" = "$victim" ] && continue
    wait "$p"; rc=$?
    check "worker w$w drains and exits 0 (got $rc)" [ "$rc" -eq 0 ]
done
expect_status 0 "report --queue" "$VBATCH" report --queue "$Q" --output "$T/out1" > "$T/rep1.out"
report_check "$T/out1" "a.mp4=done slow.mp4=done i.mp4=done" || fail "every item once, all done"
check "9 results in the results stream: none recorded twice" [ "$(rcli XLEN q1:results)" -eq 9 ]
check "no last error kept for a recorded item" [ "$(rcli HLEN q1:errors)" -eq 0 ]
check "no partial file left in OUT" [ -z "$(find "$T/out1" -name '.*vbtmp*')" ]
check "the taken-over item has its analysis" test -s "$T/out1/slow/metadata/analysis.json"
"$VBATCH" status --queue "$Q" --format json > "$T/st1.json"
pyjson "$T/st1.json" 'd["results"] == 9 and d["pending"] == 0 and d["lag"] == 0 and d["dead_letters"] == 0' ||
    fail "status: 9 results, nothing pending or left"
"$VBATCH" status --queue "$Q" > "$T/st1.txt"
check "status as text names the consumers" grep -q "w1" "$T/st1.txt"
# A second report from the same queue: the same items again, once each.
expect_status 0 "report --queue again" "$VBATCH" -q report --queue "$Q" --output "$T/out1"
report_check "$T/out1" "slow.mp4=done" || fail "the second report: every item once"

# ---- 2. SIGTERM hands the item back ----
Q=$REDIS_URL/q2
"$VBATCH" enqueue "$IN" --deep --queue "$Q" --visibility 60 --set batch.grace_period=1 -q ||
    fail "enqueue q2"
S=$(seq_of q2 slow.mp4)
# Worker A alone until it holds slow.mp4 (the items before it are quick).
env $SLOW "$VBATCH" worker --queue "$Q" --output "$T/out2" --jobs 1 --name A > "$T/A.out" 2> "$T/A.err" &
pa=$!
wait_for 60 held_by q2 "$S" A ||
    fail "worker A took slow.mp4"
t0=$(date +%s)
kill -TERM "$pa"
wait "$pa"; rc=$?
check "SIGTERM: worker A exits 4 (got $rc)" [ "$rc" -eq 4 ]
check "... within the grace period and a little" [ $(( $(date +%s) - t0 )) -le 6 ]
check "... saying it handed the item back" grep -q 'handed back' "$T/A.err"
t0=$(date +%s)
env $SLOW $TO "$VBATCH" worker --queue "$Q" --output "$T/out2" --jobs 2 --drain --name B > "$T/B.out" 2> "$T/B.err"
rc=$?
check "worker B drains the rest (exit $rc)" [ "$rc" -eq 0 ]
check "... without waiting for the 60 s visibility timeout" [ $(( $(date +%s) - t0 )) -lt 40 ]
"$VBATCH" -q report --queue "$Q" --output "$T/out2" || fail "report q2"
report_check "$T/out2" "slow.mp4=done a.mp4=done" || fail "q2: every item once, all done"
"$PYTHON3" - "$T/out2/summary/batch_report.json" <<'PY' || fail "a handed-back item is not counted as a failed delivery"
import json, sys
d = json.load(open(sys.argv[1]))
assert all(i["status"] == "done" for i in d["items"]), d["items"]
PY

# ---- 3. a poison item goes to the dead letters ----
Q=$REDIS_URL/q3
IN3="$T/in3"; mkdir -p "$IN3"
for n in a poison c; do ln "$good" "$IN3/$n.mp4" 2>/dev/null || cp "$good" "$IN3/$n.mp4"; done
"$VBATCH" enqueue "$IN3" --queue "$Q" --visibility 1 --max-deliveries 2 -q || fail "enqueue q3"
# As a service manager would: a worker that dies is started again. The
# crash comes after the lease was renewed once (the stage is recorded).
n=0
while [ $n -lt 6 ]; do
    n=$((n + 1))
    THROTTLE_CRASH=/poison.mp4 THROTTLE_CRASH_DELAY_MS=1500 throttled $TO "$VBATCH" worker --queue "$Q" --output "$T/out3" \
        --jobs 1 --drain --name p$n > "$T/p$n.out" 2> "$T/p$n.err" && break
done
check "the workers end once the poison item is put aside ($n runs)" [ $n -le 4 ]
check "one dead letter" [ "$(rcli XLEN q3:dead)" -eq 1 ]
rcli --raw XRANGE q3:dead - + > "$T/dead.txt"
check "the dead letter holds the item" grep -q 'poison.mp4' "$T/dead.txt"
check "... and its last error, with the stage" grep -q 'in the probe stage' "$T/dead.txt"
"$VBATCH" -q report --queue "$Q" --output "$T/out3" || fail "report q3"
report_check "$T/out3" "a.mp4=done c.mp4=done poison.mp4=failed" || fail "q3: the poison item failed, the others done"
"$PYTHON3" - "$T/out3/summary/batch_report.json" <<'PY' || fail "the poison item's error names the dead letter"
import json, sys
d = json.load(open(sys.argv[1]))
p = [i for i in d["items"] if i["source"].endswith("poison.mp4")][0]
assert "dead letter after 3 deliveries" in p["error"], p
PY

# A hostile entry (no seq, a folder that climbs out) is put aside, not run.
rcli XADD q3 '9999-1' path /etc/passwd rel x folder ../../x seq 9999 > /dev/null
rcli XADD q3 '10000-1' junk yes > /dev/null
"$VBATCH" worker --queue "$Q" --output "$T/out3" --jobs 1 --drain --name h > "$T/h.out" 2> "$T/h.err"
rc=$?
check "hostile entries: the worker goes on and drains (exit $rc)" [ "$rc" -eq 0 ]
check "... naming them" grep -q 'put in the dead letters' "$T/h.err"
check "... nothing written outside OUT" [ ! -e "$T/x" ]
check "... both among the dead letters" [ "$(rcli XLEN q3:dead)" -eq 3 ]

finish
