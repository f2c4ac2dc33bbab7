#!/bin/sh
# [notify] url / --notify URL: a POST when the batch ends, checked by a
# local receiver (tests/lib/httpd.py's /hook): the JSON summary, the
# Standard Webhooks signature (verified here with Python's hmac), retries
# on a 503, a receiver that is down or a key file others can read never
# changing how the batch ends, and neither the secret nor the URL's path
# in the reports or the journal; the item messages of process, generate
# (the mock Kling server), resume and retry (--notify given again).
. "$TOP_SRCDIR/tests/lib/testlib.sh"

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
mkdir -p "$T/in" "$T/hooks"
ff -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=sample_rate=48000 -t 1 \
    -c:v libx264 -preset ultrafast -c:a aac -movflags +faststart "$T/in/clip.mp4"
httpd_start "$T/hooks"
trap httpd_stop EXIT
printf '[thumbnails]\nenabled = false\n' > "$T/base.ini"

# The key as Standard Webhooks libraries give it: whsec_ + base64.
KEY=notify-test-key-0123456789
SECRET="whsec_$(printf '%s' "$KEY" | base64)"
export VBATCH_NOTIFY_SECRET="$SECRET"

# verify NAME EXIT: the delivery NAME.1 is signed with KEY over
# id.timestamp.body, fresh, and its body describes a batch that exited EXIT
verify() {
    "$PYTHON3" - "$T/hooks/$1.1" "$KEY" "$2" <<'EOF'
import base64, hashlib, hmac, json, sys, time
base, key, want = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])
body = open(base + ".body", "rb").read()
h = dict(l.split(": ", 1) for l in open(base + ".headers").read().splitlines())
msg = ("%s.%s." % (h["webhook-id"], h["webhook-timestamp"])).encode() + body
sig = "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
assert h["webhook-signature"] == sig, ("signature", h["webhook-signature"], sig)
assert abs(int(h["webhook-timestamp"]) - time.time()) < 300
assert h["content-type"] == "application/json"
d = json.loads(body)
assert d["type"] == "batch.completed", d
assert d["data"]["exit_status"] == want, d
assert d["data"]["counts"]["total"] == 1, d
assert d["data"]["report"].endswith("summary/batch_report.json"), d
EOF
}

"$VBATCH" process "$T/in" --config "$T/base.ini" --output "$T/out" --quiet \
    --notify "$HTTPD_URL/hook/done"
rc=$?
check "the batch passes (exit $rc)" [ $rc -eq 0 ]
check "one delivery" [ -s "$T/hooks/done.1.body" ] && [ ! -e "$T/hooks/done.2.body" ]
check "signed over id.timestamp.body, the summary of a batch that exited 0" verify done 0
pyjson "$T/hooks/done.1.body" 'd["data"]["counts"]["passed"] == 1 and d["data"]["status"] == "done"' ||
    fail "the summary counts the item passed"
check "neither the secret nor the key in OUT" [ -z "$(grep -rlaF -e "$KEY" -e "${SECRET#whsec_}" "$T/out")" ]
check "the URL's path not in OUT (a webhook URL is a secret)" [ -z "$(grep -rla 'hook/done' "$T/out")" ]
pyjson "$T/out/summary/batch_report.json" 'd["config"]["notify"]["url"] == "'"$HTTPD_URL"'/..."' ||
    fail "the report shows the URL's scheme and host only"
"$PYTHON3" -c "
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(\"SELECT value FROM meta WHERE key LIKE 'notify %'\").fetchall()
sys.exit(0 if [r[0] for r in rows] == ['delivered (HTTP 200) after 1 attempt'] else 1)" "$T/out/.vbatch/state.db" ||
    fail "the journal records the delivery"

# The webhook settings change no result: a second run skips the clip as
# unchanged; the receiver answers 503 twice, the third attempt lands.
"$VBATCH" process "$T/in" --config "$T/base.ini" --output "$T/out" --quiet \
    --notify "$HTTPD_URL/hook-flaky/2/again"
check "second run: exit 0" [ $? -eq 0 ]
check "503, 503, then delivered" [ -s "$T/hooks/again.1.body" ]
pyjson "$T/hooks/again.1.body" 'd["data"]["counts"]["skipped"] == 1' ||
    fail "second run: the clip skipped as unchanged (the webhook is not a result setting)"
"$PYTHON3" -c "
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(\"SELECT value FROM meta WHERE key LIKE 'notify %'\").fetchall()
sys.exit(0 if 'delivered (HTTP 200) after 3 attempts' in [r[0] for r in rows] else 1)" "$T/out/.vbatch/state.db" ||
    fail "the journal records the three attempts"

# [notify] items: a message per item as its result is recorded, signed
# like the batch's, then the batch's, last, counting them. Three clips
# and a file that is not media (exit 3); the URL carries a token that
# must stay out of every output.
mkdir -p "$T/in4"
for n in a b c; do cp "$T/in/clip.mp4" "$T/in4/$n.mp4"; done
echo 'not a video' > "$T/in4/bad.mp4"
printf '[notify]\nitems = true\n' > "$T/items.ini"
TOKEN=NotifyToken4242
# verify_items NAME EXIT STATUSES: NAME.1 .. NAME.N are one item.completed
# per item (statuses: {file name: status}), each signed, each with its
# own webhook-id "<batch>-<run>-<seq>"; NAME.N+1 is the batch's, with
# exit status EXIT and the items counted delivered; nothing after it.
verify_items() {
    "$PYTHON3" - "$T/hooks/$1" "$KEY" "$2" "$3" <<'EOF2'
import base64, hashlib, hmac, json, os, sys
base, key, want, statuses = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), json.loads(sys.argv[4])
n = len(statuses)
msgs = []
for k in range(1, n + 3):
    if not os.path.exists("%s.%d.body" % (base, k)):
        break
    body = open("%s.%d.body" % (base, k), "rb").read()
    h = dict(l.split(": ", 1) for l in open("%s.%d.headers" % (base, k)).read().splitlines())
    msg = ("%s.%s." % (h["webhook-id"], h["webhook-timestamp"])).encode() + body
    sig = "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
    assert h["webhook-signature"] == sig, ("signature", k)
    msgs.append((h["webhook-id"], json.loads(body)))
assert len(msgs) == n + 1, ("deliveries", len(msgs), n + 1)
items, last = msgs[:-1], msgs[-1][1]
assert all(d["type"] == "item.completed" for _, d in items), [d["type"] for _, d in items]
assert last["type"] == "batch.completed", last
bid = last["data"]["batch_id"]
ids = [i for i, _ in items]
assert len(set(ids)) == n, ("ids not distinct", ids)
for i, d in items:
    d = d["data"]
    assert d["batch_id"] == bid, d
    assert i.startswith(bid + "-") and i.endswith("-%d" % d["seq"]), (i, d["seq"])
    assert d["source"].startswith("/") or "/" in d["source"], d
got = {os.path.basename(d["data"]["source"]): d["data"]["status"] for _, d in items}
assert got == statuses, (got, statuses)
for _, d in items:
    d = d["data"]
    if d["status"] == "failed":
        assert d["error_stage"] == "probe" and d["error"], d
    else:
        assert "error" not in d and d["folder"], d
assert sorted(d["data"]["seq"] for _, d in items) == list(range(1, n + 1)), items
assert last["data"]["exit_status"] == want, last
assert last["data"]["items"] == {"delivered": n, "failed": 0, "dropped": 0}, last["data"]
EOF2
}
ST='{"a.mp4": "done", "b.mp4": "done", "c.mp4": "done", "bad.mp4": "failed"}'
"$VBATCH" process "$T/in4" --config "$T/base.ini" --config "$T/items.ini" --output "$T/out4" \
    --verbose --notify "$HTTPD_URL/hook/items?token=$TOKEN" > "$T/items.out" 2> "$T/items.err"
rc=$?
check "items: the batch ends as without them (exit $rc)" [ $rc -eq 3 ]
check "items: one signed item.completed per item with its status, then batch.completed counting them" \
    verify_items items 3 "$ST"
"$PYTHON3" -c "
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(\"SELECT value FROM meta WHERE key LIKE 'notify-items %'\").fetchall()
sys.exit(0 if [r[0] for r in rows] == ['4 delivered, 0 failed, 0 dropped'] else 1)" "$T/out4/.vbatch/state.db" ||
    fail "items: the journal notes how the item messages went"
pyjson "$T/out4/summary/batch_report.json" 'd["config"]["notify"]["items"] is True' ||
    fail "items: the report shows [notify] items"
check "items: neither key, token nor the URL's path in OUT, stdout or stderr" \
    [ -z "$(grep -rlaF -e "$KEY" -e "${SECRET#whsec_}" -e "$TOKEN" -e "hook/items" \
           "$T/out4" "$T/items.out" "$T/items.err")" ]

# A receiver that answers 500 three times, then 200: the messages that
# got a 500 are sent again under the same webhook-id, each delivered once.
"$VBATCH" process "$T/in4" --config "$T/base.ini" --output "$T/out5" --quiet \
    --notify "$HTTPD_URL/hook-fail/3/500/flaky" --notify-items
check "500 x3: exit 3 all the same" [ $? -eq 3 ]
check "500 x3: retried, every webhook-id delivered once, batch.completed last" \
    verify_items flaky 3 "$ST"
"$VBATCH" process "$T/in4" -o "$T/o6" --notify-items 2> /dev/null
check "--notify-items without a URL: usage, exit 2" [ $? -eq 2 ]

# generate, resume and retry send theirs through the same engine: against
# the mock Kling server, one signed item.completed per job (its source
# kling:ID), then the batch's message counting them. The journal keeps the
# webhook's host only: resume and retry send to it when given --notify
# again, and none (saying so) otherwise.
if command -v "$PYTHON3" >/dev/null 2>&1; then
. "$TOP_SRCDIR/tests/lib/kling.sh"
export KLING_ACCESS_KEY=test-access-key-AK7Q
export KLING_SECRET_KEY=test-secret-key-SK9Z
trap 'httpd_stop; kling_stop' EXIT
# verify_gen NAME N LAST EXIT STATUSES: NAME.1 .. NAME.N are one signed
# item.completed per job (statuses: {source: status}, distinct
# webhook-ids "<batch>-<run>-<seq>"), NAME.N+1 the batch's (type LAST,
# exit status EXIT, the N items counted delivered); nothing after it.
verify_gen() {
    "$PYTHON3" - "$T/hooks/$1" "$KEY" "$2" "$3" "$4" "$5" <<'EOF3'
import base64, hashlib, hmac, json, os, sys
base, key, n, last_type, want = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3]), sys.argv[4], int(sys.argv[5])
statuses = json.loads(sys.argv[6])
msgs = []
for k in range(1, n + 3):
    if not os.path.exists("%s.%d.body" % (base, k)):
        break
    body = open("%s.%d.body" % (base, k), "rb").read()
    h = dict(l.split(": ", 1) for l in open("%s.%d.headers" % (base, k)).read().splitlines())
    msg = ("%s.%s." % (h["webhook-id"], h["webhook-timestamp"])).encode() + body
    sig = "v1," + base64.b64encode(hmac.new(key, msg, hashlib.sha256).digest()).decode()
    assert h["webhook-signature"] == sig, ("signature", k)
    msgs.append((h["webhook-id"], json.loads(body)))
assert len(msgs) == n + 1, ("deliveries", len(msgs), n + 1)
items, last = msgs[:-1], msgs[-1][1]
assert all(d["type"] == "item.completed" for _, d in items), [d["type"] for _, d in items]
assert last["type"] == last_type, last
bid = last["data"]["batch_id"]
assert len({i for i, _ in items}) == n, items
for i, d in items:
    d = d["data"]
    assert d["batch_id"] == bid and i.startswith(bid + "-") and i.endswith("-%d" % d["seq"]), (i, d)
    if d["status"] == "failed":
        assert d["error_stage"] == "generate" and d["error"], d
    else:
        assert "error" not in d and d["folder"], d
got = {d["data"]["source"]: d["data"]["status"] for _, d in items}
assert got == statuses, (got, statuses)
assert last["data"]["exit_status"] == want, last
assert last["data"]["counts"]["total"] == 3, last["data"]
assert last["data"]["items"] == {"delivered": n, "failed": 0, "dropped": 0}, last["data"]
print(bid)
EOF3
}
kling_start "$T/mock" --gen-time 0.3 --max-concurrent 3 || exit 99
printf 'id,prompt,duration\ng1,A kite,5\ng2,A boat FAILTASK,5\ng3,A gull,5\n' > "$T/jobs.csv"
kling_config "$T/gen.ini" '[notify]' "url = $HTTPD_URL/hook/gen" 'items = true' \
    '[thumbnails]' 'enabled = false'
"$VBATCH" generate "$T/jobs.csv" --config "$T/gen.ini" --output "$T/og" --quiet 2> "$T/og.err"
check "generate: exit 3 (one generation fails)" [ $? -eq 3 ]
check "generate: one signed item.completed per job, then batch.completed counting them" \
    verify_gen gen 3 batch.completed 3 \
    '{"kling:g1": "done", "kling:g2": "failed", "kling:g3": "done"}'
ID=$(verify_gen gen 3 batch.completed 3 '{"kling:g1": "done", "kling:g2": "failed", "kling:g3": "done"}')
check "generate: no warning about the webhooks" [ ! -s "$T/og.err" ]
# retry: the failed job submitted again (and failing again).
"$VBATCH" retry --job-id "$ID" --output "$T/og" --quiet --notify "$HTTPD_URL/hook/genretry"
check "retry: exit 3 (it fails again)" [ $? -eq 3 ]
check "retry: its item.completed, then batch.completed" \
    verify_gen genretry 1 batch.completed 3 '{"kling:g2": "failed"}'
check "retry: another webhook-id than the first run's for the item" \
    [ "$(sed -n 's/^webhook-id: //p' "$T/hooks/genretry.1.headers")" != \
      "$(sed -n 's/^webhook-id: //p' "$T/hooks/gen.2.headers")" ]
"$VBATCH" retry --job-id "$ID" --output "$T/og" --notify-items 2> "$T/retry.err"
check "retry --notify-items without --notify: usage, exit 2" [ $? -eq 2 ]
# resume of a batch stopped at the budget (1 unit a job): without
# --notify none is sent and a note says so; with it, the jobs it makes.
kling_config "$T/bud.ini" '[notify]' "url = $HTTPD_URL/hook/bud" 'items = true' \
    '[thumbnails]' 'enabled = false' '[generate]' 'budget = 2'
printf 'id,prompt,duration\nb1,A kite,5\nb2,A boat,5\nb3,A gull,5\n' > "$T/bud.csv"
"$VBATCH" generate "$T/bud.csv" --config "$T/bud.ini" --output "$T/ob" --quiet 2> /dev/null
check "budget: exit 4, the rest pending" [ $? -eq 4 ]
BID=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$T/ob/summary/batch_report.json")
n_before=$(ls "$T/hooks" | wc -l)
"$VBATCH" resume --job-id "$BID" --output "$T/ob" --budget 3 > /dev/null 2> "$T/res1.err"
check "resume without --notify: exit 4 (the budget again)" [ $? -eq 4 ]
check "... none sent" [ "$(ls "$T/hooks" | wc -l)" -eq "$n_before" ]
check "... a note says why" grep -q "recorded as $HTTPD_URL/\.\.\. only.*--notify URL" "$T/res1.err"
# Which job the budget left is the scheduler's (b3 mostly, b2 under ASan).
LEFT=$("$PYTHON3" -c 'import json,sys; done = {i["source"] for i in json.load(open(sys.argv[1]))["items"] if i["status"] == "done"}; print(" ".join(sorted({"kling:b1", "kling:b2", "kling:b3"} - done)))' "$T/ob/summary/batch_report.json")
"$VBATCH" resume --job-id "$BID" --output "$T/ob" --budget 0 --quiet \
    --notify "$HTTPD_URL/hook/resumed" 2> "$T/res2.err"
check "resume --notify: exit 0" [ $? -eq 0 ]
check "resume --notify: the last job's item.completed, then batch.completed ($LEFT)" \
    verify_gen resumed 1 batch.completed 0 "{\"$LEFT\": \"done\"}"
kling_stats "$T/mock.json"
check "nothing paid twice but the retried job" pyjson "$T/mock.json" \
    'd["tasks_created"] == 7 and max(d["tasks_per_external_id"].values()) == 1'
kling_stop
fi

# A receiver that is down, and a key file others can read: warned, the
# batch ends as it would have.
httpd_stop
printf '[notify]\nattempts = 2\ntimeout = 2\n' > "$T/down.ini"
"$VBATCH" process "$T/in" --config "$T/base.ini" --config "$T/down.ini" --output "$T/out2" \
    --notify "$HTTPD_URL/hook/gone" 2> "$T/down.err"
check "receiver down: exit 0 all the same" [ $? -eq 0 ]
check "receiver down: a warning says so" grep -q "webhook.*not delivered.*2 attempts" "$T/down.err"
# Item messages to a receiver that is down, and to one that takes the
# connection and never answers: the exit status unchanged, one warning
# for them all, and the batch over within the bound (each message's
# attempts x timeout and backoff: 2 x 2 + 1 s here, 1 + 1 + 1 s below).
t0=$(date +%s)
"$VBATCH" process "$T/in4" --config "$T/base.ini" --config "$T/down.ini" --output "$T/out7" \
    --notify "$HTTPD_URL/hook/gone" --notify-items 2> "$T/down7.err"
rc=$?
t1=$(date +%s)
check "items, receiver down: exit 3 all the same" [ $rc -eq 3 ]
check "items, receiver down: over in $((t1 - t0)) s (bounded)" [ $((t1 - t0)) -le 15 ]
check "items, receiver down: one warning for the four" \
    [ "$(grep -c 'webhooks of \[notify\] items: 0 delivered, 4 failed, 0 dropped' "$T/down7.err")" -eq 1 ]
"$PYTHON3" -c "
import os, socket, sys, time
s = socket.socket()
s.bind(('127.0.0.1', 0))
s.listen(64)
open(sys.argv[1] + '.part', 'w').write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + '.part', sys.argv[1])
time.sleep(120)" "$T/hole.port" &
HOLE=$!
trap 'httpd_stop; kill $HOLE 2>/dev/null' EXIT
i=0
while [ ! -s "$T/hole.port" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
printf '[notify]\nattempts = 2\ntimeout = 1\nitems = true\n' > "$T/hole.ini"
t0=$(date +%s)
"$VBATCH" process "$T/in4" --config "$T/base.ini" --config "$T/hole.ini" --output "$T/out8" \
    --notify "http://127.0.0.1:$(cat "$T/hole.port")/hook/hole-$TOKEN" 2> "$T/hole.err"
rc=$?
t1=$(date +%s)
kill $HOLE 2>/dev/null
check "items, receiver silent: exit 3 all the same" [ $rc -eq 3 ]
check "items, receiver silent: over in $((t1 - t0)) s (bounded)" [ $((t1 - t0)) -le 15 ]
check "items, receiver silent: the four given up, one warning" \
    [ "$(grep -c 'webhooks of \[notify\] items: 0 delivered, 4 failed, 0 dropped' "$T/hole.err")" -eq 1 ]
check "items, receiver silent: the URL's path not in the messages or OUT" \
    [ -z "$(grep -rlaF -e "$TOKEN" "$T/hole.err" "$T/down7.err" "$T/out7" "$T/out8")" ]
unset VBATCH_NOTIFY_SECRET
printf '%s\n' "$SECRET" > "$T/hook.key"
chmod 644 "$T/hook.key"
printf '[notify]\nkey_file = %s\n' "$T/hook.key" > "$T/keyfile.ini"
"$VBATCH" process "$T/in" --config "$T/base.ini" --config "$T/keyfile.ini" --output "$T/out3" \
    --notify "$HTTPD_URL/hook/x" 2> "$T/key.err"
check "key file mode 644: exit 0 all the same" [ $? -eq 0 ]
check "key file mode 644: not sent, the warning names the mode" grep -q "mode 0644 lets others read it" "$T/key.err"
check "key file mode 644: the key not in the message" [ -z "$(grep -F "${SECRET#whsec_}" "$T/key.err")" ]
"$VBATCH" process "$T/in" --notify ftp://x -o "$T/o4" 2> /dev/null
check "--notify refuses a non-http URL (usage, exit 2)" [ $? -eq 2 ]

finish
