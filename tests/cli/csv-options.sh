#!/bin/sh
# csv-options.sh - results.csv for spreadsheets: [output] csv_separator =
# semicolon and csv_bom = true (also through --set), kept by `vbatch
# report`; formula cells still neutralised; neither key makes an unchanged
# item be processed again.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

mkdir -p "$T/in"
cp "$(clip h264_short.mp4)" "$T/in/=SUM(1;2).mp4"
cp "$(clip h264_aac_720p.mp4)" "$T/in/a;b.mp4"
OUT="$T/out"

"$VBATCH" -q process "$T/in" -o "$T/plain" -P kling-clip
check "default: no BOM, commas" "$PYTHON3" -c '
import sys; b = open(sys.argv[1], "rb").read()
assert not b.startswith(b"\xef\xbb\xbf") and b.startswith(b"\"seq\",\"source\""), b[:40]' \
    "$T/plain/summary/results.csv"

"$VBATCH" -q process "$T/in" -o "$OUT" -P kling-clip --set output.csv_separator=semicolon \
    --set output.csv_bom=true
"$PYTHON3" - "$OUT/summary/results.csv" <<'PY' || fail "semicolons and a BOM"
import csv, sys
b = open(sys.argv[1], "rb").read()
assert b.startswith(b"\xef\xbb\xbf\"seq\";\"source\""), b[:40]
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8-sig"), delimiter=";"))
assert len(rows) == 2, rows
src = sorted(r["source"].rsplit("/", 1)[-1] for r in rows)
assert src == ["=SUM(1;2).mp4", "a;b.mp4"], src
# The formula cell neutralised, a separator inside a cell kept in it.
names = sorted(r["folder"] for r in rows)
assert names == ["'=SUM(1;2)", "a;b"], names
assert [r for r in rows if r["duration"]][0]["duration"] == "2", rows
PY
cp "$OUT/summary/results.csv" "$T/first.csv"
"$VBATCH" report -o "$OUT" --format csv
check "report: the same file again" cmp -s "$T/first.csv" "$OUT/summary/results.csv"
"$VBATCH" -q process "$T/in" -o "$OUT" -P kling-clip
check "a rerun without the keys: every item skipped (unchanged)" pyjson "$OUT/summary/batch_report.json" \
    'd["counts"]["skipped"] == 2'
expect_status 2 "csv_separator = tab" "$VBATCH" -q process "$T/in" -o "$T/o3" \
    --set output.csv_separator=tab 2> /dev/null

finish
