#!/bin/sh
# Generation across workers (issue 15): `vbatch enqueue JOBS.csv` and
# three `vbatch worker`s against the mock Kling server
# (tests/lib/mock_kling.py) with account limits, sharing one limiter in
# Redis (a token bucket for the creates a minute, a counted semaphore
# with leases for the tasks at once) and the creates' claims:
#  1. 24 jobs, 3 workers, max_concurrent 4, rpm scaled to a 5 s window:
#     the mock never refuses a create for the rate or the concurrency and
#     its peaks stay within the limits, every job is created exactly once
#     (per external_task_id), report --queue has every item once, done;
#  2. a worker killed (-9) right after a create was sent (the mock holds
#     that create's answer): its items are taken over after the
#     visibility timeout, the claimed create is looked up by its external
#     id, never sent again: every job created once, every item once;
#  3. a JOBS.csv with a problem is refused before the queue is made;
#  4. fal.ai (no look-up by client id): a job whose create an earlier
#     delivery claimed is failed as unknown with what to do, never sent;
#     the others are made; a create refused with nothing made (a 429)
#     keeps no claim: handed back, the next delivery sends it once;
#  5. SIGTERM of a generation worker: nothing new is sent, the tasks it
#     created finish within the grace period and are recorded, the jobs
#     it never sent go back to the queue; with a grace period shorter
#     than the tasks, they are handed back at its end, and the next worker
#     polls them (no create sent twice).
#  6. a group is fed while it runs: with one slow job among quick ones,
#     the quick ones pass through its other slot while the slow one runs.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/redis.sh"
. "$TOP_SRCDIR/tests/lib/kling.sh"
need_tool "$PYTHON3"
export KLING_ACCESS_KEY=test-access-key-AK7Q
export KLING_SECRET_KEY=test-secret-key-SK9Z
unset KLING_API_KEY
trap 'for p in $(jobs -p); do kill -9 $p 2>/dev/null; done; kling_stop; redis_stop' EXIT
TO=; command -v timeout >/dev/null 2>&1 && TO="timeout -s KILL 180"

jobs_csv() {
    { echo 'id,prompt,model,duration,mode'
      i=1
      while [ $i -le $2 ]; do echo "g$i,a lighthouse at dusk $i,kling-v3,5,std"; i=$((i + 1)); done
    } > "$1"
}
# The mock's stats: every job created once, none refused for the limits.
once_each() {
    pyjson "$1" "d['tasks_created'] == $2 and len(d['creates_per_external_id']) == $2 and max(d['creates_per_external_id'].values()) == 1 and d['duplicate_creates'] == 0"
}
report_once() {
    pyjson "$1/summary/batch_report.json" "len(d['items']) == $2 and len({i['seq'] for i in d['items']}) == $2 and all(i['status'] in ('done', 'qc_failed') for i in d['items'])"
}
redis_start "$T/redis"

# ---- 1. three workers, one account ----
kling_start "$T/m1" --gen-time 3 --max-concurrent 4 --rpm 120 --rpm-window 5 || exit 99
# rpm 90 against the mock's 10 in any 5 s: the bucket's second's worth
# (1.5) and 5 s of refill (7.5) stay under it; 1.5 creates a second of
# 3 s each would be 4.5 at once: both limits bind.
kling_config "$T/c1.ini" 'max_concurrent = 4' 'rpm = 90' '[provider.kling]' 'api = current'
jobs_csv "$T/jobs1.csv" 24
Q=$REDIS_URL/g1
expect_status 0 "enqueue JOBS.csv" "$VBATCH" enqueue "$T/jobs1.csv" --config "$T/c1.ini" \
    --queue "$Q" --visibility 5
"$VBATCH" status --queue "$Q" --format json > "$T/st1.json"
check "24 items in the queue" pyjson "$T/st1.json" 'd["items"] == 24'
t0=$(date +%s)
for w in 1 2 3; do
    $TO "$VBATCH" worker --queue "$Q" --output "$T/out1" --jobs 1 --drain --name w$w \
        > "$T/w$w.out" 2> "$T/w$w.err" &
    eval pid$w=$!
done
for w in 1 2 3; do
    eval p=\$pid$w
    wait $p; rc=$?
    check "worker w$w drained (exit $rc)" [ $rc -eq 0 ]
done
t1=$(date +%s)
echo "3 workers, 24 jobs: $((t1 - t0)) s"
kling_stats "$T/s1.json"
kling_summary "$T/s1.json"
check "each job created once" once_each "$T/s1.json" 24
check "peak concurrency within the account's 4, and reached" pyjson "$T/s1.json" 'd["peak_concurrent"] == 4'
check "creates a minute within rpm" pyjson "$T/s1.json" 'd["rpm_peak"] <= 90'
check "no create refused for the rate or the concurrency" \
    pyjson "$T/s1.json" '"1302" not in d["rejected"] and "1303" not in d["rejected"]'
check "the work was shared" sh -c "grep -h 'done' '$T/w1.err' '$T/w2.err' '$T/w3.err' | grep -c -v ': 0 done' | grep -q '^[23]$'"
expect_status 0 "report --queue" "$VBATCH" report --queue "$Q" --output "$T/out1"
check "every item once in the report, made" report_once "$T/out1" 24
check "each video in its folder" sh -c "[ \$(ls '$T'/out1/*/video/*.mp4 | wc -l) -eq 24 ]"
check "no work folder left" [ ! -e "$T/out1/.vbatch-work" ]
check "no slot left held" [ "$(rcli ZCARD g1:slots)" = 0 ]
ids=$(rcli --raw HVALS g1:claims | grep -c '	.')
check "every create claimed with its task id ($ids)" [ "$ids" -eq 24 ]
rcli --raw GET g1:settings > "$T/settings1.json"
check "no key in the queue's settings, the logs or the reports" \
    sh -c "! grep -r -a -q -e '$KLING_SECRET_KEY' -e '$KLING_ACCESS_KEY' '$T/settings1.json' '$T'/w*.err '$T/out1'"
kling_stop

# ---- 2. kill -9 right after a create was sent ----
kling_start "$T/m2" --gen-time 1 --max-concurrent 4 --inject 'kind=slow,on=create,s=3,count=1' || exit 99
kling_config "$T/c2.ini" 'max_concurrent = 4' 'rpm = 600' '[provider.kling]' 'api = current'
jobs_csv "$T/jobs2.csv" 6
Q=$REDIS_URL/g2
expect_status 0 "enqueue" "$VBATCH" enqueue "$T/jobs2.csv" --config "$T/c2.ini" --queue "$Q" \
    --visibility 4
"$VBATCH" worker --queue "$Q" --output "$T/out2" --jobs 1 --name victim > "$T/v.out" 2> "$T/v.err" &
vpid=$!
sent() { pyjson_q() { kling_ctl stats | "$PYTHON3" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["creates"] >= 1 else 1)'; }; pyjson_q; }
check "a create was sent" wait_for 30 sent
kill -9 $vpid
wait $vpid 2>/dev/null
held=$(rcli XPENDING g2 vbatch | head -1)
check "the victim held items ($held)" [ "$held" -ge 1 ]
$TO "$VBATCH" worker --queue "$Q" --output "$T/out2" --jobs 1 --drain --name heir -v \
    > "$T/h.out" 2> "$T/h.err"
check "the heir drained the queue" [ $? -eq 0 ]
kling_stats "$T/s2.json"
kling_summary "$T/s2.json"
check "the held create was answered to nobody, and made once" \
    pyjson "$T/s2.json" 'd["injected"].get("slow") == 1'
check "each job created once, also the killed worker's" once_each "$T/s2.json" 6
check "the claimed ones looked up or polled, not sent again" pyjson "$T/s2.json" 'd["creates"] == 6 and d["lookups"] >= 1'
expect_status 0 "report --queue" "$VBATCH" report --queue "$Q" --output "$T/out2"
check "every item once in the report, made" report_once "$T/out2" 6
kling_stop

# ---- 3. a bad JOBS.csv: nothing enqueued, no queue made ----
printf 'id,prompt,model,duration\nx,a kite,kling-v3,xyz\n' > "$T/bad.csv"
expect_status 2 "a bad JOBS.csv is refused" "$VBATCH" enqueue "$T/bad.csv" --config "$T/c2.ini" \
    --queue "$REDIS_URL/g3" 2> "$T/bad.err"
check "... naming the problem" grep -q 'problem' "$T/bad.err"
check "... before the queue was made" [ "$(rcli EXISTS g3:settings)" = 0 ]

# ---- 4. fal.ai: a create claimed by a delivery that died ----
KLING_MOCK=$TOP_SRCDIR/tests/lib/mock_fal.py
export FAL_KEY=test-fal-key-FK3X9
kling_start "$T/m4" --gen-time 0.5 || exit 99
T2V=fal-ai/kling-video/v2.6/pro/text-to-video
printf '%s\n' '[generate]' 'provider = fal' 'poll_interval = 0.3' 'task_timeout = 60' \
    'max_concurrent = 4' 'rpm = 600' '[provider.fal]' "base_url = $KLING_URL" \
    'request_timeout = 5' > "$T/c4.ini"
printf 'id,prompt,model,duration\nf1,A kite over the sea,%s,5\nf2,A boat at dawn,%s,5\n' \
    "$T2V" "$T2V" > "$T/jobs4.csv"
Q=$REDIS_URL/g4
expect_status 0 "enqueue for fal" "$VBATCH" enqueue "$T/jobs4.csv" --config "$T/c4.ini" --queue "$Q"
ext=$(rcli --raw XRANGE g4 1-1 1-1 | awk 'p { print; exit } $0 == "ext" { p = 1 }')
check "the entry carries its external id" [ -n "$ext" ]
rcli HSET g4:claims "$ext" "$(printf 'gone-worker\t')" > /dev/null
$TO "$VBATCH" worker --queue "$Q" --output "$T/out4" --jobs 1 --drain > "$T/f.out" 2> "$T/f.err"
check "the worker drained" [ $? -eq 0 ]
kling_stats "$T/s4.json"
check "only the unclaimed job was sent" pyjson "$T/s4.json" 'd["creates"] == 1'
expect_status 0 "report --queue" "$VBATCH" report --queue "$Q" --output "$T/out4"
check "the claimed one failed unknown, saying what to do" pyjson "$T/out4/summary/batch_report.json" \
    "[i['status'] for i in d['items']] == ['failed', 'done'] and 'claimed its create' in d['items'][0]['error'] and 'gone-worker' in d['items'][0]['error']"
kling_stop

# ---- 4b. fal.ai: a create refused with nothing made, then handed back ----
# The mock refuses the first create with a 429 (nothing queued) and a
# long Retry-After; the worker is stopped while it waits. The next
# delivery must send it (the refusal dropped the claim), not take the
# claim for a create that may have been made (unknown, never sent).
kling_start "$T/m4b" --gen-time 0.5 --retry-after 30 --inject 'kind=429,on=create,count=1' || exit 99
sed "s|^base_url = .*|base_url = $KLING_URL|" "$T/c4.ini" > "$T/c4b.ini"
printf 'id,prompt,model,duration\nr1,A heron in the reeds,%s,5\n' "$T2V" > "$T/jobs4b.csv"
Q=$REDIS_URL/g4b
expect_status 0 "enqueue for fal" "$VBATCH" enqueue "$T/jobs4b.csv" --config "$T/c4b.ini" --queue "$Q"
asked() { kling_ctl stats | "$PYTHON3" -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["requests"].get("create", 0) >= 1 else 1)'; }
$TO "$VBATCH" worker --queue "$Q" --output "$T/out4b" --jobs 1 --name refused \
    > "$T/r.out" 2> "$T/r.err" &
rpid=$!
check "the create was asked and refused" wait_for 30 asked
kill -TERM $rpid
wait $rpid; rc=$?
check "the worker stopped for the signal (exit $rc), handing the job back" \
    sh -c "[ $rc -eq 4 ] && grep -q '0 done, 0 failed, 1 handed back' '$T/r.err'"
check "no claim kept for the refused create" [ "$(rcli HLEN g4b:claims)" = 0 ]
$TO "$VBATCH" worker --queue "$Q" --output "$T/out4b" --jobs 1 --drain --name again \
    > "$T/a.out" 2> "$T/a.err"
check "the next worker drained it" [ $? -eq 0 ]
kling_stats "$T/s4b.json"
check "sent again once, made once" pyjson "$T/s4b.json" \
    'd["requests"]["create"] == 2 and d["creates"] == 1 and d["injected"].get("429") == 1'
expect_status 0 "report --queue" "$VBATCH" report --queue "$Q" --output "$T/out4b"
check "the job is made, not unknown" pyjson "$T/out4b/summary/batch_report.json" \
    "[i['status'] for i in d['items']] == ['done']"
claim=$(rcli --raw HVALS g4b:claims)
claimed_by() { [ "${claim%%	*}" = "$1" ] && [ -n "${claim#*	}" ]; }
check "its claim is the second worker's, with the task id ($claim)" claimed_by again
kling_stop

# ---- 5. SIGTERM of a generation worker ----
KLING_MOCK=$TOP_SRCDIR/tests/lib/mock_kling.py
unset FAL_KEY
creates() { kling_ctl stats | "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["creates"])'; }
at_least() { [ "$(creates)" -ge "$1" ]; }
# a. The grace period covers the tasks (2 s each): they finish here.
kling_start "$T/m5" --gen-time 2 --max-concurrent 3 || exit 99
kling_config "$T/c5.ini" '[provider.kling]' 'api = current' '[batch]' 'grace_period = 30'
jobs_csv "$T/jobs5.csv" 9
Q=$REDIS_URL/g5
expect_status 0 "enqueue" "$VBATCH" enqueue "$T/jobs5.csv" --config "$T/c5.ini" --queue "$Q"
$TO "$VBATCH" worker --queue "$Q" --output "$T/out5" --jobs 1 --name term > "$T/t.out" 2> "$T/t.err" &
tpid=$!
check "the worker's first group was sent" wait_for 30 at_least 3
kill -TERM $tpid
sent_then=$(creates)
wait $tpid; rc=$?
check "the worker stopped for the signal (exit $rc)" [ $rc -eq 4 ]
check "... and sent nothing after it ($sent_then, $(creates))" [ "$(creates)" -eq "$sent_then" ]
check "... saying what it does" grep -q 'no new item' "$T/t.err"
expect_status 0 "report --queue" "$VBATCH" report --queue "$Q" --output "$T/out5"
check "its created tasks finished and recorded" pyjson "$T/out5/summary/batch_report.json" \
    "len(d['items']) == $sent_then and all(i['status'] == 'done' for i in d['items'])"
$TO "$VBATCH" worker --queue "$Q" --output "$T/out5" --jobs 1 --drain --name next \
    > "$T/n.out" 2> "$T/n.err"
check "the next worker drained the rest" [ $? -eq 0 ]
kling_stats "$T/s5.json"
check "each job created once" once_each "$T/s5.json" 9
expect_status 0 "report --queue" "$VBATCH" report --queue "$Q" --output "$T/out5"
check "every item once in the report, made" report_once "$T/out5" 9
kling_stop
# b. A grace period (1 s) shorter than the tasks (5 s): handed back.
kling_start "$T/m6" --gen-time 5 --max-concurrent 3 || exit 99
kling_config "$T/c6.ini" '[provider.kling]' 'api = current' '[batch]' 'grace_period = 1'
jobs_csv "$T/jobs6.csv" 3
Q=$REDIS_URL/g6
expect_status 0 "enqueue" "$VBATCH" enqueue "$T/jobs6.csv" --config "$T/c6.ini" --queue "$Q"
$TO "$VBATCH" worker --queue "$Q" --output "$T/out6" --jobs 1 --name short > "$T/u.out" 2> "$T/u.err" &
tpid=$!
check "the worker's group was sent" wait_for 30 at_least 3
t0=$(date +%s)
kill -TERM $tpid
wait $tpid; rc=$?
t1=$(date +%s)
check "the worker stopped for the signal (exit $rc)" [ $rc -eq 4 ]
check "... at the end of its grace period, not of its tasks ($((t1 - t0)) s)" [ $((t1 - t0)) -le 3 ]
check "... handing its 3 items back" grep -q '0 done, 0 failed, 3 handed back' "$T/u.err"
$TO "$VBATCH" worker --queue "$Q" --output "$T/out6" --jobs 1 --drain --name heir6 \
    > "$T/h6.out" 2> "$T/h6.err"
check "the next worker drained them" [ $? -eq 0 ]
kling_stats "$T/s6.json"
check "each job created once, polled by the next worker" pyjson "$T/s6.json" \
    'd["creates"] == 3 and d["tasks_created"] == 3 and d["duplicate_creates"] == 0'
expect_status 0 "report --queue" "$VBATCH" report --queue "$Q" --output "$T/out6"
check "every item once in the report, made" report_once "$T/out6" 3
kling_stop

# ---- 6. a group fed while it runs (fal, max_concurrent 2) ----
# One slow job (15 s) and four quick ones (1 s): the slot the quick ones
# leave is given to the next job at once, not held until the slow one
# ends: all four are recorded before it (on main: q1, then slow, q2 ...).
KLING_MOCK=$TOP_SRCDIR/tests/lib/mock_fal.py
export FAL_KEY=test-fal-key-FK3X9
kling_start "$T/m7" --gen-time 1 --runners 4 || exit 99
# (A webhook in the settings: the queue keeps its host only; workers send
# none rather than post to it.)
printf '%s\n' '[generate]' 'provider = fal' 'poll_interval = 0.3' 'task_timeout = 60' \
    'max_concurrent = 2' 'rpm = 600' '[provider.fal]' "base_url = $KLING_URL" \
    'request_timeout = 5' '[notify]' 'url = http://127.0.0.1:9/hook/secret-path' \
    'items = true' 'attempts = 1' > "$T/c7.ini"
{ echo 'id,prompt,model,duration'
  echo "slow,A glacier calving GENTIME=15,$T2V,5"
  for i in 1 2 3 4; do echo "q$i,A sparrow $i,$T2V,5"; done
} > "$T/jobs7.csv"
Q=$REDIS_URL/g7
expect_status 0 "enqueue for fal" "$VBATCH" enqueue "$T/jobs7.csv" --config "$T/c7.ini" --queue "$Q"
$TO "$VBATCH" worker --queue "$Q" --output "$T/out7" --jobs 1 --drain --name fed -v \
    > "$T/fed.out" 2> "$T/fed.err"
check "the worker drained (exit $?)" [ $? -eq 0 ]
order=$(sed -n 's/^vbatch: done fal:\([a-z0-9]*\).*/\1/p' "$T/fed.err" | tr '\n' ' ')
check "the quick jobs recorded while the slow one ran ($order)" [ "$order" = "q1 q2 q3 q4 slow " ]
kling_stats "$T/s7.json"
check "each job created once, two at most at once" pyjson "$T/s7.json" \
    'd["creates"] == 5 and max(d["creates_per_prompt"].values()) == 1 and d["peak_in_progress"] <= 2'
expect_status 0 "report --queue" "$VBATCH" report --queue "$Q" --output "$T/out7"
check "every item once in the report, made" report_once "$T/out7" 5
check "no work folder left" [ ! -e "$T/out7/.vbatch-work" ]
check "no webhook posted to the host the queue keeps" sh -c "! grep -q 'webhooks* of .notify' '$T/fed.err'"
check "... a note says why" grep -q "recorded as http://127.0.0.1:9/... only: workers send no webhook" "$T/fed.err"
kling_stop

finish
