#!/bin/sh
# messages.sh - say what failed where the user looks: FAIL and WARN lines
# and the summary name each rule with its measured value and limit.
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

finish
