#!/bin/sh
# generate-polls.sh - what polling costs on Kling's current API: 80 jobs
# created at 10 a second (so no two end at the same moment), 10 at once,
# 1 s each, the account's limit counting every request (--rpm-scope all).
# Polled one by one, each task costs at least one lookup (the scheduler of
# before cost about 2.5); batched as gen-sched.c times them (every task in
# flight in each lookup, the lookups a quarter of the generation time
# apart, each waiting for its group), under 0.75 per task (0.55 measured,
# most of it before the first task ends), with no request
# refused for the rate and every task found done.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/kling.sh"
need_tool "$PYTHON3"

export KLING_ACCESS_KEY=test-access-key-AK7Q
export KLING_SECRET_KEY=test-secret-key-SK9Z
unset KLING_API_KEY
trap 'kling_stop' EXIT

kling_jobs_csv "$T/jobs.csv" 80 || exit 99
kling_start "$T/m" --gen-time 1 --max-concurrent 10 --rpm 600 --rpm-scope all || exit 99
kling_config "$T/c.ini" 'max_concurrent = 10' 'rpm = 600' '[provider.kling]' 'api = current'
expect_status 0 "80 jobs on the current API" \
    sh -c '"$0" generate "$1" --config "$2" --output "$3" --preset default --quiet > "$4" 2>&1' \
    "$VBATCH" "$T/jobs.csv" "$T/c.ini" "$T/o" "$T/o.out"
kling_stats "$T/s.json"
check "every task made, once" pyjson "$T/s.json" \
    'd["tasks_created"] == 80 and d["creates"] == 80 and d["tasks_by_status"]["succeed"] == 80'
check "nothing refused for the rate" pyjson "$T/s.json" 'd["rejected"].get("1302", 0) == 0'
check "polls per task under 0.75 (one by one: 1 or more)" pyjson "$T/s.json" \
    'd["requests"].get("query", 0) <= 0.75 * 80 and d["lookups"] == d["requests"]["query"]'
check "each lookup asks about several tasks" pyjson "$T/s.json" \
    'd["lookup_ids"] >= 4 * d["lookups"]'
finish
