#!/bin/sh
# jobs-identical.sh - --jobs 1 and --jobs 4 give the same results: a mixed
# batch (passing, failing a gate, unreadable, truncated, audio only, still
# images, two files of the same name) with --deep and --thumbnails; the
# reports (batch_report.json, processing_metrics.json, results.csv,
# junit.xml, error_log.json) are identical once timings, ids and the
# command line are left out, and so are the folder trees, the metadata
# files (timings left out) and every other file, byte for byte.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

IN="$T/in"; mkdir -p "$IN/sub"
for c in h264_aac_720p.mp4 h264_short.mp4 anamorphic.mp4 audio_only.m4a mpeg2.ts; do
    cp "$(clip "$c")" "$IN/"
done
for c in analyse_black.mp4 analyse_truncated.mp4; do
    media_make_analyse "$CLIPS" "$c" || { echo "cannot synthesise $c" >&2; exit 99; }
    cp "$CLIPS/$c" "$IN/"
done
cp "$CLIPS/h264_short.mp4" "$IN/sub/h264_short.mp4"
_ff -f lavfi -i testsrc2=size=1280x720 -frames:v 1 "$IN/wide.png" || exit 99
_ff -f lavfi -i testsrc2=size=640x480 -frames:v 1 "$IN/small.jpg" || exit 99
printf 'junk' > "$IN/junk.mp4"
: > "$IN/empty.mov"

ARGS="--recursive --preset kling-clip --deep --thumbnails --quiet"
for p in '*.mp4' '*.mov' '*.m4a' '*.ts' '*.png' '*.jpg'; do ARGS="$ARGS --pattern $p"; done
set -f # the patterns stay patterns
expect_status 3 "--jobs 1" "$VBATCH" process "$IN" --output "$T/j1" --jobs 1 $ARGS
expect_status 3 "--jobs 4" "$VBATCH" process "$IN" --output "$T/j4" --jobs 4 $ARGS
set +f

"$PYTHON3" - "$T/j1" "$T/j4" <<'PY' || fail "--jobs 1 and --jobs 4 differ"
import json, os, sys
sys.path.insert(0, os.path.join(os.environ["TOP_SRCDIR"], "tests", "lib"))
from vbout import differences, tree
a, b = sys.argv[1], sys.argv[2]

bad = differences(a, b)
ta = tree(a)
# The batch is the mix it should be.
items = json.load(open(os.path.join(a, "summary", "batch_report.json")))["items"]
st = sorted(set(i["status"] for i in items))
if st != ["done", "failed", "qc_failed"] or len(items) != 12 or not any(i["kind"] == "image" for i in items):
    bad.append("the batch is not mixed: %s" % [(i["source"], i["status"]) for i in items])
if not any(r.endswith("contact.jpg") for r in ta) or not any("/thumbnails/" in r for r in ta):
    bad.append("no thumbnails made")
if bad:
    print("differ:", bad, file=sys.stderr)
    sys.exit(1)
PY
finish
