#!/bin/sh
# Inputs that stall or trickle, as on a network share ([batch] item_timeout
# and stall_timeout), made with tests/lib/throttle.so: each is a per-item
# error naming the stage and the limit, the other items are processed, and
# the batch ends in seconds. Also a FIFO named .mp4 (refused, not opened)
# and a read that never returns (the watchdog gives up that worker).
. "$TOP_SRCDIR/tests/lib/testlib.sh"
need_throttle

good=$(clip h264_aac_720p.mp4)
IN="$T/in"; mkdir -p "$IN"
for n in a b c slow stall hang; do ln "$good" "$IN/$n.mp4" 2>/dev/null || cp "$good" "$IN/$n.mp4"; done
mkfifo "$IN/fifo.mp4" || { echo "cannot make a FIFO" >&2; exit 99; }
printf '[batch]\nitem_timeout = 3\nstall_timeout = 1\n' > "$T/limits.ini"
# Without the limits the batch would hang: killed after a minute, it fails.
TO=; command -v timeout >/dev/null 2>&1 && TO="timeout -s KILL 60"

# slow: 1 byte per 100 ms (hits item_timeout); stall: one read blocks 2 s
# (longer than stall_timeout); hang: one read never returns.
t0=$(date +%s)
THROTTLE_SLOW=/slow.mp4 THROTTLE_STALL=/stall.mp4 THROTTLE_HANG=/hang.mp4 \
    throttled $TO "$VBATCH" process "$IN" --config "$T/limits.ini" --jobs 3 --output "$T/out" \
    > "$T/stdout" 2> "$T/stderr"
rc=$?
t1=$(date +%s)
check "exit status 3: items could not be processed (got $rc)" [ "$rc" -eq 3 ]
check "the batch ends in seconds ($((t1 - t0)) s)" [ $((t1 - t0)) -le 20 ]

R="$T/out/summary/batch_report.json"
check "reports written" test -s "$R"
"$PYTHON3" - "$R" <<'PY' || fail "each bad input is a per-item error with a clear message"
import json, sys
d = json.load(open(sys.argv[1]))
it = {i["source"].rsplit("/", 1)[1]: i for i in d["items"]}
assert sorted(it) == ["a.mp4", "b.mp4", "c.mp4", "fifo.mp4", "hang.mp4", "slow.mp4", "stall.mp4"], sorted(it)
for n in "abc":
    assert it[n + ".mp4"]["status"] == "done", it[n + ".mp4"]
def bad(name, stage, *words):
    i = it[name]
    assert i["status"] == "failed" and i["error_stage"] == stage, i
    for w in words:
        assert w in i["error"], (w, i["error"])
bad("fifo.mp4", "discover", "not a regular file")
bad("slow.mp4", "probe", "item deadline reached", "item_timeout = 3")
bad("stall.mp4", "probe", "no data for", "stalled input", "stall_timeout = 1")
bad("hang.mp4", "probe", "stalled: abandoned", "never returned")
PY
"$VBATCH" status --output "$T/out" --format json > "$T/status.json"
pyjson "$T/status.json" 'd["batches"][0]["status"] == "done" and d["batches"][0]["counts"]["running"] == 0' ||
    fail "the batch is done, nothing left running"
check "the errors are printed" grep -q "stalled input" "$T/stderr"
check "no temporary files left" [ -z "$(find "$T/out" -name '*.vbtmp.*')" ]

# A stall during the analyse stage (which reads the whole file: its
# content hash, then the decode, both through the item's bounded reader)
# is reported at that stage (the probe reads the first few kB only).
THROTTLE_STALL=/stall.mp4 THROTTLE_STALL_AFTER=300000 \
    throttled $TO "$VBATCH" process "$IN/a.mp4" "$IN/stall.mp4" --deep --config "$T/limits.ini" \
    --output "$T/deep" --quiet
rc=$?
check "deep: exit status 3 (got $rc)" [ "$rc" -eq 3 ]
pyjson "$T/deep/summary/error_log.json" \
    "len(d['errors']) == 1 and d['errors'][0]['stage'] == 'analyse' and 'stalled input' in d['errors'][0]['message']" ||
    fail "deep: the stall is an analyse error"
finish
