#!/bin/sh
# generate.sh - `vbatch generate` against the mock Kling server
# (tests/lib/mock_kling.py): a clean run (identical rows generated once,
# image-to-video, results.csv columns, secrets nowhere), faults on every
# call (1302, 1303, 429 + Retry-After, 5xx, resets, malformed JSON, slow
# replies, lost create answers, expired URLs, expired tokens) with nothing
# paid twice, content policy and failed tasks failing their job only, the
# local image refusal, credit exhaustion and the budget (pending, exit 4,
# resume), and kill -9 in the middle then resume.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/kling.sh"
need_tool "$PYTHON3"
need_tool vips

export KLING_ACCESS_KEY=test-access-key-AK7Q
export KLING_SECRET_KEY=test-secret-key-SK9Z
trap 'kling_stop' EXIT

# config FILE: base_url of the mock, quick polls, short timeouts.
config() { kling_config "$1" '[input]' 'download_retries = 3' 'download_backoff = 0.1'; }

# stats_ok STATS: nothing created twice, no duplicate create.
stats_ok() {
    pyjson "$1" 'max(d["tasks_per_external_id"].values() or [0]) <= 1 and d["duplicate_creates"] == 0 and d["creates_without_external_id"] == 0'
}

# once OUT N: every report lists N items, each once.
once() {
    pyjson "$1/summary/batch_report.json" "len(d['items']) == $2 and len({i['seq'] for i in d['items']}) == $2" &&
    "$PYTHON3" -c 'import csv,sys; r=list(csv.DictReader(open(sys.argv[1], newline=""))); sys.exit(0 if len(r) == int(sys.argv[2]) and len({x["seq"] for x in r}) == len(r) else 1)' "$1/summary/results.csv" "$2"
}
# quietly FILE CMD...: run CMD with its output in FILE
quietly() { _qf=$1; shift; "$@" >"$_qf" 2>&1; }

# ---- 1. a clean run ----
kling_start "$T/m1" --gen-time 0.5 --max-concurrent 3 || exit 99
config "$T/c1.ini"
vips black "$T/still.png" 1280 720 --bands 3 || exit 99
vips black "$T/small.png" 200 200 --bands 3 || exit 99
cat >"$T/jobs1.csv" <<EOF
id,prompt,duration,aspect_ratio,mode,image
cat,"A cat, on a ""red"" sofa",5,16:9,std,
cat-again,"A cat, on a ""red"" sofa",5,16:9,std,
multi,"line one
line two",10,9:16,pro,
still,Animate this,5,,std,$T/still.png
tiny,Animate this too,5,,std,$T/small.png
EOF
expect_status 3 "clean run (one image refused locally)" \
    quietly "$T/o1.out" "$VBATCH" generate "$T/jobs1.csv" --config "$T/c1.ini" --output "$T/o1" --verbose
kling_stats "$T/s1.json"
check "nothing paid twice" stats_ok "$T/s1.json"
check "identical rows generated once, tiny never sent" pyjson "$T/s1.json" 'd["tasks_created"] == 3 and d["creates"] == 3'
check "every item once in the reports" once "$T/o1" 5
check "items in row order" pyjson "$T/o1/summary/batch_report.json" '[i["generation"]["id"] for i in d["items"]] == ["cat","cat-again","multi","still","tiny"]'
check "generated items checked" pyjson "$T/o1/summary/batch_report.json" 'all(i["status"] in ("done","qc_failed") and i["video_codec"] == "h264" for i in d["items"][:4])'
check "duplicate costs nothing" pyjson "$T/o1/summary/batch_report.json" 'd["items"][1]["generation"]["units"] == 0 and d["items"][0]["generation"]["task_id"] == d["items"][1]["generation"]["task_id"]'
check "local image refused before submission" pyjson "$T/o1/summary/batch_report.json" 'd["items"][4]["status"] == "failed" and d["items"][4]["error_stage"] == "generate" and "300" in d["items"][4]["error"]'
check "results.csv has the generation columns" sh -c "head -1 '$T/o1/summary/results.csv' | grep -q 'generation.id.*generation.prompt.*generation.task_id.*generation.status.*generation.units'"
check "prompts with newlines and quotes survive" pyjson "$T/o1/summary/batch_report.json" 'd["items"][2]["generation"]["prompt"] == "line one\nline two" and "\"red\"" in d["items"][0]["generation"]["prompt"]'
check "video files in place" test -s "$T/o1/cat/video/cat.mp4" -a -s "$T/o1/cat-again/video/cat-again.mp4"
check "units spent in the summary" grep -q "units.*spent" "$T/o1.out"
check "no temporary file left" sh -c "! find '$T/o1' -name '*.vbtmp*' | grep -q ."
# Secrets: neither key nor any token in OUT or in the verbose output.
check "secrets absent from OUT and output" sh -c "! grep -r -a -l -e '$KLING_SECRET_KEY' -e 'Bearer' -e 'eyJhbGciOi' '$T/o1' '$T/o1.out'"
check "access key absent too" sh -c "! grep -r -a -l -e '$KLING_ACCESS_KEY' '$T/o1' '$T/o1.out'"
expect_status 0 "status of the generate batch" "$VBATCH" status --output "$T/o1" >/dev/null
# The refused image is replaced by a good one: retry submits that job only.
ID1=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$T/o1/summary/batch_report.json")
vips black "$T/small.png" 640 480 --bands 3 || exit 99
expect_status 0 "retry after the image was fixed" \
    quietly "$T/o1r.out" "$VBATCH" retry --job-id "$ID1" --output "$T/o1"
kling_stats "$T/s1r.json"
check "retry: one more task, nothing paid twice" pyjson "$T/s1r.json" 'd["tasks_created"] == 4 and d["duplicate_creates"] == 0'
check "retry: every item once" once "$T/o1" 5
check "retry: the fixed job is made" pyjson "$T/o1/summary/batch_report.json" 'd["items"][4]["status"] in ("done", "qc_failed") and d["items"][4]["generation"]["task_id"]'
kling_stop

# ---- 2. faults everywhere: every job still made exactly once ----
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
    --inject kind=1004,on=api,count=1,skip=11 || exit 99
config "$T/c2.ini"
kling_jobs_csv "$T/jobs2.csv" 8
expect_status 0 "faults: all jobs done" \
    quietly "$T/o2.out" "$VBATCH" generate "$T/jobs2.csv" --config "$T/c2.ini" --output "$T/o2" --preset default
kling_stats "$T/s2.json"
check "faults: nothing paid twice" stats_ok "$T/s2.json"
check "faults: 8 tasks" pyjson "$T/s2.json" 'd["tasks_created"] == 8'
check "faults: concurrency kept" pyjson "$T/s2.json" 'd["peak_concurrent"] <= 2'
check "faults: every item once" once "$T/o2" 8
check "faults: injected" pyjson "$T/s2.json" 'sum(d["injected"].values()) >= 10'
kling_stop

# ---- 3. policy, failed task, credit exhaustion, then resume ----
# --pack-lag: the packs say more than is left (Kling counts with a lag), so
# the run starts and runs out mid-batch
kling_start "$T/m3" --gen-time 0.3 --max-concurrent 3 --balance 3 --pack-lag 20 || exit 99
config "$T/c3.ini"
cat >"$T/jobs3.csv" <<EOF
id,prompt,mode,duration
bad,something FORBIDDEN,std,5
broken,please FAILTASK,std,5
a,first,std,5
b,second,std,5
c,third,std,5
d,fourth,std,5
EOF
expect_status 4 "no credit: the rest left pending" \
    quietly "$T/o3.out" "$VBATCH" generate "$T/jobs3.csv" --config "$T/c3.ini" --output "$T/o3"
check "credit exhaustion reported" grep -qi "credit" "$T/o3.out"
check "policy refusal fails that job" pyjson "$T/o3/summary/batch_report.json" '[i for i in d["items"] if i["generation"]["id"] == "bad"][0]["error"].find("1301") >= 0'
check "failed task fails that job" pyjson "$T/o3/summary/batch_report.json" '[i for i in d["items"] if i["generation"]["id"] == "broken"][0]["status"] == "failed"'
ID3=$(ls "$T/o3/summary" >/dev/null && "$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$T/o3/summary/batch_report.json")
kling_ctl config '{"balance": 100}' >/dev/null
expect_status 3 "resume after adding credit: its two failed jobs stay failed" \
    quietly "$T/o3r.out" "$VBATCH" resume --job-id "$ID3" --output "$T/o3"
kling_stats "$T/s3.json"
check "credit: nothing paid twice" stats_ok "$T/s3.json"
check "credit: every item once" once "$T/o3" 6
check "credit: all four made" pyjson "$T/o3/summary/batch_report.json" 'sum(1 for i in d["items"] if i["status"] in ("done","qc_failed")) == 4'
kling_stop

# ---- 4. the budget ----
kling_start "$T/m4" --gen-time 0.3 --max-concurrent 3 || exit 99
config "$T/c4.ini"
kling_jobs_csv "$T/jobs4.csv" 6
expect_status 4 "budget stops submissions" \
    quietly "$T/o4.out" "$VBATCH" generate "$T/jobs4.csv" --config "$T/c4.ini" --output "$T/o4" --budget 3
kling_stats "$T/s4.json"
check "budget respected" pyjson "$T/s4.json" 'd["units_spent"] <= 3'
check "budget reported" grep -q "budget" "$T/o4.out"
kling_stop

# ---- 5. kill -9 in the middle, then resume: nothing paid twice ----
kling_start "$T/m5" --gen-time 1.0 --max-concurrent 4 || exit 99
config "$T/c5.ini"
kling_jobs_csv "$T/jobs5.csv" 12
"$VBATCH" generate "$T/jobs5.csv" --config "$T/c5.ini" --output "$T/o5" --quiet \
    >"$T/o5.out" 2>&1 &
VP=$!
# Kill once some tasks exist and before all are made.
n=0
while [ $n -lt 100 ]; do
    kling_stats "$T/s5a.json"
    pyjson "$T/s5a.json" 'd["tasks_created"] >= 5' 2>/dev/null && break
    sleep 0.1
    n=$((n + 1))
done
kill -9 $VP 2>/dev/null
wait $VP 2>/dev/null
ID5=$("$VBATCH" status --output "$T/o5" --format json | "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["batches"][-1]["batch_id"])')
expect_status 0 "resume after kill -9" \
    quietly "$T/o5r.out" "$VBATCH" resume --job-id "$ID5" --output "$T/o5"
kling_stats "$T/s5.json"
check "kill -9: nothing paid twice" stats_ok "$T/s5.json"
check "kill -9: 12 tasks" pyjson "$T/s5.json" 'd["tasks_created"] == 12'
check "kill -9: every item once" once "$T/o5" 12
check "kill -9: no temporary file left" sh -c "! find '$T/o5' -name '*.vbtmp*' | grep -q ."
kling_stop

# ---- 6. images by URL (checked once downloaded), the per-task deadline,
# an injected 1303, and the checks with --deep --thumbnails ----
mkdir -p "$T/www"
vips black "$T/www/good.jpg" 960 540 --bands 3 || exit 99
vips black "$T/www/thin.jpg" 1200 300 --bands 3 || exit 99
trap 'kling_stop; httpd_stop' EXIT
httpd_start "$T/www"
WWW=$HTTPD_URL
kling_start "$T/m6" --gen-time 0.3 --max-concurrent 3 --inject kind=1303,on=create,count=1 || exit 99
config "$T/c6.ini"
sed -i 's/^task_timeout = 60$/task_timeout = 2/' "$T/c6.ini"
cat >"$T/jobs6.csv" <<EOF
id,prompt,image
web,Animate the web image,$WWW/good.jpg
thin,Animate the thin one,$WWW/thin.jpg
slow,"takes too long GENTIME=30",
plain,a plain one,
EOF
expect_status 3 "URL images, deadline, 1303" \
    quietly "$T/o6.out" "$VBATCH" generate "$T/jobs6.csv" --config "$T/c6.ini" --output "$T/o6" --deep --thumbnails
kling_stats "$T/s6.json"
check "1303: nothing paid twice" stats_ok "$T/s6.json"
check "URL image downloaded and submitted" pyjson "$T/o6/summary/batch_report.json" 'd["items"][0]["status"] in ("done", "qc_failed") and d["items"][0]["generation"]["task_id"]'
check "URL image kept in the item folder" test -s "$T/o6/web/input/good.jpg"
check "URL image refused after download, never sent" pyjson "$T/o6/summary/batch_report.json" 'd["items"][1]["status"] == "failed" and "refused before submission" in d["items"][1]["error"]'
check "the per-task deadline ends a stuck task" pyjson "$T/o6/summary/batch_report.json" 'd["items"][2]["status"] == "failed" and "task_timeout" in d["items"][2]["error"]'
check "only three tasks created" pyjson "$T/s6.json" 'd["tasks_created"] == 3'
check "analysed and thumbnailed" pyjson "$T/o6/summary/batch_report.json" 'd["items"][3]["analysis"]["done"] and d["items"][3]["thumbnails"] > 0'
check "contact sheet made" test -s "$T/o6/plain/contact.jpg"
kling_stop
httpd_stop

finish
