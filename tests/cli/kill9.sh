#!/bin/sh
# kill9.sh - crash safety: `vbatch process` (30 small clips and a bad file,
# --jobs 2 --thumbnails: several files per item) killed with SIGKILL at
# several points, found by polling: as soon as the batch is in the
# journal, once the first item folders appear, mid-batch, while the
# reports are written (when the poll catches it), and a resume killed in
# its turn. Then `vbatch resume` finishes the batch, whatever the point:
# every item once in batch_report.json, results.csv, junit.xml and
# error_log.json, the reports as those of an uninterrupted run (timings
# and ids aside), the same files in OUT (no temporary or partial file,
# each item folder once, thumbnails byte for byte), and the journal says
# done with nothing pending or running.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

IN="$T/in"; mkdir -p "$IN"
_ff -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -t 1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest "$T/tiny.mp4" || exit 99
for i in $(seq -w 1 30); do ln "$T/tiny.mp4" "$IN/c$i.mp4"; done
printf 'junk' > "$IN/c15x.mp4"
ARGS="--jobs 2 --thumbnails --quiet"

# the reference: one uninterrupted run
"$VBATCH" process "$IN" --output "$T/ref" $ARGS
echo "$?" > "$T/ref.status"

"$PYTHON3" - "$VBATCH" "$IN" "$T" $ARGS <<'PY' || fail "a killed batch, resumed"
import json, os, signal, sqlite3, subprocess, sys, time
sys.path.insert(0, os.path.join(os.environ["TOP_SRCDIR"], "tests", "lib"))
from vbout import differences, junit, rows

vbatch, src, top = sys.argv[1:4]
args = sys.argv[4:]
ref = os.path.join(top, "ref")
ref_status = int(open(os.path.join(top, "ref.status")).read())
N = 31
problems = []

def batches(out):
    """The journal's batch ids, read the way status does (None: none yet)."""
    try:
        c = sqlite3.connect("file:%s?mode=ro" % os.path.join(out, ".vbatch", "state.db"),
                            uri=True, timeout=0.05)
        try:
            return [r[0] for r in c.execute("SELECT id FROM batches")]
        finally:
            c.close()
    except sqlite3.Error:
        return []

def count(out, name):
    n = 0
    for d, dirs, files in os.walk(out):
        dirs[:] = [x for x in dirs if not x.startswith(".")]
        n += files.count(name)
    return n

def summary_started(out):
    d = os.path.join(out, "summary")
    return os.path.isdir(d) and len(os.listdir(d)) > 0

def run_and_kill(cmd, when, limit=60):
    """Start cmd, poll when() every millisecond, SIGKILL as soon as it holds."""
    p = subprocess.Popen(cmd)
    t0 = time.time()
    while p.poll() is None and time.time() - t0 < limit:
        if when():
            p.send_signal(signal.SIGKILL)
            break
        time.sleep(0.001)
    return p.wait()

def check(name, out, killed_rc):
    bad = []
    ids = batches(out)
    if not ids:
        problems.append("%s: no batch in the journal after the kill" % name)
        return
    rc = None
    for attempt in range(3):
        rc = subprocess.call([vbatch, "resume", "--job-id", ids[0], "--output", out, "--quiet"])
        if rc != -signal.SIGKILL:
            break
    if rc != ref_status:
        bad.append("resume exit %s, the full run %s" % (rc, ref_status))
    st = json.loads(subprocess.run([vbatch, "status", "--output", out, "--job-id", ids[0],
                                    "--format", "json"], capture_output=True, text=True).stdout)
    c = st["counts"]
    if len(ids) != 1 or st["status"] != "done" or c["pending"] or c["running"] or c["total"] != N \
            or st["running"]:
        bad.append("journal: %s %s" % (st["status"], c))
    r = json.load(open(os.path.join(out, "summary", "batch_report.json")))
    if [i["seq"] for i in r["items"]] != list(range(1, N + 1)):
        bad.append("batch_report.json seqs %s" % [i["seq"] for i in r["items"]])
    if len(set(i["source"] for i in r["items"])) != N:
        bad.append("batch_report.json: a source twice")
    rr = rows(out)
    if [x["seq"] for x in rr] != [str(s) for s in range(1, N + 1)]:
        bad.append("results.csv seqs")
    cases = [tc.get("classname") for tc in junit(out).iter("testcase")]
    per_item = {}
    for cl in cases:
        per_item[cl] = per_item.get(cl, 0) + 1
    ref_cases = [tc.get("classname") for tc in junit(ref).iter("testcase")]
    if sorted(per_item) != sorted(set(ref_cases)) or len(cases) != len(ref_cases):
        bad.append("junit.xml: %d test cases for %d items" % (len(cases), len(per_item)))
    bad += [d + " differs from the full run's" for d in differences(ref, out, inputs=False)]
    left = [os.path.join(d, f) for d, _, fs in os.walk(out) for f in fs if ".vbtmp." in f]
    if left:
        bad.append("temporary files left: %s" % left)
    print("ok" if not bad else "FAIL", "%s (killed: exit %s)" % (name, killed_rc))
    problems.extend("%s: %s" % (name, b) for b in bad)

def out_dir(name):
    return os.path.join(top, "out-" + name)

def process(out):
    return [vbatch, "process", src, "--output", out] + args

points = {
    "start": lambda out: batches(out) != [],
    "first-items": lambda out: count(out, "probe.json") >= 1,
    "mid-batch": lambda out: count(out, "contact.jpg") >= 12,
    "reports": lambda out: summary_started(out),
}
for name, when in points.items():
    out = out_dir(name)
    rc = run_and_kill(process(out), lambda: when(out))
    check(name, out, rc)

# A resume killed in its turn, mid-way, then resumed again.
out = out_dir("resume-killed")
rc = run_and_kill(process(out), lambda: count(out, "contact.jpg") >= 8)
ids = batches(out)
if ids:
    run_and_kill([vbatch, "resume", "--job-id", ids[0], "--output", out, "--quiet"],
                 lambda: count(out, "contact.jpg") >= 16)
check("resume-killed", out, rc)

for p in problems:
    print("FAIL:", p, file=sys.stderr)
sys.exit(1 if problems else 0)
PY
finish
