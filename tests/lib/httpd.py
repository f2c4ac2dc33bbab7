#!/usr/bin/env python3
"""httpd.py - a small HTTP server on 127.0.0.1 for the download tests.

    python3 tests/lib/httpd.py --root DIR --port-file FILE

Binds a free port, writes it to FILE (atomically), serves files from DIR
until killed, and exits by itself after --lifetime seconds (300) so that
nothing lingers when a test forgets to stop it.

Special paths (counters are per exact path, in memory):
  /flaky/N/NAME      503 for the first N requests, then NAME
  /status/CODE       that status, with a short body
  /retry-after/NAME  first request 429 with Retry-After: 1, then NAME
  /redirect-ftp      302 to ftp://127.0.0.1/x
  /redirect/NAME     302 to /NAME
  /big               20 MB of zeros without Content-Length (close-delimited)
  /slow/NAME         headers, then a 60 s stall
  /drop/N/NAME       first N requests: full Content-Length, half the body,
                     then the connection is closed; then NAME normally
  /signed/NAME?sig=S NAME when the query holds sig=ok (a signed URL), 403
                     otherwise
  /gate/FLAG/NAME    503 while the file FLAG does not exist under the root,
                     then NAME
  /trickle/FLAG/NAME NAME with its Content-Length, the body sent 1 KiB every
                     0.5 s while FLAG does not exist under the root (looked
                     at before each piece), the rest at once when it does

POST (a webhook receiver):
  /hook/NAME         200; the request's headers and body saved under the
                     root as NAME.K.headers and NAME.K.body (K counts from 1)
  /hook-flaky/N/NAME 503 for the first N requests, then as /hook/NAME
  /hook-fail/N/CODE/NAME  CODE for the first N requests, then as /hook/NAME
"""

import argparse
import os
import posixpath
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

COUNTS = {}
COUNTS_LOCK = threading.Lock()


def count(path):
    """Number of requests for path so far, this one included."""
    with COUNTS_LOCK:
        COUNTS[path] = COUNTS.get(path, 0) + 1
        return COUNTS[path]


class Handler(BaseHTTPRequestHandler):
    server_version = "vbatch-test-httpd/1"
    protocol_version = "HTTP/1.1"
    root = "."

    def log_message(self, fmt, *args):
        if os.environ.get("HTTPD_VERBOSE"):
            sys.stderr.write("httpd: " + (fmt % args) + "\n")

    # -- helpers --
    def send_simple(self, code, body=b"", headers=None):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def file_path(self, name):
        """The file under root for a URL path, or None if it escapes."""
        name = posixpath.normpath("/" + name).lstrip("/")
        if not name or name.startswith(".."):
            return None
        return os.path.join(self.root, *name.split("/"))

    def flag(self, name):
        """Whether the file name exists under root (a test's switch)."""
        path = self.file_path(name)
        return path is not None and os.path.exists(path)

    def file_head(self, name, close=False):
        """The file's bytes with a 200 and its headers sent, or None (a
        404 sent, or a HEAD request answered)."""
        path = self.file_path(name)
        if path is None or not os.path.isfile(path):
            self.send_simple(404, b"not found\n")
            return None
        with open(path, "rb") as f:
            data = f.read()
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(data)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        return None if self.command == "HEAD" else data

    def serve_trickle(self, flag, name):
        data = self.file_head(name)
        if data is None:
            return
        try:
            off = 0
            while off < len(data) and not self.flag(flag):
                self.wfile.write(data[off:off + 1024])
                self.wfile.flush()
                off += 1024
                time.sleep(0.5)
            self.wfile.write(data[off:])
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up

    def serve_file(self, name, drop=False):
        data = self.file_head(name, close=drop)
        if data is None:
            return
        if drop:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)

    # -- dispatch --
    def do_POST(self):
        parts = self.path.split("?", 1)[0].strip("/").split("/")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        if parts[0] == "hook-flaky" and len(parts) == 3:
            if count(self.path) <= int(parts[1]):
                self.send_simple(503, b"try later\n")
                return
            parts = ["hook", parts[2]]
        elif parts[0] == "hook-fail" and len(parts) == 4:
            if count(self.path) <= int(parts[1]):
                self.send_simple(int(parts[2]), b"failed\n")
                return
            parts = ["hook", parts[3]]
        if parts[0] != "hook" or len(parts) != 2:
            self.send_simple(404, b"not found\n")
            return
        k = count("/hook/" + parts[1])
        base = self.file_path("%s.%d" % (parts[1], k))
        if base is None:
            self.send_simple(404, b"not found\n")
            return
        with open(base + ".headers.part", "w") as f:
            for name, value in self.headers.items():
                f.write("%s: %s\n" % (name.lower(), value))
        with open(base + ".body.part", "wb") as f:
            f.write(body)
        os.replace(base + ".body.part", base + ".body")
        os.replace(base + ".headers.part", base + ".headers")
        self.send_simple(200, b"ok\n")

    def do_HEAD(self):
        self.do_GET()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        path = url.path
        parts = path.lstrip("/").split("/")
        n = count(path)
        head = parts[0]

        if head == "flaky" and len(parts) >= 3 and parts[1].isdigit():
            if n <= int(parts[1]):
                self.send_simple(503, b"try again\n")
            else:
                self.serve_file("/".join(parts[2:]))
        elif head == "status" and len(parts) == 2 and parts[1].isdigit():
            code = int(parts[1])
            self.send_simple(code, ("status %d\n" % code).encode())
        elif head == "retry-after" and len(parts) >= 2:
            if n == 1:
                self.send_simple(429, b"slow down\n", {"Retry-After": "1"})
            else:
                self.serve_file("/".join(parts[1:]))
        elif path == "/redirect-ftp":
            self.send_simple(302, b"", {"Location": "ftp://127.0.0.1/x"})
        elif head == "redirect" and len(parts) >= 2:
            self.send_simple(302, b"",
                             {"Location": "/" + "/".join(parts[1:])})
        elif path == "/big":
            self.send_big()
        elif head == "slow" and len(parts) >= 2:
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            self.wfile.flush()
            time.sleep(60)
            self.close_connection = True
        elif head == "signed" and len(parts) >= 2:
            if urllib.parse.parse_qs(url.query).get("sig") == ["ok"]:
                self.serve_file("/".join(parts[1:]))
            else:
                self.send_simple(403, b"bad signature\n")
        elif head == "gate" and len(parts) >= 3:
            if self.flag(parts[1]):
                self.serve_file("/".join(parts[2:]))
            else:
                self.send_simple(503, b"not yet\n")
        elif head == "trickle" and len(parts) >= 3:
            self.serve_trickle(parts[1], "/".join(parts[2:]))
        elif head == "drop" and len(parts) >= 3 and parts[1].isdigit():
            self.serve_file("/".join(parts[2:]), drop=n <= int(parts[1]))
        else:
            self.serve_file(path)

    def send_big(self):
        # No Content-Length: the body ends when the connection closes.
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        if self.command == "HEAD":
            return
        chunk = bytes(64 * 1024)
        left = 20 * 1024 * 1024
        try:
            while left > 0:
                n = min(left, len(chunk))
                self.wfile.write(chunk[:n])
                left -= n
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should past its limit


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request, client_address):
        # Clients aborting transfers is expected here; stay quiet.
        if os.environ.get("HTTPD_VERBOSE"):
            super().handle_error(request, client_address)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", required=True)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--lifetime", type=float, default=300)
    args = ap.parse_args()

    Handler.root = os.path.abspath(args.root)
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.replace(tmp, args.port_file)

    def stop_later():
        time.sleep(args.lifetime)
        os._exit(0)

    threading.Thread(target=stop_later, daemon=True).start()
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
