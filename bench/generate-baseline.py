#!/usr/bin/env python3
"""generate-baseline.py - the baseline that bench/generate.sh times vbatch
generate against: a batch client for the Kling API written the way common
public asyncio examples do it (standard library only: no aiohttp, no PyJWT).

    KLING_ACCESS_KEY=... KLING_SECRET_KEY=... \\
    python3 bench/generate-baseline.py JOBS.csv --base-url URL --output DIR \\
        [--max-concurrent 20] [--rpm 600] [--poll 5] [--summary FILE]

- JOBS.csv as vbatch generate reads it (csv module): id, prompt,
  negative_prompt, model, duration, aspect_ratio, mode, cfg_scale, image,
  image_tail; empty cells take the API's defaults; a row with an image is
  an image-to-video job (a local path is sent as base64, a URL as is).
- An asyncio.Semaphore(--max-concurrent) around each job (submit, poll,
  download), so that no more tasks are in flight than the account allows.
- Submissions one at a time with asyncio.sleep(60 / --rpm) after each.
- Each task polled every --poll seconds until it succeeds or fails, then
  its video downloaded to DIR/<id>.mp4 (temporary name, then rename); an
  expired URL (403) is refreshed by querying the task again.
- HTTP through urllib in a thread pool; 429 and 5xx answers and network
  errors are retried with exponential backoff; the token (HS256 JWT, iss
  = access key, exp = now + 1800, nbf = now - 5) is re-signed before it
  expires. The external_task_id is the row's id.

Prints one line per failed job, then a summary with the wall time; with
--summary also writes it as JSON. Exit status 0 if every job succeeded.
"""

import argparse
import asyncio
import base64
import concurrent.futures
import csv
import functools
import hashlib
import hmac
import json
import os
import random
import sys
import time
import urllib.error
import urllib.request

# no proxy for the benchmark's local server, whatever the environment says
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class Token:
    """A Kling API token, signed again shortly before it expires."""

    def __init__(self, ak, sk):
        self.ak, self.sk = ak, sk
        self.value, self.exp = None, 0

    def get(self):
        now = int(time.time())
        if self.value is None or now > self.exp - 60:
            header = b64url(json.dumps({"alg": "HS256", "typ": "JWT"},
                                       separators=(",", ":")).encode())
            claims = b64url(json.dumps({"iss": self.ak, "exp": now + 1800, "nbf": now - 5},
                                       separators=(",", ":")).encode())
            sig = hmac.new(self.sk.encode(), (header + "." + claims).encode(),
                           hashlib.sha256).digest()
            self.value, self.exp = header + "." + claims + "." + b64url(sig), now + 1800
        return self.value


def http(method, url, body=None, headers=None, timeout=60):
    """(status, body bytes); the status is 0 for a network error."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with OPENER.open(req, timeout=timeout) as r:
            return r.status, r.read(), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read(), e.headers
    except (urllib.error.URLError, OSError, ValueError) as e:
        return 0, str(e).encode(), {}


class Client:
    def __init__(self, args, token):
        self.base = args.base_url.rstrip("/")
        self.token = token
        self.retries = args.retries

    async def call(self, method, path, payload=None):
        """The API's JSON reply; retries rate limits, 5xx and network errors."""
        loop = asyncio.get_running_loop()
        body = json.dumps(payload).encode() if payload is not None else None
        for attempt in range(self.retries + 1):
            headers = {"Authorization": "Bearer " + self.token.get(),
                       "Content-Type": "application/json"}
            status, data, hdrs = await loop.run_in_executor(
                None, functools.partial(http, method, self.base + path, body, headers))
            try:
                reply = json.loads(data)
            except ValueError:
                reply = None
            if status == 200 and isinstance(reply, dict) and reply.get("code") == 0:
                return reply["data"]
            code = reply.get("code") if isinstance(reply, dict) else None
            transient = status in (0, 429, 500, 502, 503, 504) or code == 1004 or \
                (status == 200 and reply is None)
            if not transient or attempt == self.retries:
                raise RuntimeError("%s %s: HTTP %s, code %s: %s" % (
                    method, path, status, code,
                    reply.get("message") if isinstance(reply, dict) else data[:200]))
            if code == 1004:
                self.token.value = None
            wait = hdrs.get("Retry-After") if hdrs else None
            delay = float(wait) if wait and wait.isdigit() else min(30, 2 ** attempt) * random.uniform(0.5, 1)
            await asyncio.sleep(delay)
        raise AssertionError("unreachable")


def job_payload(row, csv_dir):
    """(endpoint, request body) for a row."""
    body = {"model_name": row.get("model") or "kling-v2-6",
            "prompt": row.get("prompt") or "",
            "duration": row.get("duration") or "5",
            "mode": row.get("mode") or "std",
            "external_task_id": row["id"]}
    if row.get("negative_prompt"):
        body["negative_prompt"] = row["negative_prompt"]
    if row.get("cfg_scale"):
        body["cfg_scale"] = float(row["cfg_scale"])
    image = any(row.get(k) for k in ("image", "image_tail"))
    for k in ("image", "image_tail"):
        v = row.get(k)
        if not v:
            continue
        if v.startswith(("http://", "https://")):
            body[k] = v
        else:
            with open(os.path.join(csv_dir, v), "rb") as f:
                body[k] = base64.b64encode(f.read()).decode()
    if not image:
        body["aspect_ratio"] = row.get("aspect_ratio") or "16:9"
    if not body["prompt"]:
        del body["prompt"]
    return ("image2video" if image else "text2video"), body


async def run_job(row, args, client, sem, pace, csv_dir):
    endpoint, body = job_payload(row, csv_dir)
    async with sem:
        async with pace:
            data = await client.call("POST", "/v1/videos/" + endpoint, body)
            await asyncio.sleep(60 / args.rpm)
        task_id = data["task_id"]
        while True:
            await asyncio.sleep(args.poll)
            data = await client.call("GET", "/v1/videos/%s/%s" % (endpoint, task_id))
            if data["task_status"] == "failed":
                raise RuntimeError("task %s failed: %s" % (task_id, data.get("task_status_msg")))
            if data["task_status"] == "succeed":
                break
        dest = os.path.join(args.output, "%s.mp4" % row["id"])
        tmp = dest + ".part"
        loop = asyncio.get_running_loop()
        for attempt in range(args.retries + 1):
            url = data["task_result"]["videos"][0]["url"]
            status, video, _ = await loop.run_in_executor(None, http, "GET", url)
            if status == 200:
                break
            if attempt == args.retries:
                raise RuntimeError("download %s: HTTP %s" % (url, status))
            if status == 403:   # expired URL: ask for a fresh one
                data = await client.call("GET", "/v1/videos/%s/%s" % (endpoint, task_id))
            else:
                await asyncio.sleep(min(30, 2 ** attempt))
        with open(tmp, "wb") as f:
            f.write(video)
        os.replace(tmp, dest)
        return float(data.get("final_unit_deduction") or 0)


async def main_async(args):
    with open(args.jobs, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    os.makedirs(args.output, exist_ok=True)
    loop = asyncio.get_running_loop()
    loop.set_default_executor(concurrent.futures.ThreadPoolExecutor(args.max_concurrent + 4))
    token = Token(os.environ["KLING_ACCESS_KEY"], os.environ["KLING_SECRET_KEY"])
    client = Client(args, token)
    sem = asyncio.Semaphore(args.max_concurrent)
    pace = asyncio.Lock()
    csv_dir = os.path.dirname(os.path.abspath(args.jobs))
    t0 = time.monotonic()
    results = await asyncio.gather(*(run_job(r, args, client, sem, pace, csv_dir) for r in rows),
                                   return_exceptions=True)
    wall = time.monotonic() - t0
    failed = 0
    for row, res in zip(rows, results):
        if isinstance(res, BaseException):
            failed += 1
            print("job %s: %s" % (row.get("id"), res), file=sys.stderr)
    units = sum(r for r in results if isinstance(r, float))
    summary = {"jobs": len(rows), "succeeded": len(rows) - failed, "failed": failed,
               "units": units, "wall_seconds": round(wall, 3)}
    print("baseline: %d jobs, %d succeeded, %d failed, %g units, wall %.1f s"
          % (len(rows), len(rows) - failed, failed, units, wall))
    if args.summary:
        with open(args.summary, "w") as f:
            json.dump(summary, f)
            f.write("\n")
    return 0 if failed == 0 else 1


def main():
    ap = argparse.ArgumentParser(description="asyncio baseline client for the Kling API")
    ap.add_argument("jobs", help="JOBS.csv")
    ap.add_argument("--base-url", default="https://api-singapore.klingai.com")
    ap.add_argument("--output", required=True)
    ap.add_argument("--max-concurrent", type=int, default=3)
    ap.add_argument("--rpm", type=float, default=60)
    ap.add_argument("--poll", type=float, default=5)
    ap.add_argument("--retries", type=int, default=5)
    ap.add_argument("--summary", help="write the summary there as JSON")
    args = ap.parse_args()
    if args.max_concurrent < 1 or args.rpm <= 0 or args.poll <= 0:
        ap.error("--max-concurrent, --rpm and --poll must be positive")
    for k in ("KLING_ACCESS_KEY", "KLING_SECRET_KEY"):
        if not os.environ.get(k):
            ap.error("%s is not set" % k)
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
