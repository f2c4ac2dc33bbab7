#!/bin/sh
# The live status line: on a terminal, one line redrawn in place ("\r\033[K")
# and erased at the end; not on a terminal, the plain line-per-item logs;
# --quiet, nothing. The summary lists the slowest items.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

need_tool script
c=$(clip h264_short.mp4)
IN="$T/in"; mkdir -p "$IN"
i=0
while [ $i -lt 20 ]; do cp "$c" "$IN/clip$i.mp4"; i=$((i + 1)); done
printf 'junk' > "$IN/junk.mp4"

# Not a terminal: stderr is a pipe (a file here).
"$VBATCH" process "$IN" --preset youtube-1080p --output "$T/o1" >"$T/out1" 2>"$T/err1"
check "pipe: no carriage return or escape in stderr" \
    [ -z "$(tr -d '\n' <"$T/err1" | tr -dc '\r\033')" ]
check "pipe: a line for the failing item" grep -q "ERROR .*junk.mp4" "$T/err1"
check "summary: slowest items" grep -q "^slowest items:" "$T/out1"
check "summary: five of them" [ "$(sed -n '/^slowest items:/,/^total time:/p' "$T/out1" | grep -cE ' m?s  ')" -eq 5 ]
check "summary: total time" grep -qE "^total time: [0-9.]+ m?s$" "$T/out1"

# --quiet: nothing on stderr.
"$VBATCH" process "$IN" --preset youtube-1080p --output "$T/o2" --quiet >"$T/out2" 2>"$T/err2"
check "quiet: stderr empty" [ ! -s "$T/err2" ]

# A pseudo-terminal: the line is drawn, redrawn and erased.
TERM=xterm script -qfec "\"$VBATCH\" process \"$IN\" --preset youtube-1080p --output \"$T/o3\" --jobs 2 >\"$T/out3\"" /dev/null >"$T/tty3" </dev/null
check "tty: exit status as in a pipe" [ $? -ne 0 ]
"$PYTHON3" - "$T/tty3" <<'PY' || fail "tty output"
import sys
b = open(sys.argv[1], "rb").read()
erase = b"\r\x1b[K"
assert b.count(erase) >= 2, b
assert b"files/s" in b, b
assert b"ERROR" in b and b"junk.mp4" in b, b
last = b.rfind(erase)
assert b"files/s" not in b[last:], b[last:]
assert b.rstrip(b"\r\n").endswith(erase), b[-200:]
PY
check "tty: summary still on stdout" grep -q "^slowest items:" "$T/out3"

# TERM=dumb: plain lines.
TERM=dumb script -qfec "\"$VBATCH\" process \"$IN\" --preset youtube-1080p --output \"$T/o4\" >/dev/null" /dev/null >"$T/tty4" </dev/null
check "dumb terminal: no status line" [ -z "$(grep -a 'files/s' "$T/tty4")" ]
finish
