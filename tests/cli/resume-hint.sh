#!/bin/sh
# resume-hint.sh - Ctrl-C prints the exact `vbatch resume ...` command (an
# output folder with a space in it quoted), which finishes the batch; and
# `vbatch resume` without --job-id takes the only interrupted batch of
# OUT (none, or several: exit 2, naming them).
. "$TOP_SRCDIR/tests/lib/testlib.sh"
need_throttle

IN="$T/in"; mkdir -p "$IN"
for n in 1 2 3 4 5 6; do cp "$(clip h264_aac_720p.mp4)" "$IN/clip$n.mp4"; done

# interrupted OUT: a run reading its inputs slowly (--force: none skipped
# as unchanged), SIGINT once it has written an item; stderr into $T/err.
interrupted() {
    # (the glob must wait for this run: the earlier ones' are removed)
    rm -f "$1"/*/metadata/probe.json
    THROTTLE_SLOW=/in/clip THROTTLE_DELAY_MS=100 THROTTLE_BYTES=4096 \
        INTERRUPT_PRELOAD="$THROTTLE_SO" "$PYTHON3" "$TOP_SRCDIR/tests/lib/interrupt.py" \
        "$1/*/metadata/probe.json" 1 0 "$VBATCH" process "$IN" --output "$1" --jobs 1 --force \
        2> "$T/err" > "$T/rc"
}

OUT="$T/out dir"
interrupted "$OUT"
check "interrupted: exit 4" [ "$(cut -d' ' -f1 "$T/rc")" = 4 ]
ID=$("$VBATCH" status --output "$OUT" --format json |
     "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["batches"][0]["batch_id"])')
want="to finish it: vbatch resume --job-id $ID --output '$OUT'"
check "the exact resume command is printed" grep -qF "$want" "$T/err"
# Run the command as printed.
cmd=$(sed -n "s/.*to finish it: \(vbatch resume .*\)$/\1/p" "$T/err")
vbatch() { "$VBATCH" "$@"; }
eval "$cmd" > /dev/null 2>&1; rc=$?
check "the printed command finishes the batch (exit 0)" [ "$rc" -eq 0 ]
"$VBATCH" status --output "$OUT" --format json > "$T/st1.json"
pyjson "$T/st1.json" 'd["batches"][0]["status"] == "done" and d["batches"][0]["counts"]["done"] == 6' ||
    fail "resumed: every item done"

# Interrupted twice (the first's grace period not over): the process ends
# at once and says the command too, which finishes the batch.
OUT3="$T/out3"
rm -f "$OUT3"/*/metadata/probe.json
THROTTLE_SLOW=/in/clip THROTTLE_DELAY_MS=100 THROTTLE_BYTES=4096 INTERRUPT_AGAIN=0.3 \
    INTERRUPT_PRELOAD="$THROTTLE_SO" "$PYTHON3" "$TOP_SRCDIR/tests/lib/interrupt.py" \
    "$OUT3/*/metadata/probe.json" 1 0 "$VBATCH" process "$IN" --output "$OUT3" --jobs 1 --force \
    --set batch.grace_period=60 2> "$T/err5" > "$T/rc"
check "interrupted twice: exit 4" [ "$(cut -d' ' -f1 "$T/rc")" = 4 ]
check "interrupted twice: at once, not after the grace period" \
    awk -v s="$(cut -d' ' -f2 "$T/rc")" 'BEGIN { exit !(s < 10) }'
ID3=$("$VBATCH" status --output "$OUT3" --format json |
      "$PYTHON3" -c 'import json,sys; print(json.load(sys.stdin)["batches"][0]["batch_id"])')
check "interrupted twice: the exact resume command" \
    grep -qF "interrupted again: stopping now; to finish the batch: vbatch resume --job-id $ID3 --output $OUT3" "$T/err5"
cmd=$(sed -n "s/.*to finish the batch: \(vbatch resume .*\)$/\1/p" "$T/err5")
eval "$cmd" > /dev/null 2>&1; rc=$?
check "interrupted twice: the printed command finishes the batch (exit 0)" [ "$rc" -eq 0 ]
"$VBATCH" status --output "$OUT3" --format json > "$T/st5.json"
pyjson "$T/st5.json" 'd["batches"][0]["status"] == "done" and d["batches"][0]["counts"]["done"] == 6' ||
    fail "interrupted twice, resumed: every item done"

# Without --job-id: the only interrupted batch.
OUT2="$T/out2"
interrupted "$OUT2"
expect_status 0 "resume without --job-id" "$VBATCH" resume --output "$OUT2" > /dev/null 2> "$T/err2"
check "resume says which batch" grep -q "resuming batch_" "$T/err2"
"$VBATCH" status --output "$OUT2" --format json > "$T/st2.json"
pyjson "$T/st2.json" 'd["batches"][0]["status"] == "done"' || fail "the batch finished"
expect_status 2 "resume without --job-id: none left" "$VBATCH" resume --output "$OUT2" 2> "$T/err3"
check "none left: said" grep -q "no interrupted batch" "$T/err3"
# Two interrupted batches: which one is not guessed.
interrupted "$OUT2"
check "interrupted again: exit 4" [ "$(cut -d' ' -f1 "$T/rc")" = 4 ]
interrupted "$OUT2"
check "and again: exit 4" [ "$(cut -d' ' -f1 "$T/rc")" = 4 ]
expect_status 2 "resume without --job-id: two interrupted" "$VBATCH" resume --output "$OUT2" \
    2> "$T/err4"
check "two: both named" grep -q "2 interrupted batches (batch_.*, batch_.*): say which with --job-id" "$T/err4"
expect_status 2 "no journal" "$VBATCH" resume --output "$T/nothing" 2> /dev/null
expect_status 2 "retry still needs --job-id" "$VBATCH" retry --output "$OUT2" 2> /dev/null

finish
