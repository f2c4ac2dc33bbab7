#!/bin/sh
# url-path.sh - a URL given directly as a PATH (not through --from-list)
# is downloaded like a listed one, and its user, password and query
# (tokens) appear in no report, nor in the journal's command line and
# inputs (libcurl's URL API takes them out).
. "$TOP_SRCDIR/tests/lib/testlib.sh"

W="$T/www"; mkdir -p "$W"
cp "$(clip h264_aac_720p.mp4)" "$W/plain.mp4"
cp "$(clip h264_aac_720p.mp4)" "$W/clip.mp4"   # /signed/clip.mp4?sig=ok serves it
trap httpd_stop EXIT
httpd_start "$W" 120
PORT=${HTTPD_URL##*:}
OUT="$T/out"

"$VBATCH" -q process "$HTTPD_URL/plain.mp4" \
    "http://user:secret@127.0.0.1:$PORT/signed/clip.mp4?sig=ok&token=TOPSECRET" -o "$OUT"
check "two URLs as PATHs: downloaded and passed (exit 0)" [ $? -eq 0 ]
pyjson "$OUT/summary/batch_report.json" 'd["counts"]["done"] == 2' || fail "both done"
pyjson "$OUT/summary/batch_report.json" \
    'sorted(i["source"] for i in d["items"]) == sorted(["'"$HTTPD_URL"'/plain.mp4", "http://127.0.0.1:'"$PORT"'/signed/clip.mp4"])' ||
    fail "the sources shown without credentials or query"
check "the file downloaded into its folder" [ -s "$OUT/clip/video/clip.mp4" ]
check "no credential or token in any report" [ -z "$(grep -rl -e secret -e TOPSECRET -e 'sig=ok' "$OUT/summary" "$OUT"/*/metadata)" ]
"$VBATCH" status -o "$OUT" --format json > "$T/st.json"
check "no credential in the recorded command line" [ -z "$(grep -e secret -e TOPSECRET "$T/st.json")" ]
pyjson "$OUT/summary/batch_report.json" 'all("secret" not in s and "sig=" not in s for s in d["inputs"] + [d["command_line"]])' ||
    fail "inputs and command line stripped"
# A URL PATH that fails is an item error, not a file that cannot be read.
"$VBATCH" -q process "$HTTPD_URL/status/404" -o "$T/o2" 2> /dev/null
check "a 404 as a PATH: exit 3" [ $? -eq 3 ]
pyjson "$T/o2/summary/batch_report.json" 'd["items"][0]["error_stage"] == "fetch"' || fail "failed at fetch"

finish
