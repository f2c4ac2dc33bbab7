#!/bin/sh
# junit-ci.sh - junit.xml for CI: each check's time is the time of the
# stage that measured it (the decode for the analysis checks, the
# thumbnails for theirs), the item's tests still adding up to its time;
# the contact sheet is attached the way Jenkins and GitLab read it
# ([[ATTACHMENT|path]] in the first test's <system-out>, after a failure).
. "$TOP_SRCDIR/tests/lib/testlib.sh"

mkdir -p "$T/in"
cp "$(clip h264_short.mp4)" "$T/in/short.mp4"
(cd "$T" && "$VBATCH" -q process in -P kling-clip -o out --deep --thumbnails)
check "xmllint" xmllint --noout "$T/out/summary/junit.xml"
(cd "$T" && "$PYTHON3" - out/summary/junit.xml out/summary/batch_report.json) <<'PY' || fail "junit: times and attachment"
import json, os, sys, xml.etree.ElementTree as ET
cases = ET.parse(sys.argv[1]).getroot().findall(".//testcase")
item = json.load(open(sys.argv[2]))["items"][0]
t = {c.get("name"): float(c.get("time")) for c in cases}
total = sum(item["seconds"][s] or 0 for s in item["seconds"])
assert abs(sum(t.values()) - total) < 0.01, (t, item["seconds"])
an = item["seconds"]["analyse"]
# The first analysis check carries the decode's time.
assert an > 0 and abs(t["leading_black"] - round(an, 3)) < 0.002, (t["leading_black"], an)
assert abs(t["thumbnails"] - round(item["seconds"]["thumbs"], 3)) < 0.002, (t["thumbnails"], item["seconds"])
first = cases[0]
out = first.find("system-out")
assert out is not None and out.text.startswith("[[ATTACHMENT|"), ET.tostring(first)
path = out.text[len("[[ATTACHMENT|"):-2]
assert path == "out/short/contact.jpg" and os.path.isfile(path), path
# After any failure in the same test (the schema's order).
kids = [k.tag for k in first]
assert kids[-1] == "system-out", kids
PY

finish
