#!/bin/sh
# generate-balance.sh - what the account has left, read before the first
# paid submission (GET /account/costs on the mock, tests/lib/mock_kling.py):
# a plan the video packs cannot cover is refused before anything is sent
# (the image pack and an expired video pack do not count), and --dry-run
# says so too; the call is free and at most one a second; a pack whose
# count lags (it says more than is left) runs out mid-batch: the rest is
# held, and a resume once units are added finishes without paying twice;
# the summary gives the units spent per passed clip, the attempts given
# up before a retry included.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/kling.sh"
need_tool "$PYTHON3"

export KLING_ACCESS_KEY=test-access-key-AK7Q
export KLING_SECRET_KEY=test-secret-key-SK9Z
trap 'kling_stop' EXIT
quietly() { _qf=$1; shift; "$@" >"$_qf" 2>&1; }
run_status() {
    _want=$1; _d=$2; _out=$3; shift 3
    "$@" > "$_out"; _got=$?
    if [ "$_got" -eq "$_want" ]; then ok "$_d (exit $_got)"; else fail "$_d: exit $_got, expected $_want"; fi
}

# Four jobs of kling-v2-6 std 5 s: 2 units each by the table, 8 in all.
printf 'id,prompt\na,a kite\nb,a boat\nc,a bird\nd,a bell\n' > "$T/jobs.csv"

# ---- 1. 5 units left: the dry run says it, the run does not start ----
kling_start "$T/m1" --gen-time 0.3 --balance 5 || exit 99
kling_config "$T/c1.ini"
run_status 2 "dry run: not enough units" "$T/plan.txt" "$VBATCH" generate "$T/jobs.csv" \
    --config "$T/c1.ini" --dry-run
cat "$T/plan.txt"
check "dry run: the video pack counted, alone" grep -q '^balance: 5 units left (1 video resource pack in effect (others expired, used up or not yet in effect)); the requests to submit need 8: not enough, a run would not start' "$T/plan.txt"
sleep 1.1
run_status 2 "dry run as JSON" "$T/plan.json" "$VBATCH" generate "$T/jobs.csv" \
    --config "$T/c1.ini" --dry-run --format json
check "JSON: balance" pyjson "$T/plan.json" 'd["balance"]["checked"] and d["balance"]["units_left"] == 5 and d["balance"]["enough"] is False'
# at once after the dry run: the second call within a second is refused
# (1302) and made again a second later
expect_status 2 "the run refuses to start" \
    quietly "$T/o1.out" "$VBATCH" generate "$T/jobs.csv" --config "$T/c1.ini" --output "$T/o1"
cat "$T/o1.out"
kling_stats "$T/s1.json"
check "nothing sent, nothing paid" pyjson "$T/s1.json" 'd["creates"] == 0 and d["tasks_created"] == 0'
check "the balance read once a run, at most one a second" pyjson "$T/s1.json" 'd["account_costs"] == 3'
check "the refusal says what is left and what is needed" grep -q "the kling account has 5 units left (1 video resource pack in effect.*), the jobs to submit need 8 (estimated): nothing was submitted" "$T/o1.out"
check "and how to go on" grep -q "vbatch resume --job-id" "$T/o1.out"
# a budget the packs can pay: it starts
expect_status 4 "--budget 4 fits the packs: the run starts" \
    quietly "$T/o1b.out" "$VBATCH" generate "$T/jobs.csv" --config "$T/c1.ini" --output "$T/o1b" --budget 4
kling_stats "$T/s1b.json"
check "budget: made within the budget" pyjson "$T/s1b.json" 'd["tasks_created"] >= 2 and d["units_spent"] <= 4'
kling_stop

# ---- 2. without keys the dry run says it did not check ----
env -u KLING_ACCESS_KEY -u KLING_SECRET_KEY "$VBATCH" generate "$T/jobs.csv" --dry-run \
    > "$T/nokeys.txt" 2>&1
check "no keys: exit 0" [ $? -eq 0 ]
check "no keys: not checked" grep -q '^balance: not checked (no Kling API keys' "$T/nokeys.txt"

# ---- 3. a pack that says more than it has runs out mid-batch ----
kling_start "$T/m3" --gen-time 0.3 --max-concurrent 1 --balance 2 --pack-lag 20 || exit 99
kling_config "$T/c3.ini" 'max_concurrent = 1'
expect_status 4 "the pack runs out mid-batch: the rest held" \
    quietly "$T/o3.out" "$VBATCH" generate "$T/jobs.csv" --config "$T/c3.ini" --output "$T/o3"
kling_stats "$T/s3.json"
check "two made (1 unit each at the mock), then 1102" pyjson "$T/s3.json" 'd["tasks_created"] == 2 and d["rejected"].get("1102", 0) >= 1'
check "credit exhaustion reported" grep -qi "credit" "$T/o3.out"
check "units per passed clip in the summary" grep -q "units      2 spent on 2 generated items: 1 a passed clip (2 passed; failed generations included)" "$T/o3.out"
check "... and in batch_report.json" pyjson "$T/o3/summary/batch_report.json" 'd["counts"]["units_spent"] == 2 and d["counts"]["units_per_passed_clip"] == 1'
ID3=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$T/o3/summary/batch_report.json")
kling_ctl config '{"balance": 100, "pack_lag": 0}' >/dev/null
expect_status 0 "resume once units are added" \
    quietly "$T/o3r.out" "$VBATCH" resume --job-id "$ID3" --output "$T/o3"
kling_stats "$T/s3r.json"
check "resume: all four made, nothing paid twice" pyjson "$T/s3r.json" 'd["tasks_created"] == 4 and d["duplicate_creates"] == 0 and max(d["tasks_per_external_id"].values()) == 1'
check "resume: the balance read again first" pyjson "$T/s3r.json" 'd["account_costs"] == 2'
kling_stop

# ---- 4. a retry's earlier attempts are counted in the units spent ----
# Both tasks outlast task_timeout (made, so owed as estimated: 2 units
# each by the table); the retry makes them anew at 1 unit each (the
# mock's price): 2 x (2 + 1) units for 2 passed clips.
printf 'id,prompt\na,a kite\nb,a boat\n' > "$T/jobs4.csv"
kling_start "$T/m4" --gen-time 30 || exit 99
kling_config "$T/c4.ini"
sed -i 's/^task_timeout = 60$/task_timeout = 1/' "$T/c4.ini"
expect_status 3 "both outlast their deadline" \
    quietly "$T/o4.out" "$VBATCH" generate "$T/jobs4.csv" --config "$T/c4.ini" --output "$T/o4"
check "the timed-out attempts counted as estimated" pyjson "$T/o4/summary/batch_report.json" 'd["counts"]["units_spent"] == 4 and d["counts"]["units_per_passed_clip"] is None'
ID4=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$T/o4/summary/batch_report.json")
kling_ctl config '{"gen_time": 0.3}' >/dev/null
expect_status 0 "retry: made again, in time" \
    quietly "$T/o4r.out" "$VBATCH" retry --job-id "$ID4" --output "$T/o4"
kling_stats "$T/s4r.json"
check "retry: each made twice, once per attempt" pyjson "$T/s4r.json" 'd["tasks_created"] == 4'
check "retry: the units of every attempt" pyjson "$T/o4/summary/batch_report.json" 'd["counts"]["units_spent"] == 6 and d["counts"]["units_per_passed_clip"] == 3'
check "retry: per item too" pyjson "$T/o4/summary/batch_report.json" 'all(i["generation"]["units"] == 3 for i in d["items"])'
check "retry: in the summary" grep -q "units      6 spent on 2 generated items: 3 a passed clip" "$T/o4r.out"
kling_stop
finish
