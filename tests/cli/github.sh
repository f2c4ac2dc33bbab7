#!/bin/sh
# github.sh - CI: `--format github` prints a GitHub Actions workflow
# command per item that failed or warned (file, title and message escaped
# as GitHub reads them), and appends a Markdown summary to
# $GITHUB_STEP_SUMMARY when it is set; `vbatch report --format github`
# gives the same from the journal.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

mkdir -p "$T/in"
cp "$(clip h264_short.mp4)" "$T/in/a,b:c%.mp4"
cp "$(clip h264_aac_720p.mp4)" "$T/in/good.mp4"
printf 'junk' > "$T/in/junk.mp4"
SUM="$T/step.md"
printf '# before\n' > "$SUM"
(cd "$T" && GITHUB_STEP_SUMMARY="$SUM" "$VBATCH" process in -P kling-clip -o out --format github \
    > "$T/gh.out" 2> /dev/null)
check "exit status as usual (3)" [ $? -eq 3 ]
check "a gate failed: ::error with the rule, value and limit" grep -qxF \
    '::error file=in/a%2Cb%3Ac%25.mp4,title=vbatch%3A failed a gate::duration_min 2.000 s (min 4.500 s), audio_bitrate_min 97.0 kb/s (min 128.0 kb/s)' "$T/gh.out"
check "an error: ::error, could not be processed" grep -q \
    '^::error file=in/junk.mp4,title=vbatch%3A could not be processed::probe: ' "$T/gh.out"
check "nothing for the passing item" [ -z "$(grep '^::.*good.mp4' "$T/gh.out")" ]
check "the step summary appended" grep -q '^# before$' "$SUM"
check "the step summary: counts" grep -qF '| 3 | 1 | 1 | 1 | 0 |' "$SUM"
check "the step summary: the failed item" grep -qF '| a,b_c% | FAIL | duration_min 2.000 s' "$SUM"
# A warning, from the journal.
printf '[qc]\nduration_min = 100\nduration_level = warn\n' > "$T/warn.ini"
"$VBATCH" -q process "$T/in/good.mp4" -c "$T/warn.ini" -o "$T/o2"
env -u GITHUB_STEP_SUMMARY "$VBATCH" report -o "$T/o2" --format github > "$T/gh2.out"
check "report --format github: ::warning" grep -q '^::warning file=.*good.mp4,title=vbatch%3A warning::duration_min' "$T/gh2.out"

finish
