#!/bin/sh
# stdin.sh - "-" is standard input for --from-list and probe; with -0 /
# --null the names end with a NUL byte (find -print0), so a name holding a
# newline or leading spaces is taken as it is; probe's JSON streams.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

IN="$T/in"; mkdir -p "$IN"
src=$(clip h264_short.mp4)
cp "$src" "$IN/plain.mp4"
cp "$src" "$IN/ two words.mp4"
NL=$(printf 'new\nline.mp4')
cp "$src" "$IN/$NL"

# ---- process --from-list - ----
printf '%s\n' "$IN/plain.mp4" "# a comment" "" "$IN/ two words.mp4" |
    "$VBATCH" -q process --from-list - -o "$T/o1" --allow-empty
check "--from-list -: lines read" pyjson "$T/o1/summary/batch_report.json" \
    'd["counts"]["total"] == 2 and d["counts"]["failed"] == 0'
find "$IN" -name '*.mp4' -print0 | "$VBATCH" -q process -0 --from-list - -o "$T/o2"
check "-0 --from-list -: every name, newline and spaces included" pyjson \
    "$T/o2/summary/batch_report.json" \
    'd["counts"]["total"] == 3 and d["counts"]["failed"] == 0'
find "$IN" -name '*.mp4' -print0 | "$VBATCH" -q process --null -l - "$IN/plain.mp4" -o "$T/o3"
check "--null with a PATH too" pyjson "$T/o3/summary/batch_report.json" 'd["counts"]["total"] == 4'
expect_status 2 "--from-list - twice" "$VBATCH" -q process -l - -l - -o "$T/o4" < /dev/null 2> /dev/null
expect_status 5 "--from-list - empty" "$VBATCH" -q process -l - -o "$T/o5" < /dev/null 2> /dev/null

# ---- probe - ----
printf '%s\n' "$IN/plain.mp4" "$IN/ two words.mp4" | "$VBATCH" probe - --format json > "$T/p1.json"
check "probe -: one result a line" pyjson "$T/p1.json" 'len(d) == 2 and all("error" not in x for x in d)'
find "$IN" -name '*.mp4' -print0 | "$VBATCH" probe -0 - --format json > "$T/p2.json"
check "probe -0 -: the name with a newline" pyjson "$T/p2.json" \
    'len(d) == 3 and all("error" not in x for x in d)'
printf '%s\n' "$IN/plain.mp4" | "$VBATCH" probe "$IN/plain.mp4" - > "$T/p3.txt"
check "probe FILE -: text, two blocks" [ "$(grep -c '^container: mp4' "$T/p3.txt")" -eq 2 ]
printf '%s\n' "$T/nothing.mp4" | "$VBATCH" probe - > /dev/null 2>&1
check "probe -: a missing file is exit 3" [ $? -eq 3 ]

# probe --format json streams: the first file's result reaches a reader
# of the pipe while the second name has not been written yet.
"$PYTHON3" - "$VBATCH" "$IN/plain.mp4" <<'PY' || fail "probe --format json -: each result as it comes"
import json, select, subprocess, sys
p = subprocess.Popen([sys.argv[1], "probe", "--format", "json", "-"], stdin=subprocess.PIPE,
                     stdout=subprocess.PIPE)
p.stdin.write((sys.argv[2] + "\n").encode())
p.stdin.flush()
got = b""
while b"\n  }" not in got:
    r, _, _ = select.select([p.stdout], [], [], 30)
    if not r:
        sys.exit("no result before the next name")
    chunk = p.stdout.read1(65536)
    if not chunk:
        sys.exit("output ended early")
    got += chunk
p.stdin.write((sys.argv[2] + "\n").encode())
p.stdin.close()
got += p.stdout.read()
d = json.loads(got)
sys.exit(0 if p.wait() == 0 and len(d) == 2 and d[0]["container"] == "mp4" else 1)
PY

finish
