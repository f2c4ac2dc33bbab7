#!/bin/sh
# generate-interrupt.sh - SIGINT during `vbatch generate` (the mock Kling
# server, tasks that take seconds): the run stops taking work and ends with
# exit status 4, the batch is marked interrupted with the rest pending, and
# `vbatch resume` finishes it, nothing paid twice. (The network thread once
# took the signal and dropped it: the run went on to the end.)
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/kling.sh"
need_tool "$PYTHON3"

export KLING_ACCESS_KEY=test-access-key-AK7Q
export KLING_SECRET_KEY=test-secret-key-SK9Z
trap 'kling_stop' EXIT

kling_start "$T/m" --gen-time 4 --max-concurrent 2 || exit 99
kling_config "$T/c.ini" 'max_concurrent = 2'
printf 'id,prompt,duration\n' > "$T/jobs.csv"
for i in 1 2 3 4 5 6; do printf 'j%s,A lighthouse number %s,5\n' "$i" "$i" >> "$T/jobs.csv"; done

# From Python, so that SIGINT is not ignored as for a background job.
"$PYTHON3" - "$VBATCH" "$T/jobs.csv" "$T/c.ini" "$T/out" > "$T/rc" 2> "$T/stderr" <<'PY'
import signal, subprocess, sys, time
vbatch, jobs, ini, out = sys.argv[1:5]
p = subprocess.Popen([vbatch, "generate", jobs, "--config", ini, "--output", out],
                     stdout=subprocess.DEVNULL)
time.sleep(1.5)
t0 = time.time()
p.send_signal(signal.SIGINT)
rc = p.wait()
print(rc, "%.1f" % (time.time() - t0))
PY
set -- $(cat "$T/rc")
check "exit status 4 after SIGINT (got $1)" [ "$1" = 4 ]
check "stopped at once, not after every task ($2 s)" "$PYTHON3" -c "import sys; sys.exit(not float(sys.argv[1]) <= 12)" "$2"
check "the interruption is reported" grep -q "interrupted" "$T/stderr"
"$VBATCH" status --output "$T/out" --format json > "$T/status.json"
pyjson "$T/status.json" 'd["batches"][0]["status"] == "interrupted"' || fail "batch marked interrupted"

ID=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batches"][0]["batch_id"])' "$T/status.json")
"$VBATCH" resume --job-id "$ID" --output "$T/out" --quiet
check "resume: exit 0" [ $? -eq 0 ]
pyjson "$T/out/summary/batch_report.json" 'len(d["items"]) == 6 and all(i["status"] == "done" for i in d["items"])' ||
    fail "resume: all six generated and checked"
kling_stats "$T/s.json"
pyjson "$T/s.json" 'max(d["tasks_per_external_id"].values() or [0]) <= 1 and d["duplicate_creates"] == 0 and d["tasks_created"] == 6' ||
    fail "nothing paid twice"
finish
