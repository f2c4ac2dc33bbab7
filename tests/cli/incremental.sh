#!/bin/sh
# Incremental runs: a new `process` into an OUT that already holds results
# skips the local files whose path, size, mtime and settings are unchanged
# (reported as skipped with their earlier verdict, their folder untouched);
# failed items, changed files, changed settings, --force and URLs are
# processed again, each item keeping its folder; a new file never takes an
# existing folder. With --deep, identical files are analysed once (in one
# run, and across runs).
. "$TOP_SRCDIR/tests/lib/testlib.sh"

for c in h264_aac_720p.mp4 h264_short.mp4; do clip "$c" > /dev/null; done
IN="$T/in"; OUT="$T/out"; mkdir -p "$IN"
cp "$CLIPS/h264_aac_720p.mp4" "$IN/a.mp4"    # passes kling-clip
cp "$CLIPS/h264_short.mp4" "$IN/b.mp4"       # fails a gate (too short)
printf 'not a video\n' > "$IN/c.mp4"         # can not be processed
P="--preset kling-clip --quiet"

last_id() {
    "$VBATCH" status --output "$OUT" --format json > "$T/st.json"
    "$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batches"][-1]["batch_id"])' "$T/st.json"
}
# statuses OUT: "folder:status:previous_status" for each item, by seq
statuses() {
    "$PYTHON3" - "$1" <<'PY'
import json, sys
d = json.load(open(sys.argv[1] + "/summary/batch_report.json"))
print(" ".join("%s:%s:%s" % (i["folder"], i["status"], i["previous_status"] or "-") for i in d["items"]))
PY
}
# every item exactly once in every report, and the counts agree
once() {
    "$PYTHON3" - "$1" <<'PY'
import csv, json, os, re, sys
s = os.path.join(sys.argv[1], "summary")
d = json.load(open(os.path.join(s, "batch_report.json")))
n = d["counts"]["total"]
assert [i["seq"] for i in d["items"]] == list(range(1, n + 1)), "batch_report.json"
rows = list(csv.DictReader(open(os.path.join(s, "results.csv"), newline="")))
assert [r["seq"] for r in rows] == [str(i) for i in range(1, n + 1)], "results.csv"
assert [r["status"] for r in rows] == [i["status"] for i in d["items"]], "results.csv status"
html = open(os.path.join(s, "report.html")).read()
assert len(re.findall(r'<tr class="[a-z]+" id="item-', html)) == n, "report.html rows"
assert html.count('<span class="badge skip">skipped</span>') == d["counts"]["skipped"], "html badges"
junit = open(os.path.join(s, "junit.xml")).read()
assert junit.count("<skipped") == d["counts"]["skipped"], "junit skipped"
assert re.search(r'<testsuite [^>]*skipped="%d"' % d["counts"]["skipped"], junit), "junit total"
PY
}
mtime() { stat -c %Y.%X "$1"; }

# ---- first run, then a rerun: everything done or qc_failed is skipped ----
expect_status 3 "first run (one file can not be processed)" "$VBATCH" process "$IN" --output "$OUT" $P
B1=$(last_id)
check "first run: a done, b qc_failed, c failed" [ "$(statuses "$OUT")" = "a:done:- b:qc_failed:- None:failed:-" ]
touch -d '2001-01-01' "$OUT/a/metadata/qc.json" "$OUT/b/metadata/qc.json"
before=$(mtime "$OUT/a/metadata/qc.json")

t0=$(date +%s.%N)
expect_status 3 "rerun: the failed item is processed again" "$VBATCH" process "$IN" --output "$OUT" $P
t1=$(date +%s.%N)
B2=$(last_id)
check "rerun: a and b skipped with their earlier status, c failed again" \
    [ "$(statuses "$OUT")" = "a:skipped:done b:skipped:qc_failed None:failed:-" ]
pyjson "$OUT/summary/batch_report.json" \
    'all(i["unchanged_since"] == "'"$B1"'" for i in d["items"][:2]) and d["items"][2]["unchanged_since"] is None' ||
    fail "skipped items name the batch they are unchanged since"
pyjson "$OUT/summary/batch_report.json" \
    '[i["verdict"] for i in d["items"][:2]] == ["pass", "fail"] and d["items"][1]["failed_rules"]' ||
    fail "skipped items keep their earlier verdict and failed rules"
pyjson "$OUT/summary/batch_report.json" \
    'd["counts"]["skipped"] == 2 and d["counts"]["skipped_qc_failed"] == 1 and d["counts"]["done"] == 0' ||
    fail "counts: 2 skipped, 1 of them qc_failed"
pyjson "$OUT/summary/batch_report.json" 'sum(d["items"][0]["seconds"].values()) == 0' ||
    fail "a skipped item took no time in this batch"
check "skipped items' folders are not rewritten" [ "$(mtime "$OUT/a/metadata/qc.json")" = "$before" ]
check "rerun took under 2 s ($(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s)" \
    awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 2) }'
check "the summary says why" grep -q "unchanged since $B1" "$OUT/summary/junit.xml"
check "html names the batch" grep -q "unchanged since $B1" "$OUT/summary/report.html"
"$VBATCH" report --output "$OUT" --format text > "$T/summary.txt"
check "text summary counts the skipped items" grep -q "skipped *2 (unchanged" "$T/summary.txt"
check "items in every report exactly once" once "$OUT"
"$VBATCH" status --output "$OUT" --job-id "$B2" --format json > "$T/one.json"
pyjson "$T/one.json" 'd["counts"]["skipped"] == 2 and d["counts"]["failed"] == 1 and d["progress"]["finished"] == 3' ||
    fail "vbatch status counts the skipped items"

# the broken file fixed: it is processed; the skipped qc_failed one keeps exit 1
cp "$CLIPS/h264_aac_720p.mp4" "$IN/c.mp4"
expect_status 1 "a skipped item that failed a gate keeps exit status 1" "$VBATCH" process "$IN" --output "$OUT" $P
check "c fixed: done, a and b skipped" [ "$(statuses "$OUT")" = "a:skipped:done b:skipped:qc_failed c:done:-" ]

# ---- a touched file and a changed file are processed again, in their folder ----
touch "$IN/a.mp4"
cp "$CLIPS/h264_aac_720p.mp4" "$IN/b.mp4"
"$VBATCH" process "$IN" --output "$OUT" $P
check "touched a and replaced b processed again in their folders, c skipped" \
    [ "$(statuses "$OUT")" = "a:done:- b:done:- c:skipped:done" ]
check "a's results rewritten" [ "$(mtime "$OUT/a/metadata/qc.json")" != "$before" ]
check "b's video replaced" cmp -s "$OUT/b/video/b.mp4" "$CLIPS/h264_aac_720p.mp4"

# ---- other settings: everything again; --force: everything again ----
printf '[qc]\nduration_min = 1\n' > "$T/other.ini"
"$VBATCH" process "$IN" --output "$OUT" $P --config "$T/other.ini"
check "changed settings: nothing skipped" [ "$(statuses "$OUT")" = "a:done:- b:done:- c:done:-" ]
"$VBATCH" process "$IN" --output "$OUT" $P --config "$T/other.ini" --jobs 1
check "same settings, other --jobs: all skipped" [ "$(statuses "$OUT")" = "a:skipped:done b:skipped:done c:skipped:done" ]
"$VBATCH" process "$IN" --output "$OUT" $P --config "$T/other.ini" --force
check "--force: nothing skipped" [ "$(statuses "$OUT")" = "a:done:- b:done:- c:done:-" ]

# ---- a new file never takes an existing folder ----
cp "$CLIPS/h264_short.mp4" "$IN/a.mkv"     # sorts before a.mp4, same base name
"$VBATCH" process "$IN" --output "$OUT" $P --config "$T/other.ini"
st=$(statuses "$OUT")
check "new a.mkv gets a new folder, a.mp4 keeps a ($st)" \
    [ "${st#a-2:*:- }" = "a:skipped:done b:skipped:done c:skipped:done" ]
check "a still holds a.mp4" test -f "$OUT/a/video/a.mp4" -a ! -e "$OUT/a/video/a.mkv"
check "items in every report exactly once" once "$OUT"

# ---- outputs a run does not make again are removed ----
D="$T/stale"
"$VBATCH" process "$IN/a.mp4" --output "$D" --quiet --thumbnails --publish
check "thumbnails and publish link made" test -f "$D/a/contact.jpg" -a -f "$D/publish/a.mp4"
"$VBATCH" process "$IN/a.mp4" --output "$D" --quiet
check "without thumbnails or publish: their files are gone" \
    test ! -e "$D/a/contact.jpg" -a ! -e "$D/a/thumbnails" -a ! -e "$D/a/metadata/thumbnails.json" -a ! -e "$D/publish/a.mp4"

# ---- identical files under other names: analysed once ----
D="$T/deep"; DI="$T/deep-in"; mkdir -p "$DI"
cp "$CLIPS/h264_short.mp4" "$DI/x1.mp4"
cp "$CLIPS/h264_short.mp4" "$DI/x2.mp4"
cp "$CLIPS/h264_aac_720p.mp4" "$DI/y.mp4"
"$VBATCH" process "$DI" --output "$D" --quiet --deep --jobs 2
pyjson "$D/summary/batch_report.json" \
    'sorted(i["analysis"]["reused_from"] or "-" for i in d["items"]) == ["-", "-", "x1"] or sorted(i["analysis"]["reused_from"] or "-" for i in d["items"]) == ["-", "-", "x2"]' ||
    fail "two identical files at once: one analysed, the other reuses it"
pyjson "$D/summary/batch_report.json" \
    'd["items"][0]["sha256"] == d["items"][1]["sha256"] != d["items"][2]["sha256"] and all(i["analysis"]["done"] for i in d["items"])' ||
    fail "content hashes recorded, every item analysed"
check "the same analysis.json" cmp -s "$D/x1/metadata/analysis.json" "$D/x2/metadata/analysis.json"
check "each keeps its own probe and gates" test -s "$D/x2/metadata/probe.json" -a -s "$D/x2/metadata/qc.json"
cp "$CLIPS/h264_short.mp4" "$DI/x3.mp4"
"$VBATCH" process "$DI" --output "$D" --quiet --deep --jobs 1
pyjson "$D/summary/batch_report.json" \
    '[i["folder"] for i in d["items"]] == ["x1", "x2", "x3", "y"] and [i["status"] == "skipped" for i in d["items"]] == [True, True, False, True] and d["items"][2]["analysis"]["reused_from"] in ("x1", "x2")' ||
    fail "a third copy in a later run reuses the analysis"
pyjson "$D/summary/batch_report.json" \
    'all(d["items"][2][k] == d["items"][0][k] for k in ("analysis", "failed_rules", "warned_rules", "verdict", "sha256") if k != "analysis") and {k: v for k, v in d["items"][2]["analysis"].items() if k != "reused_from"} == {k: v for k, v in d["items"][0]["analysis"].items() if k != "reused_from"}' ||
    fail "the reused analysis gives the same figures and verdict"
printf '[qc]\nduration_min = 1\n' > "$T/qc.ini"
"$VBATCH" process "$DI" --output "$D" --quiet --deep --config "$T/qc.ini"
pyjson "$D/summary/batch_report.json" \
    'all(i["status"] != "skipped" and i["analysis"]["reused_from"] for i in d["items"])' ||
    fail "other gates, same analysis settings: every analysis reused, nothing decoded"
printf '[analyse]\nblack_min_duration = 1\n' > "$T/an.ini"
"$VBATCH" process "$DI" --output "$D" --quiet --deep --config "$T/an.ini" --jobs 1
pyjson "$D/summary/batch_report.json" \
    '[i["analysis"]["reused_from"] for i in d["items"]] == [None, "x1", "x1", None]' ||
    fail "other analysis settings: each content decoded once again"

# ---- URLs are processed again, in the same folder ----
mkdir -p "$T/www"; cp "$CLIPS/h264_short.mp4" "$T/www/u.mp4"
trap httpd_stop EXIT
httpd_start "$T/www" 60
printf '%s/u.mp4\n%s\n' "$HTTPD_URL" "$IN/a.mp4" > "$T/list.txt"
"$VBATCH" process --from-list "$T/list.txt" --output "$T/url" --quiet
"$VBATCH" process --from-list "$T/list.txt" --output "$T/url" --quiet
httpd_stop
st=$(statuses "$T/url")
check "a URL is processed again in its folder, a local file skipped ($st)" \
    [ "$st" = "u:done:- a:skipped:done" -o "$st" = "u:qc_failed:- a:skipped:done" ]
finish
