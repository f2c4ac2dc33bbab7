#!/bin/sh
# Workers and Redis trouble, against a redis-server of the test's own
# (append-only file on):
#  1. Redis restarted in the middle of a run: the workers reconnect with
#     backoff and drain; every item is recorded once;
#  2. the connections cut (CLIENT KILL) again and again while workers run:
#     the same;
#  3. a password (requirepass) given in $VBATCH_REDIS_PASSWORD, in a 0600
#     file, or in the URL: it never appears in an output file, a log, the
#     journal, or anything Redis keeps; a wrong one is refused (exit 2)
#     without being shown, a file readable by others refused (exit 2).
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/redis.sh"
need_throttle
trap 'for p in $(jobs -p); do kill -9 $p 2>/dev/null; done; redis_stop' EXIT

good=$(clip h264_aac_720p.mp4)
IN="$T/in"; mkdir -p "$IN"
for n in a b c d e f g h; do ln "$good" "$IN/$n.mp4" 2>/dev/null || cp "$good" "$IN/$n.mp4"; done
TO=; command -v timeout >/dev/null 2>&1 && TO="timeout -s KILL 120"
# Every item is read slowly (about a second each): the run lasts.
SLOW="THROTTLE_SLOW=.mp4 THROTTLE_BYTES=262144 THROTTLE_DELAY_MS=40 LD_PRELOAD=$THROTTLE_SO ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"

once_each() {
    "$PYTHON3" - "$1/summary/batch_report.json" "$2" <<'PY'
import json, sys, collections
d = json.load(open(sys.argv[1]))
names = collections.Counter(i["source"].rsplit("/", 1)[1] for i in d["items"])
assert len(names) == int(sys.argv[2]) and all(n == 1 for n in names.values()), names
assert all(i["status"] == "done" for i in d["items"]), [i for i in d["items"] if i["status"] != "done"]
PY
}
results() { rcli XLEN "$1:results"; }
some_results() { [ "$(results "$1")" -ge "$2" ]; }

redis_start "$T/redis"

# ---- 1. Redis restarted mid-run ----
Q=$REDIS_URL/r1
"$VBATCH" -q enqueue "$IN" --deep --queue "$Q" --visibility 10 || fail "enqueue r1"
for w in 1 2; do
    env $SLOW "$VBATCH" worker --queue "$Q" --output "$T/out1" --jobs 1 --drain --name r$w \
        --reconnect 60 > "$T/r$w.out" 2> "$T/r$w.err" &
    eval pid$w=$!
done
wait_for 60 some_results r1 2 || fail "results before the restart"
redis_stop
sleep 1
redis_start "$T/redis"
for w in 1 2; do
    wait "$(eval echo "\$pid$w")"; rc=$?
    check "restart: worker r$w reconnects and drains (exit $rc)" [ "$rc" -eq 0 ]
done
check "restart: 8 results, none twice" [ "$(results r1)" -eq 8 ]
"$VBATCH" -q report --queue "$Q" --output "$T/out1" || fail "report r1"
once_each "$T/out1" 8 || fail "restart: every item once, done"

# ---- 2. connections cut ----
Q=$REDIS_URL/r2
"$VBATCH" -q enqueue "$IN" --deep --queue "$Q" --visibility 10 || fail "enqueue r2"
for w in 1 2; do
    env $SLOW "$VBATCH" worker --queue "$Q" --output "$T/out2" --jobs 2 --drain --name c$w \
        > "$T/c$w.out" 2> "$T/c$w.err" &
    eval pid$w=$!
done
cuts=0
while [ "$(results r2)" -lt 8 ] && [ $cuts -lt 40 ]; do
    rcli CLIENT KILL TYPE normal SKIPME yes > /dev/null
    cuts=$((cuts + 1))
    sleep 0.5
done
for w in 1 2; do
    wait "$(eval echo "\$pid$w")"; rc=$?
    check "cuts: worker c$w drains (exit $rc)" [ "$rc" -eq 0 ]
done
check "cuts: 8 results, none twice ($cuts cuts)" [ "$(results r2)" -eq 8 ]
"$VBATCH" -q report --queue "$Q" --output "$T/out2" || fail "report r2"
once_each "$T/out2" 8 || fail "cuts: every item once, done"
# A write on a connection the server has cut raises SIGPIPE (the cuts
# above killed a worker with it, exit 141, in 1 CI run of several): the
# queue's connections ignore it and handle the write's error instead.
nc0=$(rcli CLIENT LIST | wc -l)
"$VBATCH" -q worker --queue "$Q" --output "$T/out2" --name p1 > /dev/null 2> "$T/p1.err" &
pp=$!
p1_connected() { [ "$(rcli CLIENT LIST | wc -l)" -gt "$nc0" ]; }
wait_for 10 p1_connected || fail "cuts: the worker p1 connects"
kill -PIPE $pp 2>/dev/null
sleep 0.5
check "cuts: a SIGPIPE does not end a worker" kill -0 $pp
kill -TERM $pp 2>/dev/null
wait $pp; rc=$?
check "cuts: that worker then stops on SIGTERM (exit $rc)" [ "$rc" -eq 0 -o "$rc" -eq 4 ]

# ---- 3. the password ----
redis_stop
REDIS_PORT=
PW='Pw-7f3kq9Zx-secret'
redis_start "$T/redis-pw" --requirepass "$PW"
REDIS_AUTH=$PW
Q=$REDIS_URL/p1
VBATCH_REDIS_PASSWORD=$PW "$VBATCH" enqueue "$IN" --queue "$Q" > "$T/p-enq.out" 2> "$T/p-enq.err" ||
    fail "enqueue with the password from the environment"
echo "$PW" > "$T/pw"; chmod 600 "$T/pw"
VBATCH_REDIS_PASSWORD_FILE=$T/pw $TO "$VBATCH" -v worker --queue "$Q" --output "$T/out3" --drain \
    > "$T/p-w.out" 2> "$T/p-w.err"
check "a worker with the password from a 0600 file drains (exit $?)" [ $? -eq 0 ]
# In the URL too (the usual form): not stored, not shown.
"$VBATCH" status --queue "redis://:$PW@127.0.0.1:$REDIS_PORT/0/p1" --format json > "$T/p-st.json" 2> "$T/p-st.err" ||
    fail "status with the password in the URL"
"$VBATCH" report --queue "redis://:$PW@127.0.0.1:$REDIS_PORT/0/p1" --output "$T/out3" \
    > "$T/p-rep.out" 2> "$T/p-rep.err" || fail "report with the password in the URL"
"$VBATCH" -q enqueue "$IN" --queue "redis://default:$PW@127.0.0.1:$REDIS_PORT/0/p2" > "$T/p-enq2.out" 2>&1 ||
    fail "enqueue with the password in the URL"
once_each "$T/out3" 8 || fail "password: every item once"
expect_status 2 "a wrong password is refused" env VBATCH_REDIS_PASSWORD=wrong-one-$PW-x \
    "$VBATCH" status --queue "$Q" > "$T/p-bad.out" 2> "$T/p-bad.err"
check "... saying so" grep -qi 'WRONGPASS\|invalid' "$T/p-bad.err"
chmod 644 "$T/pw"
expect_status 2 "a password file readable by others is refused" env VBATCH_REDIS_PASSWORD_FILE=$T/pw \
    "$VBATCH" status --queue "$Q" > "$T/p-644.out" 2> "$T/p-644.err"
rm -f "$T/pw"
# Everything Redis keeps, and every file written.
for k in $(rcli --scan); do
    case $(rcli TYPE "$k") in
    stream) rcli XRANGE "$k" - + ;;
    hash) rcli HGETALL "$k" ;;
    string) rcli GET "$k" ;;
    esac
done > "$T/redis-dump.txt"
check "the Redis dump is not empty" test -s "$T/redis-dump.txt"
check "the settings hold the command line" grep -q 'vbatch enqueue' "$T/redis-dump.txt"
check "the password is nowhere in Redis's keys" sh -c "! grep -q -- '$PW' '$T/redis-dump.txt'"
check "the password is in no output file, journal or log" \
    sh -c "! grep -r -l -a -- '$PW' '$T/out3' $T/p-*"
check "... nor in the append-only files (but for Redis's own CONFIG)" \
    sh -c "! grep -r -l -a -- '$PW' '$T/redis-pw/appendonlydir'"
"$VBATCH" status --queue "$Q" > /dev/null 2>&1 && fail "no password: refused"

finish
