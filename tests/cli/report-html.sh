#!/bin/sh
# The JUnit and HTML reports: `vbatch process` writes summary/junit.xml and
# summary/report.html; the JUnit file is well-formed and its counts agree
# with every item's qc.json; the page is well-formed HTML, self-contained,
# holds every item as data for its script and as a table for readers
# without scripts (report-html-browser.sh looks at it in a browser);
# `vbatch report` writes both again, byte for byte, from the batch's records.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
need_tool xmllint

GOOD=$(clip h264_aac_720p.mp4)   # passes kling-clip
SHORT=$(clip h264_short.mp4)     # 2 s: fails kling-clip's duration_min
OUT="$T/out"
S="$OUT/summary"

expect_status 1 "process: one clip fails a gate" \
    "$VBATCH" process "$GOOD" "$SHORT" --preset kling-clip --thumbnails --output "$OUT" --quiet
check "junit.xml written" test -s "$S/junit.xml"
check "report.html written" test -s "$S/report.html"

# ---- JUnit ----
check "junit.xml: xmllint" xmllint --noout "$S/junit.xml"
check "junit.xml: counts agree with qc.json" "$PYTHON3" - "$S/junit.xml" "$OUT" <<'PY'
import glob, json, os, sys
import xml.etree.ElementTree as ET

def need(cond, what):
    if not cond:
        print("junit.xml:", what, file=sys.stderr)
        sys.exit(1)

root = ET.parse(sys.argv[1]).getroot()
need(root.tag == "testsuites" and root.get("name") == "vbatch", "root is <testsuites name=vbatch>")
suites = root.findall("testsuite")
need(len(suites) == 1, "one <testsuite>")
s = suites[0]
cases = s.findall("testcase")
fails = [c for c in cases if c.find("failure") is not None]
need(int(s.get("tests")) == len(cases) == int(root.get("tests")), "tests = number of testcases")
need(int(s.get("failures")) == len(fails) == int(root.get("failures")), "failures = failed testcases")
need(int(s.get("errors")) == 0 and int(s.get("skipped")) == 0, "no errors, no skipped")
need(s.find("properties/property[@name='preset']").get("value") == "kling-clip", "preset property")
for c in cases:
    need(c.get("classname") and c.get("name") and float(c.get("time")) >= 0, "testcase attributes")
for c in fails:
    f = c.find("failure")
    need(f.get("type") == c.get("name") and f.get("message"), "failure type and message")
    need("measured: " in f.text and "limit: " in f.text and "level: fail" in f.text, "failure body")
need({c.get("classname") for c in fails} == {"h264_short"}, "only the short clip fails")
need(any(c.get("name") == "duration_min" for c in fails), "duration_min fails")
# one testcase per check in every item's qc.json, failures where the verdict is fail
qcs = glob.glob(os.path.join(sys.argv[2], "*", "metadata", "qc.json"))
need(len(qcs) == 2, "two items")
for q in qcs:
    folder = os.path.basename(os.path.dirname(os.path.dirname(q)))
    checks = json.load(open(q))["checks"]
    mine = [c for c in cases if c.get("classname") == folder]
    need([c.get("name") for c in mine] == [k["rule"] for k in checks], folder + ": one testcase per check")
    need(sum(k["verdict"] == "fail" for k in checks) == sum(c.find("failure") is not None for c in mine),
         folder + ": failures")
    # (the first test's <system-out> may also attach the contact sheet)
    need(sum(k["verdict"] == "warn" for k in checks) ==
         sum(c.find("system-out") is not None and c.find("system-out").text.startswith("warning: ")
             for c in mine),
         folder + ": warnings in system-out")
PY

# ---- HTML ----
xmllint --html --noout "$S/report.html" > "$T/html-lint.txt" 2>&1
check "report.html: xmllint --html prints nothing" test ! -s "$T/html-lint.txt"
check "report.html: item data for the script" grep -q '<script type="application/json" id="vb-items">' "$S/report.html"
check "report.html: contact sheets embedded" grep -q '"contact":"data:image/jpeg;base64,/9j/' "$S/report.html"
check "report.html: links to the item folders" grep -q 'href="../h264_short/"' "$S/report.html"
check "report.html: rows, badges and data" "$PYTHON3" - "$S/report.html" <<'PY'
import json, re, sys
from html.parser import HTMLParser

class P(HTMLParser):
    rows, external = [], []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr" and "id" in a:
            self.rows.append(a.get("class"))
        if tag in ("link", "script", "img") and re.match(r"(https?:)?//", a.get("src") or a.get("href") or ""):
            self.external.append(a)

html = open(sys.argv[1], encoding="utf-8").read()
p = P()
p.feed(html)
items = json.loads(re.search(r'id="vb-items">(.*?)</script>', html, re.S).group(1))
ok = (sorted(p.rows) == ["fail", "pass"] and not p.external and
      sorted(i["c"] for i in items) == ["fail", "pass"] and
      all("duration_min" in i["rules"] for i in items if i["c"] == "fail"))
if not ok:
    print("rows", p.rows, "external", p.external, "items", items, file=sys.stderr)
sys.exit(0 if ok else 1)
PY

# ---- the same reports again from the records ----
mkdir -p "$T/orig"
cp "$S/junit.xml" "$S/report.html" "$S/batch_report.json" "$S/results.csv" "$T/orig/"
rm -f "$S/junit.xml" "$S/report.html"
expect_status 0 "report --format junit" "$VBATCH" report --output "$OUT" --format junit
check "junit.xml: made again, identical" cmp "$T/orig/junit.xml" "$S/junit.xml"
check "--format junit writes no HTML" test ! -e "$S/report.html"
expect_status 0 "report --format html" "$VBATCH" report --output "$OUT" --format html
check "report.html: made again, identical" cmp "$T/orig/report.html" "$S/report.html"
rm -f "$S/junit.xml" "$S/report.html" "$S/batch_report.json" "$S/results.csv"
expect_status 0 "report (every file)" "$VBATCH" report --output "$OUT"
for f in junit.xml report.html batch_report.json results.csv; do
    check "$f: identical after vbatch report" cmp "$T/orig/$f" "$S/$f"
done
"$VBATCH" report --output "$OUT" --format text > "$T/summary.txt"
check "report --format text prints the summary" grep -q "h264_short" "$T/summary.txt"
expect_status 2 "report --format bogus" "$VBATCH" report --output "$OUT" --format bogus
finish
