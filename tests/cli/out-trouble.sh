#!/bin/sh
# The output folder in trouble during a run:
#  - moved or removed: vbatch never makes it again (no tree split from its
#    journal), stops with "the output folder was moved or removed", exit 4;
#    the batch is resumed where the folder went;
#  - its file system full (a small tmpfs, in a mount namespace of the
#    test's own): the batch stops, exit 4, the summary is printed, the
#    journal says interrupted, every item shown as done is done there, the
#    item the disk failed is pending (not failed); once there is room,
#    `vbatch resume` finishes it;
#  - a metadata file that cannot be written fails the stage that wrote it.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
need_throttle

IN="$T/in"; mkdir -p "$IN"
_ff -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
    -t 1 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest "$T/tiny.mp4" || exit 99
for i in $(seq -w 1 24); do cp "$T/tiny.mp4" "$IN/c$i.mp4"; done
TO=; command -v timeout >/dev/null 2>&1 && TO="timeout -s KILL 120"
batch_of() { "$VBATCH" status --output "$1" --format json |
    "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["batches"][0]["batch_id"])'; }
# wait_folders OUT N: until N item folders exist in OUT (at most 30 s)
wait_folders() {
    _i=0
    while [ "$_i" -lt 300 ]; do
        [ "$(find "$1" -mindepth 1 -maxdepth 1 -name 'c*' 2>/dev/null | wc -l)" -ge "$2" ] && return 0
        sleep 0.1; _i=$((_i + 1))
    done
    return 1
}

# ---- moved while running (every read slowed: ~0.3 s an item) ----
OUT="$T/out"
THROTTLE_SLOW=/in/c THROTTLE_DELAY_MS=30 THROTTLE_BYTES=65536 \
    throttled $TO "$VBATCH" process "$IN" --jobs 1 --output "$OUT" > "$T/mv.out" 2> "$T/mv.err" &
pid=$!
wait_folders "$OUT" 3 || fail "moved: the run started"
mv "$OUT" "$T/moved"
wait $pid
rc=$?
check "moved: exit 4, resumable (got $rc)" [ "$rc" -eq 4 ]
check "moved: said so" grep -q 'the output folder was moved or removed' "$T/mv.err"
check "moved: the resume command is shown" grep -q "vbatch resume --job-id" "$T/mv.err"
check "moved: the output folder is not made again" [ ! -e "$OUT" ]
"$VBATCH" status --output "$T/moved" --format json > "$T/mv.status"
pyjson "$T/mv.status" 'd["batches"][0]["status"] == "interrupted" and d["batches"][0]["counts"]["pending"] > 0 and d["batches"][0]["counts"]["failed"] == 0' ||
    fail "moved: the journal went with the folder: interrupted, items pending, none failed"
id=$(batch_of "$T/moved")
"$VBATCH" resume --job-id "$id" --output "$T/moved" --quiet
rc=$?
check "moved: resumed where it went (exit $rc)" [ "$rc" -eq 0 ]
"$VBATCH" status --output "$T/moved" --format json > "$T/mv.status2"
pyjson "$T/mv.status2" 'd["batches"][0]["status"] == "done" and d["batches"][0]["counts"]["done"] == 24' ||
    fail "moved: all 24 done after the resume"
check "moved: 24 item folders, each once" [ "$(find "$T/moved" -mindepth 1 -maxdepth 1 -name 'c*' | wc -l)" -eq 24 ]
check "moved: still nothing at the old place" [ ! -e "$OUT" ]

# ---- removed while running ----
OUT="$T/out-rm"
THROTTLE_SLOW=/in/c THROTTLE_DELAY_MS=30 THROTTLE_BYTES=65536 \
    throttled $TO "$VBATCH" process "$IN" --jobs 2 --thumbnails --output "$OUT" > /dev/null 2> "$T/rm.err" &
pid=$!
wait_folders "$OUT" 2 || fail "removed: the run started"
# A worker can make a file between rm's read of a folder and its rmdir
# ("Directory not empty"): remove until it is gone.
_i=0
while [ -e "$OUT" ] && [ "$_i" -lt 50 ]; do rm -rf "$OUT" 2> /dev/null; _i=$((_i + 1)); done
wait $pid
rc=$?
check "removed: exit 4 (got $rc)" [ "$rc" -eq 4 ]
check "removed: said so" grep -q 'the output folder was moved or removed' "$T/rm.err"
check "removed: the output folder is not made again" [ ! -e "$OUT" ]

# ---- a metadata file that cannot be written: the stage that wrote it ----
mkdir -p "$T/meta/c01/metadata/probe.json"
"$VBATCH" process "$IN/c01.mp4" --output "$T/meta" --quiet
check "probe.json unwritable: exit 3" [ $? -eq 3 ]
pyjson "$T/meta/summary/error_log.json" 'd["errors"][0]["stage"] == "probe" and "probe.json" in d["errors"][0]["message"]' ||
    fail "probe.json unwritable: failed at the probe stage"

# ---- what a killed run left in a folder the journal never heard of ----
# (killed before it committed the item's entry: a resume's rescan, or a
# new run, takes the same folder again)
mkdir -p "$T/left/c02/metadata" "$T/left/c02/thumbnails"
: > "$T/left/c02/metadata/.probe.json.vbtmp.99999.1"
: > "$T/left/c02/thumbnails/.thumb-001.jpg.vbtmp.99999.2"
"$VBATCH" process "$IN/c02.mp4" --output "$T/left" --quiet
check "leftovers: the item is processed in its folder (exit $?)" test -s "$T/left/c02/metadata/probe.json"
check "leftovers: no temporary file of the killed run is left" \
    [ -z "$(find "$T/left" -name '*.vbtmp.*')" ]

# ---- reports that cannot be written: the summary is printed all the same ----
mkdir -p "$T/norep/summary/results.csv/x"
"$VBATCH" process "$IN/c01.mp4" "$IN/c02.mp4" --output "$T/norep" > "$T/norep.out" 2> "$T/norep.err"
rc=$?
check "reports unwritable: exit 3 (got $rc)" [ "$rc" -eq 3 ]
check "reports unwritable: said so" grep -q 'cannot write the reports' "$T/norep.err"
check "reports unwritable: the summary is printed" grep -q 'passed *2' "$T/norep.out"

# ---- disk full: a small tmpfs in a mount namespace of our own ----
if [ "$(id -u)" -eq 0 ]; then NS="unshare --mount"; else NS="unshare --user --map-root-user --mount"; fi
cat > "$T/full.sh" <<'EOS'
set -u
S="$1"; IN="$2"; VBATCH="$3"; R="$4"
mount -t tmpfs -o size=9m tmpfs "$S" || exit 77
OUT="$S/out"
# 8 MiB are held back by vbatch's reserve; the rest fills after a few items.
"$VBATCH" --verbose process "$IN" --jobs 2 --thumbnails --output "$OUT" > "$R/full.out" 2> "$R/full.err"
echo $? > "$R/full.rc"
"$VBATCH" status --output "$OUT" --format json > "$R/full.status" 2>&1
cp "$OUT/.vbatch/state.db" "$R/full.db" 2>/dev/null
[ -e "$OUT/.vbatch/reserve" ] && touch "$R/reserve.left"
mount -o remount,size=200m "$S"
id=$("$VBATCH" status --output "$OUT" --format json |
     python3 -c 'import json,sys; print(json.load(sys.stdin)["batches"][0]["batch_id"])')
"$VBATCH" resume --job-id "$id" --output "$OUT" --quiet 2> "$R/resume.err"
echo $? > "$R/resume.rc"
"$VBATCH" status --output "$OUT" --format json > "$R/resume.status" 2>&1
bad=0
for f in "$IN"/*.mp4; do
    n=$(basename "$f" .mp4)
    cmp -s "$f" "$OUT/$n/video/$n.mp4" || bad=$((bad + 1))
done
echo $bad > "$R/resume.bad"
umount "$S"
EOS
mkdir -p "$T/small"
$NS sh "$T/full.sh" "$T/small" "$IN" "$VBATCH" "$T" 2> "$T/ns.err"
nsrc=$?
if [ "$nsrc" -eq 77 ] || [ ! -f "$T/full.rc" ]; then
    echo "SKIP: no mount namespace with a tmpfs here: the disk-full part is not run ($(cat "$T/ns.err"))"
else
    rc=$(cat "$T/full.rc")
    check "full: exit 4, resumable (got $rc)" [ "$rc" -eq 4 ]
    check "full: said so" grep -q "file system is full" "$T/full.err"
    check "full: the summary is printed" grep -q 'passed' "$T/full.out"
    check "full: the reserve is given back" [ ! -e "$T/reserve.left" ]
    "$PYTHON3" - "$T/full.status" "$T/full.err" "$T/full.db" <<'PY' || fail "full: interrupted, shown done = done, the rest pending, none failed"
import json, re, sqlite3, sys
d = json.load(open(sys.argv[1]))["batches"][0]
assert d["status"] == "interrupted", d
c = d["counts"]
assert c["failed"] == 0 and c["running"] == 0, c
assert c["done"] > 0 and c["pending"] > 0, c
shown = set(re.findall(r"\] ok +\S*/(c\d+)\.mp4", open(sys.argv[2]).read()))
db = sqlite3.connect(sys.argv[3])
done = {r[0].rsplit("/", 1)[1][:-4] for r in db.execute("SELECT source FROM items WHERE status = 'done'")}
assert shown and shown <= done, (shown, done)
PY
    rc=$(cat "$T/resume.rc")
    check "full: resumed once there is room (exit $rc)" [ "$rc" -eq 0 ]
    pyjson "$T/resume.status" 'd["batches"][0]["status"] == "done" and d["batches"][0]["counts"]["done"] == 24' ||
        fail "full: all 24 done after the resume"
    check "full: every delivered file whole" [ "$(cat "$T/resume.bad")" -eq 0 ]
fi

finish
