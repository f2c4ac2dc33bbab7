#!/bin/sh
# fix-kill.sh - crash safety of --fix: `vbatch process --fix` killed with
# SIGKILL while a fix pass is writing (its temporary file seen in OUT),
# then `vbatch resume`: every item recorded exactly once and done, every
# delivered file complete (it decodes to the end without an error and
# passes), the original's link beside each, no temporary or partial file
# left in OUT, and an item fixed before the kill not fixed again.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"

IN="$T/in"; OUT="$T/out"; mkdir -p "$IN"
# Each clip fails the 9:16 rule: a re-encode that takes a moment.
for i in 1 2 3; do
    _ff -f lavfi -i testsrc2=size=1280x720:rate=25 -f lavfi -i sine=frequency=$((300 * i)):sample_rate=48000 \
        -t 4 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -movflags +faststart \
        "$IN/c$i.mp4" || exit 99
done
printf '[qc]\naspect_ratio = 9:16\n[fix]\nwidth = 720\nheight = 1280\nx264_preset = slow\n' > "$T/fix.ini"

# Killed once the journal holds c1 as done and c2's pass is writing its
# temporary file.
"$PYTHON3" - "$VBATCH" "$IN" "$OUT" "$T/fix.ini" <<'PY' || fail "killed while c2's fix was being written"
import os, signal, sqlite3, subprocess, sys, time
vbatch, src, out, ini = sys.argv[1:5]
p = subprocess.Popen([vbatch, "process", src, "--fix", "--config", ini, "--jobs", "1",
                      "--output", out, "--quiet"])
def c1_done():
    try:
        c = sqlite3.connect("file:%s/.vbatch/state.db?mode=ro" % out, uri=True, timeout=0.05)
        try:
            r = c.execute("SELECT status FROM items WHERE source LIKE '%c1.mp4'").fetchone()
            return r is not None and r[0] == "done"
        finally:
            c.close()
    except sqlite3.Error:
        return False
deadline = time.time() + 120
while time.time() < deadline and p.poll() is None:
    d = os.path.join(out, "c2", "video")
    writing = os.path.isdir(d) and any(".vbtmp." in n for n in os.listdir(d))
    if writing and c1_done():
        p.send_signal(signal.SIGKILL)
        p.wait()
        print("ok: killed while c2's fix was being written, c1 done")
        sys.exit(0)
    time.sleep(0.02)
print("the run ended (or hung) before the kill could land mid-fix", file=sys.stderr)
p.kill()
sys.exit(1)
PY
c1_inode=$(stat -c %i "$OUT/c1/video/c1.mp4")

id=$("$PYTHON3" -c "
import sqlite3, sys
c = sqlite3.connect('file:$OUT/.vbatch/state.db?mode=ro', uri=True)
print(c.execute('SELECT id FROM batches').fetchone()[0])")
"$VBATCH" resume --job-id "$id" --output "$OUT" --quiet
check "resume: exit 0" [ $? -eq 0 ]

R="$OUT/summary/batch_report.json"
pyjson "$R" 'len(d["items"]) == 3 and sorted(i["source"].split("/")[-1] for i in d["items"]) == ["c1.mp4", "c2.mp4", "c3.mp4"]' ||
    fail "each item once in batch_report.json"
pyjson "$R" 'all(i["status"] == "done" for i in d["items"])' || fail "every item done"
for i in 1 2 3; do
    f="$OUT/c$i/video/c$i.mp4"
    check "c$i: delivered, decodes to the end without an error" plays_clean "$f"
    check "c$i: 720x1280" [ "$(probe "$f" stream=width v:0)x$(probe "$f" stream=height v:0)" = 720x1280 ]
    check "c$i: the original's link" [ "$(stat -c %i "$OUT/c$i/original/c$i.mp4")" = "$(stat -c %i "$IN/c$i.mp4")" ]
    pyjson "$OUT/c$i/metadata/fix.json" 'd["fixed"]' || fail "c$i: fix.json says fixed"
done
check "no temporary or partial file left" [ -z "$(find "$OUT" -name '*.vbtmp.*' -o -name '.part*')" ]
check "c1, fixed before the kill, not fixed again" [ "$(stat -c %i "$OUT/c1/video/c1.mp4")" = "$c1_inode" ]
"$PYTHON3" - "$OUT" <<'PY' || fail "the journal: done, nothing pending or running"
import sqlite3, sys
c = sqlite3.connect('file:%s/.vbatch/state.db?mode=ro' % sys.argv[1], uri=True)
st = [r[0] for r in c.execute('SELECT status FROM items')]
b = c.execute('SELECT status FROM batches').fetchone()[0]
sys.exit(not (len(st) == 3 and all(s == 'done' for s in st) and b == 'done'))
PY
finish
