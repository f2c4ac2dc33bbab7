#!/bin/sh
# json-stdout.sh - machine-readable output on standard output: process
# --format json (the batch report, the per-item lines still on stderr),
# report --format json|csv --stdout (nothing written into OUT), status
# --format json.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

mkdir -p "$T/in"
cp "$(clip h264_short.mp4)" "$T/in/short.mp4"
cp "$(clip h264_aac_720p.mp4)" "$T/in/good.mp4"
OUT="$T/out"

"$VBATCH" process "$T/in" -P kling-clip -o "$OUT" --format json > "$T/p.json" 2> "$T/p.err"
check "process --format json: exit 1 (a gate failed)" [ $? -eq 1 ]
check "process --format json: one JSON document, the batch report" pyjson "$T/p.json" \
    'd["counts"]["total"] == 2 and d["counts"]["qc_failed"] == 1 and len(d["items"]) == 2'
check "process --format json: the same as batch_report.json" cmp -s "$T/p.json" "$OUT/summary/batch_report.json"
check "process --format json: FAIL line still on stderr" grep -q "FAIL .*short.mp4" "$T/p.err"
expect_status 2 "process --format csv" "$VBATCH" process "$T/in" -o "$T/o2" --format csv 2> /dev/null

touch -d '2000-01-01' "$OUT/summary"/*
before=$(ls -l --time-style=+%s "$OUT/summary")
"$VBATCH" report -o "$OUT" --format json --stdout > "$T/r.json"
check "report --stdout: exit 0" [ $? -eq 0 ]
check "report --format json --stdout: the batch report" pyjson "$T/r.json" 'd["counts"]["total"] == 2'
"$VBATCH" report -o "$OUT" --format csv --stdout > "$T/r.csv"
check "report --format csv --stdout: results.csv" [ "$(wc -l < "$T/r.csv")" -eq 3 ]
check "report --stdout: OUT/summary untouched" [ "$before" = "$(ls -l --time-style=+%s "$OUT/summary")" ]
expect_status 2 "report --stdout, two formats" "$VBATCH" report -o "$OUT" --format json --format csv \
    --stdout 2> /dev/null
"$VBATCH" status -o "$OUT" --format json > "$T/s.json"
check "status --format json" pyjson "$T/s.json" 'd["batches"][0]["counts"]["total"] == 2'

finish
