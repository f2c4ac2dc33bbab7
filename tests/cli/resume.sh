#!/bin/sh
# vbatch resume: a batch interrupted (SIGINT) or killed (SIGKILL) is
# finished with the settings it ran with; every item appears exactly once
# in the reports, no item folder is duplicated, no temporary file is left,
# and the reports match those of an uninterrupted run.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

media_make_analyse "$CLIPS" analyse_clean.mp4 || { echo "cannot synthesise analyse_clean.mp4" >&2; exit 99; }
clip h264_short.mp4 > /dev/null
IN="$T/in"; mkdir -p "$IN"
# Variants, not links: identical files would be analysed only once.
for i in $(seq -w 1 30); do media_variant "$CLIPS/analyse_clean.mp4" "$IN/c$i.mp4" "$i" || exit 99; done
cp "$CLIPS/h264_short.mp4" "$IN/c15b.mp4"
printf 'junk' > "$IN/junk.mp4"
ARGS="--preset kling-clip --deep --thumbnails --jobs 1"

# interrupt_after SIGNAL SECONDS OUT: start a batch, signal it, print its exit status
interrupt_after() {
    "$PYTHON3" - "$VBATCH" "$IN" "$3" "$1" "$2" $ARGS <<'PY'
import signal, subprocess, sys, time
vbatch, src, out, sig, delay = sys.argv[1:6]
p = subprocess.Popen([vbatch, "process", src, "--output", out, "--quiet"] + sys.argv[6:])
time.sleep(float(delay))
p.send_signal(getattr(signal, sig))
print(p.wait())
PY
}
batch_id() { "$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batches"][-1]["batch_id"])' "$1"; }

# the reference: one uninterrupted run
"$VBATCH" process "$IN" --output "$T/ref" --quiet $ARGS
ref=$?

expect_status 2 "resume needs --job-id" "$VBATCH" resume --output "$T/ref"
expect_status 2 "resume of an unknown batch" "$VBATCH" resume --output "$T/ref" --job-id batch_19990101_000000

for sig in SIGINT SIGKILL; do
    OUT="$T/out-$sig"
    rc=$(interrupt_after $sig 1 "$OUT")
    if [ $sig = SIGINT ]; then
        check "$sig: exit status 4" [ "$rc" = 4 ]
    else
        check "$sig: killed" [ "$rc" = -9 ]
    fi
    "$VBATCH" status --output "$OUT" --format json > "$T/st-$sig.json"
    pyjson "$T/st-$sig.json" 'd["batches"][0]["counts"]["pending"] + d["batches"][0]["counts"]["running"] > 0' || fail "$sig: items left to do"
    ID=$(batch_id "$T/st-$sig.json")
    "$VBATCH" resume --job-id "$ID" --output "$OUT" --quiet
    rc=$?
    check "$sig: resume exits as the full run did ($ref)" [ $rc -eq $ref ]
    "$VBATCH" status --output "$OUT" --format json > "$T/st2-$sig.json"
    pyjson "$T/st2-$sig.json" 'len(d["batches"]) == 1 and d["batches"][0]["status"] == "done"' || fail "$sig: the same batch, now done"
    pyjson "$T/st2-$sig.json" 'd["batches"][0]["counts"]["pending"] == d["batches"][0]["counts"]["running"] == 0 and d["batches"][0]["counts"]["total"] == 32' || fail "$sig: nothing left pending"
    "$PYTHON3" - "$T/ref" "$OUT" <<'PY' || fail "$sig: reports after resume"
import csv, json, os, sys
ref, out = sys.argv[1], sys.argv[2]
r = json.load(open(os.path.join(out, "summary", "batch_report.json")))
seqs = [i["seq"] for i in r["items"]]
assert seqs == list(range(1, 33)), seqs
srcs = [i["source"] for i in r["items"]]
assert len(set(srcs)) == len(srcs) == 32, "each source once"
rows = list(csv.DictReader(open(os.path.join(out, "summary", "results.csv"), newline="")))
assert [x["seq"] for x in rows] == [str(s) for s in range(1, 33)], "results.csv: each item once"
# reused_from: an item killed after its analysis.json was written reuses
# it (same content hash) when resumed, instead of decoding again.
sys.path.insert(0, os.path.join(os.environ["TOP_SRCDIR"], "tests", "lib"))
from vbout import REPORTS, VOLATILE, report
for f in REPORTS:
    v = VOLATILE | {"reused_from"}
    assert report(ref, f, v, inputs=False) == report(out, f, v, inputs=False), f
dirs = sorted(d for d in os.listdir(out) if not d.startswith("."))
assert dirs == sorted(d for d in os.listdir(ref) if not d.startswith(".")), "item folders"
for d in dirs:
    if d in ("summary", "publish"):
        continue
    assert len(os.listdir(os.path.join(out, d, "video"))) == 1, d
PY
    check "$sig: no temporary files left" [ -z "$(find "$OUT" -name '*.vbtmp.*' -o -name '*.tmp.*')" ]
done

# A journal written by an older vbatch lacks settings added since: they
# take their defaults and the batch can still be resumed.
OLD=$T/old
mkdir -p "$OLD/in"
cp "$(clip h264_short.mp4)" "$OLD/in/a.mp4"
"$VBATCH" process "$OLD/in" --output "$OLD/out" --quiet
"$PYTHON3" - "$OLD/out/.vbatch/state.db" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
(cid, cfg), = db.execute("SELECT id, config_json FROM batches").fetchall()
c = json.loads(cfg)
del c["batch"]["grace_period"]
db.execute("UPDATE batches SET config_json = ?, status = 'interrupted' WHERE id = ?", (json.dumps(c), cid))
db.commit()
PY
OLD_ID=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$OLD/out/summary/batch_report.json")
expect_status 0 "a journal without a newer key resumes" "$VBATCH" resume --job-id "$OLD_ID" --output "$OLD/out" --quiet
finish
