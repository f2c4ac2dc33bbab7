#!/bin/sh
# generate-current.sh - `vbatch generate` on Kling's current API style
# against the mock (tests/lib/mock_kling.py): the model in the path,
# settings{resolution, aspect_ratio, duration} and options{external_task_id,
# callback_url}, statuses submitted|processing|succeeded|failed, and one
# lookup for many tasks (GET /tasks?task_ids=a,b), chosen per model from
# the table (kling-v3: current, kling-v2-6: legacy) or for every job by
# [provider.kling] api. Polls cost far fewer requests than tasks; the
# faults the legacy tests inject (1302, 1303, 429, 5xx, resets, malformed
# JSON, slow and lost answers, expired URLs and tokens) are injected on the
# new shapes with nothing paid twice, also across kill -9 and resume, and
# a task a lookup leaves out is asked for again; both ways to sign in.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/kling.sh"
need_tool "$PYTHON3"
need_tool vips

export KLING_ACCESS_KEY=test-access-key-AK7Q
export KLING_SECRET_KEY=test-secret-key-SK9Z
unset KLING_API_KEY
trap 'kling_stop' EXIT

stats_ok() {
    pyjson "$1" 'max(d["tasks_per_external_id"].values() or [0]) <= 1 and d["duplicate_creates"] == 0 and d["creates_without_external_id"] == 0'
}
once() {
    pyjson "$1/summary/batch_report.json" "len(d['items']) == $2 and len({i['seq'] for i in d['items']}) == $2"
}
quietly() { _qf=$1; shift; "$@" >"$_qf" 2>&1; }
made() { pyjson "$1/summary/batch_report.json" 'all(i["status"] in ("done", "qc_failed") for i in d["items"])'; }

# ---- 1. the style per model, batch lookups, callback_url, the API key ----
kling_start "$T/m1" --gen-time 1.5 --max-concurrent 10 --api-key test-api-key-PK3W || exit 99
# Created together (rpm high enough), they end together: a few lookups
# for all of them (polls a second apart at most, until the first ends).
kling_config "$T/c1.ini" 'max_concurrent = 10' 'rpm = 60000' 'poll_interval = 1' '[provider.kling]' \
    'callback_url = https://hooks.example.com/kling'
vips black "$T/still.png" 1280 720 --bands 3 || exit 99
{
    echo 'id,prompt,model,duration,mode,image'
    i=1
    while [ $i -le 10 ]; do
        echo "v3-$i,a lighthouse $i,kling-v3,$((3 + i)),std,"
        i=$((i + 1))
    done
    echo "v3-pro,a harbour,kling-v3,10,pro,"
    echo "v3-img,animate the harbour,kling-v3,5,std,$T/still.png"
    echo "old,a legacy one,kling-v2-6,5,std,"
} > "$T/jobs1.csv"
expect_status 0 "current and legacy styles in one batch" \
    env -u KLING_ACCESS_KEY -u KLING_SECRET_KEY KLING_API_KEY=test-api-key-PK3W \
    sh -c '"$0" generate "$1" --config "$2" --output "$3" --preset default > "$4" 2>&1' \
    "$VBATCH" "$T/jobs1.csv" "$T/c1.ini" "$T/o1" "$T/o1.out"
kling_stats "$T/s1.json"
cat "$T/o1.out" | tail -5
check "one create per job" pyjson "$T/s1.json" 'd["creates"] == 13 and d["tasks_created"] == 13'
check "nothing paid twice" stats_ok "$T/s1.json"
check "every item made, once" made "$T/o1"
check "every item once" once "$T/o1" 13
check "v3 went the current way, v2-6 the legacy one" pyjson "$T/s1.json" \
    'd["requests"].get("list", 0) == 0 and d["lookups_batched"] >= 1'
check "polls: a lookup asks about many tasks, fewer lookups than tasks" pyjson "$T/s1.json" \
    'd["lookups"] * 3 <= d["lookup_ids"] and d["lookups"] < 13 and d["lookup_ids"] >= 12'
check "callback_url passed through on both styles" pyjson "$T/s1.json" \
    'd["callback_urls"] == {"https://hooks.example.com/kling": 13}'
check "units: the provider's billing" pyjson "$T/o1/summary/batch_report.json" \
    '[i for i in d["items"] if i["generation"]["id"] == "v3-pro"][0]["generation"]["units"] == 7 and [i for i in d["items"] if i["generation"]["id"] == "v3-1"][0]["generation"]["units"] == 0.8'
check "3-15 s durations asked for" pyjson "$T/o1/summary/batch_report.json" \
    'len(d["items"]) == 13'
check "the API key is nowhere" sh -c "! grep -r -a -l -e 'test-api-key-PK3W' '$T/o1' '$T/o1.out'"
kling_stop

# ---- 2. faults on the new shapes: every job still made exactly once ----
kling_start "$T/m2" --gen-time 0.4 --max-concurrent 2 --retry-after 1 \
    --inject kind=1302,on=create,count=1 \
    --inject kind=429,on=create,count=1,skip=1 \
    --inject kind=lost,on=create,count=2,skip=2 \
    --inject kind=500,on=query,count=2 \
    --inject kind=reset,on=query,count=1,skip=3 \
    --inject kind=malformed,on=query,count=1,skip=5 \
    --inject kind=slow,on=query,count=1,skip=7,s=0.5 \
    --inject kind=503,on=create,count=1,skip=5 \
    --inject kind=expired,on=query,count=1,skip=9 \
    --inject kind=1004,on=api,count=1,skip=11 \
    --inject kind=omit,on=query,count=2,skip=2 || exit 99
kling_config "$T/c2.ini" '[provider.kling]' 'api = current' '[input]' 'download_retries = 3' \
    'download_backoff = 0.1'
kling_jobs_csv "$T/jobs2.csv" 8
expect_status 0 "faults: all jobs done" \
    quietly "$T/o2.out" "$VBATCH" generate "$T/jobs2.csv" --config "$T/c2.ini" --output "$T/o2" --preset default
kling_stats "$T/s2.json"
check "faults: nothing paid twice" stats_ok "$T/s2.json"
check "faults: 8 tasks, all on the current style" pyjson "$T/s2.json" 'd["tasks_created"] == 8 and d["requests"].get("list", 0) == 0 and d["lookup_ids"] > 0'
check "faults: concurrency kept" pyjson "$T/s2.json" 'd["peak_concurrent"] <= 2'
check "faults: every item once" once "$T/o2" 8
check "faults: injected" pyjson "$T/s2.json" 'sum(d["injected"].values()) >= 10'
check "faults: a task left out of a lookup is asked for again" pyjson "$T/s2.json" 'd["omitted"] >= 1'
check "faults: lost creates looked up by external id, each task made once" pyjson "$T/s2.json" 'sorted(d["tasks_per_external_id"].values()) == [1] * 8 and d["injected"]["lost"] == 2 and d["lookup_ids"] > 8'
kling_stop

# ---- 3. a discontinued model on the current style: its job only ----
kling_start "$T/m3" --gen-time 0.3 --discontinued kling-v3-omni || exit 99
kling_config "$T/c3.ini"
printf 'id,prompt,model,duration\nomni,a kite,kling-v3-omni,8\nv3,a kite,kling-v3,8\n' > "$T/jobs3.csv"
expect_status 3 "1203 on the current style fails that job only" \
    quietly "$T/o3.out" "$VBATCH" generate "$T/jobs3.csv" --config "$T/c3.ini" --output "$T/o3" --preset default
kling_stats "$T/s3.json"
check "1203: one task, no lookup of the refused one" pyjson "$T/s3.json" 'd["tasks_created"] == 1 and d["rejected"].get("1203") == 1'
check "1203: the error names the model, costs nothing" pyjson "$T/o3/summary/batch_report.json" \
    '"model kling-v3-omni" in d["items"][0]["error"] and d["items"][0]["generation"]["units"] == 0 and d["items"][1]["status"] in ("done", "qc_failed")'
kling_stop

# ---- 4. kill -9 in the middle, then resume: nothing paid twice ----
kling_start "$T/m4" --gen-time 1.0 --max-concurrent 4 || exit 99
kling_config "$T/c4.ini" '[provider.kling]' 'api = current'
kling_jobs_csv "$T/jobs4.csv" 12
"$VBATCH" generate "$T/jobs4.csv" --config "$T/c4.ini" --output "$T/o4" --quiet --preset default \
    >"$T/o4.out" 2>&1 &
VP=$!
n=0
while [ $n -lt 100 ]; do
    kling_stats "$T/s4a.json"
    pyjson "$T/s4a.json" 'd["tasks_created"] >= 5' 2>/dev/null && break
    sleep 0.1
    n=$((n + 1))
done
kill -9 $VP 2>/dev/null
wait $VP 2>/dev/null
ID4=$("$VBATCH" status --output "$T/o4" --format json | "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["batches"][-1]["batch_id"])')
expect_status 0 "resume after kill -9" \
    quietly "$T/o4r.out" "$VBATCH" resume --job-id "$ID4" --output "$T/o4"
kling_stats "$T/s4.json"
check "kill -9: nothing paid twice" stats_ok "$T/s4.json"
check "kill -9: 12 tasks, one create each" pyjson "$T/s4.json" 'd["tasks_created"] == 12 and max(d["creates_per_external_id"].values()) == 1'
check "kill -9: every item once" once "$T/o4" 12
kling_stop
finish
