#!/bin/sh
# Help, version and usage errors.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

"$VBATCH" --help > "$T/help.txt"; check "--help exits 0" [ $? -eq 0 ]
for c in process probe presets report status resume generate; do
    check "--help lists $c" grep -q "^  $c " "$T/help.txt"
done
"$VBATCH" --version > "$T/version.txt"
for lib in libavformat libavcodec libvips libcurl jansson inih libcsv; do
    check "--version names $lib" grep -qi "$lib" "$T/version.txt"
done
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
expect_status 2 "process without PATH" "$VBATCH" process
expect_status 2 "probe without FILE" "$VBATCH" probe
expect_status 2 "bad --jobs" "$VBATCH" process x --jobs zero
expect_status 2 "help for unknown command" "$VBATCH" help frobnicate
expect_status 2 "no command" "$VBATCH"
finish
