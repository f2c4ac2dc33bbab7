#!/usr/bin/env python3
"""mock_kling.py - a mock of the Kling video-generation API, for vbatch's
tests and benchmark (Python 3 standard library only).

    python3 tests/lib/mock_kling.py [options]          serve
    python3 tests/lib/mock_kling.py ctl URL stats      print /_admin/stats
    python3 tests/lib/mock_kling.py ctl URL reset      POST /_admin/reset
    python3 tests/lib/mock_kling.py ctl URL config [JSON]
                                                       show or change the config

Listens on 127.0.0.1, port 0 (a free one) unless --port; prints the port
alone on the first line of stdout and writes it to --port-file (atomically)
once the media are ready. SIGTERM or SIGINT: stops, writes --stats-file if
asked, exits 0. Exits by itself after --lifetime seconds.

Keys: --access-key / --secret-key, else the environment's KLING_ACCESS_KEY /
KLING_SECRET_KEY, else "mock-ak" / "mock-sk"; and a plain API key, sent as
the Bearer token itself: --api-key, else KLING_API_KEY, else "mock-api-key"
(both ways are accepted at once, as Kling does). Secrets and Authorization
headers are never printed nor stored; with --echo-access-key a 1000 reply
names the access key it does not know (to check that a client never shows
what a server echoes).

API (the real one's shape)
  POST /v1/videos/text2video          create; JSON fields model_name, prompt,
  POST /v1/videos/image2video         negative_prompt, cfg_scale, mode,
                                      aspect_ratio, duration ("5"|"10", a
                                      string), image / image_tail (base64
                                      without a data: prefix, or an http(s)
                                      URL, never fetched), external_task_id,
                                      callback_url (ignored). Unknown fields
                                      are ignored, as the real API does.
  GET  /v1/videos/text2video/{id}     query; id is a task_id or an
  GET  /v1/videos/image2video/{id}    external_task_id. A task is only
                                      found under the endpoint that made it.
  GET  /v1/videos/text2video?pageNum=1&pageSize=30    list, newest first
  POST /text-to-video/{model}         create, the current style: the model in
  POST /image-to-video/{model}        the path; JSON fields prompt,
                                      negative_prompt, cfg_scale, image,
                                      image_tail, settings{resolution
                                      (720p|1080p), aspect_ratio, duration (a
                                      number: 5|10, 3..15 on kling-v3 and
                                      kling-v3-omni)}, options{external_task_id,
                                      callback_url}; any other field: 1201.
  GET  /tasks?task_ids=a,b            lookup of up to 50 tasks (or
  GET  /tasks?external_task_ids=a,b   external ids) in one request: data is the
                                      list of those found, in the order asked,
                                      each {task_id, status (submitted|
                                      processing|succeeded|failed), status_msg,
                                      external_task_id, created_at, updated_at,
                                      outputs{videos[{id, url, duration}]},
                                      billing[{amount, charge_type "unit",
                                      resource_type "video"}]}; any task,
                                      whichever style made it.
  GET  /account/costs?start_time=MS&end_time=MS
                                      the resource packs: a video pack with what
                                      is left of --balance (1e6 without), an
                                      image pack, an expired video pack; at
                                      most one request a second (else 1302)
  GET  /media/{token}.mp4             the video (a real small MP4); each URL
                                      expires --url-ttl seconds after the
                                      query that issued it (then 403); every
                                      query of a finished task issues a
                                      fresh URL.

Replies are {"code", "message", "request_id", "data"} (errors: no data).
A task is "submitted" for --submit-time s, "processing" until --gen-time s
after its creation, then "succeed" ("failed" when its prompt contains
FAILTASK). A prompt containing GENTIME=S (e.g. GENTIME=0.5) sets that task's
generation time. Finished tasks carry final_unit_deduction (a string): std
5 s = 1 unit, std 10 s = 2, pro 5 s = 3.5, pro 10 s = 7; failed tasks "0".

Error codes, as the real API's table (HTTP status / code):
  401 1000  authentication failed: the token's iss is not the access key
  401 1001  Authorization header missing or empty
  401 1002  Authorization invalid: not "Bearer <JWT>", not three base64url
            parts, alg not HS256, bad signature, no exp claim
  401 1003  token not yet valid (now < nbf)
  401 1004  token expired (now >= exp); a client re-signs
  429 1102  balance (resource pack) exhausted: a create costing more than
            what is left of --balance (units are reserved at creation and
            given back when the task fails)
  400 1200  request body not JSON / not an object
  400 1201  parameter invalid: missing prompt, bad duration, aspect ratio,
            mode, cfg_scale, model_name, bad base64 or an image that is not
            JPEG/PNG/WebP, a data: prefix, or external_task_id duplicated
            (an id is taken once a create with it was accepted)
  400 1301  content security policy: prompt or negative_prompt contains
            FORBIDDEN
  429 1302  rate limit: more than --rpm create requests admitted in the
            sliding --rpm-window (scaled: rpm * window / 60); with
            --rpm-scope all, every API request counts
  429 1303  more than --max-concurrent tasks submitted or processing
  404 1203  no such task (query); create: a discontinued model
            (--discontinued, default kling-v1, kling-v1-6, kling-v2-master,
            kling-v2-1-master: "resource does not exist")
  403 1103  create: a model this account may not use (--no-access)
  500 5000 / 503 5001 / 504 5002   server errors (injected only)
Checks run in that order: auth, rate, body, parameters, duplicate id,
content, balance, concurrency.

Fault injection: rules given with --inject (repeatable) or in POST
/_admin/config {"inject": [...]}, each a set of key=value pairs
("kind=lost,on=create,count=1,skip=2") or a JSON object:
  kind   1302 | 1303 | 1102 | 1004 | 429 (HTTP 429, code 1302, Retry-After)
         | 500 | 502 (HTML body) | 503 | 504
         | 403       HTTP 403 with an HTML body, as a gateway refusing the
                     client (an IP or key block) answers
         | reset     close the connection without a reply (TCP RST)
         | lost      process the request (a create creates and counts its
                     task), then close without a reply (media: same as reset)
         | malformed process the request, then reply with the JSON body cut
                     in half (Content-Length matching); media: the full
                     Content-Length, half the bytes, then close
         | slow      sleep s seconds, then answer normally
         | expired   query: the URLs it returns have already expired;
                     media: 403 as for an expired URL; elsewhere no effect
         | omit      /tasks lookup by task_ids: the first task found is left
                     out of the list (as a task just created may not be
                     listed yet); elsewhere no effect
  on     create | query | list | media | api (create, query, list) | any
         (default any)
  count  fire for the next N matching requests (default 1 without prob)
  prob   fire with this probability instead (drawn from --seed)
  skip   let the first K matching requests through first
  s      seconds for slow (default --slow-time) and Retry-After (default
         --retry-after; whole seconds, rounded up; on 1302/1303/1102/1004
         only when s is given)
The first rule that matches a request and fires decides; injection happens
before authentication (as a proxy in front of the API would).

Admin (no authentication): GET /_admin/stats, GET /_admin/config, POST
/_admin/config (JSON: any of max_concurrent, rpm, rpm_window, rpm_scope,
discontinued, no_access (comma-separated models),
balance, gen_time, submit_time, url_ttl, retry_after, slow_time, leeway,
seed, inject), POST /_admin/reset (forgets tasks, URLs, counters and
injection rules; keeps the limits).

Stats (GET /_admin/stats):
  creates                    create requests received (any outcome)
  creates_per_external_id    the same, per external_task_id
  tasks_created              tasks created (accepted creates, lost ones too)
  tasks_per_external_id      tasks per external_task_id (at most 1)
  duplicate_creates          creates refused because their external_task_id
                             was taken: a client that never pays twice and
                             never resubmits blindly keeps this at 0
  creates_without_external_id
  max_tasks_per_request      most tasks created for one identical request
                             (endpoint + every generation field + images)
  account_costs              /account/costs requests answered
  omitted                    tasks left out of a lookup (omit)
  callback_urls              creates carrying each callback_url (never called)
  lookups, lookup_ids, lookups_batched  /tasks requests, the ids they asked
                             about, and those asking about more than one
  tasks_by_status            now
  peak_concurrent            most tasks submitted/processing at once
  rpm_peak                   most tasks created in any 60 s window
  requests_rpm_peak          most API requests in any 60 s window
  requests                   by kind (create, query, list, media, admin)
  rejected                   natural rejections by code ("1303": n ...)
  injected                   faults injected, by kind
  units_spent                units of the tasks succeeded so far
  units_reserved, balance_left (null without --balance)
  auth                       {"valid": n, "invalid": n, "by_code": {...}};
                             unauthenticated_requests counts API requests
                             that came without a valid JWT
  media                      {"downloads": n, "expired": n, "not_found": n,
                             "bytes": n}
"""

import argparse
import base64
import binascii
import collections
import hashlib
import heapq
import hmac
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ASPECTS = {"16:9": (16, 9), "9:16": (9, 16), "1:1": (1, 1)}
DURATIONS = ("5", "10")
DISCONTINUED = "kling-v1,kling-v1-6,kling-v2-master,kling-v2-1-master"
MODES = ("std", "pro")
COST = {("std", "5"): 1.0, ("std", "10"): 2.0, ("pro", "5"): 3.5, ("pro", "10"): 7.0}
PER_SECOND = {"std": 0.2, "pro": 0.7}   # the same, for any duration (current API)
RESOLUTIONS = {"720p": "std", "1080p": "pro"}
# durations of the current API, per model (default 5 or 10)
CURRENT_DURATIONS = {"kling-v3": range(3, 16), "kling-v3-omni": range(3, 16)}
CURRENT_FIELDS = {"prompt", "negative_prompt", "cfg_scale", "image", "image_tail", "settings",
                  "options"}
MAX_LOOKUP_IDS = 50
MODEL_RE = re.compile(r"^kling-v[0-9][a-z0-9-]*$")
MAX_PROMPT = 2500
MAX_IMAGE = 10 * 1024 * 1024
KINDS = ("1302", "1303", "1102", "1004", "429", "403", "500", "502", "503", "504",
         "reset", "lost", "malformed", "slow", "expired", "omit")
SCOPES = ("create", "query", "list", "media", "api", "any")
# HTTP status for each code this server can answer with
HTTP_OF = {1000: 401, 1001: 401, 1002: 401, 1003: 401, 1004: 401,
           1102: 429, 1103: 403, 1200: 400, 1201: 400, 1203: 404, 1301: 400,
           1302: 429, 1303: 429, 5000: 500, 5001: 503, 5002: 504}
MESSAGES = {1000: "Authentication failed", 1001: "Authorization is empty",
            1002: "Authorization is invalid",
            1003: "Authorization is not yet valid",
            1004: "Authorization has expired",
            1102: "Resource pack depleted or expired",
            1103: "Unauthorized access to the requested resource",
            1200: "Invalid request parameters",
            1201: "Invalid parameters", 1203: "The requested resource does not exist",
            1301: "Trigger the content security policy",
            1302: "API request too fast, please slow down",
            1303: "Concurrency exceeds the resource pack limit",
            5000: "Server internal error", 5001: "Server temporarily unavailable",
            5002: "Server internal timeout"}
# Media: (width, height) per aspect ratio and quality
MEDIA_SIZES = {
    "small": {"16:9": (320, 180), "9:16": (180, 320), "1:1": (240, 240)},
    "hd": {"16:9": (1280, 720), "9:16": (720, 1280), "1:1": (1440, 1440)},
}
# small clips keep the benchmark's downloads light; hd ones pass kling-clip
MEDIA_CODING = {"small": ["-crf", "35", "-b:a", "64k", "-ac", "1"],
                "hd": ["-crf", "23", "-b:a", "128k", "-ac", "2"]}
MEDIA_VERSION = "1"   # bump when the clips' recipe changes (cache key)


def now_ms():
    return int(time.time() * 1000)


def b64url_decode(s):
    """Strict base64url (no padding in the input)."""
    if not isinstance(s, str) or "=" in s or not re.fullmatch(r"[A-Za-z0-9_-]*", s):
        raise ValueError("not base64url")
    return base64.b64decode(s.replace("-", "+").replace("_", "/") + "=" * (-len(s) % 4),
                            validate=True)


def fmt_units(u):
    return "%g" % u


# ---------------------------------------------------------------- config --

class Config:
    """Everything an admin request may change; secrets are kept apart."""
    FIELDS = {"max_concurrent": int, "rpm": int, "rpm_window": float, "rpm_scope": str,
              "balance": float, "gen_time": float, "submit_time": float, "url_ttl": float,
              "retry_after": float, "slow_time": float, "leeway": float, "seed": int,
              "discontinued": str, "no_access": str, "pack_lag": float}

    def __init__(self, args):
        self.max_concurrent = args.max_concurrent
        self.rpm = args.rpm
        self.rpm_window = args.rpm_window
        self.rpm_scope = args.rpm_scope
        self.balance = args.balance
        self.gen_time = args.gen_time
        self.submit_time = args.submit_time
        self.url_ttl = args.url_ttl
        self.retry_after = args.retry_after
        self.slow_time = args.slow_time
        self.leeway = args.leeway
        self.seed = args.seed
        self.discontinued = args.discontinued
        self.pack_lag = args.pack_lag
        self.no_access = args.no_access

    def models_in(self, key):
        return {m.strip() for m in getattr(self, key).split(",") if m.strip()}

    def check(self):
        if self.rpm_scope not in ("create", "all"):
            raise ValueError("rpm_scope must be create or all")
        for k in ("max_concurrent", "rpm"):
            if getattr(self, k) < 0:
                raise ValueError("%s must be >= 0" % k)
        for k in ("rpm_window", "gen_time", "url_ttl"):
            if not getattr(self, k) > 0:
                raise ValueError("%s must be > 0" % k)
        for k in ("retry_after", "slow_time", "leeway"):
            if getattr(self, k) < 0:
                raise ValueError("%s must be >= 0" % k)

    def as_dict(self):
        d = {k: getattr(self, k) for k in self.FIELDS}
        d["submit_time"] = self.submit_time_for(self.gen_time)
        return d

    def submit_time_for(self, gen):
        if self.submit_time is not None and self.submit_time >= 0:
            return min(self.submit_time, gen)
        return min(0.5, gen / 4)

    def update(self, d):
        """Apply a JSON object; all or nothing."""
        new = {}
        for k, v in d.items():
            if k == "inject":
                continue
            if k not in self.FIELDS:
                raise ValueError("unknown config key %r" % k)
            t = self.FIELDS[k]
            if k == "balance" and v is None:
                new[k] = None
                continue
            if k == "submit_time" and v is None:
                new[k] = None
                continue
            if t is str:
                if not isinstance(v, str):
                    raise ValueError("%s must be a string" % k)
            elif isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError("%s must be a number" % k)
            new[k] = t(v)
        old = dict(self.__dict__)
        self.__dict__.update(new)
        try:
            self.check()
        except ValueError:
            self.__dict__.clear()
            self.__dict__.update(old)
            raise


# ------------------------------------------------------------- injection --

class Rule:
    def __init__(self, d):
        if isinstance(d, str):
            d = self.parse(d)
        if not isinstance(d, dict):
            raise ValueError("an injection rule is an object")
        unknown = set(d) - {"kind", "on", "count", "prob", "skip", "s"}
        if unknown:
            raise ValueError("unknown injection key(s): %s" % ", ".join(sorted(unknown)))
        self.kind = str(d.get("kind", ""))
        if self.kind not in KINDS:
            raise ValueError("injection kind must be one of %s" % " ".join(KINDS))
        self.on = str(d.get("on", "any"))
        if self.on not in SCOPES:
            raise ValueError("injection scope (on) must be one of %s" % " ".join(SCOPES))
        self.prob = None if d.get("prob") is None else float(d["prob"])
        if self.prob is not None and not 0 <= self.prob <= 1:
            raise ValueError("prob must be within [0, 1]")
        c = d.get("count")
        self.count = int(c) if c is not None else (None if self.prob is not None else 1)
        self.skip = int(d.get("skip", 0))
        self.s = None if d.get("s") is None else float(d["s"])
        self.seen = 0
        self.fired = 0

    @staticmethod
    def parse(text):
        d = {}
        for part in text.split(","):
            if not part.strip():
                continue
            if "=" not in part:
                raise ValueError("injection rule %r: expected key=value pairs" % text)
            k, v = part.split("=", 1)
            d[k.strip()] = v.strip()
        return d

    def matches(self, kind):
        if self.on == "any":
            return True
        if self.on == "api":
            return kind in ("create", "query", "list")
        return self.on == kind

    def as_dict(self):
        return {"kind": self.kind, "on": self.on, "count": self.count, "prob": self.prob,
                "skip": self.skip, "s": self.s, "seen": self.seen, "fired": self.fired}


# ----------------------------------------------------------------- tasks --

class Task:
    def __init__(self, endpoint, body, ext_id, gen_time, submit_time, req_hash):
        self.task_id = base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("=")
        self.endpoint = endpoint
        self.ext_id = ext_id
        self.created_ms = now_ms()
        self.t0 = time.monotonic()
        self.gen_time = gen_time
        self.submit_time = submit_time
        prompt = body.get("prompt") or ""
        self.fail = "FAILTASK" in prompt
        self.mode = body.get("mode") or "std"
        self.duration = body.get("duration") or "5"
        # image2video follows the image; the mock does not look at it
        self.current = endpoint.startswith("current:")
        t2v = endpoint in ("text2video", "current:text-to-video")
        self.aspect = (body.get("aspect_ratio") or "16:9") if t2v else "16:9"
        self.cost = 0.0 if self.fail else round(PER_SECOND[self.mode] * int(self.duration), 6)
        # the clip served: the nearest of the made ones
        self.clip = "10" if int(self.duration) >= 8 else "5"
        self.video_id = str(uuid.uuid4())
        self.req_hash = req_hash

    def status(self, mono):
        age = mono - self.t0
        if age < self.submit_time:
            return "submitted"
        if age < self.gen_time:
            return "processing"
        return "failed" if self.fail else "succeed"

    def updated_ms(self, mono):
        age = mono - self.t0
        if age < self.submit_time:
            return self.created_ms
        if age < self.gen_time:
            return self.created_ms + int(self.submit_time * 1000)
        return self.created_ms + int(self.gen_time * 1000)


class WindowPeak:
    """Events in a sliding window: count now, and the highest count seen."""

    def __init__(self, window):
        self.window = window
        self.q = collections.deque()
        self.peak = 0

    def count(self, mono):
        while self.q and self.q[0] <= mono - self.window:
            self.q.popleft()
        return len(self.q)

    def add(self, mono):
        self.count(mono)
        self.q.append(mono)
        self.peak = max(self.peak, len(self.q))


class State:
    def __init__(self, cfg, media):
        self.lock = threading.Lock()
        self.cfg = cfg
        self.media = media
        self.rules = []
        self.reset()

    def reset(self):
        """Forget tasks, URLs, counters and rules (the caller holds the lock
        or is the constructor)."""
        self.rng = random.Random(self.cfg.seed)
        self.rules = []
        self.tasks = {}                 # task_id -> Task
        self.by_ext = {}                # external_task_id -> Task
        self.order = []                 # task ids, oldest first
        self.inflight = []              # heap of end times (monotonic)
        self.tokens = {}                # token -> (Task, expiry)
        self.req_hashes = collections.Counter()
        self.last_costs = None          # monotonic time of the last /account/costs
        self.rate = WindowPeak(self.cfg.rpm_window)
        self.create_min = WindowPeak(60)
        self.api_min = WindowPeak(60)
        self.started = time.monotonic()
        self.st = {
            "creates": 0, "creates_per_external_id": collections.Counter(),
            "tasks_created": 0, "duplicate_creates": 0, "creates_without_external_id": 0,
            "peak_concurrent": 0, "requests": collections.Counter(),
            "rejected": collections.Counter(), "injected": collections.Counter(),
            "auth_valid": 0, "auth_invalid": 0, "auth_codes": collections.Counter(),
            "lookups": 0, "lookup_ids": 0, "lookups_batched": 0, "account_costs": 0,
            "omitted": 0, "callback_urls": collections.Counter(),
            "media": collections.Counter(),
        }

    # -- limits --
    def in_flight(self, mono):
        while self.inflight and self.inflight[0] <= mono:
            heapq.heappop(self.inflight)
        return len(self.inflight)

    def rate_limit(self):
        return max(1, int(self.cfg.rpm * self.cfg.rpm_window / 60))

    def units(self, mono):
        spent = reserved = 0.0
        for t in self.tasks.values():
            s = t.status(mono)
            if s == "succeed":
                spent += t.cost
            elif s in ("submitted", "processing"):
                reserved += t.cost
        return spent, reserved

    def pick_rule(self, kind):
        for r in self.rules:
            if not r.matches(kind):
                continue
            r.seen += 1
            if r.seen <= r.skip:
                continue
            if r.prob is not None:
                if r.count is not None and r.fired >= r.count:
                    continue
                if self.rng.random() >= r.prob:
                    continue
            elif r.fired >= r.count:
                continue
            r.fired += 1
            self.st["injected"][r.kind] += 1
            return r
        return None

    def stats(self):
        mono = time.monotonic()
        by_status = collections.Counter(t.status(mono) for t in self.tasks.values())
        spent, reserved = self.units(mono)
        st = self.st
        per_ext = collections.Counter({t.ext_id: 1 for t in self.tasks.values() if t.ext_id})
        return {
            "creates": st["creates"],
            "creates_per_external_id": dict(st["creates_per_external_id"]),
            "tasks_created": st["tasks_created"],
            "tasks_per_external_id": dict(per_ext),
            "duplicate_creates": st["duplicate_creates"],
            "creates_without_external_id": st["creates_without_external_id"],
            "max_tasks_per_request": max(self.req_hashes.values(), default=0),
            "tasks_by_status": {s: by_status.get(s, 0)
                                for s in ("submitted", "processing", "succeed", "failed")},
            "in_flight": self.in_flight(mono),
            "peak_concurrent": st["peak_concurrent"],
            "rpm_peak": self.create_min.peak,
            "requests_rpm_peak": self.api_min.peak,
            "requests": dict(st["requests"]),
            "lookups": st["lookups"],
            "account_costs": st["account_costs"],
            "omitted": st["omitted"],
            "lookup_ids": st["lookup_ids"],
            "callback_urls": dict(st["callback_urls"]),
            "lookups_batched": st["lookups_batched"],
            "rejected": dict(st["rejected"]),
            "injected": dict(st["injected"]),
            "units_spent": spent,
            "units_reserved": reserved,
            "balance_left": None if self.cfg.balance is None else self.cfg.balance - spent - reserved,
            "auth": {"valid": st["auth_valid"], "invalid": st["auth_invalid"],
                     "by_code": dict(st["auth_codes"])},
            "unauthenticated_requests": st["auth_invalid"],
            "media": dict(st["media"]),
            "uptime": round(mono - self.started, 3),
            "config": self.cfg.as_dict(),
            "inject": [r.as_dict() for r in self.rules],
        }


# ----------------------------------------------------------------- media --

def make_media(args):
    """{(aspect, duration): bytes}: from --media-dir, else made once with the
    ffmpeg CLI into a cache folder (temporary name, then rename: several
    servers may share the cache)."""
    out = {}
    if args.media_dir:
        for ar in ASPECTS:
            for d in DURATIONS:
                name = "%s_%s.mp4" % (ar.replace(":", "x"), d)
                for cand in (name, "default.mp4"):
                    p = os.path.join(args.media_dir, cand)
                    if os.path.isfile(p):
                        with open(p, "rb") as f:
                            out[(ar, d)] = f.read()
                        break
                else:
                    raise SystemExit("mock_kling: %s has neither %s nor default.mp4"
                                     % (args.media_dir, name))
        return out
    cache = args.cache_dir or os.path.join(tempfile.gettempdir(), "vbatch-mock-kling-media")
    cache = os.path.join(cache, "v%s-%s" % (MEDIA_VERSION, args.media_quality))
    os.makedirs(cache, exist_ok=True)
    ffmpeg = os.environ.get("FFMPEG") or shutil.which("ffmpeg")
    if not ffmpeg:
        raise SystemExit("mock_kling: ffmpeg not found (or give --media-dir)")
    sizes = MEDIA_SIZES[args.media_quality]
    todo = []
    for ar, (w, h) in sizes.items():
        for d in DURATIONS:
            final = os.path.join(cache, "%s_%s.mp4" % (ar.replace(":", "x"), d))
            if not os.path.isfile(final) or os.path.getsize(final) == 0:
                tmp = os.path.join(cache, ".part%d.%s" % (os.getpid(), os.path.basename(final)))
                # Kling clips are 24 fps H.264 + AAC, 0.1 s longer than asked
                cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
                       "-f", "lavfi", "-i", "testsrc2=size=%dx%d:rate=24" % (w, h),
                       "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000",
                       "-t", "%s.1" % d, "-c:v", "libx264", "-preset", "ultrafast",
                       "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "+faststart",
                       "-shortest"] + MEDIA_CODING[args.media_quality] + [tmp]
                todo.append((subprocess.Popen(cmd), tmp, final))
            out[(ar, d)] = final
    for p, tmp, final in todo:
        if p.wait() != 0 or not os.path.isfile(tmp):
            raise SystemExit("mock_kling: ffmpeg could not make %s" % final)
        os.replace(tmp, final)
    for k, path in out.items():
        with open(path, "rb") as f:
            out[k] = f.read()
    return out


# --------------------------------------------------------------- handler --

class Reply(Exception):
    """An API error reply: raise Reply(code, detail)."""

    def __init__(self, code, detail=None, status=None):
        super().__init__(code)
        self.code = code
        self.detail = detail
        self.status = status or HTTP_OF.get(code, 400)


class Handler(BaseHTTPRequestHandler):
    server_version = "mock-kling/1"
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120           # idle keep-alive connections are closed
    state = None            # State
    keys = None             # {access_key: secret}
    api_key = None          # a plain key, the Bearer token itself
    verbose = False
    echo_key = False        # --echo-access-key

    def log_message(self, fmt, *args):
        if self.verbose:
            sys.stderr.write("mock_kling: %s\n" % (fmt % args))

    # -- low level --
    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n > 0 else b""

    def send_bytes(self, status, data, ctype="application/json; charset=utf-8",
                   headers=None, truncate=False):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        if truncate:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command == "HEAD":
            return
        if truncate:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
        else:
            self.wfile.write(data)

    def send_json(self, status, obj, headers=None, malformed=False):
        data = json.dumps(obj).encode()
        if malformed:
            # a whole HTTP reply whose JSON stops half-way
            data = data[: len(data) // 2]
        self.send_bytes(status, data, headers=headers)

    def reset(self):
        """Close the connection at once, without a reply (RST)."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.connection.close()
        except OSError:
            pass
        self.close_connection = True

    def error_obj(self, code, detail=None):
        msg = MESSAGES.get(code, "error")
        if detail:
            msg = "%s: %s" % (msg, detail)
        return {"code": code, "message": msg, "request_id": str(uuid.uuid4())}

    # -- dispatch --
    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def classify(self, method, path):
        parts = path.strip("/").split("/")
        if parts[0] == "_admin":
            return "admin", parts
        if parts[0] == "media" and len(parts) == 2 and method == "GET":
            return "media", parts
        if len(parts) >= 3 and parts[0] == "v1" and parts[1] == "videos" and \
                parts[2] in ("text2video", "image2video"):
            if len(parts) == 3:
                return ("create" if method == "POST" else "list"), parts
            if len(parts) == 4 and method == "GET":
                return "query", parts
        # the current style: the model in the path, one lookup for many
        if len(parts) == 2 and parts[0] in ("text-to-video", "image-to-video") and \
                method == "POST":
            return "create", ["current"] + parts
        if parts == ["tasks"] and method == "GET":
            return "query", ["current", "tasks"]
        if parts == ["account", "costs"] and method == "GET":
            return "account", parts
        return None, parts

    def dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        body = self.read_body() if method == "POST" else b""
        kind, parts = self.classify(method, url.path)
        st = self.state
        if kind is None:
            self.send_json(404, self.error_obj(1203, "no such endpoint"))
            return
        if kind == "admin":
            self.admin(method, parts, body)
            return
        mono = time.monotonic()
        with st.lock:
            st.st["requests"][kind] += 1
            if kind != "media":
                st.api_min.add(mono)
            parsed = None
            if kind == "create":
                st.st["creates"] += 1
                try:
                    parsed = json.loads(body)
                except ValueError:
                    parsed = None
                ext = parsed.get("external_task_id") if isinstance(parsed, dict) else None
                if parts[0] == "current" and isinstance(parsed, dict):
                    o = parsed.get("options")
                    ext = o.get("external_task_id") if isinstance(o, dict) else None
                if isinstance(ext, str) and ext:
                    st.st["creates_per_external_id"][ext] += 1
            rule = st.pick_rule(kind)
            if rule is not None and rule.kind == "omit" and not (
                    kind == "query" and parts[0] == "current" and
                    urllib.parse.parse_qs(url.query).get("task_ids")):
                # only a lookup by task ids can leave one out: not spent
                rule.fired -= 1
                st.st["injected"]["omit"] -= 1
                rule = None
            cfg = st.cfg
            slow = (rule.s if rule and rule.s is not None else cfg.slow_time)
            retry_after = (rule.s if rule and rule.s is not None else cfg.retry_after)
        if rule is not None:
            r = rule.kind
            if r == "slow":
                time.sleep(slow)
                rule = None
            elif r == "reset":
                self.reset()
                return
            elif r in ("1302", "1303", "1102", "1004"):
                hdr = {"Retry-After": "%d" % math.ceil(retry_after)} if rule.s is not None else None
                self.send_json(HTTP_OF[int(r)], self.error_obj(int(r), "injected"), headers=hdr)
                return
            elif r == "429":
                self.send_json(429, self.error_obj(1302, "injected"),
                               headers={"Retry-After": "%d" % math.ceil(retry_after)})
                return
            elif r == "403":
                self.send_bytes(403, b"<html><head><title>403 Forbidden</title></head>"
                                b"<body><center><h1>403 Forbidden</h1></center></body></html>\n",
                                ctype="text/html")
                return
            elif r == "502":
                self.send_bytes(502, b"<html><head><title>502 Bad Gateway</title></head>"
                                b"<body><center><h1>502 Bad Gateway</h1></center></body></html>\n",
                                ctype="text/html")
                return
            elif r in ("500", "503", "504"):
                code = {"500": 5000, "503": 5001, "504": 5002}[r]
                self.send_json(int(r), self.error_obj(code, "injected"))
                return
        if kind == "media":
            self.media(parts[1], rule)
            return
        try:
            self.authenticate()
            self.rate_check(kind)
            if kind == "create" and parts[0] == "current":
                status, obj = self.create_current(parts[1], urllib.parse.unquote(parts[2]),
                                                  parsed)
            elif kind == "create":
                status, obj = self.create(parts[2], body, parsed)
            elif kind == "account":
                status, obj = self.account_costs(url.query)
            elif kind == "query" and parts[0] == "current":
                status, obj = self.lookup(url.query,
                                          expired=rule is not None and rule.kind == "expired",
                                          omit=rule is not None and rule.kind == "omit")
            elif kind == "query":
                status, obj = self.query(parts[2], urllib.parse.unquote(parts[3]),
                                         expired=rule is not None and rule.kind == "expired")
            else:
                status, obj = self.list_tasks(parts[2], url.query)
        except Reply as e:
            status, obj = e.status, self.error_obj(e.code, e.detail)
            if e.code not in range(1000, 1005):
                with st.lock:
                    st.st["rejected"][str(e.code)] += 1
        if rule is not None and rule.kind == "lost":
            self.reset()
            return
        self.send_json(status, obj, malformed=rule is not None and rule.kind == "malformed")

    # -- auth --
    def authenticate(self):
        st = self.state
        try:
            self.check_jwt(self.headers.get("Authorization"))
        except Reply as e:
            with st.lock:
                st.st["auth_invalid"] += 1
                st.st["auth_codes"][str(e.code)] += 1
            raise
        with st.lock:
            st.st["auth_valid"] += 1

    def check_jwt(self, auth):
        if not auth or not auth.strip():
            raise Reply(1001)
        scheme, _, token = auth.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Reply(1002, "expected Bearer <token>")
        if self.api_key and hmac.compare_digest(token.strip().encode(), self.api_key.encode()):
            return
        parts = token.strip().split(".")
        if len(parts) != 3:
            raise Reply(1002, "not a JWT")
        try:
            header = json.loads(b64url_decode(parts[0]))
            claims = json.loads(b64url_decode(parts[1]))
            sig = b64url_decode(parts[2])
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise Reply(1002, "not a JWT")
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise Reply(1002, "not a JWT")
        if header.get("alg") != "HS256":
            raise Reply(1002, "alg must be HS256")
        secret = self.keys.get(claims.get("iss")) if isinstance(claims.get("iss"), str) else None
        if secret is None:
            raise Reply(1000, "unknown access key %r" % claims.get("iss")
                        if self.echo_key else "unknown access key")
        want = hmac.new(secret.encode(), (parts[0] + "." + parts[1]).encode(),
                        hashlib.sha256).digest()
        if not hmac.compare_digest(want, sig):
            raise Reply(1002, "bad signature")
        exp, nbf = claims.get("exp"), claims.get("nbf")
        num = (int, float)
        if isinstance(exp, bool) or not isinstance(exp, num):
            raise Reply(1002, "no exp claim")
        if nbf is not None and (isinstance(nbf, bool) or not isinstance(nbf, num)):
            raise Reply(1002, "bad nbf claim")
        now = time.time()
        leeway = self.state.cfg.leeway
        if nbf is not None and now + leeway < nbf:
            raise Reply(1003)
        if now - leeway >= exp:
            raise Reply(1004)

    # -- create --
    def check_params(self, endpoint, b):
        def opt_str(k):
            v = b.get(k)
            if v is not None and not isinstance(v, str):
                raise Reply(1201, "%s must be a string" % k)
            return v
        model = opt_str("model_name")
        if model is not None and not MODEL_RE.match(model):
            raise Reply(1201, "model_name: unknown model")
        if model is not None:
            self.model_check(model)
        prompt = opt_str("prompt")
        if endpoint == "text2video" and not (prompt and prompt.strip()):
            raise Reply(1201, "prompt is required")
        for k in ("prompt", "negative_prompt"):
            v = opt_str(k)
            if v is not None and len(v) > MAX_PROMPT:
                raise Reply(1201, "%s longer than %d characters" % (k, MAX_PROMPT))
        cfg = b.get("cfg_scale")
        if cfg is not None and (isinstance(cfg, bool) or not isinstance(cfg, (int, float))
                                or not 0 <= cfg <= 1):
            raise Reply(1201, "cfg_scale must be a number within [0, 1]")
        mode = opt_str("mode")
        if mode is not None and mode not in MODES:
            raise Reply(1201, "mode must be std or pro")
        ar = opt_str("aspect_ratio")
        if ar is not None and ar not in ASPECTS:
            raise Reply(1201, "aspect_ratio must be 16:9, 9:16 or 1:1")
        if "duration" in b and b["duration"] not in DURATIONS:
            raise Reply(1201, 'duration must be the string "5" or "10"')
        ext = opt_str("external_task_id")
        if ext is not None and not ext:
            raise Reply(1201, "external_task_id is empty")
        opt_str("callback_url")
        images = 0
        for k in ("image", "image_tail"):
            v = opt_str(k)
            if v is None or v == "":
                continue
            if endpoint != "image2video":
                raise Reply(1201, "%s: text2video takes no image" % k)
            images += 1
            if re.match(r"(?i)^https?://", v):
                continue
            if v.startswith("data:"):
                raise Reply(1201, "%s: base64 without the data: prefix" % k)
            try:
                raw = base64.b64decode(v, validate=True)
            except (ValueError, binascii.Error):
                raise Reply(1201, "%s: not base64" % k)
            if len(raw) > MAX_IMAGE:
                raise Reply(1201, "%s: larger than 10 MB" % k)
            if not (raw.startswith(b"\xff\xd8\xff") or raw.startswith(b"\x89PNG\r\n\x1a\n")
                    or (raw[:4] == b"RIFF" and raw[8:12] == b"WEBP")):
                raise Reply(1201, "%s: not a JPEG, PNG or WebP image" % k)
        if endpoint == "image2video" and images == 0:
            raise Reply(1201, "image or image_tail is required")

    def model_check(self, model):
        """1203 for a discontinued model, 1103 for one the account may not use."""
        with self.state.lock:
            cfg = self.state.cfg
            if model in cfg.models_in("discontinued"):
                raise Reply(1203, "model %s" % model)
            if model in cfg.models_in("no_access"):
                raise Reply(1103, "model %s" % model)

    @staticmethod
    def request_hash(endpoint, b):
        keys = ("model_name", "prompt", "negative_prompt", "cfg_scale", "mode",
                "aspect_ratio", "duration", "image", "image_tail")
        canon = json.dumps([endpoint] + [b.get(k) for k in keys], sort_keys=True)
        return hashlib.sha256(canon.encode()).hexdigest()

    def rate_check(self, kind):
        """1302 past the rate limit; only requests let through count."""
        st = self.state
        with st.lock:
            cfg = st.cfg
            if cfg.rpm > 0 and (kind == "create" or cfg.rpm_scope == "all"):
                mono = time.monotonic()
                if st.rate.count(mono) >= st.rate_limit():
                    raise Reply(1302)
                st.rate.add(mono)

    def create(self, endpoint, body, b, checked=False):
        st = self.state
        if not isinstance(b, dict):
            raise Reply(1200, "the body must be a JSON object")
        if not checked:
            self.check_params(endpoint, b)
        prompt = (b.get("prompt") or "") + " " + (b.get("negative_prompt") or "")
        if "FORBIDDEN" in prompt:
            raise Reply(1301)
        ext = b.get("external_task_id") or None
        if isinstance(b.get("callback_url"), str) and b["callback_url"]:
            with st.lock:
                st.st["callback_urls"][b["callback_url"]] += 1
        m = re.search(r"GENTIME=([0-9]+(?:\.[0-9]+)?)", b.get("prompt") or "")
        with st.lock:
            cfg = st.cfg
            mono = time.monotonic()
            if ext is not None and ext in st.by_ext:
                st.st["duplicate_creates"] += 1
                raise Reply(1201, "external_task_id duplicated")
            gen = float(m.group(1)) if m else cfg.gen_time
            t = Task(endpoint, b, ext, gen, cfg.submit_time_for(gen),
                     self.request_hash(endpoint, b))
            if cfg.balance is not None:
                spent, reserved = st.units(mono)
                if spent + reserved + t.cost > cfg.balance + 1e-9:
                    raise Reply(1102)
            if cfg.max_concurrent > 0 and st.in_flight(mono) >= cfg.max_concurrent:
                raise Reply(1303)
            st.tasks[t.task_id] = t
            st.order.append(t.task_id)
            if ext is not None:
                st.by_ext[ext] = t
            else:
                st.st["creates_without_external_id"] += 1
            heapq.heappush(st.inflight, t.t0 + t.gen_time)
            st.st["peak_concurrent"] = max(st.st["peak_concurrent"], st.in_flight(mono))
            st.st["tasks_created"] += 1
            st.req_hashes[t.req_hash] += 1
            st.create_min.add(mono)
            data = {"task_id": t.task_id, "task_status": "submitted",
                    "task_info": {"external_task_id": ext} if ext else {},
                    "created_at": t.created_ms, "updated_at": t.created_ms}
        return 200, {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()),
                     "data": data}

    # -- the resource packs --
    def account_costs(self, query):
        """GET /account/costs: the video pack holding --balance (what is
        left: the balance less the units spent and reserved, no 12 h lag),
        an image pack and an expired video pack that must not count;
        free, at most one request a second (else 1302)."""
        q = urllib.parse.parse_qs(query)
        for k in ("start_time", "end_time"):
            v = q.get(k, [""])[0]
            if not v.isdigit():
                raise Reply(1201, "%s: a Unix time in milliseconds is required" % k)
        st = self.state
        with st.lock:
            mono = time.monotonic()
            if st.last_costs is not None and mono - st.last_costs < 1.0:
                raise Reply(1302, "account queries: at most one a second")
            st.last_costs = mono
            st.st["account_costs"] += 1
            spent, reserved = st.units(mono)
            total = st.cfg.balance if st.cfg.balance is not None else 1e6
            # --pack-lag: Kling's count lags by up to 12 h: it may say more
            # than there is
            left = max(0.0, total - spent - reserved) + st.cfg.pack_lag
        ms = now_ms()
        day = 24 * 3600 * 1000
        packs = [
            {"resource_pack_name": "Video Generation - mock", "resource_pack_id": "p-video",
             "resource_pack_type": "decreasing_total", "total_quantity": total,
             "remaining_quantity": left, "purchase_time": ms - day,
             "effective_time": ms - day, "invalid_time": ms + 30 * day,
             "status": "online" if left > 0 else "runOut"},
            {"resource_pack_name": "Image Generation - mock", "resource_pack_id": "p-image",
             "resource_pack_type": "decreasing_total", "total_quantity": 5000.0,
             "remaining_quantity": 5000.0, "purchase_time": ms - day,
             "effective_time": ms - day, "invalid_time": ms + 30 * day, "status": "online"},
            {"resource_pack_name": "Video Generation - old", "resource_pack_id": "p-old",
             "resource_pack_type": "decreasing_total", "total_quantity": 900.0,
             "remaining_quantity": 900.0, "purchase_time": ms - 100 * day,
             "effective_time": ms - 100 * day, "invalid_time": ms - 10 * day,
             "status": "expired"},
        ]
        return 200, {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()),
                     "data": {"code": 0, "msg": "", "resource_pack_subscribe_infos": packs}}

    # -- the current style --
    def check_current(self, kind, model, b):
        if not isinstance(b, dict):
            raise Reply(1200, "the body must be a JSON object")
        extra = sorted(set(b) - CURRENT_FIELDS)
        if extra:
            raise Reply(1201, "unknown field(s) %s (the model is in the path; resolution, "
                        "aspect_ratio and duration in settings)" % ", ".join(extra))
        if not MODEL_RE.match(model):
            raise Reply(1201, "unknown model %s" % model)
        self.model_check(model)
        st, opt = b.get("settings", {}), b.get("options", {})
        if not isinstance(st, dict) or not isinstance(opt, dict):
            raise Reply(1201, "settings and options are objects")
        res = st.get("resolution", "720p")
        if res not in RESOLUTIONS:
            raise Reply(1201, "settings.resolution must be 720p or 1080p")
        d = st.get("duration", 5)
        if isinstance(d, bool) or not isinstance(d, int) or \
                d not in CURRENT_DURATIONS.get(model, (5, 10)):
            raise Reply(1201, "settings.duration: %r is not a duration %s makes (a number)"
                        % (d, model))
        ar = st.get("aspect_ratio")
        if ar is not None and ar not in ASPECTS:
            raise Reply(1201, "settings.aspect_ratio must be 16:9, 9:16 or 1:1")
        for k in ("external_task_id", "callback_url"):
            if k in opt and not (isinstance(opt[k], str) and opt[k]):
                raise Reply(1201, "options.%s must be a non-empty string" % k)
        legacy = {k: b.get(k) for k in ("prompt", "negative_prompt", "cfg_scale", "image",
                                        "image_tail") if k in b}
        legacy.update(mode=RESOLUTIONS[res], duration=str(d), aspect_ratio=ar)
        self.check_params("image2video" if kind == "image-to-video" else "text2video",
                          {k: v for k, v in legacy.items() if k not in ("duration",
                                                                      "aspect_ratio")})
        legacy["external_task_id"] = opt.get("external_task_id")
        legacy["callback_url"] = opt.get("callback_url")
        legacy["model_name"] = model
        return legacy

    def create_current(self, kind, model, b):
        """POST /{text|image}-to-video/{model}: answered in the current shape."""
        norm = self.check_current(kind, model, b)
        status, obj = self.create("current:" + kind, None, norm, checked=True)
        with self.state.lock:
            t = self.state.tasks[obj["data"]["task_id"]]
            obj["data"] = self.current_data(t, time.monotonic())
        return status, obj

    def current_data(self, t, mono, expired=False):
        """A task in the current shape (lock held)."""
        d = self.task_data(t, mono, expired)
        out = {"task_id": t.task_id,
               "status": {"succeed": "succeeded"}.get(d["task_status"], d["task_status"]),
               "status_msg": d["task_status_msg"], "external_task_id": t.ext_id,
               "created_at": d["created_at"], "updated_at": d["updated_at"]}
        if "task_result" in d:
            out["outputs"] = d["task_result"]
        if "final_unit_deduction" in d:
            out["billing"] = [{"amount": "%.2f" % t.cost, "charge_type": "unit",
                               "resource_type": "video"}]
        return out

    def lookup(self, query, expired=False, omit=False):
        """GET /tasks?task_ids=a,b or ?external_task_ids=...: the tasks found,
        in the order asked; the others are left out."""
        q = urllib.parse.parse_qs(query)
        ids = [("t", i) for v in q.get("task_ids", []) for i in v.split(",") if i] + \
              [("e", i) for v in q.get("external_task_ids", []) for i in v.split(",") if i]
        if not ids:
            raise Reply(1201, "task_ids or external_task_ids is required")
        if len(ids) > MAX_LOOKUP_IDS:
            raise Reply(1201, "at most %d ids in one lookup" % MAX_LOOKUP_IDS)
        st = self.state
        with st.lock:
            mono = time.monotonic()
            st.st["lookups"] += 1
            st.st["lookup_ids"] += len(ids)
            st.st["lookups_batched"] += len(ids) > 1
            out = []
            for how, i in ids:
                t = st.tasks.get(i) if how == "t" else st.by_ext.get(i)
                if t is not None:
                    out.append(self.current_data(t, mono, expired))
            if omit and out:
                st.st["omitted"] += 1
                out = out[1:]
        return 200, {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()),
                     "data": out}

    # -- query --
    def task_data(self, t, mono, expired=False):
        """The data object of a task (lock held); issues a fresh URL."""
        s = t.status(mono)
        d = {"task_id": t.task_id, "task_status": s, "task_status_msg": "",
             "task_info": {"external_task_id": t.ext_id} if t.ext_id else {},
             "created_at": t.created_ms, "updated_at": t.updated_ms(mono)}
        if s == "failed":
            d["task_status_msg"] = "Video generation failed (mock: FAILTASK)"
        if s in ("succeed", "failed"):
            d["final_unit_deduction"] = fmt_units(t.cost)
        if s == "succeed":
            token = uuid.uuid4().hex
            ttl = -1.0 if expired else self.state.cfg.url_ttl
            self.state.tokens[token] = (t, mono + ttl)
            host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
            d["task_result"] = {"videos": [{
                "id": t.video_id, "url": "http://%s/media/%s.mp4" % (host, token),
                "duration": "%s.1" % t.duration}]}
        return d

    def query(self, endpoint, ident, expired=False):
        st = self.state
        with st.lock:
            mono = time.monotonic()
            t = st.tasks.get(ident) or st.by_ext.get(ident)
            if t is None or t.endpoint != endpoint:
                raise Reply(1203, "task not found")
            data = self.task_data(t, mono, expired)
        return 200, {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()),
                     "data": data}

    def list_tasks(self, endpoint, query):
        q = urllib.parse.parse_qs(query)
        try:
            page = int(q.get("pageNum", ["1"])[0])
            size = int(q.get("pageSize", ["30"])[0])
        except ValueError:
            raise Reply(1201, "pageNum and pageSize are numbers")
        if page < 1 or not 1 <= size <= 500:
            raise Reply(1201, "pageNum >= 1, pageSize within [1, 500]")
        st = self.state
        with st.lock:
            mono = time.monotonic()
            ids = [i for i in reversed(st.order) if st.tasks[i].endpoint == endpoint]
            data = [self.task_data(st.tasks[i], mono)
                    for i in ids[(page - 1) * size: page * size]]
        return 200, {"code": 0, "message": "SUCCEED", "request_id": str(uuid.uuid4()),
                     "data": data}

    # -- media --
    def media(self, name, rule):
        st = self.state
        token = name[:-4] if name.endswith(".mp4") else name
        with st.lock:
            hit = st.tokens.get(token)
            mono = time.monotonic()
            if hit is None:
                st.st["media"]["not_found"] += 1
            elif mono >= hit[1] or (rule is not None and rule.kind == "expired"):
                st.st["media"]["expired"] += 1
                hit = "expired"
            else:
                data = st.media[(hit[0].aspect, hit[0].clip)]
                st.st["media"]["downloads"] += 1
                st.st["media"]["bytes"] += len(data)
        if hit is None:
            self.send_bytes(404, b"not found\n", ctype="text/plain")
        elif hit == "expired":
            self.send_bytes(403, b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
                            b"<Code>AccessDenied</Code><Message>Request has expired</Message>"
                            b"</Error>\n", ctype="application/xml")
        elif rule is not None and rule.kind == "lost":
            self.reset()
        else:
            self.send_bytes(200, data, ctype="video/mp4",
                            truncate=rule is not None and rule.kind == "malformed")

    # -- admin --
    def admin(self, method, parts, body):
        st = self.state
        what = parts[1] if len(parts) > 1 else ""
        if method == "GET" and what == "stats":
            with st.lock:
                st.st["requests"]["admin"] += 1
                obj = st.stats()
            self.send_json(200, obj)
        elif method == "GET" and what == "config":
            with st.lock:
                obj = dict(st.cfg.as_dict(), inject=[r.as_dict() for r in st.rules])
            self.send_json(200, obj)
        elif method == "POST" and what == "config":
            try:
                d = json.loads(body or b"{}")
                if not isinstance(d, dict):
                    raise ValueError("a JSON object is expected")
                rules = [Rule(x) for x in d["inject"]] if "inject" in d else None
                with st.lock:
                    st.cfg.update(d)
                    if "seed" in d:
                        st.rng = random.Random(st.cfg.seed)
                    if "rpm_window" in d:
                        st.rate = WindowPeak(st.cfg.rpm_window)
                    if rules is not None:
                        st.rules = rules
                    obj = dict(st.cfg.as_dict(), inject=[r.as_dict() for r in st.rules])
            except (ValueError, TypeError, KeyError) as e:
                self.send_json(400, {"error": str(e)})
                return
            self.send_json(200, obj)
        elif method == "POST" and what == "reset":
            with st.lock:
                st.reset()
            self.send_json(200, {"reset": True})
        else:
            self.send_json(404, {"error": "no such admin endpoint"})


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def handle_error(self, request, client_address):
        # Clients dropping connections (and our own resets) are expected.
        if Handler.verbose:
            super().handle_error(request, client_address)


# ------------------------------------------------------------------- ctl --

def ctl(argv):
    if len(argv) < 2 or argv[1] not in ("stats", "reset", "config"):
        sys.stderr.write("usage: mock_kling.py ctl URL stats|reset|config [JSON]\n")
        return 2
    base = argv[0].rstrip("/")
    if argv[1] == "stats":
        req = urllib.request.Request(base + "/_admin/stats")
    elif argv[1] == "reset":
        req = urllib.request.Request(base + "/_admin/reset", data=b"{}", method="POST")
    elif len(argv) > 2:
        req = urllib.request.Request(base + "/_admin/config", data=argv[2].encode(),
                                     method="POST",
                                     headers={"Content-Type": "application/json"})
    else:
        req = urllib.request.Request(base + "/_admin/config")
    # never through a proxy: the server is local
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(req, timeout=30) as r:
            sys.stdout.write(r.read().decode() + "\n")
    except urllib.error.HTTPError as e:
        sys.stderr.write("mock_kling ctl: %s %s\n" % (e.code, e.read().decode(errors="replace")))
        return 1
    except OSError as e:
        sys.stderr.write("mock_kling ctl: %s\n" % e)
        return 1
    return 0


# ------------------------------------------------------------------ main --

def main(argv):
    if argv and argv[0] == "ctl":
        return ctl(argv[1:])
    ap = argparse.ArgumentParser(prog="mock_kling.py",
                                 description="A mock of the Kling video API.")
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--stats-file", help="write the stats there (JSON) on exit")
    ap.add_argument("--lifetime", type=float, default=3600,
                    help="exit after this many seconds (default 3600)")
    ap.add_argument("--access-key")
    ap.add_argument("--api-key")
    ap.add_argument("--discontinued", default=DISCONTINUED,
                    help="models answered 1203 at create (comma-separated)")
    ap.add_argument("--pack-lag", type=float, default=0,
                    help="/account/costs says this many units more than are left")
    ap.add_argument("--no-access", default="",
                    help="models answered 1103 at create (comma-separated)")
    ap.add_argument("--secret-key")
    ap.add_argument("--gen-time", type=float, default=2.0,
                    help="seconds from creation to succeed/failed (default 2)")
    ap.add_argument("--submit-time", type=float, default=None,
                    help="seconds in 'submitted' (default min(0.5, gen-time/4))")
    ap.add_argument("--url-ttl", type=float, default=300,
                    help="video URLs expire after this many seconds (default 300)")
    ap.add_argument("--max-concurrent", type=int, default=3,
                    help="tasks in flight before 1303 (default 3; 0: no limit)")
    ap.add_argument("--rpm", type=int, default=0, help="creates per minute (0: no limit)")
    ap.add_argument("--rpm-window", type=float, default=60,
                    help="sliding window of the rate limit, seconds (default 60)")
    ap.add_argument("--rpm-scope", choices=("create", "all"), default="create")
    ap.add_argument("--balance", type=float, default=None, help="units (default: no limit)")
    ap.add_argument("--leeway", type=float, default=0, help="JWT clock leeway, seconds")
    ap.add_argument("--inject", action="append", default=[], metavar="RULE",
                    help="kind=K[,on=S][,count=N|prob=P][,skip=K][,s=SECONDS]")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--retry-after", type=float, default=1)
    ap.add_argument("--slow-time", type=float, default=2)
    ap.add_argument("--media-dir", help="pre-made clips: 16x9_5.mp4 ... or default.mp4")
    ap.add_argument("--media-quality", choices=tuple(MEDIA_SIZES), default="small")
    ap.add_argument("--cache-dir", help="where the clips are made once")
    ap.add_argument("--verbose", action="store_true")
    ap.add_argument("--echo-access-key", action="store_true",
                    help="name the unknown access key in 1000 replies (as some APIs do)")
    args = ap.parse_args(argv)

    cfg = Config(args)
    try:
        cfg.check()
        rules = [Rule(r) for r in args.inject]
    except ValueError as e:
        ap.error(str(e))
    ak = args.access_key or os.environ.get("KLING_ACCESS_KEY") or "mock-ak"
    sk = args.secret_key or os.environ.get("KLING_SECRET_KEY") or "mock-sk"

    media = make_media(args)
    state = State(cfg, media)
    state.rules = rules
    Handler.state = state
    Handler.keys = {ak: sk}
    Handler.api_key = args.api_key or os.environ.get("KLING_API_KEY") or "mock-api-key"
    Handler.verbose = args.verbose
    Handler.echo_key = args.echo_access_key
    srv = Server(("127.0.0.1", args.port), Handler)
    port = srv.server_address[1]

    def write_stats():
        if args.stats_file:
            with state.lock:
                s = state.stats()
            tmp = args.stats_file + ".tmp.%d" % os.getpid()
            with open(tmp, "w") as f:
                json.dump(s, f, indent=1)
            os.replace(tmp, args.stats_file)

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
    write_stats()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
