#!/bin/sh
# inputs-hostile.sh - inputs that reach past what the user named.
#  - Symbolic links are stored in OUT as the files they point to (video/
#    and publish/ hold regular files with the target's bytes, never a
#    link); a link in an input folder whose target lies outside the
#    folders named is refused by default and nothing of it is read
#    (--outside-links allow takes it); a link an older run left in OUT is
#    replaced.
#  - A subtree deeper than PATH_MAX is an error naming the folder (exit 3),
#    not silently left out; the rest of the tree is processed.
#  - A --from-list line over 64 KiB is an item error naming its line; the
#    line is read in bounded memory and goes into no report; /dev/zero as
#    a list ends quickly with an error (a NUL byte: not a text list).
. "$TOP_SRCDIR/tests/lib/testlib.sh"

GOOD=$(clip h264_aac_720p.mp4)
IN="$T/in"; OUTSIDE="$T/outside"
mkdir -p "$IN/s" "$OUTSIDE"
cp "$GOOD" "$IN/a.mp4"
cp "$GOOD" "$IN/s/b.mp4"
# The private clip outside: 176x144, figures no report may show unless allowed.
ffmpeg -nostdin -loglevel error -f lavfi -i testsrc2=size=176x144:rate=25 -t 1 \
    -c:v libx264 -preset ultrafast -pix_fmt yuv420p "$OUTSIDE/secret.mp4" ||
    { echo "cannot make the clip" >&2; exit 99; }
mkfifo "$OUTSIDE/pipe.mp4"
ln -s a.mp4 "$IN/rel-in.mp4"
ln -s "$IN/s/b.mp4" "$IN/abs-in.mp4"
ln -s ../outside/secret.mp4 "$IN/rel-out.mp4"
ln -s "$OUTSIDE/secret.mp4" "$IN/abs-out.mp4"
ln -s ../outside/pipe.mp4 "$IN/pipe-out.mp4"
ln -s ../outside "$IN/dir-out"

# folder_of OUT NAME: the folder of the item whose source ends with /NAME
folder_of() {
    "$PYTHON3" -c 'import json,sys; print([i["folder"] for i in json.load(open(sys.argv[1]))["items"] if i["source"].endswith("/" + sys.argv[2])][0])' \
        "$1/summary/batch_report.json" "$2"
}
# regular_copy OUT NAME TARGET: NAME's video/ and publish/ files are
# regular files (not links) with TARGET's bytes
regular_copy() {
    _f=$(folder_of "$1" "$2")
    for _p in "$1/$_f/video/$2" "$1/publish/$_f.mp4"; do
        if [ -L "$_p" ] || [ ! -f "$_p" ] || ! cmp -s "$_p" "$3"; then
            fail "$_p: a regular file with the bytes of $3"; return
        fi
    done
    ok "$2 is stored as a regular file with its target's bytes"
}
no_links() { check "no symbolic link anywhere in $1" [ -z "$(find "$1" -type l)" ]; }

# ---- the default: links out of the input folders refused ----
OUT="$T/out"
"$VBATCH" process "$IN" --recursive --publish --output "$OUT" --quiet 2> "$T/stderr"
st=$?
check "refused links are item errors (exit $st)" [ "$st" -eq 3 ]
R="$OUT/summary/batch_report.json"
E="$OUT/summary/error_log.json"
for n in a.mp4 b.mp4 rel-in.mp4 abs-in.mp4; do
    pyjson "$R" "[i['status'] for i in d['items'] if i['source'].endswith('/$n')] == ['done']" || fail "$n done"
done
regular_copy "$OUT" rel-in.mp4 "$IN/a.mp4"
regular_copy "$OUT" abs-in.mp4 "$IN/s/b.mp4"
OUTSIDE_REAL=$(realpath "$OUTSIDE")
for n in rel-out.mp4:secret.mp4 abs-out.mp4:secret.mp4 pipe-out.mp4:pipe.mp4 dir-out:; do
    src=${n%%:*} tgt=${n#*:}
    real=$OUTSIDE_REAL${tgt:+/$tgt}
    pyjson "$E" "[(e['stage'], e['message'].startswith('links outside the input folders: $real ')) for e in d['errors'] if e['source'].endswith('/$src')] == [('discover', True)]" ||
        fail "$src refused at discover, naming $real"
done
pyjson "$E" 'len(d["errors"]) == 4' || fail "four refusals, nothing else"
pyjson "$R" 'all(i.get("width") != 176 and i.get("height") != 144 for i in d["items"])' ||
    fail "nothing of the outside clip was read"
check "the outside clip's figures are in no report" [ -z "$(grep -rl '176x144' "$OUT/summary")" ]
no_links "$OUT"

# vbatch retry takes the refused links again one by one: still refused
# (taken alone, a link found in a walk must not pass as one named).
id=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$R")
"$VBATCH" retry --job-id "$id" --output "$OUT" --quiet 2> "$T/stderr-retry"
st=$?
check "retry: the refused links are still errors (exit $st)" [ "$st" -eq 3 ]
pyjson "$E" "sorted(e['source'].rsplit('/', 1)[1] for e in d['errors'] if e['message'].startswith('links outside the input folders: $OUTSIDE_REAL')) == ['abs-out.mp4', 'dir-out', 'pipe-out.mp4', 'rel-out.mp4']" ||
    fail "retry: the four links refused again"
check "retry: the outside clip's figures are in no report" [ -z "$(grep -rl '176x144' "$OUT/summary")" ]
no_links "$OUT"

# An older vbatch left the delivered file as a link: replaced by the file.
f=$(folder_of "$OUT" rel-in.mp4)
rm -f "$OUT/$f/video/rel-in.mp4" "$OUT/publish/$f.mp4"
ln -s "$IN/a.mp4" "$OUT/$f/video/rel-in.mp4"
ln -s "$IN/a.mp4" "$OUT/publish/$f.mp4"
"$VBATCH" process "$IN" --recursive --publish --force --output "$OUT" --quiet 2> "$T/stderr2"
regular_copy "$OUT" rel-in.mp4 "$IN/a.mp4"
no_links "$OUT"

# ---- --outside-links allow: every link followed, stored as its target ----
OUT2="$T/out2"
"$VBATCH" process "$IN" --recursive --publish --outside-links allow --output "$OUT2" --quiet 2> "$T/stderr3"
st=$?
check "allowed: only the FIFO fails (exit $st)" [ "$st" -eq 3 ]
E2="$OUT2/summary/error_log.json"
pyjson "$E2" 'sorted((e["source"].rsplit("/", 2)[-2:], e["message"]) for e in d["errors"]) == [(["dir-out", "pipe.mp4"], "not a regular file"), (["in", "pipe-out.mp4"], "not a regular file")]' ||
    fail "allowed: the FIFO is refused as any FIFO (through both links), nothing else fails"
R2="$OUT2/summary/batch_report.json"
pyjson "$R2" 'sorted(i["source"].rsplit("/", 1)[1] for i in d["items"] if i.get("width") == 176) == ["abs-out.mp4", "rel-out.mp4", "secret.mp4"]' ||
    fail "allowed: the outside clip read through both links and the folder link"
for n in rel-out.mp4 abs-out.mp4; do
    f=$(folder_of "$OUT2" "$n")
    p="$OUT2/$f/video/$n"
    check "allowed: $n stored as a regular file with the target's bytes" \
        sh -c '[ ! -L "$1" ] && [ -f "$1" ] && cmp -s "$1" "$2"' sh "$p" "$OUTSIDE/secret.mp4"
done
no_links "$OUT2"
check "the option is checked" sh -c '"$1" process "$2" --outside-links maybe --output "$3" 2>/dev/null; [ $? -eq 2 ]' \
    sh "$VBATCH" "$IN" "$T/out-bad"
printf '[input]\noutside_links = allow\n' > "$T/allow.ini"
"$VBATCH" process "$IN" --config "$T/allow.ini" --output "$T/out-ini" --quiet 2>/dev/null
pyjson "$T/out-ini/summary/batch_report.json" '[i["status"] for i in d["items"] if i["source"].endswith("/abs-out.mp4")] == ["done"]' ||
    fail "[input] outside_links = allow"

# Across file systems the target is copied (tmpfs, when it is another one).
SHM=/dev/shm/vbatch-inputs-hostile.$$
trap 'rm -rf "$SHM"' EXIT
if mkdir "$SHM" 2>/dev/null && [ "$(stat -c %d "$SHM")" != "$(stat -c %d "$T")" ]; then
    mkdir -p "$T/in-x"
    cp "$GOOD" "$SHM/x.mp4"
    ln -s "$SHM/x.mp4" "$T/in-x/x.mp4"
    "$VBATCH" process "$T/in-x" --publish --outside-links allow --output "$T/out-x" --quiet
    regular_copy "$T/out-x" x.mp4 "$SHM/x.mp4"
    no_links "$T/out-x"
fi
rm -rf "$SHM"

# ---- a subtree deeper than PATH_MAX ----
DEEP="$T/deep"
mkdir -p "$DEEP"
cp "$GOOD" "$DEEP/top.mp4"
# 30 folders of 200 bytes (6 KB of path) with a clip at level 5 and one at
# the bottom; made with relative steps (no call sees the whole path).
"$PYTHON3" - "$DEEP" "$GOOD" <<'PY' || { echo "cannot make the deep tree" >&2; exit 99; }
import os, shutil, sys
deep, good = sys.argv[1:3]
fd = os.open(deep, os.O_RDONLY | os.O_DIRECTORY)
for level in range(1, 31):
    name = ("level%02d-" % level).ljust(200, "d")
    os.mkdir(name, dir_fd=fd)
    nfd = os.open(name, os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = nfd
    if level in (5, 30):
        out = os.open("clip%02d.mp4" % level, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        with open(good, "rb") as src, os.fdopen(out, "wb") as dst:
            shutil.copyfileobj(src, dst)
os.close(fd)
PY
OUTD="$T/out-deep"
"$VBATCH" process "$DEEP" --recursive --output "$OUTD" --quiet 2> "$T/stderr-deep"
st=$?
check "a subtree deeper than PATH_MAX is an error (exit $st)" [ "$st" -eq 3 ]
"$PYTHON3" - "$OUTD/summary/batch_report.json" "$OUTD/summary/error_log.json" <<'PY' || fail "the deep folder is named in one error; the rest is processed"
import json, sys
items = json.load(open(sys.argv[1]))["items"]
errors = json.load(open(sys.argv[2]))["errors"]
done = sorted(i["source"].rsplit("/", 1)[1] for i in items if i["status"] == "done")
assert done == ["clip05.mp4", "top.mp4"], done
assert len(errors) == 1, errors
e = errors[0]
assert e["stage"] == "discover", e
assert "PATH_MAX" in e["message"] and "not walked" in e["message"], e
# the folder: its source is the path, and the message ends with its name
last = e["source"].rsplit("/", 1)[1]
assert last.startswith("level") and e["message"].endswith(last), e
assert len(e["source"]) >= 4096 and len(e["message"]) < 600, (len(e["source"]), len(e["message"]))
PY
"$VBATCH" process "$DEEP" --output "$T/out-deep-flat" --quiet
check "not recursive: the deep folder is not walked anyway (exit $?)" [ $? -eq 0 ]
rm -rf "$DEEP"
check "the deep tree is removed" [ ! -e "$DEEP" ]

# ---- list lines ----
# rss CMD...: run CMD under /usr/bin/time, print its peak RSS in KiB
rss() {
    /usr/bin/time -f %M -o "$T/rss" "$@"
    _rc=$?
    RSS=$(tail -n 1 "$T/rss")
    return $_rc
}
[ -x /usr/bin/time ] || { echo "SKIP: /usr/bin/time not installed"; exit 77; }
printf '%s\n%s\n' "$IN/a.mp4" "$IN/s/b.mp4" > "$T/short.txt"
"$PYTHON3" - "$T/long.txt" "$IN" <<'PY'
import sys
path, src = sys.argv[1:3]
with open(path, "w") as f:
    f.write(src + "/a.mp4\n# a comment\n")
    f.write(src + "/" + "x" * (8 << 20) + ".mp4\n")   # line 3: 8 MiB
    f.write(src + "/s/b.mp4\n")
PY
rss "$VBATCH" process --from-list "$T/short.txt" --output "$T/out-short" --quiet
base=$RSS
rss "$VBATCH" process --from-list "$T/long.txt" --output "$T/out-long" --quiet 2> "$T/stderr-long"
st=$? long=$RSS
check "a list line over the limit is an item error (exit $st)" [ "$st" -eq 3 ]
check "peak RSS with an 8 MiB line: ${long} KiB, ${base} KiB without" [ $((long - base)) -lt 6144 ]
pyjson "$T/out-long/summary/error_log.json" '[(e["stage"], e["source"].endswith("long.txt:3"), "line 3 of list" in e["message"]) for e in d["errors"]] == [("discover", True, True)]' ||
    fail "the error names the list's line 3"
pyjson "$T/out-long/summary/batch_report.json" '[i["status"] for i in d["items"]] == ["done", "failed", "done"]' ||
    fail "the lines around it are processed"
check "the long line is in no report, the journal included" \
    [ -z "$(grep -rlaE 'x{100}' "$T/out-long")" ]

# /dev/zero: a NUL byte ends the list with an error, quickly, in bounded
# memory. Under a memory limit where one can be set (not under ASan, whose
# shadow memory needs more address space): getline's ENOMEM was taken
# for the end of the list (exit 0).
if grep -aq __asan_init "$VBATCH"; then
    rss timeout 30 "$VBATCH" process --from-list /dev/zero --output "$T/out-zero" --quiet 2> "$T/stderr-zero"
else
    rss sh -c 'ulimit -v 4000000; exec timeout 30 "$@"' sh \
        "$VBATCH" process --from-list /dev/zero --output "$T/out-zero" --quiet 2> "$T/stderr-zero"
fi
st=$?
check "-l /dev/zero ends with an error (exit $st)" [ "$st" -eq 3 ]
check "-l /dev/zero: the message says why" grep -q "list /dev/zero: line 1 holds a NUL byte" "$T/stderr-zero"
check "-l /dev/zero: peak RSS ${RSS} KiB, ${base} KiB for a short list" [ $((RSS - base)) -lt 20480 ]
finish
