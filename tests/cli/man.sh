#!/bin/sh
# man.sh - the man page keeps up with the program: every long option that
# `vbatch help CMD` lists is in man/vbatch.1's section on CMD, every key that
# `vbatch presets default --format json` shows is a paragraph of its
# section under PRESET FILES, and groff renders the page
# without a warning.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
need_tool groff

MAN="$TOP_SRCDIR/man/vbatch.1"
# The page as text, with troff's escaped hyphens (\-) made plain.
sed 's/\\-/-/g' "$MAN" > "$T/man.txt"

groff -man -ww -z "$MAN" > "$T/groff.out" 2>&1; rc=$?
check "groff -man -ww: exit 0" [ "$rc" -eq 0 ]
check "groff -man -ww: no warnings" [ ! -s "$T/groff.out" ]
if [ -s "$T/groff.out" ]; then sed 's/^/  /' "$T/groff.out" >&2; fi

# The page's section on a command: from its ".SS "vbatch CMD ..." to the
# next .SS or .SH.
cmd_section() {
    awk -v h=".SS \"vbatch $1 " 'index($0, h) == 1 { on = 1; next } on && /^\.S[SH] / { exit } on' \
        "$T/man.txt"
}
for c in process probe presets report status resume retry generate enqueue worker; do
    "$VBATCH" help $c > "$T/h-$c.txt" || fail "help $c exits 0"
    cmd_section $c > "$T/c-$c.txt"
    check "man page: a section on vbatch $c" [ -s "$T/c-$c.txt" ]
    # The options table, after "options:": "  -x, --long ARG  text" or
    # "      --long ARG  text".
    opts=$(sed -n '/^options:/,$s/^ *\(-[A-Za-z], \)\{0,1\}\(--[a-z][a-z-]*\).*/\2/p' \
        "$T/h-$c.txt" | sort -u)
    check "help $c lists options" [ -n "$opts" ]
    for o in $opts; do
        # enqueue takes process's options: its section names those it does not.
        if [ "$c" = enqueue ] && grep -q -e "$o\\b" "$T/c-process.txt"; then continue; fi
        check "man page, vbatch $c: $o" grep -q -e "$o\\b" "$T/c-$c.txt"
    done
done

"$VBATCH" presets default --format json > "$T/default.json" || fail "presets default exits 0"
"$PYTHON3" - "$T/default.json" > "$T/keys.txt" <<'PY' || fail "presets default: JSON"
import json, sys
d = json.load(open(sys.argv[1]))
for sect, keys in d.items():
    print("[%s]" % sect)
    if isinstance(keys, dict):
        for k in keys:
            print("%s %s" % (sect, k))
PY
check "presets default lists keys" [ -s "$T/keys.txt" ]
# section SECT: the lines of the page's ".SS [SECT]" up to the next .SS or .SH
section() {
    awk -v h=".SS [$1]" '$0 == h { on = 1; next } on && /^\.S[SH] / { exit } on' "$T/man.txt"
}
while read -r sect key; do
    case $sect in
    \[*)
        s=${sect#[}; s=${s%]}
        section "$s" > "$T/sect.txt"
        check "man page: a .SS $sect section" [ -s "$T/sect.txt" ]
        continue ;;
    esac
    # The preset's name is not a key of the file.
    [ "$sect" = preset ] && [ "$key" = name ] && continue
    # A key is the tag of a paragraph of its section, alone or with others:
    # .BR key " (type, default ...)", .BR key ", " other " (...)", .TQ ...
    check "man page: [$sect] $key" grep -q -E "^\.BR? (.*[\" ])?$key([\" ]|\$)" "$T/sect.txt"
done < "$T/keys.txt"
finish
