#!/bin/sh
# The mock Kling server (tests/lib/mock_kling.py) is faithful enough to
# test vbatch generate against: JWT checks (missing, bad signature,
# expired, not yet valid, a token made by jwt.c), the task state machine,
# real MP4s behind expiring URLs, the limits (1303, 1302, 1102), parameter
# and content errors, duplicate external ids, a lost create answer found
# again by its external id, every injected fault, stats, and SIGTERM.
# The key file rules of jwt.c are checked through tests/unit/kling-token.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/kling.sh"

TOKEN=$(dirname "$VBATCH")/tests/unit/kling-token
[ -x "$TOKEN" ] || { echo "no $TOKEN (make check builds it)" >&2; exit 99; }

KLING_ACCESS_KEY=mock-test-ak
KLING_SECRET_KEY=mock-test-SECRET-sk
export KLING_ACCESS_KEY KLING_SECRET_KEY
trap 'kling_stop' EXIT

kling_start "$T" --gen-time 0.8 --submit-time 0.4 --url-ttl 0.5 --max-concurrent 2 ||
    { echo "mock server did not start" >&2; exit 99; }
check "the port is printed on stdout" [ "$(head -n 1 "$T/mock.out")" = "$KLING_PORT" ]

# Tokens made in C: from the environment, and from a key file (env unset)
"$TOKEN" > "$T/token-env" 2>"$T/token-env.err"
check "kling-token with the environment's keys" [ -s "$T/token-env" ]
"$TOKEN" "" 1000000000 > "$T/token-old" || fail "kling-token with an old clock"
printf '# test keys\naccess_key = %s\nsecret_key = "%s"\n' "$KLING_ACCESS_KEY" "$KLING_SECRET_KEY" \
    > "$T/keys.ini"
chmod 600 "$T/keys.ini"
env -u KLING_ACCESS_KEY -u KLING_SECRET_KEY "$TOKEN" "$T/keys.ini" > "$T/token-file" ||
    fail "kling-token with a private key file"
chmod 644 "$T/keys.ini"
env -u KLING_ACCESS_KEY -u KLING_SECRET_KEY "$TOKEN" "$T/keys.ini" > "$T/token-open" 2>"$T/token-open.err"
check "a key file readable by others is refused" [ $? -eq 2 ]
check "no token from a key file readable by others" [ ! -s "$T/token-open" ]
check "the refusal says how to fix it" grep -q "chmod 600" "$T/token-open.err"
check "the refusal does not show the secret" sh -c "! grep -q SECRET '$T/token-open.err'"

"$PYTHON3" - "$KLING_URL" "$T" <<'PY' || fail "mock server checks (see above)"
import base64, hashlib, hmac, http.client, json, os, socket, sys, threading, time
import urllib.parse

url, tdir = sys.argv[1], sys.argv[2]
host, port = urllib.parse.urlsplit(url).hostname, urllib.parse.urlsplit(url).port
AK, SK = os.environ["KLING_ACCESS_KEY"], os.environ["KLING_SECRET_KEY"]
bad = 0

def check(desc, cond):
    global bad
    print(("ok: " if cond else "FAIL: ") + desc, flush=True)
    if not cond:
        bad += 1

def b64u(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()

def sign(claims, secret=SK, header=None):
    h = b64u(json.dumps(header or {"alg": "HS256", "typ": "JWT"}).encode())
    p = b64u(json.dumps(claims).encode())
    s = b64u(hmac.new(secret.encode(), (h + "." + p).encode(), hashlib.sha256).digest())
    return h + "." + p + "." + s

def token(**kw):
    now = int(time.time())
    c = {"iss": AK, "exp": now + 1800, "nbf": now - 5}
    c.update(kw)
    return sign(c)

def call(method, path, body=None, tok=None, auth=None, conn=None, raw=False):
    """(status, headers, parsed body or raw bytes)."""
    c = conn or http.client.HTTPConnection(host, port, timeout=10)
    hdr = {}
    if auth is not None:
        hdr["Authorization"] = auth
    else:
        hdr["Authorization"] = "Bearer " + (tok or token())
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdr["Content-Type"] = "application/json"
    c.request(method, path, body=data, headers=hdr)
    r = c.getresponse()
    payload = r.read()
    if conn is None:
        c.close()
    if raw:
        return r.status, r.headers, payload
    return r.status, r.headers, json.loads(payload)

def create(body, ep="text2video", **kw):
    return call("POST", "/v1/videos/" + ep, body, **kw)

def query(ident, ep="text2video", **kw):
    return call("GET", "/v1/videos/%s/%s" % (ep, urllib.parse.quote(ident, safe="")), **kw)

def admin(what, body=None):
    c = http.client.HTTPConnection(host, port, timeout=10)
    c.request("POST" if body is not None else "GET", "/_admin/" + what,
              body=json.dumps(body).encode() if body is not None else None)
    r = c.getresponse()
    d = json.loads(r.read())
    c.close()
    return d

def fetch(u):
    s = urllib.parse.urlsplit(u)
    c = http.client.HTTPConnection(s.hostname, s.port, timeout=10)
    c.request("GET", s.path)
    r = c.getresponse()
    data = r.read()
    c.close()
    return r.status, data

def wait_status(ident, want, limit=5):
    t0 = time.time()
    while time.time() - t0 < limit:
        st, _, d = query(ident)
        if st == 200 and d["data"]["task_status"] == want:
            return d["data"]
        time.sleep(0.05)
    return None

def expect_error(desc, reply, status, code):
    st, _, d = reply
    check("%s: HTTP %d, code %d (got %s, %s)" % (desc, status, code, st, d.get("code")),
          st == status and d.get("code") == code and "message" in d and "request_id" in d)

# ---- authentication ----
ok_body = {"prompt": "a cat", "duration": "5"}
expect_error("no Authorization", create(ok_body, auth=""), 401, 1001)
expect_error("not Bearer", create(ok_body, auth="Basic abc"), 401, 1002)
expect_error("not a JWT", create(ok_body, tok="abc.def"), 401, 1002)
now = int(time.time())
expect_error("bad signature", create(ok_body, tok=sign({"iss": AK, "exp": now + 60}, "wrong")), 401, 1002)
expect_error("alg none", create(ok_body, tok=sign({"iss": AK, "exp": now + 60},
             header={"alg": "none", "typ": "JWT"})), 401, 1002)
expect_error("no exp", create(ok_body, tok=sign({"iss": AK})), 401, 1002)
expect_error("unknown access key", create(ok_body, tok=token(iss="someone-else")), 401, 1000)
expect_error("expired token", create(ok_body, tok=token(exp=now - 1)), 401, 1004)
expect_error("token not yet valid", create(ok_body, tok=token(nbf=now + 60)), 401, 1003)
ctok = open(os.path.join(tdir, "token-env")).read().strip()
st, _, d = query("nothing-here", tok=ctok)
expect_error("a token made by jwt.c is accepted (then: no such task)", (st, _, d), 404, 1203)
st, _, d = query("nothing-here", tok=open(os.path.join(tdir, "token-file")).read().strip())
check("a token from the key file is accepted", st == 404 and d["code"] == 1203)
expect_error("a jwt.c token signed long ago has expired",
             query("x", tok=open(os.path.join(tdir, "token-old")).read().strip()), 401, 1004)
s = admin("stats")
check("stats count requests without a valid JWT", s["unauthenticated_requests"] == 10
      and s["auth"]["by_code"].get("1004") == 2)
check("no secret in the stats", SK not in json.dumps(s) and ctok not in json.dumps(s))

# ---- state machine, URLs, external ids ----
t0 = time.time()
st, _, d = create({"prompt": "a dog", "duration": "5", "mode": "std", "aspect_ratio": "9:16",
                   "external_task_id": "job-1", "callback_url": "http://example.invalid/cb"},
                  tok=ctok)
check("create: 200, code 0, SUCCEED", st == 200 and d["code"] == 0 and d["message"] == "SUCCEED")
data = d["data"]
check("create: task_id, submitted, external id echoed",
      data["task_id"] and data["task_status"] == "submitted"
      and data["task_info"] == {"external_task_id": "job-1"}
      and isinstance(data["created_at"], int) and data["created_at"] > 1.6e12)
tid = data["task_id"]
st, _, d = query(tid)
check("query right away: submitted, no result yet", d["data"]["task_status"] == "submitted"
      and "task_result" not in d["data"] and "final_unit_deduction" not in d["data"])
q = wait_status("job-1", "processing")
check("then processing (found by external id)", q is not None and q["task_id"] == tid
      and time.time() - t0 >= 0.35)
q = wait_status(tid, "succeed")
check("then succeed after the generation time", q is not None and time.time() - t0 >= 0.75)
v = q["task_result"]["videos"][0]
check("result: one video with id, url and duration", set(v) == {"id", "url", "duration"}
      and v["duration"] == "5.1" and v["url"].startswith(url + "/media/"))
check("final_unit_deduction is a string", q["final_unit_deduction"] == "1")
check("wrong endpoint: not found", query(tid, ep="image2video")[0] == 404)
st, body = fetch(v["url"])
check("the video URL serves an MP4", st == 200 and body[4:8] == b"ftyp" and len(body) > 10000)
with open(os.path.join(tdir, "video.mp4"), "wb") as f:
    f.write(body)
time.sleep(0.6)
check("the URL expires (403)", fetch(v["url"])[0] == 403)
q2 = query("job-1")[2]["data"]
v2 = q2["task_result"]["videos"][0]
check("querying again gives a fresh URL that works", v2["url"] != v["url"]
      and fetch(v2["url"]) == (200, body) and v2["id"] == v["id"])
check("an unknown media token: 404", fetch(url + "/media/nope.mp4")[0] == 404)

st, _, d = create({"prompt": "FAILTASK GENTIME=0.3", "duration": "10", "mode": "pro"})
q = wait_status(d["data"]["task_id"], "failed")
check("FAILTASK ends failed, nothing charged", q is not None and "task_result" not in q
      and q["final_unit_deduction"] == "0" and q["task_status_msg"])

# duplicate external id
expect_error("a second create with a used external_task_id",
             create({"prompt": "another", "external_task_id": "job-1"}), 400, 1201)

# ---- parameters and content ----
expect_error("body not JSON", create(b"{nope"), 400, 1200)
expect_error("missing prompt", create({"duration": "5"}), 400, 1201)
expect_error("duration as a number", create({"prompt": "x", "duration": 5}), 400, 1201)
expect_error("duration 7", create({"prompt": "x", "duration": "7"}), 400, 1201)
expect_error("aspect ratio 4:3", create({"prompt": "x", "aspect_ratio": "4:3"}), 400, 1201)
expect_error("mode turbo", create({"prompt": "x", "mode": "turbo"}), 400, 1201)
expect_error("cfg_scale 2", create({"prompt": "x", "cfg_scale": 2}), 400, 1201)
expect_error("image2video without an image", create({"prompt": "x"}, ep="image2video"), 400, 1201)
png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + b"\0" * 64).decode()
expect_error("image with a data: prefix",
             create({"image": "data:image/png;base64," + png}, ep="image2video"), 400, 1201)
expect_error("image not base64", create({"image": "not base64!"}, ep="image2video"), 400, 1201)
expect_error("image not a picture",
             create({"image": base64.b64encode(b"hello world").decode()}, ep="image2video"), 400, 1201)
expect_error("content policy", create({"prompt": "something FORBIDDEN"}), 400, 1301)
st, _, d = create({"prompt": "GENTIME=0.2", "image": png, "image_tail": "https://example.invalid/tail.jpg",
                   "external_task_id": "img-1", "duration": "5"}, ep="image2video")
check("image2video with base64 and URL images", st == 200 and d["code"] == 0)
check("image2video task found on its endpoint", query("img-1", ep="image2video")[0] == 200)

# ---- concurrency limit (2) ----
time.sleep(0.25)  # let the image task finish
r1 = create({"prompt": "c1 GENTIME=0.6"})
r2 = create({"prompt": "c2 GENTIME=0.6"})
r3 = create({"prompt": "c3"})
check("two tasks in flight are accepted", r1[0] == 200 and r2[0] == 200)
expect_error("a third is refused", r3, 429, 1303)
time.sleep(0.65)
check("accepted again once they are done", create({"prompt": "c4 GENTIME=0.1"})[0] == 200)

# ---- rate limit: 240 rpm over a 0.5 s window = 2 creates per half second ----
time.sleep(0.15)
admin("config", {"rpm": 240, "rpm_window": 0.5, "max_concurrent": 0})
codes = [create({"prompt": "r%d GENTIME=0.1" % i})[2]["code"] for i in range(3)]
check("rate limit: the third create in the window gets 1302 (%s)" % codes, codes == [0, 0, 1302])
check("queries are not rate limited by default", query(tid)[0] == 200)
time.sleep(0.55)
check("a create goes through once the window has passed", create({"prompt": "r GENTIME=0.1"})[0] == 200)
admin("config", {"rpm": 0, "max_concurrent": 2})

# ---- balance ----
time.sleep(0.2)
s = admin("stats")
spent = s["units_spent"] + s["units_reserved"]
admin("config", {"balance": spent + 1.5})
check("within the balance: accepted", create({"prompt": "b1 GENTIME=0.1"})[0] == 200)
expect_error("past the balance", create({"prompt": "b2"}), 429, 1102)
admin("config", {"balance": None})
time.sleep(0.15)  # b1 done: nothing in flight

# ---- lost create answer, then lookup by external id ----
admin("config", {"inject": [{"kind": "lost", "on": "create"}]})
before = admin("stats")["tasks_created"]
try:
    create({"prompt": "lost one GENTIME=0.1", "external_task_id": "lost-1"})
    lost = False
except (http.client.HTTPException, ConnectionError, OSError):
    lost = True
check("lost create: the connection closes without a reply", lost)
s = admin("stats")
check("lost create: the task was created and counted", s["tasks_created"] == before + 1
      and s["creates_per_external_id"].get("lost-1") == 1)
st, _, d = query("lost-1")
check("lost create: found by its external id", st == 200 and d["data"]["task_info"]["external_task_id"] == "lost-1")
expect_error("lost create: resubmitting blindly is a duplicate",
             create({"prompt": "lost one GENTIME=0.1", "external_task_id": "lost-1"}), 400, 1201)

# ---- injected faults ----
def inject(*rules):
    admin("config", {"inject": list(rules)})

inject({"kind": "503", "on": "query"})
check("503 injected", query(tid)[0] == 503 and query(tid)[0] == 200)
inject({"kind": "502", "on": "query"})
st, _, raw = query(tid, raw=True)
check("502 with an HTML body", st == 502 and raw.startswith(b"<html>"))
inject({"kind": "429", "on": "api", "s": 3})
st, h, d = query(tid)
check("429 with Retry-After", st == 429 and h.get("Retry-After") == "3" and d["code"] == 1302)
inject({"kind": "1303", "on": "create"})
expect_error("1303 injected", create({"prompt": "i"}), 429, 1303)
inject({"kind": "1302", "on": "create", "count": 2})
codes = [create({"prompt": "i%d GENTIME=0.1" % i})[2]["code"] for i in range(3)]
check("1302 injected twice, then through (%s)" % codes, codes == [1302, 1302, 0])
inject({"kind": "1004", "on": "query"})
expect_error("1004 injected with a valid token", query(tid), 401, 1004)
inject({"kind": "malformed", "on": "query"})
st, _, raw = query(tid, raw=True)
try:
    json.loads(raw)
    malformed = False
except ValueError:
    malformed = True
check("malformed JSON injected", st == 200 and malformed)
inject({"kind": "reset", "on": "query"})
try:
    query(tid)
    reset = False
except (http.client.HTTPException, ConnectionError, OSError):
    reset = True
check("connection reset injected", reset)
inject({"kind": "slow", "on": "query", "s": 0.3})
t1 = time.time()
check("slow reply injected", query(tid)[0] == 200 and time.time() - t1 >= 0.3)
inject({"kind": "expired", "on": "query"})
u = query(tid)[2]["data"]["task_result"]["videos"][0]["url"]
check("expired URL injected", fetch(u)[0] == 403)
inject({"kind": "expired", "on": "media"})
u = query(tid)[2]["data"]["task_result"]["videos"][0]["url"]
check("media 403 injected, then the same URL works", fetch(u)[0] == 403 and fetch(u)[0] == 200)
inject({"kind": "500", "on": "query", "skip": 1})
check("skip lets the first request through", [query(tid)[0] for _ in range(3)] == [200, 500, 200])
inject({"kind": "503", "on": "query", "prob": 0.5})
codes = [query(tid)[0] for _ in range(40)]
check("probability: some but not all (%d of 40)" % codes.count(503), 5 < codes.count(503) < 35)
inject()
check("bad config is refused", admin("config", {"max_concurrent": "x"}).get("error") is not None
      and admin("config", {"inject": [{"kind": "boom"}]}).get("error") is not None)

# ---- keep-alive and many connections ----
c = http.client.HTTPConnection(host, port, timeout=10)
check("keep-alive: several requests on one connection",
      all(call("GET", "/v1/videos/text2video/" + tid, conn=c)[0] == 200 for _ in range(5)))
c.close()
errors = []
def worker():
    try:
        cc = http.client.HTTPConnection(host, port, timeout=10)
        for _ in range(5):
            if call("GET", "/v1/videos/text2video/" + tid, conn=cc)[0] != 200:
                errors.append("status")
        cc.close()
    except Exception as e:
        errors.append(repr(e))
ths = [threading.Thread(target=worker) for _ in range(30)]
for t in ths:
    t.start()
for t in ths:
    t.join()
check("30 concurrent connections (%s)" % errors[:1], not errors)
st, _, d = call("GET", "/v1/videos/text2video?pageNum=1&pageSize=2")
check("list: newest first, one page", st == 200 and len(d["data"]) == 2)

# ---- stats ----
s = admin("stats")
check("stats: peak concurrency 2 at the limit of 2", s["peak_concurrent"] == 2)
check("stats: creates per external id", s["creates_per_external_id"]["job-1"] == 2
      and s["tasks_per_external_id"]["job-1"] == 1 and s["duplicate_creates"] == 2)
check("stats: rejections by code", s["rejected"].get("1303") == 1 and s["rejected"].get("1302") == 1
      and s["rejected"].get("1102") == 1 and s["rejected"].get("1301") == 1)
check("stats: injected faults by kind", s["injected"].get("lost") == 1 and s["injected"].get("1302") == 2)
check("stats: a status for every task", sum(s["tasks_by_status"].values()) == s["tasks_created"])
check("stats: units spent", s["units_spent"] >= 1 and s["media"]["downloads"] >= 3
      and s["media"]["expired"] >= 2)
check("stats: rpm peak", s["rpm_peak"] == s["tasks_created"] and s["requests_rpm_peak"] > 50)
admin("reset", {})
s = admin("stats")
check("reset forgets tasks and counters", s["tasks_created"] == 0 and s["creates"] == 0
      and query(tid)[0] == 404)
sys.exit(1 if bad else 0)
PY

check "the served video is a real H.264 clip" sh -c \
    "ffprobe -v error -select_streams v:0 -show_entries stream=codec_name,width,height -of csv=p=0 '$T/video.mp4' | grep -q '^h264,180,320\$'"

kling_stop
check "SIGTERM: exits 0" [ $? -eq 0 ]
check "SIGTERM: stats written" pyjson "$T/mock-stats.json" '"tasks_created" in d'
check "no secret in the server's output" sh -c "! grep -q SECRET '$T/mock.out' '$T/mock.err' '$T/mock-stats.json'"
finish
