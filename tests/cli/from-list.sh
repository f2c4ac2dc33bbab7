#!/bin/sh
# from-list.sh - `vbatch process --from-list` with URLs served by
# tests/lib/httpd.py: retries on transient errors (503, dropped
# connection), no retry on 404, the size limit on a stream without
# Content-Length, refusal of non-http(s) URLs and redirects, and no
# temporary file left behind. Exit 0 pass, 1 fail, 77 skip.

: "${VBATCH:?}" "${TOP_SRCDIR:?}" "${TEST_TMP:?}"
PYTHON3=${PYTHON3:-python3}

command -v ffmpeg >/dev/null 2>&1 || { echo "SKIP: ffmpeg not found"; exit 77; }
command -v "$PYTHON3" >/dev/null 2>&1 || { echo "SKIP: python3 not found"; exit 77; }
[ -x "$VBATCH" ] || { echo "SKIP: $VBATCH not built"; exit 77; }

W=$TEST_TMP/from-list.$$
rm -rf "$W"
mkdir -p "$W/www" "$W/local" || exit 1

SRV_PID=
cleanup() {
    [ -n "$SRV_PID" ] && kill "$SRV_PID" 2>/dev/null
    SRV_PID=
}
trap cleanup EXIT
trap 'cleanup; exit 1' INT TERM HUP

fail() {
    echo "FAIL: $*"
    [ -s "$W/stderr" ] && { echo "--- vbatch stderr:"; cat "$W/stderr"; }
    [ -f "$W/out/summary/error_log.json" ] &&
        { echo "--- error_log.json:"; cat "$W/out/summary/error_log.json"; }
    exit 1
}

ffmpeg -nostdin -loglevel error \
    -f lavfi -i testsrc2=size=320x240:rate=25 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -t 2 -c:v libx264 -pix_fmt yuv420p -c:a aac -shortest \
    "$W/www/clip.mp4" || fail "ffmpeg could not make the test clip"
cp "$W/www/clip.mp4" "$W/local/local.mp4" || exit 1

"$PYTHON3" "$TOP_SRCDIR/tests/lib/httpd.py" --root "$W/www" \
    --port-file "$W/port" &
SRV_PID=$!
i=0
while [ ! -s "$W/port" ]; do
    i=$((i + 1))
    [ $i -gt 100 ] && fail "test server did not start"
    kill -0 "$SRV_PID" 2>/dev/null || fail "test server exited"
    sleep 0.1
done
PORT=$(cat "$W/port")
B=http://127.0.0.1:$PORT

cat >"$W/list.txt" <<EOF
# downloads for from-list.sh

$B/clip.mp4
$B/flaky/2/clip.mp4
$B/status/404
$B/big
$B/redirect-ftp
ftp://127.0.0.1/clip.mp4
$B/drop/1/clip.mp4
$W/local/local.mp4
http://user:hunter2@127.0.0.1:$PORT/clip.mp4?token=SECRET123
EOF

printf '[input]\ndownload_retries = 3\ndownload_backoff = 0.05\nmax_download_size = 5MB\ndownload_timeout = 20\n' \
    >"$W/cfg.ini"

"$VBATCH" process --from-list "$W/list.txt" --output "$W/out" \
    --config "$W/cfg.ini" >"$W/stdout" 2>"$W/stderr"
st=$?
[ "$st" -eq 3 ] || fail "exit status $st, expected 3"

# One error entry per failing item, with the right stage.
"$PYTHON3" - "$W/out/summary/error_log.json" "$B" <<'EOF' || fail "error_log.json"
import json, sys
path, base = sys.argv[1], sys.argv[2]
with open(path) as f:
    log = json.load(f)["errors"]
assert isinstance(log, list), "errors is not a JSON array"
for e in log:
    assert isinstance(e, dict), "entry is not an object: %r" % (e,)
    for k in ("source", "stage", "message"):
        assert isinstance(e.get(k), str), "entry lacks %s: %r" % (k, e)

def one(pred, what):
    hits = [e for e in log if pred(e["source"])]
    assert len(hits) == 1, "%d entries for %s" % (len(hits), what)
    return hits[0]

e404 = one(lambda s: "/status/404" in s, "/status/404")
assert e404["stage"] == "fetch", e404
assert "404" in e404["message"], e404
big = one(lambda s: s.endswith("/big"), "/big")
assert big["stage"] == "fetch", big
assert "size limit" in big["message"], big
red = one(lambda s: "/redirect-ftp" in s, "/redirect-ftp")
assert red["stage"] == "fetch", red
ftp = one(lambda s: s.startswith("ftp://"), "the ftp:// line")
assert ftp["stage"] == "discover", ftp
assert len(log) == 4, "%d entries, expected 4: %r" % (len(log), log)
EOF

# Credentials and signed query strings in URLs never reach the reports or
# the terminal.
if grep -rqa -e hunter2 -e SECRET123 "$W/out" "$W/stdout" "$W/stderr"; then
    fail "URL credentials or query string leaked into the output"
fi

# The five good items (plain, flaky, dropped once, local, with credentials) each have their
# video, byte for byte. publish/ may hold links to the same files.
find "$W/out" -path "$W/out/publish" -prune -o -path '*/video/*' -type f -print \
    >"$W/videos" || exit 1
n=$(wc -l <"$W/videos")
[ "$n" -eq 5 ] || { cat "$W/videos"; fail "$n video files, expected 5"; }
while IFS= read -r v; do
    cmp -s "$v" "$W/www/clip.mp4" || fail "$v differs from clip.mp4"
done <"$W/videos"

# Nothing half-downloaded anywhere.
left=$(find "$W/out" -name '*.vbtmp.*')
[ -z "$left" ] || fail "temporary files left: $left"

cleanup
rm -rf "$W"
echo "PASS: from-list"
exit 0
