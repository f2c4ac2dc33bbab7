#!/bin/sh
# preset-folders.sh - presets from several folders: $VBATCH_PRESET_DIR (a
# colon-separated list) and the user's ($XDG_CONFIG_HOME/vbatch/presets, or
# ~/.config/vbatch/presets) add to the shipped ones, the first found
# winning; a user preset inherits a shipped one, and one of a shipped name
# that inherits that name gets the shipped one; `vbatch presets` lists all,
# each with where it comes from. (The built-in default of an installed
# binary without its presets folder: prefix.sh.)
. "$TOP_SRCDIR/tests/lib/testlib.sh"
unset VBATCH_PRESET_DIR

mkdir -p "$T/xdg/vbatch/presets" "$T/team" "$T/proj" "$T/home/.config/vbatch/presets" || exit 99
U=$T/xdg/vbatch/presets
printf '[preset]\ndescription = My clips\ninherit = kling-clip\n[qc]\nduration_max = 8\n' > "$U/my-clip.ini"
printf '[preset]\ndescription = Kling, 1080p only\ninherit = kling-clip\n[qc]\nmin_width = 1080\nmin_height = 1080\n' > "$U/kling-clip.ini"
printf '[preset]\ndescription = The team preset\ninherit = my-clip\n[qc]\nduration_min = 7\n' > "$T/team/team.ini"
printf '[preset]\ndescription = The project preset\n[qc]\nduration_min = 2\n' > "$T/proj/team.ini"
printf '[preset]\ndescription = From HOME\n' > "$T/home/.config/vbatch/presets/home-only.ini"
XDG_CONFIG_HOME=$T/xdg; export XDG_CONFIG_HOME
HOME=$T/home; export HOME

# The user's folder alone.
"$VBATCH" presets > "$T/list.txt" 2> "$T/err"
check "presets exits 0" [ $? -eq 0 ]
check "a shipped preset is listed as shipped" grep -Eq '^broadcast +shipped +Broadcast' "$T/list.txt"
check "a user preset is listed as the user's" grep -Eq '^my-clip +user +My clips$' "$T/list.txt"
check "a user preset over a shipped one says so" grep -Eq '^kling-clip +user, over shipped +Kling, 1080p only$' "$T/list.txt"
check "kling-clip listed once" [ "$(grep -c '^kling-clip ' "$T/list.txt")" -eq 1 ]
check "XDG_CONFIG_HOME wins over HOME" sh -c "! grep -q '^home-only' '$T/list.txt'"

"$VBATCH" presets my-clip --format json > "$T/my.json" 2> "$T/err"
check "a user preset loads" [ $? -eq 0 ]
check "it inherits the shipped kling-clip" pyjson "$T/my.json" 'd["qc"]["duration_min"] == 4.5 and d["qc"]["any_orientation"] is True'
check "and sets its own key" pyjson "$T/my.json" 'd["qc"]["duration_max"] == 8 and d["preset"]["name"] == "my-clip"'

"$VBATCH" presets kling-clip --format json > "$T/kling.json" 2> "$T/err"
check "a user kling-clip inheriting kling-clip loads (no cycle): $(cat "$T/err")" [ $? -eq 0 ]
check "it is the user's, on top of the shipped one" pyjson "$T/kling.json" 'd["qc"]["min_width"] == 1080 and d["qc"]["duration_min"] == 4.5 and d["qc"]["duration_max"] == 10.5'

# VBATCH_PRESET_DIR: folders ahead of the user's, the first of a name winning.
VBATCH_PRESET_DIR=$T/team:$T/proj; export VBATCH_PRESET_DIR
"$VBATCH" presets --format json > "$T/list.json" 2> "$T/err"
check "presets --format json with VBATCH_PRESET_DIR" [ $? -eq 0 ]
check "every folder listed" pyjson "$T/list.json" '{p["name"]: p["origin"] for p in d}["team"] == "env" and {p["name"]: p["origin"] for p in d}["my-clip"] == "user" and {p["name"]: p["origin"] for p in d}["tiktok"] == "shipped"'
check "the first folder of VBATCH_PRESET_DIR wins, the hidden file named" pyjson "$T/list.json" '[p for p in d if p["name"] == "team"][0]["path"].endswith("/team/team.ini") and [p for p in d if p["name"] == "team"][0]["hides"][0].endswith("/proj/team.ini")'
check "a shipped one hidden by the user's" pyjson "$T/list.json" '[p for p in d if p["name"] == "kling-clip"][0]["hides"][0].endswith("/presets/kling-clip.ini")'
"$VBATCH" presets team --format json > "$T/team.json" 2> "$T/err"
check "an env preset inherits a user one inheriting a shipped one" pyjson "$T/team.json" 'd["qc"]["duration_min"] == 7 and d["qc"]["duration_max"] == 8 and d["qc"]["any_orientation"] is True'
"$VBATCH" -v presets > "$T/list-v.txt" 2> "$T/err"
check "--verbose names the folders searched" grep -q "^  user  *$T/xdg/vbatch/presets$" "$T/list-v.txt"

# The presets drive a run, as --preset NAME.
C=$(clip h264_aac_720p.mp4)
"$VBATCH" process "$C" --preset team -o "$T/out" > "$T/run.txt" 2>&1
check "process --preset (a 6 s clip, duration_min = 7) fails the gate (exit 1)" [ $? -eq 1 ]
unset VBATCH_PRESET_DIR

# An unknown name lists what there is and where it was looked for.
"$VBATCH" presets no-such > /dev/null 2> "$T/err"
check "unknown preset: exit 2" [ $? -eq 2 ]
check "unknown preset: the user's presets offered" grep -q "my-clip" "$T/err"
check "unknown preset: the folders named" grep -q "looked in $T/xdg/vbatch/presets, " "$T/err"

# A relative XDG_CONFIG_HOME is ignored (XDG base directories): HOME's.
XDG_CONFIG_HOME=relative "$VBATCH" presets > "$T/list2.txt" 2> "$T/err"
check "a relative XDG_CONFIG_HOME: ~/.config/vbatch/presets" grep -Eq '^home-only +user +From HOME$' "$T/list2.txt"

# A folder that can not be read is an error, one that is not there is none.
XDG_CONFIG_HOME=$T/none "$VBATCH" presets > /dev/null 2> "$T/err"
check "no user folder: fine" [ $? -eq 0 ]
printf 'x' > "$T/file"
VBATCH_PRESET_DIR=$T/file "$VBATCH" presets > /dev/null 2> "$T/err"
check "a preset folder that is a file: exit 2" [ $? -eq 2 ]
check "a preset folder that is a file: named" grep -q "can not read the preset folder $T/file" "$T/err"
finish
