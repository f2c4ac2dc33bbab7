#!/bin/sh
# generate-clock.sh - slots freed by the clock (gen-sched.h): once the
# provider's own generation times are steady, a task stops counting
# against the concurrency limit at its creation plus the longest of them,
# before a lookup sees it end. Against the mock's own count of the tasks
# it runs: (1) steady times: slots are freed so, and never one too many
# (no 1303, the peak within the limit), every request counted within the
# rate (--rpm-scope all: no 1302); (2) the times change in the middle
# of the batch (1 s, then 1.6 s): the creates sent too early are refused
# with 1303, the released tasks count again, nothing is paid twice and
# every job is made once.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/kling.sh"
need_tool "$PYTHON3"

export KLING_ACCESS_KEY=test-access-key-AK7Q
export KLING_SECRET_KEY=test-secret-key-SK9Z
unset KLING_API_KEY
trap 'kling_stop' EXIT

jobs_csv() { # FILE N_FAST N_SLOW
    {
        echo 'id,prompt,model,duration,mode'
        i=1
        while [ $i -le $(($2 + $3)) ]; do
            if [ $i -le "$2" ]; then g=1; else g=1.6; fi
            echo "c$i,shot $i of the harbour GENTIME=$g,kling-v2-6,5,std"
            i=$((i + 1))
        done
    } > "$1"
}

# ---- 1. steady times ----
jobs_csv "$T/jobs1.csv" 60 0
kling_start "$T/m1" --gen-time 1 --max-concurrent 5 --rpm 600 --rpm-scope all || exit 99
kling_config "$T/c1.ini" 'max_concurrent = 5' 'rpm = 600' '[provider.kling]' 'api = current'
expect_status 0 "60 jobs, 1 s each, 5 at once" \
    sh -c '"$0" generate "$1" --config "$2" --output "$3" --preset default --verbose > "$4" 2>&1' \
    "$VBATCH" "$T/jobs1.csv" "$T/c1.ini" "$T/o1" "$T/o1.out"
kling_stats "$T/s1.json"
check "steady: every task made, once" pyjson "$T/s1.json" \
    'd["tasks_created"] == 60 and d["creates"] == 60 and d["duplicate_creates"] == 0 and d["tasks_by_status"]["succeed"] == 60'
check "steady: never more tasks than the limit" pyjson "$T/s1.json" \
    'd["peak_concurrent"] <= 5 and d["rejected"].get("1303", 0) == 0'
check "steady: every request within the rate" pyjson "$T/s1.json" 'd["rejected"].get("1302", 0) == 0'
check "steady: slots freed by the clock, none too early" \
    grep -Eq ' [1-9][0-9]* slots freed by the clock, 0 of them too early' "$T/o1.out"
check "steady: few lookups (they only fetch the videos)" pyjson "$T/s1.json" \
    'd["lookups"] <= 0.35 * 60'
kling_stop

# ---- 2. the times change: 1 s, then 1.6 s ----
jobs_csv "$T/jobs2.csv" 15 25
kling_start "$T/m2" --max-concurrent 5 --rpm 600 --rpm-scope all || exit 99
kling_config "$T/c2.ini" 'max_concurrent = 5' 'rpm = 600' '[provider.kling]' 'api = current'
expect_status 0 "40 jobs whose time changes" \
    sh -c '"$0" generate "$1" --config "$2" --output "$3" --preset default --verbose > "$4" 2>&1' \
    "$VBATCH" "$T/jobs2.csv" "$T/c2.ini" "$T/o2" "$T/o2.out"
kling_stats "$T/s2.json"
check "changed: every task made, once" pyjson "$T/s2.json" \
    'd["tasks_created"] == 40 and d["duplicate_creates"] == 0 and max(d["tasks_per_external_id"].values()) == 1 and d["tasks_by_status"]["succeed"] == 40 and d["rejected"].get("1303", 0) >= 1'
check "changed: the mock never ran more than the limit" pyjson "$T/s2.json" 'd["peak_concurrent"] <= 5'
check "changed: the early creates were refused, and seen so" \
    grep -Eq ' [1-9][0-9]* slots freed by the clock, [1-9][0-9]* of them too early' "$T/o2.out"
check "changed: every item once" pyjson "$T/o2/summary/batch_report.json" \
    "len(d['items']) == 40 and len({i['seq'] for i in d['items']}) == 40"
kling_stop
finish
