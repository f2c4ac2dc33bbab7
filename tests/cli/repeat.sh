#!/bin/sh
# Two runs on the same input produce the same reports, apart from
# timestamps, timings and the batch id; a rerun into the same output
# folder with --force replaces the results cleanly.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

media_all "$CLIPS" || exit 99
IN="$T/in"; mkdir -p "$IN"
for c in $MEDIA_SUITE; do cp "$CLIPS/$c" "$IN/"; done
printf 'junk' > "$IN/junk.mp4"

"$VBATCH" process "$IN" --preset youtube-1080p --output "$T/o1" --quiet
s1=$?
"$VBATCH" process "$IN" --preset youtube-1080p --output "$T/o2" --quiet --jobs 1
s2=$?
check "same exit status" [ $s1 -eq $s2 ]
"$VBATCH" process "$IN" --preset youtube-1080p --output "$T/o1" --quiet --force
check "rerun into the same folder (--force: nothing skipped), same exit status" [ $? -eq $s1 ]

"$PYTHON3" - "$T/o1" "$T/o2" <<'PY' || fail "reports differ"
import csv, json, os, sys
VOLATILE = {"batch_id", "started", "finished", "seconds", "wall_seconds",
            "files_per_second", "stage_seconds", "peak_rss_kib", "command_line"}
def clean(x):
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items() if k not in VOLATILE}
    if isinstance(x, list):
        return [clean(v) for v in x]
    return x
a, b = sys.argv[1], sys.argv[2]
for f in ("batch_report.json", "error_log.json", "processing_metrics.json"):
    ja = clean(json.load(open(os.path.join(a, "summary", f))))
    jb = clean(json.load(open(os.path.join(b, "summary", f))))
    if f == "batch_report.json":
        ja.pop("inputs"); jb.pop("inputs")
    assert ja == jb, f
def rows(d):
    r = list(csv.DictReader(open(os.path.join(d, "summary", "results.csv"), newline="")))
    return [{k: v for k, v in x.items() if not k.startswith("seconds.")} for x in r]
assert rows(a) == rows(b), "results.csv"
for item in sorted(os.listdir(a)):
    q = os.path.join(a, item, "metadata", "qc.json")
    if os.path.exists(q):
        assert json.load(open(q)) == json.load(open(os.path.join(b, item, "metadata", "qc.json"))), item
        pa = json.load(open(os.path.join(a, item, "metadata", "probe.json")))
        pb = json.load(open(os.path.join(b, item, "metadata", "probe.json")))
        pa.pop("file"); pb.pop("file")
        assert pa == pb, item
print("reports identical")
PY
check "no spool or temporary files left" [ -z "$(find "$T/o1" "$T/o2" -name '*.vbtmp.*' -o -name 'spool-*')" ]
finish
