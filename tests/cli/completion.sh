#!/bin/sh
# completion.sh - the bash and zsh completion scripts (`vbatch completion`,
# installed by make install) offer exactly the commands of `vbatch --help`
# and the options of `vbatch help CMD`, the values of an option where the
# usage line spells them out, and the preset names `vbatch presets` lists
# (a user's too). The bash script is run as bash runs it (COMP_WORDS); the
# zsh one, when zsh is installed, with _arguments and compadd stubbed to
# print what zsh would be given.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
need_tool bash

"$VBATCH" completion bash > "$T/vbatch.bash"; check "completion bash exits 0" [ $? -eq 0 ]
"$VBATCH" completion zsh > "$T/_vbatch"; check "completion zsh exits 0" [ $? -eq 0 ]
check "the bash script parses" bash -n "$T/vbatch.bash"
expect_status 2 "completion fish: a usage error" "$VBATCH" completion fish
expect_status 2 "completion without a shell: a usage error" "$VBATCH" completion
if [ -f completions/vbatch ]; then
    check "the built bash script is completion bash" cmp -s completions/vbatch "$T/vbatch.bash"
    check "the built zsh script is completion zsh" cmp -s completions/_vbatch "$T/_vbatch"
fi

# A user's preset, to be offered with the shipped ones.
mkdir -p "$T/xdg/vbatch/presets" || exit 99
printf '[preset]\ndescription = mine\ninherit = kling-clip\n' > "$T/xdg/vbatch/presets/my-own.ini"
XDG_CONFIG_HOME=$T/xdg; export XDG_CONFIG_HOME
unset VBATCH_PRESET_DIR

# bcomp WORD...: what the bash completion offers for the words given (the
# last one being completed), one a line, sorted.
bcomp() {
    bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _vbatch
             printf "%s\n" "${COMPREPLY[@]}"' _ "$T/vbatch.bash" "$VBATCH" "$@" | sort -u
}
# help_opts CMD: the options of `vbatch help CMD`, short and long, sorted.
help_opts() {
    "$VBATCH" help "$1" | sed -n '/^options:/,$p' |
        grep -oE '^(  -[A-Za-z0-9], |      )--[a-z0-9-]+' | tr -d ',' | tr ' ' '\n' | grep . | sort -u
}

"$VBATCH" --help | sed -n '/^commands:/,/^$/s/^  \([a-z]*\) .*/\1/p' | sort -u > "$T/cmds.txt"
check "--help lists commands" [ -s "$T/cmds.txt" ]
bcomp "" | grep -v '^-' > "$T/b-cmds.txt"
check "bash: the commands are those of --help" cmp -s "$T/cmds.txt" "$T/b-cmds.txt"
bcomp help "" > "$T/b-help.txt"
check "bash: help CMD offers every command" cmp -s "$T/cmds.txt" "$T/b-help.txt"

"$VBATCH" presets | cut -d' ' -f1 | sort -u > "$T/presets.txt"
check "the user's preset is listed" grep -qx my-own "$T/presets.txt"

for c in $(cat "$T/cmds.txt"); do
    case $c in help|version) continue ;; esac
    help_opts "$c" > "$T/h-$c.txt"
    check "help $c lists options" [ -s "$T/h-$c.txt" ]
    bcomp "$c" - > "$T/b-$c.txt"
    check "bash: the options of $c are those of help $c" cmp -s "$T/h-$c.txt" "$T/b-$c.txt" ||
        diff "$T/h-$c.txt" "$T/b-$c.txt" >&2
done

bcomp process --preset "" > "$T/b-preset.txt"
check "bash: --preset offers the presets (the user's too)" cmp -s "$T/presets.txt" "$T/b-preset.txt"
bcomp process -P k > "$T/b-preset-k.txt"
check "bash: -P k offers kling-clip" grep -qx kling-clip "$T/b-preset-k.txt"
bcomp presets "" > "$T/b-presets-arg.txt"
check "bash: presets NAME offers the presets" cmp -s "$T/presets.txt" "$T/b-presets-arg.txt"
bcomp report --format "" | tr '\n' ' ' > "$T/b-fmt.txt"
check "bash: report --format offers the usage line's formats" [ "$(cat "$T/b-fmt.txt")" = "csv github html json junit text " ]
bcomp status --format=j > "$T/b-eq.txt"
check "bash: --format=j completes the value" grep -qx json "$T/b-eq.txt"
bcomp completion "" | tr '\n' ' ' > "$T/b-shells.txt"
check "bash: completion offers bash and zsh" [ "$(cat "$T/b-shells.txt")" = "bash zsh " ]
mkdir -p "$T/files/sub dir" && : > "$T/files/clip one.mp4"
(cd "$T/files" && bcomp process -o "") > "$T/b-dir.txt"
check "bash: --output offers folders (a space in the name kept)" [ "$(cat "$T/b-dir.txt")" = "sub dir" ]
(cd "$T/files" && bcomp process c) > "$T/b-file.txt"
check "bash: an operand of process offers files" [ "$(cat "$T/b-file.txt")" = "clip one.mp4" ]

if command -v zsh >/dev/null 2>&1; then
    check "the zsh script parses" zsh -n "$T/_vbatch"
    # zopts CMD: the options zsh is given for CMD (the part of each spec
    # before its [description], exclusion list and '*' removed).
    zspecs() {
        zsh -fc '_arguments() { print -rl -- "$@" }; _describe() { : }
                 source "$1" >/dev/null; _vbatch_cmd_$2' _ "$T/_vbatch" "$1"
    }
    for c in $(cat "$T/cmds.txt"); do
        case $c in help|version) continue ;; esac
        zspecs "$c" | sed -n 's/^\*\{0,1\}\(([^)]*)\)\{0,1\}\(-[^[]*\)\[.*/\2/p' | sort -u > "$T/z-$c.txt"
        check "zsh: the options of $c are those of help $c" cmp -s "$T/h-$c.txt" "$T/z-$c.txt" ||
            diff "$T/h-$c.txt" "$T/z-$c.txt" >&2
    done
    zsh -fc '_arguments() { print -rl -- "$@" }; _describe() { : }
             source "$1" >/dev/null
             _call_program() { shift; "$@" }; _wanted() { shift 3; "$@" }
             compadd() { [[ $1 == -a ]] && print -rl -- ${(P)2} }; _files() { : }
             _vbatch_prog=$2; PREFIX=; _vbatch_presets' _ "$T/_vbatch" "$VBATCH" | sort -u > "$T/z-presets.txt"
    check "zsh: the presets offered are those of vbatch presets" cmp -s "$T/presets.txt" "$T/z-presets.txt"
    zspecs report | grep -q '^--report-dir\[.*\]:RDIR:_files -/$'
    check "zsh: --report-dir completes folders" [ $? -eq 0 ]
    zspecs process | grep -q '^(-P --preset)-P\[.*\]:NAME:_vbatch_presets$'
    check "zsh: --preset completes presets" [ $? -eq 0 ]
else
    echo "zsh not installed: the zsh script is not run"
fi
finish
