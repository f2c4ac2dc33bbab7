#!/bin/sh
# Transient I/O errors on local files (a network share): an open or read
# failing with EIO, ESTALE ... is retried with backoff up to [batch]
# retries, the record keeps the attempts; EACCES is not retried; more
# failures than retries is a per-item error naming the errno. The
# failures are made by tests/lib/throttle.so.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
need_throttle

good=$(clip h264_aac_720p.mp4)
IN="$T/in"; mkdir -p "$IN"
for n in a flaky; do ln "$good" "$IN/$n.mp4" 2>/dev/null || cp "$good" "$IN/$n.mp4"; done
printf '[batch]\nretries = 3\nretry_backoff = 0.05\n' > "$T/retry.ini"
TO=; command -v timeout >/dev/null 2>&1 && TO="timeout -s KILL 60"

# run NAME EXPECTED_STATUS [VAR=VALUE...]: one batch of a.mp4 and flaky.mp4
run() {
    _n=$1; _want=$2; shift 2
    env THROTTLE_FAIL=/flaky.mp4 "$@" LD_PRELOAD="$THROTTLE_SO" \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        $TO "$VBATCH" process "$IN" --config "$T/retry.ini" --jobs 1 --output "$T/$_n" \
        > "$T/$_n.stdout" 2> "$T/$_n.stderr"
    _rc=$?
    check "$_n: exit status $_want (got $_rc)" [ "$_rc" -eq "$_want" ]
}
# item NAME EXPR: EXPR on the record of flaky.mp4 (i) in NAME's batch_report.json
item() {
    "$PYTHON3" - "$T/$1/summary/batch_report.json" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
i = [x for x in d["items"] if x["source"].endswith("/flaky.mp4")][0]
a = [x for x in d["items"] if x["source"].endswith("/a.mp4")][0]
ok = eval(sys.argv[2])
if not ok:
    print("expression false:", sys.argv[2], "on", i, file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}

# The first two opens fail: done at the third attempt.
run opens 0 THROTTLE_FAIL_OPENS=2
item opens 'i["status"] == "done" and i["attempts"] == 3 and a["attempts"] == 1' ||
    fail "opens: flaky.mp4 done after 3 attempts, a.mp4 at the first"
"$PYTHON3" - "$T/opens/.vbatch/state.db" <<'PY' || fail "opens: the journal counts the attempts"
import sqlite3, sys
rows = dict(sqlite3.connect(sys.argv[1]).execute("SELECT source, attempts FROM items"))
got = {k.rsplit("/", 1)[1]: v for k, v in rows.items()}
assert got == {"a.mp4": 1, "flaky.mp4": 3}, got
PY

# A read fails (ESTALE) part-way through the header: one more attempt.
run reads 0 THROTTLE_FAIL_READS=1 THROTTLE_ERRNO=ESTALE
item reads 'i["status"] == "done" and i["attempts"] == 2' || fail "reads: done after 2 attempts"

# More failures than retries: a per-item error naming the errno.
run exhausted 3 THROTTLE_FAIL_OPENS=10
item exhausted 'i["status"] == "failed" and i["attempts"] == 4 and "(EIO)" in i["error"] and "after 4 attempts" in i["error"] and a["status"] == "done"' ||
    fail "exhausted: failed after 4 attempts, EIO named"

# A permanent error is not retried.
run permanent 3 THROTTLE_FAIL_OPENS=10 THROTTLE_ERRNO=EACCES
item permanent 'i["status"] == "failed" and i["attempts"] == 1 and "Permission denied (EACCES)" in i["error"]' ||
    fail "permanent: EACCES not retried"

# retries = 0: no new attempt.
printf '[batch]\nretries = 0\n' > "$T/retry.ini"
run none 3 THROTTLE_FAIL_OPENS=1
item none 'i["status"] == "failed" and i["attempts"] == 1' || fail "retries = 0: one attempt"
finish
