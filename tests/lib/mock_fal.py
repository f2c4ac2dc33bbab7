#!/usr/bin/env python3
"""mock_fal.py - a mock of fal.ai's queue API, for vbatch's tests
(Python 3 standard library; the clips are mock_kling.py's).

    python3 tests/lib/mock_fal.py [options]          serve
    python3 tests/lib/mock_fal.py ctl URL stats      print /_admin/stats

Listens on 127.0.0.1 (port 0 unless --port); writes the port to
--port-file once ready; SIGTERM or SIGINT: stops, writes --stats-file.

Key: --key, else FAL_KEY, else "mock-fal-key", sent as
"Authorization: Key <key>" (anything else: 401). Never printed.

API (fal's shape)
  POST /{model_id}                     submit; the model's input fields
                                       (MODELS below); a missing required
                                       field: 422 with a validation detail;
                                       a field the model does not read is
                                       ignored, as fal does, and counted
                                       (stats "ignored_fields"); an unknown
                                       model: 404. Answers {request_id,
                                       status_url, response_url, cancel_url,
                                       queue_position}.
  GET  /{app}/requests/{id}/status     IN_QUEUE {queue_position} while every
                                       runner (--runners) is busy with an
                                       earlier request, IN_PROGRESS for
                                       --gen-time s, then COMPLETED; a
                                       cancelled request: COMPLETED with
                                       error "Request cancelled"; a prompt
                                       holding FAILSTATUS: FAILED with error.
  GET  /{app}/requests/{id}            the result {video{url, content_type,
                                       file_size}}; a prompt holding FAILTASK:
                                       422 {"detail": "..."}; not done: 400.
  PUT  /{app}/requests/{id}/cancel     202 CANCELLATION_REQUESTED while in the
                                       queue, else 400 ALREADY_COMPLETED.
  GET  /media/{token}.mp4              the clip
{app} is the model id's first two segments (the full id is taken too).

Faults: --inject kind=K,on=S[,count=N][,skip=M] with K in lost (the submit
is made, then the connection is reset: the answer is lost), 429 (with
Retry-After: --retry-after; nothing made), 500, reset (nothing made), slow
(the submit is made, its answer sent --slow-time seconds later), and
S in create, status, result, any.

Stats: creates (submits that made a request), creates_per_prompt (how many
requests each prompt made: the test's "paid twice" check), by_status,
paid_per_prompt (the same, cancelled ones left out), cancels, cancelled,
ignored_fields, bad_auth, injected,
requests (per call), peak_in_progress.
"""
import argparse
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mock_kling  # noqa: E402  (its clips and server class)

# Each model's fields: (required, optional); the image fields take a URL
# or a data URI.
MODELS = {
    "fal-ai/kling-video/v2.6/pro/image-to-video":
        ({"prompt", "start_image_url"}, {"duration", "negative_prompt", "generate_audio",
                                         "voice_ids"}),
    "fal-ai/kling-video/v2.6/pro/text-to-video":
        ({"prompt"}, {"duration", "aspect_ratio", "negative_prompt", "generate_audio"}),
    "fal-ai/kling-video/v3/pro/image-to-video":
        ({"start_image_url"}, {"prompt", "duration", "end_image_url", "negative_prompt",
                               "cfg_scale", "generate_audio"}),
    "fal-ai/kling-video/v2.5-turbo/pro/text-to-video":
        ({"prompt"}, {"duration", "aspect_ratio", "negative_prompt", "cfg_scale"}),
    "fal-ai/kling-video/v2.5-turbo/pro/image-to-video":
        ({"prompt", "image_url"}, {"duration", "tail_image_url", "negative_prompt",
                                   "cfg_scale"}),
    "fal-ai/kling-video/v1.6/standard/image-to-video":
        ({"prompt", "image_url"}, {"duration", "negative_prompt", "cfg_scale"}),
}
IMAGE_FIELDS = {"start_image_url", "end_image_url", "image_url", "tail_image_url"}
KINDS = ("lost", "429", "500", "reset", "slow")
SCOPES = ("create", "status", "result", "any")


class Rule:
    def __init__(self, text):
        d = dict(kv.split("=", 1) for kv in text.split(","))
        self.kind = d.get("kind")
        self.on = d.get("on", "any")
        self.count = int(d.get("count", 1))
        self.skip = int(d.get("skip", 0))
        if self.kind not in KINDS or self.on not in SCOPES:
            raise ValueError("bad rule %r" % text)
        self.seen = 0
        self.fired = 0


class Req:
    def __init__(self, model, body, start, gen_time):
        self.id = str(uuid.uuid4())
        self.model = model
        self.prompt = body.get("prompt") or ""
        self.duration = str(body.get("duration") or "5")
        self.aspect = body.get("aspect_ratio") or "16:9"
        self.created = time.monotonic()
        self.start = start
        self.end = start + gen_time
        self.cancelled = False

    def status(self, now):
        if self.cancelled:
            return "CANCELLED"
        if now < self.start:
            return "IN_QUEUE"
        if now < self.end:
            return "IN_PROGRESS"
        return "COMPLETED"


class State:
    def __init__(self, args, media):
        self.args = args
        self.media = media
        self.lock = threading.Lock()
        self.rules = []
        self.reqs = {}
        self.order = []
        self.runners = [0.0] * max(1, args.runners)
        self.tokens = {}
        self.st = {"creates": 0, "creates_per_prompt": {}, "cancels": 0, "cancelled": 0,
                   "ignored_fields": {}, "bad_auth": 0,
                   "injected": {}, "requests": {}, "rejected": 0, "peak_in_progress": 0}

    def fault(self, scope):
        for r in self.rules:
            if r.on not in (scope, "any") or r.fired >= r.count:
                continue
            r.seen += 1
            if r.seen > r.skip:
                r.fired += 1
                self.st["injected"][r.kind] = self.st["injected"].get(r.kind, 0) + 1
                return r.kind
        return None

    def submit(self, model, body):
        now = time.monotonic()
        # FIFO over the runners: the earliest free one takes it
        k = min(range(len(self.runners)), key=lambda i: self.runners[i])
        start = max(now, self.runners[k])
        gen = self.args.gen_time
        if "GENTIME=" in (body.get("prompt") or ""):
            gen = float(body["prompt"].split("GENTIME=")[1].split()[0])
        r = Req(model, body, start, gen)
        self.runners[k] = r.end
        self.reqs[r.id] = r
        self.order.append(r.id)
        self.st["creates"] += 1
        cp = self.st["creates_per_prompt"]
        cp[r.prompt] = cp.get(r.prompt, 0) + 1
        return r

    def position(self, r, now):
        return sum(1 for i in self.order
                   if self.reqs[i].created < r.created and self.reqs[i].status(now) == "IN_QUEUE")

    def stats(self):
        now = time.monotonic()
        s = dict(self.st)
        by = {}
        for r in self.reqs.values():
            w = r.status(now)
            by[w] = by.get(w, 0) + 1
        s["by_status"] = by
        paid = {}
        for r in self.reqs.values():
            if not r.cancelled:
                paid[r.prompt] = paid.get(r.prompt, 0) + 1
        s["paid_per_prompt"] = paid
        s["tasks_created"] = len(self.reqs)
        return s


class Handler(BaseHTTPRequestHandler):
    server_version = "mock-fal/1"
    protocol_version = "HTTP/1.1"
    state = None
    key = None
    verbose = False

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("mock_fal: %s\n" % (fmt % args))

    def send_json(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def reset(self):
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def count(self, call):
        rq = self.state.st["requests"]
        rq[call] = rq.get(call, 0) + 1

    def dispatch(self, method):
        path = self.path.split("?", 1)[0]
        raw = self.body()
        st = self.state
        if path == "/_admin/stats":
            with st.lock:
                return self.send_json(200, st.stats())
        if path.startswith("/media/"):
            tok = path[len("/media/"):].rsplit(".", 1)[0]
            with st.lock:
                key = st.tokens.get(tok)
            if not key:
                return self.send_json(404, {"detail": "Not found"})
            data = st.media[key]
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return None
        if self.headers.get("Authorization") != "Key " + self.key:
            with st.lock:
                st.st["bad_auth"] += 1
            return self.send_json(401, {"detail": "Invalid authentication"})
        parts = [p for p in path.split("/") if p]
        if "requests" in parts:
            i = parts.index("requests")
            rid = parts[i + 1] if len(parts) > i + 1 else ""
            tail = parts[i + 2] if len(parts) > i + 2 else ""
            return self.request_call(method, "/".join(parts[:i]), rid, tail)
        if method != "POST":
            return self.send_json(405, {"detail": "Method not allowed"})
        return self.create("/".join(parts), raw)

    def create(self, model, raw):
        st = self.state
        with st.lock:
            self.count("create")
            fault = st.fault("create")
            if fault == "429":
                return self.send_json(429, {"detail": "Rate limit exceeded"},
                                      {"Retry-After": "%g" % st.args.retry_after})
            if fault == "500":
                return self.send_json(500, {"detail": "Internal server error"})
            if fault == "reset":
                return self.reset()
            if model not in MODELS:
                st.st["rejected"] += 1
                return self.send_json(404, {"detail": "Application '%s' not found" % model})
            try:
                b = json.loads(raw or b"{}")
            except ValueError:
                return self.send_json(422, {"detail": "body is not JSON"})
            req, opt = MODELS[model]
            missing = sorted(f for f in req if not b.get(f))
            if missing:
                st.st["rejected"] += 1
                return self.send_json(422, {"detail": [{"loc": ["body", missing[0]],
                                                        "msg": "field required",
                                                        "type": "value_error.missing"}]})
            for f in b:
                if f not in req and f not in opt:
                    ig = st.st["ignored_fields"]
                    ig[f] = ig.get(f, 0) + 1
            for f in IMAGE_FIELDS & set(b):
                v = b[f]
                if not (isinstance(v, str) and (v.startswith("data:image/") and
                                                ";base64," in v or v.startswith("http"))):
                    st.st["rejected"] += 1
                    return self.send_json(422, {"detail": "%s: not a URL" % f})
            r = st.submit(model, b)
            base = "http://%s" % self.headers.get("Host", "127.0.0.1")
            app = "/".join(model.split("/")[:2])
            rurl = "%s/%s/requests/%s" % (base, app, r.id)
            reply = {"request_id": r.id, "response_url": rurl, "status_url": rurl + "/status",
                     "cancel_url": rurl + "/cancel",
                     "queue_position": st.position(r, time.monotonic())}
        if fault == "lost":
            return self.reset()
        if fault == "slow":
            time.sleep(st.args.slow_time)
        return self.send_json(200, reply)

    def request_call(self, method, app, rid, tail):
        st = self.state
        scope = {"status": "status", "": "result", "cancel": "cancel"}.get(tail, "other")
        with st.lock:
            self.count(scope)
            fault = st.fault(scope) if scope in ("status", "result") else None
            if fault == "429":
                return self.send_json(429, {"detail": "Rate limit exceeded"},
                                      {"Retry-After": "%g" % st.args.retry_after})
            if fault in ("500", "lost"):
                return self.send_json(500, {"detail": "Internal server error"})
            if fault == "reset":
                return self.reset()
            r = st.reqs.get(rid)
            if not r or not (r.model == app or r.model.startswith(app + "/")):
                return self.send_json(404, {"detail": "Request not found"})
            now = time.monotonic()
            w = r.status(now)
            if scope == "cancel":
                if method != "PUT":
                    return self.send_json(405, {"detail": "Method not allowed"})
                st.st["cancels"] += 1
                if w == "IN_QUEUE":
                    r.cancelled = True
                    st.st["cancelled"] += 1
                    return self.send_json(202, {"status": "CANCELLATION_REQUESTED"})
                return self.send_json(400, {"status": "ALREADY_COMPLETED"})
            n = sum(1 for x in st.reqs.values() if x.status(now) == "IN_PROGRESS")
            st.st["peak_in_progress"] = max(st.st["peak_in_progress"], n)
            if scope == "status":
                if w == "CANCELLED":
                    return self.send_json(200, {"status": "COMPLETED",
                                                "error": "Request cancelled"})
                if w == "COMPLETED" and "FAILSTATUS" in r.prompt:
                    return self.send_json(200, {"status": "FAILED",
                                                "error": "generation failed"})
                out = {"status": w, "response_url": "/%s/requests/%s" % (app, r.id)}
                if w == "IN_QUEUE":
                    out["queue_position"] = st.position(r, now)
                return self.send_json(200, out)
            if w != "COMPLETED":
                return self.send_json(400, {"detail": "Request is still in progress"})
            if "FAILTASK" in r.prompt:
                return self.send_json(422, {"detail": "The generation failed (FAILTASK)"})
            tok = uuid.uuid4().hex
            key = (r.aspect if r.aspect in mock_kling.ASPECTS else "16:9",
                   r.duration if r.duration in mock_kling.DURATIONS else "5")
            st.tokens[tok] = key
            url = "http://%s/media/%s.mp4" % (self.headers.get("Host", "127.0.0.1"), tok)
            return self.send_json(200, {"video": {"url": url, "content_type": "video/mp4",
                                                  "file_size": len(st.media[key])}})


def ctl(argv):
    base = argv[0].rstrip("/")
    with urllib.request.urlopen(base + "/_admin/stats", timeout=10) as f:
        sys.stdout.write(f.read().decode() + "\n")
    return 0


def main(argv):
    if argv and argv[0] == "ctl":
        return ctl(argv[1:])
    ap = argparse.ArgumentParser(prog="mock_fal.py")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--stats-file")
    ap.add_argument("--lifetime", type=float, default=900)
    ap.add_argument("--key")
    ap.add_argument("--runners", type=int, default=2,
                    help="requests in progress at once; the others queue (default 2)")
    ap.add_argument("--gen-time", type=float, default=1.0)
    ap.add_argument("--retry-after", type=float, default=1)
    ap.add_argument("--inject", action="append", default=[])
    ap.add_argument("--slow-time", type=float, default=2)
    ap.add_argument("--media-dir")
    ap.add_argument("--media-quality", choices=tuple(mock_kling.MEDIA_SIZES), default="small")
    ap.add_argument("--cache-dir")
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args(argv)
    try:
        rules = [Rule(r) for r in args.inject]
    except (ValueError, TypeError) as e:
        ap.error(str(e))
    state = State(args, mock_kling.make_media(args))
    state.rules = rules
    Handler.state = state
    Handler.key = args.key or os.environ.get("FAL_KEY") or "mock-fal-key"
    Handler.verbose = args.verbose
    srv = mock_kling.Server(("127.0.0.1", args.port), Handler)
    port = srv.server_address[1]

    def stop(signum=None, frame=None):
        threading.Thread(target=srv.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    timer = threading.Timer(args.lifetime, stop)
    timer.daemon = True
    timer.start()
    sys.stdout.write("%d\n" % port)
    sys.stdout.flush()
    if args.port_file:
        tmp = args.port_file + ".tmp.%d" % os.getpid()
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.replace(tmp, args.port_file)
    srv.serve_forever(poll_interval=0.2)
    srv.server_close()
    if args.stats_file:
        with state.lock:
            s = state.stats()
        with open(args.stats_file + ".tmp", "w") as f:
            json.dump(s, f, indent=1)
        os.replace(args.stats_file + ".tmp", args.stats_file)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
