#!/bin/sh
# messages.sh - say what failed where the user looks: FAIL and WARN lines
# and the summary name each rule with its measured value and limit; in
# colour on a terminal only (FAIL red, WARN yellow, ERROR magenta; not in
# a pipe, not with NO_COLOR); control characters of names (C0, DEL, C1)
# never reach the terminal raw.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

mkdir -p "$T/in"
cp "$(clip h264_short.mp4)" "$T/in/short.mp4"

expect_status 1 "a clip failing two gates" "$VBATCH" process "$T/in" -P kling-clip -o "$T/o1" \
    > "$T/out1" 2> "$T/err1"
check "FAIL line: rule, value and limit" \
    grep -q 'FAIL  .*short\.mp4  duration_min 2\.000 s (min 4\.500 s), audio_bitrate_min [0-9.]* kb/s (min 128\.0 kb/s)' "$T/err1"
check "summary: rule, value and limit" \
    grep -q '^  short  duration_min 2\.000 s (min 4\.500 s), audio_bitrate_min' "$T/out1"
"$VBATCH" report --output "$T/o1" --format text > "$T/rep1" || fail "report --format text"
check "report --format text: the same" grep -q '^  short  duration_min 2\.000 s (min 4\.500 s)' "$T/rep1"

printf '[qc]\nduration_min = 100\nduration_level = warn\n' > "$T/warn.ini"
expect_status 0 "a warning" "$VBATCH" process "$T/in" -c "$T/warn.ini" -o "$T/o2" \
    > /dev/null 2> "$T/err2"
check "WARN line: rule, value and limit" \
    grep -q 'WARN  .*short\.mp4  duration_min 2\.000 s (min 100\.000 s)' "$T/err2"

# ---- colour ----
printf 'junk' > "$T/in/junk.mp4"
cp "$T/in/short.mp4" "$T/in/warn.mp4"
printf '[qc]\nduration_min = 1\naudio_bitrate_min = 200k\naudio_bitrate_level = warn\n' > "$T/mix.ini"
"$VBATCH" process "$T/in/short.mp4" "$T/in/warn.mp4" "$T/in/junk.mp4" -P kling-clip -o "$T/o3" \
    > /dev/null 2> "$T/err3"
check "pipe: no escape in stderr" [ -z "$(tr -dc '\033' < "$T/err3")" ]
if command -v script > /dev/null 2>&1; then
    # tty NAME ENV...: the run's stderr on a pseudo-terminal, into $T/NAME
    tty_run() {
        _n=$1; shift
        env TERM=xterm "$@" script -qfec "\"$VBATCH\" process \"$T/in/short.mp4\" \"$T/in/junk.mp4\" -P kling-clip -o \"$T/o-$_n\" > /dev/null" /dev/null > "$T/$_n" < /dev/null
        "$VBATCH" process "$T/in/warn.mp4" -c "$T/mix.ini" -o "$T/ow-$_n" > /dev/null 2>&1
        env TERM=xterm "$@" script -qfec "\"$VBATCH\" process \"$T/in/warn.mp4\" -c \"$T/mix.ini\" -o \"$T/ow2-$_n\" > /dev/null" /dev/null >> "$T/$_n" < /dev/null
    }
    tty_run tty1
    "$PYTHON3" - "$T/tty1" <<'PY' || fail "tty: FAIL red, ERROR magenta, WARN yellow"
import sys
b = open(sys.argv[1], "rb").read()
assert b"\x1b[31mFAIL\x1b[0m " in b, b
assert b"\x1b[35mERROR\x1b[0m " in b, b
assert b"\x1b[33mWARN\x1b[0m " in b, b
PY
    tty_run tty2 NO_COLOR=1
    "$PYTHON3" - "$T/tty2" <<'PY' || fail "tty with NO_COLOR: no colour"
import sys
b = open(sys.argv[1], "rb").read()
assert b"FAIL  " in b and b"\x1b[3" not in b, b
PY
fi

# ---- control characters in names ----
mkdir -p "$T/cc"
N=$(printf 'a\033[31mred\nnl\177del\302\233c1.mp4')
cp "$T/in/short.mp4" "$T/cc/$N"
"$VBATCH" process "$T/cc" -P kling-clip -o "$T/o4" > "$T/out4" 2> "$T/err4"
"$PYTHON3" - "$T/err4" "$T/out4" <<'PY' || fail "names: no control character raw"
import sys
for f in sys.argv[1:]:
    b = open(f, "rb").read()
    assert b"\x1b" not in b and b"\x7f" not in b and b"\xc2\x9b" not in b, (f, b)
    assert b"a?[31mred?nl?del??c1.mp4" in b, (f, b)
PY

finish
