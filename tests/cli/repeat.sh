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
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["TOP_SRCDIR"], "tests", "lib"))
from vbout import REPORTS, report, rows
a, b = sys.argv[1], sys.argv[2]
for f in REPORTS:
    assert report(a, f, inputs=False) == report(b, f, inputs=False), f
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
