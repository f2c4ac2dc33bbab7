#!/bin/sh
# generate-fal.sh - `vbatch generate --provider fal` against the mock fal
# queue (tests/lib/mock_fal.py): a dry run (nothing sent, fields the model
# does not read refused), a normal batch through the queue (positions,
# IN_PROGRESS, the result call, local images as data URIs), a create whose
# answer is lost (reported unknown, never sent again), 429s and 5xx, failed
# requests, kill -9 then resume, and the queued requests cancelled on an
# interrupt. Creates are counted per job (prompt): nothing is paid twice.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
KLING_MOCK=$TOP_SRCDIR/tests/lib/mock_fal.py
. "$TOP_SRCDIR/tests/lib/kling.sh"
need_tool "$PYTHON3"
need_tool vips

export FAL_KEY=test-fal-key-FK3X9
unset KLING_API_KEY KLING_ACCESS_KEY KLING_SECRET_KEY
trap 'kling_stop' EXIT

# config FILE [LINES...]: the mock's base_url, quick polls.
config() {
    _cf=$1; shift
    printf '%s\n' '[generate]' 'provider = fal' 'poll_interval = 0.3' 'task_timeout = 60' \
        'max_concurrent = 4' 'rpm = 600' '[provider.fal]' "base_url = $KLING_URL" \
        'request_timeout = 5' "$@" >"$_cf"
}
# paid_once STATS: no prompt made more than one request that was not cancelled
paid_once() { pyjson "$1" 'max(d["paid_per_prompt"].values() or [0]) <= 1 and not d["ignored_fields"]'; }
quietly() { _qf=$1; shift; "$@" >"$_qf" 2>&1; }
# items OUT: the batch report's items by id
status_of() {
    "$PYTHON3" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join("%s=%s" % (i["generation"]["id"], i["status"]) for i in d["items"]))' "$1/summary/batch_report.json"
}

vips black "$T/still.png" 1280 720 --bands 3 || exit 99
I2V=fal-ai/kling-video/v2.6/pro/image-to-video
T2V=fal-ai/kling-video/v2.6/pro/text-to-video

# ---- 1. dry run: the plan, nothing sent; fields the model lacks refused ----
kling_start "$T/m1" --runners 1 --gen-time 0.5 || exit 99
config "$T/c1.ini"
cat >"$T/jobs1.csv" <<EOF
id,prompt,model,image,duration,aspect_ratio
still,A cat stretches,,$T/still.png,5,
wide,A kite over the sea,$T2V,,10,16:9
EOF
expect_status 0 "dry run" quietly "$T/d1.out" "$VBATCH" generate "$T/jobs1.csv" --config "$T/c1.ini" --output "$T/o0" --dry-run
check "dry run: the cost in USD" grep -q "estimated cost: 2.1 USD" "$T/d1.out"
check "dry run: the default model is [provider.fal] model" grep -q "fal-ai/kling" "$T/d1.out"
cat >"$T/bad1.csv" <<EOF
id,prompt,model,image,image_tail,cfg_scale
tail,A,,$T/still.png,$T/still.png,
cfg,B,,$T/still.png,,0.5
t2v-img,C,$T2V,$T/still.png,,
i2v-noimg,D,,,,
unknown,E,fal-ai/some/other-model,$T/still.png,,
EOF
expect_status 2 "fields a model does not read are refused" \
    quietly "$T/d1b.out" "$VBATCH" generate "$T/bad1.csv" --config "$T/c1.ini" --output "$T/o0"
check "refusals name the field" sh -c "grep -q 'image_tail:' '$T/d1b.out' && grep -q 'cfg_scale:' '$T/d1b.out' && grep -q 'text-to-video' '$T/d1b.out' && grep -q 'needs an image' '$T/d1b.out' && grep -q 'not in vbatch' '$T/d1b.out'"
kling_stats "$T/s1.json"
check "dry run and refusals sent nothing" pyjson "$T/s1.json" 'd["creates"] == 0 and not d["requests"]'

# ---- 2. a normal batch: queue positions, the result call, data URIs ----
cat >"$T/jobs2.csv" <<EOF
id,prompt,model,image,duration,aspect_ratio,negative_prompt
a,A cat stretches,,$T/still.png,5,,
b,A dog runs,,still.png,10,,blur
c,A kite over the sea,$T2V,,5,9:16,
d,A boat at dawn,$T2V,,5,,
EOF
expect_status 0 "a normal batch" \
    quietly "$T/o2.out" "$VBATCH" generate "$T/jobs2.csv" --config "$T/c1.ini" --output "$T/o2" --verbose
kling_stats "$T/s2.json"
check "four requests" pyjson "$T/s2.json" 'd["creates"] == 4'
check "each once, no field ignored" paid_once "$T/s2.json"
check "the queue was used (one runner)" pyjson "$T/s2.json" 'd["requests"]["status"] >= 4 and d["requests"]["result"] == 4'
check "all four checked" pyjson "$T/o2/summary/batch_report.json" 'len(d["items"]) == 4 and all(i["status"] in ("done", "qc_failed") for i in d["items"])'
check "request ids kept" pyjson "$T/o2/summary/batch_report.json" 'all(i["generation"]["task_id"] and i["generation"]["provider"] == "fal" for i in d["items"])'
check "the key is nowhere in OUT or the output" sh -c "! grep -r -a -l -e '$FAL_KEY' '$T/o2' '$T/o2.out'"
check "no bad authorization" pyjson "$T/s2.json" 'd["bad_auth"] == 0'
kling_stop

# ---- 3. a create whose answer is lost: unknown, never sent again ----
kling_start "$T/m3" --runners 2 --gen-time 0.3 --inject kind=lost,on=create,count=1,skip=1 || exit 99
config "$T/c3.ini"
printf 'id,prompt,model,duration\n' >"$T/jobs3.csv"
for i in 1 2 3 4; do printf 'j%s,Lighthouse number %s,%s,5\n' "$i" "$i" "$T2V" >>"$T/jobs3.csv"; done
expect_status 3 "a lost create answer: that job unknown, the others made" \
    quietly "$T/o3.out" "$VBATCH" generate "$T/jobs3.csv" --config "$T/c3.ini" --output "$T/o3"
kling_stats "$T/s3.json"
check "lost: four requests, one answer lost" pyjson "$T/s3.json" 'd["creates"] == 4 and d["injected"].get("lost") == 1'
check "lost: every request made once" paid_once "$T/s3.json"
check "lost: reported unknown, with what to do" pyjson "$T/o3/summary/batch_report.json" 'len([i for i in d["items"] if i["generation"]["status"] == "unknown" and "does not send it again" in i["error"] and "vbatch retry" in i["error"]]) == 1'
check "lost: the others done" pyjson "$T/o3/summary/batch_report.json" 'sum(1 for i in d["items"] if i["status"] in ("done", "qc_failed")) == 3'
ID3=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$T/o3/summary/batch_report.json")
quietly "$T/o3r.out" "$VBATCH" resume --job-id "$ID3" --output "$T/o3"
kling_stats "$T/s3r.json"
check "lost: a resume does not send it again" pyjson "$T/s3r.json" 'd["creates"] == 4'
# retry: the user's decision to send the unknown one again, that one only
expect_status 0 "lost: retry sends the unknown job again" \
    quietly "$T/o3t.out" "$VBATCH" retry --job-id "$ID3" --output "$T/o3"
kling_stats "$T/s3t.json"
check "lost: retry sent exactly that one" pyjson "$T/s3t.json" 'd["creates"] == 5 and sorted(d["creates_per_prompt"].values()) == [1, 1, 1, 2]'
check "lost: every item once, all made" pyjson "$T/o3/summary/batch_report.json" 'len(d["items"]) == 4 and all(i["status"] in ("done", "qc_failed") for i in d["items"])'
kling_stop

# ---- 4. 429 with Retry-After, 5xx and resets on the queue's calls ----
kling_start "$T/m4" --runners 3 --gen-time 0.3 --retry-after 1 \
    --inject kind=429,on=create,count=2 \
    --inject kind=500,on=status,count=2,skip=1 \
    --inject kind=429,on=status,count=1,skip=4 \
    --inject kind=reset,on=result,count=1 \
    --inject kind=500,on=result,count=1,skip=1 || exit 99
config "$T/c4.ini"
printf 'id,prompt,model,duration\n' >"$T/jobs4.csv"
for i in 1 2 3 4 5; do printf 'k%s,Harbour number %s,%s,5\n' "$i" "$i" "$T2V" >>"$T/jobs4.csv"; done
expect_status 0 "429s and 5xx: every job made" \
    quietly "$T/o4.out" "$VBATCH" generate "$T/jobs4.csv" --config "$T/c4.ini" --output "$T/o4"
kling_stats "$T/s4.json"
check "429s: five requests, the faults injected" pyjson "$T/s4.json" 'd["creates"] == 5 and sum(d["injected"].values()) == 7'
check "429s: each request once" paid_once "$T/s4.json"
kling_stop

# ---- 5. failed requests fail their job only ----
kling_start "$T/m5" --runners 3 --gen-time 0.3 || exit 99
config "$T/c5.ini"
cat >"$T/jobs5.csv" <<EOF
id,prompt,model,duration
bad,please FAILTASK,$T2V,5
worse,please FAILSTATUS,$T2V,5
fine,a fine one,$T2V,5
EOF
expect_status 3 "failed requests" \
    quietly "$T/o5.out" "$VBATCH" generate "$T/jobs5.csv" --config "$T/c5.ini" --output "$T/o5"
check "failed: the error is fal's" pyjson "$T/o5/summary/batch_report.json" '"FAILTASK" in d["items"][0]["error"] and "generation failed" in d["items"][1]["error"] and d["items"][2]["status"] in ("done", "qc_failed")'
kling_stats "$T/s5.json"
check "failed: never sent again" pyjson "$T/s5.json" 'd["creates"] == 3'
kling_stop

# ---- 6. kill -9 in the middle, then resume: creates counted per job ----
kling_start "$T/m6" --runners 2 --gen-time 1.0 || exit 99
config "$T/c6.ini"
printf 'id,prompt,model,duration\n' >"$T/jobs6.csv"
for i in 1 2 3 4 5 6 7 8 9 10; do printf 'n%s,Night shot %s,%s,5\n' "$i" "$i" "$T2V" >>"$T/jobs6.csv"; done
"$VBATCH" generate "$T/jobs6.csv" --config "$T/c6.ini" --output "$T/o6" --quiet >"$T/o6.out" 2>&1 &
VP=$!
n=0
while [ $n -lt 100 ]; do
    kling_stats "$T/s6a.json"
    pyjson "$T/s6a.json" 'd["creates"] >= 4' 2>/dev/null && break
    sleep 0.1
    n=$((n + 1))
done
kill -9 $VP 2>/dev/null
wait $VP 2>/dev/null
ID6=$("$VBATCH" status --output "$T/o6" --format json | "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["batches"][-1]["batch_id"])')
quietly "$T/o6r.out" "$VBATCH" resume --job-id "$ID6" --output "$T/o6"
kling_stats "$T/s6.json"
check "kill -9: no job sent twice" paid_once "$T/s6.json"
check "kill -9: every item once, made or unknown" pyjson "$T/o6/summary/batch_report.json" 'len(d["items"]) == 10 and len({i["seq"] for i in d["items"]}) == 10 and all(i["status"] in ("done", "qc_failed") or i["generation"]["status"] == "unknown" for i in d["items"])'
check "kill -9: a job made iff fal has it" pyjson "$T/s6.json" 'd["creates"] >= sum(1 for v in d["paid_per_prompt"].values())'
check "kill -9: no temporary file left" sh -c "! find '$T/o6' -name '*.vbtmp*' | grep -q ."
kling_stop

# ---- 7. an interrupt cancels the requests still in fal's queue ----
kling_start "$T/m7" --runners 1 --gen-time 3 || exit 99
config "$T/c7.ini"
printf 'id,prompt,model,duration\n' >"$T/jobs7.csv"
for i in 1 2 3 4; do printf 'q%s,Queued shot %s,%s,5\n' "$i" "$i" "$T2V" >>"$T/jobs7.csv"; done
"$PYTHON3" - "$VBATCH" "$T/jobs7.csv" "$T/c7.ini" "$T/o7" >"$T/rc7" 2>"$T/e7" <<'PY'
import signal, subprocess, sys, time
vbatch, jobs, ini, out = sys.argv[1:5]
p = subprocess.Popen([vbatch, "generate", jobs, "--config", ini, "--output", out],
                     stdout=subprocess.DEVNULL)
time.sleep(1.5)
p.send_signal(signal.SIGINT)
print(p.wait())
PY
check "interrupt: exit 4" [ "$(cat "$T/rc7")" = 4 ]
kling_stats "$T/s7a.json"
check "interrupt: the queued requests cancelled" pyjson "$T/s7a.json" 'd["creates"] == 4 and d["cancelled"] == 3'
ID7=$("$VBATCH" status --output "$T/o7" --format json | "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["batches"][-1]["batch_id"])')
expect_status 0 "resume after the interrupt" \
    quietly "$T/o7r.out" "$VBATCH" resume --job-id "$ID7" --output "$T/o7"
kling_stats "$T/s7.json"
check "resume: the cancelled ones made anew" pyjson "$T/s7.json" 'd["creates"] == 7'
check "resume: nothing paid twice" paid_once "$T/s7.json"
check "resume: all four made" pyjson "$T/o7/summary/batch_report.json" 'len(d["items"]) == 4 and all(i["status"] in ("done", "qc_failed") for i in d["items"])'
kling_stop

# ---- 7b. a create answered after the interrupt's cancels went: cancelled too ----
kling_start "$T/m7b" --runners 1 --gen-time 5 --inject kind=slow,on=create,skip=1,count=1 \
    --slow-time 2 || exit 99
config "$T/c7b.ini"
printf 'id,prompt,model,duration\nf1,First shot,%s,5\nf2,Answered late,%s,5\n' "$T2V" "$T2V" >"$T/jobs7b.csv"
"$PYTHON3" - "$VBATCH" "$T/jobs7b.csv" "$T/c7b.ini" "$T/o7b" >"$T/rc7b" 2>"$T/e7b" <<'PY'
import signal, subprocess, sys, time
vbatch, jobs, ini, out = sys.argv[1:5]
p = subprocess.Popen([vbatch, "generate", jobs, "--config", ini, "--output", out],
                     stdout=subprocess.DEVNULL)
time.sleep(1)
p.send_signal(signal.SIGINT)
print(p.wait())
PY
check "late answer: exit 4" [ "$(cat "$T/rc7b")" = 4 ]
kling_stats "$T/s7b.json"
check "late answer: its request cancelled too" pyjson "$T/s7b.json" 'd["creates"] == 2 and d["cancelled"] == 1 and d["injected"] == {"slow": 1}'
kling_stop

# ---- 8. no connection (refused) proves nothing was made: sent again ----
PORT8=$("$PYTHON3" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
KLING_URL=http://127.0.0.1:$PORT8
config "$T/c8.ini"
printf 'id,prompt,model,duration\nr1,Refused first,%s,5\nr2,Refused second,%s,5\n' "$T2V" "$T2V" >"$T/jobs8.csv"
"$VBATCH" generate "$T/jobs8.csv" --config "$T/c8.ini" --output "$T/o8" --verbose >"$T/o8.out" 2>&1 &
VP=$!
sleep 1.5
kling_start "$T/m8" --port "$PORT8" --runners 2 --gen-time 0.3 || exit 99
wait $VP
RC8=$?
check "refused connections: the run ends well (exit $RC8)" [ "$RC8" -eq 0 ]
kling_stats "$T/s8.json"
check "refused connections: both made, once each" pyjson "$T/s8.json" 'd["creates"] == 2 and max(d["paid_per_prompt"].values()) == 1'
check "refused connections: sent again" grep -q " [1-9][0-9]* retries" "$T/o8.out"
check "refused connections: nothing reported unknown" pyjson "$T/o8/summary/batch_report.json" 'all(i["status"] in ("done", "qc_failed") for i in d["items"])'
kling_stop

finish
