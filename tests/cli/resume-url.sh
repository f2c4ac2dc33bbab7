#!/bin/sh
# resume-url.sh - resuming a batch whose pending items are signed URLs.
# The journal keeps URLs without credentials or query string, so resume
# and retry read the batch's list file again for the full URLs (served by
# tests/lib/httpd.py, whose /signed/ paths need ?sig=ok): every item gets
# its own URL back, even two with the same address and different queries;
# a list that has gone makes those items fail with a clear message, and a
# retry given the list with --from-list then fetches them. A signed URL
# given as a PATH: resume asks for it again, and takes it as an operand.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

W="$T/www"; mkdir -p "$W"
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=320x240:rate=25 \
    -f lavfi -i sine=frequency=440:sample_rate=48000 -t 1 -c:v libx264 -preset ultrafast \
    -pix_fmt yuv420p -c:a aac -shortest "$W/clip.mp4" || { echo "cannot make the clip" >&2; exit 99; }
for n in 1 2 3 4; do ln "$W/clip.mp4" "$W/c$n.mp4"; done

trap httpd_stop EXIT
httpd_start "$W" 120
PORT=${HTTPD_URL##*:}
B=http://127.0.0.1:$PORT

# The first item fails: with --error-handling stop and one worker, the
# batch stops there and every signed URL is left pending.
write_list() {
    cat > "$1" <<EOF
$B/status/404
$B/signed/c1.mp4?sig=ok&exp=1
$B/signed/clip.mp4?sig=ok&v=1
$B/signed/clip.mp4?sig=bad&v=2
http://user:secret@127.0.0.1:$PORT/signed/c2.mp4?sig=ok
$B/signed/c3.mp4?sig=ok#frag
$B/c4.mp4
EOF
}
batch_id() { "$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batches"][-1]["batch_id"])' "$1"; }
# outcome OUT: "seq:status" for each item of batch_report.json
outcome() {
    "$PYTHON3" -c 'import json,sys; print(" ".join("%d:%s" % (i["seq"], i["status"]) for i in json.load(open(sys.argv[1]))["items"]))' \
        "$1/summary/batch_report.json"
}
WANT="1:failed 2:done 3:done 4:failed 5:done 6:done 7:done"
ARGS="--jobs 1 --error-handling stop --quiet"

# ---- the list still there: resume fetches the full URLs ----
write_list "$T/list.txt"
OUT="$T/out"
expect_status 3 "the first failure stops the batch" "$VBATCH" process --from-list "$T/list.txt" --output "$OUT" $ARGS
"$VBATCH" status --output "$OUT" --format json > "$T/st.json"
pyjson "$T/st.json" 'd["batches"][0]["counts"]["pending"] == 6' || fail "six items left pending"
ID=$(batch_id "$T/st.json")
expect_status 3 "resume (the 404 stays failed)" "$VBATCH" resume --job-id "$ID" --output "$OUT" --error-handling continue --quiet
got=$(outcome "$OUT")
check "each URL fetched with its own query ($got)" [ "$got" = "$WANT" ]
pyjson "$OUT/summary/error_log.json" '[(e["seq"], e["stage"]) for e in d["errors"]] == [(1, "fetch"), (4, "fetch")] and "403" in d["errors"][1]["message"]' ||
    fail "the 404 and the bad signature fail at fetch"
check "no query string or credentials in OUT, journal included" [ -z "$(grep -rla -e 'sig=' -e secret -e frag "$OUT")" ]

# ---- the list gone: a clear error, then retry --from-list ----
write_list "$T/list2.txt"
OUT="$T/out2"
expect_status 3 "second batch stopped" "$VBATCH" process --from-list "$T/list2.txt" --output "$OUT" $ARGS
ID=$(batch_id "$("$VBATCH" status --output "$OUT" --format json > "$T/st2.json"; echo "$T/st2.json")")
mv "$T/list2.txt" "$T/moved.txt"
expect_status 3 "resume without the list" "$VBATCH" resume --job-id "$ID" --output "$OUT" --error-handling continue --quiet
pyjson "$OUT/summary/error_log.json" 'len(d["errors"]) == 7 and all("--from-list" in e["message"] and "list2.txt" in e["message"] for e in d["errors"][1:])' ||
    fail "each URL item names the missing list and --from-list"
check "no query string in the messages" [ -z "$(grep -la -e 'sig=' -e secret "$OUT/summary/error_log.json")" ]
expect_status 2 "retry --from-list of a missing file" "$VBATCH" retry --job-id "$ID" --output "$OUT" --from-list "$T/nothing.txt" --quiet
expect_status 3 "retry --from-list" "$VBATCH" retry --job-id "$ID" --output "$OUT" --from-list "$T/moved.txt" --error-handling continue --quiet
got=$(outcome "$OUT")
check "retried items fetched with their full URLs ($got)" [ "$got" = "$WANT" ]
"$PYTHON3" - "$OUT" <<'PY' || fail "each item once, a folder each"
import json, os, sys
out = sys.argv[1]
r = json.load(open(os.path.join(out, "summary", "batch_report.json")))
folders = [i["folder"] for i in r["items"] if i["status"] == "done"]
assert len(folders) == len(set(folders)) == 5, folders
for f in folders:
    v = os.listdir(os.path.join(out, f, "video"))
    assert len(v) == 1 and not v[0].count("?"), (f, v)
PY
"$VBATCH" status --output "$OUT" --job-id "$ID" --format json > "$T/st3.json"
pyjson "$T/st3.json" '[f["attempts"] for f in d["failures"]] == [2, 2]' || fail "attempts of the two failures"

# ---- signed URLs given as PATHs ----
OUT="$T/out3"
expect_status 3 "PATH URLs: the first failure stops the batch" "$VBATCH" process "$B/status/404" \
    "$B/signed/c1.mp4?sig=ok" "http://user:secret@127.0.0.1:$PORT/c4.mp4" "$B/c3.mp4" --output "$OUT" $ARGS
ID=$(batch_id "$("$VBATCH" status --output "$OUT" --format json > "$T/st4.json"; echo "$T/st4.json")")
check "PATH URLs: no query string or credentials in OUT" [ -z "$(grep -rla -e 'sig=' -e secret "$OUT")" ]
expect_status 2 "resume: an operand that is not a URL" "$VBATCH" resume --job-id "$ID" --output "$OUT" \
    "$T/list.txt" 2> "$T/e5"
check "resume: only URLs, said" grep -q "only URLs" "$T/e5"
expect_status 3 "resume without the signed URL" "$VBATCH" resume --job-id "$ID" --output "$OUT" \
    --error-handling continue --quiet
got=$(outcome "$OUT")
check "PATH URLs: those with secrets fail, the plain one is fetched ($got)" [ "$got" = "1:failed 2:failed 3:failed 4:done" ]
pyjson "$OUT/summary/error_log.json" 'any(x["seq"] == 2 and "give the full URL again" in x["message"] and "/signed/c1.mp4" in x["message"] for x in d["errors"])' ||
    fail "the signed PATH URL asks to be given again"
expect_status 3 "retry with the URLs as operands" "$VBATCH" retry --job-id "$ID" --output "$OUT" \
    "$B/signed/c1.mp4?sig=ok" "http://user:secret@127.0.0.1:$PORT/c4.mp4" --error-handling continue --quiet
got=$(outcome "$OUT")
check "the PATH URLs fetched in full ($got)" [ "$got" = "1:failed 2:done 3:done 4:done" ]
check "PATH URLs, retried: still no query string or credentials in OUT" [ -z "$(grep -rla -e 'sig=' -e secret "$OUT")" ]
finish
