#!/bin/sh
# Bad input never stops the batch: each bad file is a per-item error with
# a clear message, good files are still processed, exit 3, nothing is
# written outside the output folder.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

GOOD=$(clip h264_aac_720p.mp4)
SHORT=$(clip h264_short.mp4)
IN="$T/in"; mkdir -p "$IN"
cp "$GOOD" "$IN/good.mp4"
cp "$GOOD" "$IN/with space.mp4"
cp "$GOOD" "$IN/été-ünïcode.mp4"
cp "$GOOD" "$IN/$(printf 'new\nline.mp4')"
cp "$GOOD" "$IN/-dash.mp4"
: > "$IN/empty.mp4"
printf 'this is just text, not a video\n' > "$IN/text.mp4"
# pseudo-random bytes, the same on every run
"$PYTHON3" -c 'import random, sys; random.seed(7); sys.stdout.buffer.write(bytes(random.getrandbits(8) for _ in range(65536)))' > "$IN/random.mp4"
head -c 2000000 "$GOOD" > "$IN/truncated.mp4"
head -c 200000 "$SHORT" > "$IN/truncated-nomoov.mp4"
mkdir "$IN/folder.mp4"
ln -s "$IN/missing-target.mp4" "$IN/dangling.mp4"
ln -s loop.mp4 "$IN/loop.mp4"
mkfifo "$IN/fifo.mp4"
cp "$GOOD" "$IN/unreadable.mp4"; chmod 000 "$IN/unreadable.mp4"

nin=$(ls -A "$IN" | wc -l)
touch "$T/marker"; sleep 1
OUT="$T/out"
"$VBATCH" process "$IN" --output "$OUT" > "$T/stdout" 2> "$T/stderr"
check "exit 3 when items could not be processed" [ $? -eq 3 ]
E="$OUT/summary/error_log.json"
check "error_log.json written" test -s "$E"

# expect_error NAMEPART STAGE MESSAGEPART
expect_error() {
    pyjson "$E" "any('$1' in e['source'] and e['stage'] == '$2' and '$3' in e['message'] for e in d['errors'])" ||
        fail "error for $1 ($2: $3)"
}
expect_error empty.mp4 probe "empty file"
expect_error text.mp4 probe "not a recognised media file"
expect_error random.mp4 probe "not a recognised media file"
expect_error /truncated.mp4 probe "truncated"
expect_error truncated-nomoov.mp4 probe "not a recognised media file"
expect_error folder.mp4 discover "is a directory"
expect_error dangling.mp4 discover "dangling"
expect_error loop.mp4 discover "loop"
expect_error fifo.mp4 discover "not a regular file"
if [ "$(id -u)" -ne 0 ]; then
    expect_error unreadable.mp4 probe "ermission denied"
fi
B="$OUT/summary/batch_report.json"
for n in good "with space" "été-ünïcode" "-dash"; do
    pyjson "$B" "any(i['source'].endswith('/$n.mp4') and i['status'] == 'done' for i in d['items'])" || fail "good file '$n' processed"
done
pyjson "$B" "any(i['source'].endswith('new\nline.mp4') and i['status'] == 'done' for i in d['items'])" || fail "name with a newline processed"
pyjson "$B" "all(i['folder'] is None or ('/' not in i['folder'] and '\n' not in i['folder'] and not i['folder'].startswith('.')) for i in d['items'])" ||
    fail "item folder names are safe"
pyjson "$B" "d['counts']['failed'] >= 9" || fail "counts"
check "stdout lists what could not be processed" grep -q "could not be processed" "$T/stdout"
# nothing outside OUT was written
check "nothing written outside the output folder" [ -z "$(find "$T" -newer "$T/marker" ! -path "$OUT" ! -path "$OUT/*" ! -name stdout ! -name stderr ! -path "$T")" ]
check "nothing added to the input folder" [ "$(ls -A "$IN" | wc -l)" -eq "$nin" ]
check "every folder under OUT is a direct child" [ -z "$(find "$OUT" -mindepth 1 -maxdepth 1 -type d -name '.*' ! -name .vbatch)" ]

# Explicit bad paths on the command line are item errors too.
"$VBATCH" process "$IN/text.mp4" "$T/does-not-exist.mp4" "$GOOD" --output "$T/out2" --quiet
check "explicit bad paths: exit 3" [ $? -eq 3 ]
pyjson "$T/out2/summary/error_log.json" 'len(d["errors"]) == 2' || fail "two errors for two bad paths"
pyjson "$T/out2/summary/batch_report.json" 'd["counts"]["done"] == 1' || fail "good path still done"
chmod 644 "$IN/unreadable.mp4"

# An unreadable file: root reads everything, so as root run vbatch as
# nobody (setpriv, util-linux) on a copy nobody may not read.
U="$T/unreadable-test"; mkdir -p "$U/in" "$U/out"
cp "$GOOD" "$U/in/secret.mp4"; cp "$GOOD" "$U/in/fine.mp4"
chmod 000 "$U/in/secret.mp4"; chmod 755 "$T" "$U" "$U/in"; chmod 777 "$U/out"
if [ "$(id -u)" -eq 0 ]; then
    if command -v setpriv >/dev/null 2>&1; then
        run_as() { setpriv --reuid=65534 --regid=65534 --clear-groups "$@"; }
    else
        run_as() { return 77; }
    fi
else
    run_as() { "$@"; }
fi
run_as "$VBATCH" process "$U/in" --output "$U/out/o" --quiet
st=$?
if [ $st -eq 77 ]; then
    echo "note: setpriv missing, unreadable-file check skipped"
else
    check "unreadable file: exit 3" [ $st -eq 3 ]
    pyjson "$U/out/o/summary/error_log.json" 'len(d["errors"]) == 1 and "secret.mp4" in d["errors"][0]["source"] and "ermission denied" in d["errors"][0]["message"]' ||
        fail "unreadable file reported as permission denied"
    pyjson "$U/out/o/summary/batch_report.json" 'd["counts"]["done"] == 1' || fail "readable neighbour still processed"
fi
chmod 644 "$U/in/secret.mp4"
finish
