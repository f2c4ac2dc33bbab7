#!/bin/sh
# csv-injection.sh - results.csv opened in a spreadsheet runs no formula:
# a text cell starting with = + - @ (tab, CR) gets a leading ', whether it
# comes from a file name (=HYPERLINK(...).mp4), a folder or a message;
# numbers (negative loudness) stay plain numbers. `vbatch report --format
# csv` writes the same file.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

mkdir -p "$T/in"
src=$(clip h264_short.mp4)
H='=HYPERLINK("http:evil.example","open me").mp4'
cp "$src" "$T/in/$H" || exit 99
cp "$src" "$T/in/@SUM(1+1).mp4" || exit 99
cp "$src" "$T/in/-2+3.mp4" || exit 99
cp "$src" "$T/in/+plain.mp4" || exit 99
# The names as given on the command line: the source cell starts with them.
(cd "$T/in" && "$VBATCH" process "$H" '@SUM(1+1).mp4' ./-2+3.mp4 +plain.mp4 --deep \
    --output "$T/out" --quiet)
check "processed" test -s "$T/out/summary/results.csv"

# cells FILE: every cell of results.csv checked with Python's csv module
cells() {
    "$PYTHON3" - "$1" "$H" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8")))
def number(v):
    try:
        float(v)
        return True
    except ValueError:
        return False
# a cell may start so only when it is a number
bad = [(r["seq"], k, v) for r in rows for k, v in r.items()
       if v[:1] in ("=", "+", "-", "@", "\t", "\r") and not number(v)]
assert not bad, bad
src = {r["source"] for r in rows}
assert "'" + sys.argv[2] in src, src
assert "'@SUM(1+1).mp4" in src and "./-2+3.mp4" in src and "'+plain.mp4" in src, src
folders = [r["folder"] for r in rows]
assert all(f[:1] != "=" for f in folders), folders
assert any(f.startswith("'=HYPERLINK") for f in folders), folders
# the numbers: negative loudness and true peak, unquoted by the prefix
for r in rows:
    assert float(r["analysis.loudness_lufs"]) < 0, r["analysis.loudness_lufs"]
    assert float(r["analysis.true_peak_dbtp"]) < 0, r["analysis.true_peak_dbtp"]
    float(r["duration"])
PY
}
check "no cell a spreadsheet would run; numbers stay numbers" cells "$T/out/summary/results.csv"
check "the JSON report keeps the name as it is" pyjson "$T/out/summary/batch_report.json" \
    "any(i['source'] == '''$H''' for i in d['items'])"
cp "$T/out/summary/results.csv" "$T/first.csv"
expect_status 0 "report --format csv" "$VBATCH" report --output "$T/out" --format csv
check "report writes the same cells" cells "$T/out/summary/results.csv"
check "report writes the same bytes" cmp -s "$T/first.csv" "$T/out/summary/results.csv"
finish
