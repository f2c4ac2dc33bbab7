#!/bin/sh
# Help, version and usage errors.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

"$VBATCH" --help > "$T/help.txt"; check "--help exits 0" [ $? -eq 0 ]
for c in process probe presets report status resume generate completion; do
    check "--help lists $c" grep -q "^  $c " "$T/help.txt"
done
"$VBATCH" --version > "$T/version.txt"
for lib in libavformat libavcodec libvips libcurl jansson inih libcsv; do
    check "--version names $lib" grep -qi "$lib" "$T/version.txt"
done
# The licence line, and the GPL's terms named when the FFmpeg linked is a
# GPL build (Debian's: --enable-gpl, libx264); the files it points to ship.
check "--version: the licence line" grep -qx "licence: MIT, copyright the vbatch authors (LICENSE)" "$T/version.txt"
check "--version: FFmpeg's licence" grep -q "this binary links FFmpeg under the [A-Za-z]" "$T/version.txt"
if grep -q "FFmpeg under the GPL" "$T/version.txt"; then
    check "--version: a GPL FFmpeg makes the binary GPL" grep -q "distributed under the GPL's terms (NOTICE)" "$T/version.txt"
fi
check "LICENSE is the MIT licence" grep -q "^MIT License$" "$TOP_SRCDIR/LICENSE"
check "LICENSE: copyright the vbatch authors" grep -q "Copyright (c) [0-9]* the vbatch authors" "$TOP_SRCDIR/LICENSE"
check "NOTICE: binaries under the GPL's terms" grep -q "GPL version 2" "$TOP_SRCDIR/NOTICE"
for c in process probe presets report status resume generate; do
    "$VBATCH" help $c > "$T/h-$c.txt"; check "help $c exits 0" [ $? -eq 0 ]
    check "help $c shows usage" grep -q "^usage: vbatch $c" "$T/h-$c.txt"
    "$VBATCH" $c --help > "$T/h2-$c.txt"
    check "$c --help is help $c" cmp -s "$T/h-$c.txt" "$T/h2-$c.txt"
done
check "help process documents --pattern" grep -q -- "--pattern GLOB" "$T/h-process.txt"
expect_status 2 "unknown command" "$VBATCH" frobnicate
expect_status 2 "unknown global option" "$VBATCH" --frob process x
expect_status 2 "unknown process option" "$VBATCH" process --frob x
expect_status 2 "missing option argument" "$VBATCH" process x --output
# usage_msg DESC WANT CMD...: CMD exits 2 and its first line on stderr is
# "vbatch: WANT" (the option named as given, not a neighbouring word)
usage_msg() {
    _d=$1; _w=$2; shift 2
    "$@" >/dev/null 2>"$T/usage.err"; _got=$?
    _l=$(head -n 1 "$T/usage.err")
    if [ "$_got" -eq 2 ] && [ "$_l" = "vbatch: $_w" ]; then ok "$_d"
    else fail "$_d: exit $_got, '$_l', expected 'vbatch: $_w'"; fi
}
usage_msg "bundled flags, unknown letter" \
    "unknown option -f (in -rf.mp4; a file whose name starts with '-' is given as ./-rf.mp4, or after --)" \
    "$VBATCH" process -rf.mp4
usage_msg "generate: the first unknown letter of a bundle" \
    "unknown option -r (in -rf.mp4; a file whose name starts with '-' is given as ./-rf.mp4, or after --)" \
    "$VBATCH" generate -rf.mp4
usage_msg "unknown letter ending a bundle" "unknown option -z (in -rz)" "$VBATCH" process -rz x
usage_msg "unknown letter alone, before a bundle" "unknown option -z" "$VBATCH" status -z -zq
usage_msg "unknown short option after an operand" "unknown option -x" "$VBATCH" report --output "$T" -x
usage_msg "unknown long option" "unknown option --frob" "$VBATCH" process --frob x
usage_msg "unknown long option: did you mean" "unknown option --recurisve (did you mean --recursive?)" \
    "$VBATCH" process --recurisve x
usage_msg "unknown long option of status: did you mean" "unknown option --ouput (did you mean --output?)" \
    "$VBATCH" status --ouput x
usage_msg "unknown global option: did you mean" \
    "unknown option --verbos (did you mean --verbose?); see 'vbatch --help'" "$VBATCH" --verbos process
# An unknown command: one line and the hint, not the whole help.
usage_msg "unknown command: did you mean" \
    "unknown command 'proces' (did you mean 'process'?); see 'vbatch --help'" "$VBATCH" proces x
"$VBATCH" frobnicate > "$T/unk.out" 2> "$T/unk.err"
check "unknown command: one line on stderr" [ "$(wc -l < "$T/unk.err")" -eq 1 ]
check "unknown command: nothing on stdout" [ ! -s "$T/unk.out" ]
usage_msg "help for a mistyped command" \
    "unknown command 'stauts' (did you mean 'status'?); see 'vbatch --help'" "$VBATCH" help stauts
"$VBATCH" help help > "$T/hh.txt"; check "help help exits 0" [ $? -eq 0 ]
check "help help: its usage" grep -q "^usage: vbatch help \[COMMAND\]" "$T/hh.txt"
"$VBATCH" help version > /dev/null; check "help version exits 0" [ $? -eq 0 ]
usage_msg "unknown long option with a value" "unknown option --frob" "$VBATCH" resume --frob=3
usage_msg "ambiguous abbreviation (resume)" "option --job is ambiguous (--job-id, --jobs)" "$VBATCH" resume --job 3
usage_msg "ambiguous abbreviation" "option --p is ambiguous (--pattern, --preset, --publish)" \
    "$VBATCH" process --p x
usage_msg "a flag given a value" "option --recursive takes no argument (--recursive=x)" \
    "$VBATCH" process --recursive=x
usage_msg "--help given a value" "option --help takes no argument (--help=2)" "$VBATCH" probe --help=2
usage_msg "missing argument, long" "option --output needs an argument (DIR)" "$VBATCH" process x --output
usage_msg "missing argument, abbreviated" "option --job-id needs an argument (ID)" "$VBATCH" retry --job-
usage_msg "missing argument, short" "option -o needs an argument (DIR)" "$VBATCH" status -o
usage_msg "missing argument, end of a bundle" "option -f needs an argument (FMT)" "$VBATCH" presets -f
usage_msg "missing argument, bundle" "option -o needs an argument (DIR)" "$VBATCH" process -rqo
usage_msg "missing argument, generate" "option --budget needs an argument (UNITS)" "$VBATCH" generate x.csv --budget
check "after --, -rf.mp4 is a file" sh -c "'$VBATCH' process --output '$T/o' -- -rf.mp4 2>&1 | grep -q 'cannot read -rf.mp4'"
expect_status 2 "process without PATH" "$VBATCH" process
expect_status 2 "probe without FILE" "$VBATCH" probe
expect_status 2 "bad --jobs" "$VBATCH" process x --jobs zero
expect_status 2 "help for unknown command" "$VBATCH" help frobnicate
expect_status 2 "no command" "$VBATCH"
finish
