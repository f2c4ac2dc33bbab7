#!/bin/sh
# prefix.sh - the folders an installed vbatch looks in follow the prefix
# it was last configured with. A copy of the source tree is configured
# with one --prefix and built, configured again in place with another,
# and installed with DESTDIR: the installed binary must look for its
# media module and presets under the second prefix, and only the objects
# that use those folders are rebuilt (vb-paths.h, made by make). Without
# its presets folder it runs, with the built-in default preset.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
need_tool make
need_tool tar
[ -x "$TOP_SRCDIR/configure" ] && [ -f "$TOP_SRCDIR/Makefile.in" ] ||
    { echo "SKIP: the source tree has no configure script (run autoreconf -fi)"; exit 77; }

# The source files only (a configured source tree refuses a VPATH build,
# and its objects must not be reused): what configure and the build of
# vbatch need, times kept so that make regenerates nothing.
mkdir -p "$T/src" || exit 99
(cd "$TOP_SRCDIR" && tar -cf - --exclude='*.o' --exclude='*.a' --exclude=.deps \
    --exclude=.dirstamp \
    configure configure.ac Makefile.in Makefile.am aclocal.m4 config.h.in build-aux m4 \
    src include presets man) |
    (cd "$T/src" && tar -xf -) || { echo "cannot copy the source tree"; exit 99; }
# A configure run by a make in this tree must not see the outer make's
# variables (MAKEFLAGS carries the outer TESTS=...).
unset MAKEFLAGS MAKELEVEL MFLAGS VBATCH_MODULE_DIR VBATCH_PRESET_DIR

cd "$T/src" || exit 99
./configure -q --prefix=/opt/vb-one > "$T/configure1.log" 2>&1 ||
    { tail -20 "$T/configure1.log"; fail "configure --prefix=/opt/vb-one"; finish; }
make -j2 V=0 vbatch vbatch-media.so > "$T/make1.log" 2>&1 ||
    { tail -20 "$T/make1.log"; fail "make with --prefix=/opt/vb-one"; finish; }
check "vb-paths.h names /opt/vb-one" grep -q '"/opt/vb-one/share/vbatch/presets"' vb-paths.h

./configure -q --prefix=/opt/vb-two > "$T/configure2.log" 2>&1 ||
    { tail -20 "$T/configure2.log"; fail "configure --prefix=/opt/vb-two"; finish; }
make V=0 install DESTDIR="$T/dest" > "$T/install.log" 2>&1 ||
    { tail -20 "$T/install.log"; fail "make install DESTDIR with --prefix=/opt/vb-two"; finish; }
check "vb-paths.h names /opt/vb-two" grep -q '"/opt/vb-two/share/vbatch/presets"' vb-paths.h
# The silent rules' "CC src/x.o" lines: only the users of vb-paths.h.
rebuilt=$(sed -n 's/^ *CC  *//p' "$T/install.log" | sort | tr '\n' ' ')
check "only the objects using the folders are rebuilt ($rebuilt)" \
    [ "$rebuilt" = "src/module.o src/preset.o src/util.o " ]

BIN=$T/dest/opt/vb-two/bin/vbatch
check "installed under the new prefix" [ -x "$BIN" ]
check "the module installed under the new prefix" [ -f "$T/dest/opt/vb-two/lib/vbatch/vbatch-media.so" ]
check "the presets installed under the new prefix" [ -f "$T/dest/opt/vb-two/share/vbatch/presets/kling-clip.ini" ]
check "the bash completion installed" cmp -s "$T/dest/opt/vb-two/share/bash-completion/completions/vbatch" completions/vbatch
check "the zsh completion installed" cmp -s "$T/dest/opt/vb-two/share/zsh/vendor-completions/_vbatch" completions/_vbatch
check "nothing installed under the old prefix" [ ! -e "$T/dest/opt/vb-one" ]

# The module is looked for where it will be installed (under DESTDIR it
# is not there yet, and the message names the path).
"$BIN" --verbose --version > "$T/version.txt" 2>&1
check "the module is looked for under /opt/vb-two" grep -q "media module /opt/vb-two/lib/vbatch/vbatch-media.so" "$T/version.txt"
check "not under /opt/vb-one" sh -c "! grep -q /opt/vb-one '$T/version.txt'"

# The presets folder is looked for there too; not there yet, `default`
# is the built-in one, and a run with it works.
"$BIN" presets no-such > /dev/null 2> "$T/err"
check "presets are looked for under /opt/vb-two" grep -q "looked in .*/opt/vb-two/share/vbatch/presets" "$T/err"
"$BIN" presets > "$T/list.txt" 2> "$T/err"
check "without its presets folder, presets exits 0: $(cat "$T/err")" [ $? -eq 0 ]
check "the built-in default is listed" grep -Eq "^default +built-in +Any video" "$T/list.txt"
check "nothing else is" [ "$(wc -l < "$T/list.txt")" -eq 1 ]
"$BIN" presets default > "$T/default.ini" 2> "$T/err"
check "the built-in default is presets/default.ini" grep -qx "duration_min = 0.1" "$T/default.ini"
C=$(clip h264_aac_720p.mp4)
"$BIN" process "$C" -o "$T/out" > "$T/run.txt" 2>&1
check "a run with the built-in default passes: $(tail -3 "$T/run.txt")" [ $? -eq 0 ]
finish
