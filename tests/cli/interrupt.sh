#!/bin/sh
# SIGINT during `vbatch process`: no new items are taken, the running one
# finishes, the rest stays pending in the journal, the reports are written
# from what was done, the batch is marked interrupted, exit status 4.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

media_make_analyse "$CLIPS" analyse_clean.mp4 || { echo "cannot synthesise analyse_clean.mp4" >&2; exit 99; }
IN="$T/in"; mkdir -p "$IN"
# 30 clips, decoded one at a time (--deep --jobs 1): several seconds.
# Variants, not links: identical files would be analysed only once.
for i in $(seq -w 1 30); do media_variant "$CLIPS/analyse_clean.mp4" "$IN/c$i.mp4" "$i" || exit 99; done
OUT="$T/out"

# Started from Python so that SIGINT is not ignored as it is for a
# background job of a non-interactive shell.
"$PYTHON3" - "$VBATCH" "$IN" "$OUT" > "$T/rc" 2> "$T/stderr" <<'PY'
import signal, subprocess, sys, time
vbatch, src, out = sys.argv[1:4]
p = subprocess.Popen([vbatch, "process", src, "--deep", "--jobs", "1", "--output", out],
                     stdout=subprocess.DEVNULL)
time.sleep(1)
p.send_signal(signal.SIGINT)
print(p.wait())
PY
check "exit status 4 after SIGINT" [ "$(cat "$T/rc")" = 4 ]
check "the interruption is reported" grep -q "interrupted" "$T/stderr"

"$VBATCH" status --output "$OUT" --format json > "$T/status.json"
pyjson "$T/status.json" 'd["batches"][0]["status"] == "interrupted"' || fail "batch marked interrupted"
pyjson "$T/status.json" 'd["batches"][0]["counts"]["total"] == 30' || fail "every input entered in the journal"
pyjson "$T/status.json" 'd["batches"][0]["counts"]["pending"] > 0' || fail "some items left pending"
pyjson "$T/status.json" 'd["batches"][0]["counts"]["running"] == 0' || fail "no item left running"
pyjson "$T/status.json" 'd["batches"][0]["counts"]["done"] >= 1' || fail "the running item finished"

S="$OUT/summary"
check "reports written" test -s "$S/batch_report.json"
check "results.csv written" test -s "$S/results.csv"
"$PYTHON3" - "$S/batch_report.json" "$T/status.json" <<'PY' || fail "reports hold exactly the items done"
import json, sys
r = json.load(open(sys.argv[1])); s = json.load(open(sys.argv[2]))
done = s["batches"][0]["counts"]["done"]
assert len(r["items"]) == done == r["counts"]["total"], (len(r["items"]), done)
assert [i["seq"] for i in r["items"]] == list(range(1, done + 1))
PY
check "no temporary files left" [ -z "$(find "$OUT" -name '*.vbtmp.*')" ]
finish
