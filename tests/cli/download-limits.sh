#!/bin/sh
# download-limits.sh - downloads run under their item's clock, served by
# tests/lib/httpd.py:
#  - a body that trickles past [batch] item_timeout fails at the deadline,
#    one that stalls fails after stall_timeout, a server that keeps
#    answering 503 is not retried past the deadline, whatever
#    [input] download_timeout and download_retries would allow;
#  - a body that is not media is not left in OUT/<item>/video/;
#  - SIGINT while one download waits to retry and another trickles: the
#    batch ends within the grace period, both items are left pending (not
#    failed), and `vbatch resume` downloads them.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

W="$T/www"; mkdir -p "$W"
cp "$(clip h264_aac_720p.mp4)" "$W/clip.mp4"
printf 'this is just text, not a video\n' > "$W/text.mp4"

trap httpd_stop EXIT
httpd_start "$W" 300
B=$HTTPD_URL

# ---- item_timeout and stall_timeout ----
# The clip trickles at 2 KiB/s (minutes); /slow sends headers then nothing
# for 60 s; /gate/never answers 503 for good. Each fails within a few
# seconds of its limit instead of after download_timeout x retries.
cat > "$T/limits.ini" <<EOF
[batch]
item_timeout = 4
stall_timeout = 2
[input]
download_retries = 10
download_backoff = 1
download_timeout = 600
EOF
cat > "$T/list.txt" <<EOF
$B/trickle/never/clip.mp4
$B/slow/clip.mp4
$B/gate/never/clip.mp4
$B/text.mp4
$B/clip.mp4
EOF
OUT="$T/out"
t0=$(date +%s)
timeout -k 10 150 "$VBATCH" process --from-list "$T/list.txt" --config "$T/limits.ini" --jobs 4 \
    --output "$OUT" --quiet 2> "$T/stderr"
st=$?
secs=$(($(date +%s) - t0))
check "the limited downloads are item errors (exit $st)" [ "$st" -eq 3 ]
check "done within the limits and a margin (${secs} s)" [ "$secs" -lt 25 ]
"$PYTHON3" - "$OUT/summary/batch_report.json" <<'PY' || fail "each download stopped by the right limit, at fetch, in time"
import json, sys
items = {i["source"].split("/", 3)[3]: i for i in json.load(open(sys.argv[1]))["items"]}
def failed(src, stage, *parts):
    i = items[src]
    assert i["status"] == "failed" and i["error_stage"] == stage, i
    for p in parts:
        assert p in i["error"], (p, i["error"])
    return i
t = failed("trickle/never/clip.mp4", "fetch", "item deadline reached", "item_timeout = 4 s")
assert 3 <= t["seconds"]["fetch"] < 15, t["seconds"]
s = failed("slow/clip.mp4", "fetch", "no data for", "stall_timeout = 2 s")
assert 1.5 <= s["seconds"]["fetch"] < 12, s["seconds"]
g = failed("gate/never/clip.mp4", "fetch", "HTTP 503", "no time for another before the item deadline")
assert g["seconds"]["fetch"] < 8, g["seconds"]
x = failed("text.mp4", "probe", "not a recognised media file")
# The body is not kept: the message names the URL, not a file in video/.
assert x["error"].startswith(x["source"] + ": ") and "/video/" not in x["error"], x["error"]
assert items["clip.mp4"]["status"] == "done", items["clip.mp4"]
PY
check "a body that is not media is not left in video/" \
    [ -z "$(find "$OUT" -path '*/video/*' -name 'text.mp4')" ]
check "the delivered download is there" [ -n "$(find "$OUT" -path '*/video/*' -name 'clip.mp4')" ]
check "nothing half-downloaded" [ -z "$(find "$OUT" -name '*.vbtmp.*')" ]

# ---- SIGINT: no retry, no wait; pending, then resumed ----
cat > "$T/grace.ini" <<EOF
[batch]
grace_period = 1
[input]
download_retries = 10
download_backoff = 2
EOF
cat > "$T/list2.txt" <<EOF
$B/gate/open/clip.mp4
$B/trickle/open/clip.mp4
EOF
OUT2="$T/out2"
# SIGINT once both downloads are under way (the first 503 answered, the
# trickle begun).
"$PYTHON3" "$TOP_SRCDIR/tests/lib/interrupt.py" "$OUT2/*/video/.*vbtmp*" 2 0.5 \
    "$VBATCH" process --from-list "$T/list2.txt" --jobs 2 --config "$T/grace.ini" \
    --output "$OUT2" > "$T/rc" 2> "$T/stderr2"
read rc secs < "$T/rc"
check "exit status 4 after SIGINT (got $rc)" [ "$rc" = 4 ]
check "ended within the grace period and a margin (${secs} s)" \
    "$PYTHON3" -c "import sys; sys.exit(0 if float('$secs') < 6 else 1)"
"$PYTHON3" - "$OUT2/.vbatch/state.db" <<'PY' || fail "both downloads are pending in the journal"
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT source, status, error FROM items").fetchall()
assert sorted((s.split("/")[3], st, e) for s, st, e in rows) == \
    [("gate", "pending", None), ("trickle", "pending", None)], rows
PY
check "nothing of the interrupted downloads left in video/" \
    [ -z "$(find "$OUT2" -path '*/video/*' -type f)" ]
: > "$W/open"
id=$("$VBATCH" status --output "$OUT2" --format json |
     "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["batches"][0]["batch_id"])')
timeout -k 10 120 "$VBATCH" resume --job-id "$id" --output "$OUT2" --quiet
rc=$?
check "resume completes them (exit $rc)" [ "$rc" -eq 0 ]
pyjson "$OUT2/summary/batch_report.json" '[i["status"] for i in d["items"]] == ["done", "done"]' ||
    fail "both downloads done after resume"
n=0
for v in $(find "$OUT2" -path '*/video/*' -type f); do
    cmp -s "$v" "$W/clip.mp4" && n=$((n + 1))
done
check "both videos downloaded whole ($n)" [ "$n" -eq 2 ]
finish
