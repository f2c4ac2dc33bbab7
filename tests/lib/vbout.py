"""vbout.py - compare vbatch output folders (OUT) in the shell tests, apart
from what changes from one run to the next: timings, batch ids, dates and
the command line. Used by jobs-identical.sh, kill9.sh, repeat.sh and
resume.sh (sys.path gets $TOP_SRCDIR/tests/lib)."""
import csv
import json
import os
import re
import xml.etree.ElementTree as ET

VOLATILE = frozenset({"batch_id", "started", "finished", "seconds", "wall_seconds",
                      "files_per_second", "stage_seconds", "peak_rss_kib", "command_line"})
REPORTS = ("batch_report.json", "error_log.json", "processing_metrics.json")


def clean(x, volatile=VOLATILE):
    """x without the keys in volatile, at any depth."""
    if isinstance(x, dict):
        return {k: clean(v, volatile) for k, v in x.items() if k not in volatile}
    if isinstance(x, list):
        return [clean(v, volatile) for v in x]
    return x


def js(root, rel, volatile=VOLATILE):
    with open(os.path.join(root, rel)) as f:
        return clean(json.load(f), volatile)


def report(root, name, volatile=VOLATILE, inputs=True):
    """summary/NAME cleaned; inputs=False also drops batch_report.json's
    inputs (a resumed or repeated run is started with other arguments)."""
    d = js(root, os.path.join("summary", name), volatile)
    if not inputs and name == "batch_report.json":
        d.pop("inputs")
    return d


def rows(root):
    """results.csv's rows without the seconds.* columns."""
    with open(os.path.join(root, "summary", "results.csv"), newline="") as f:
        return [{k: v for k, v in r.items() if not k.startswith("seconds.")}
                for r in csv.DictReader(f)]


def junit(root):
    """junit.xml's root element without times, dates and the command line."""
    t = ET.parse(os.path.join(root, "summary", "junit.xml")).getroot()
    for e in t.iter():
        for k in ("time", "timestamp"):
            e.attrib.pop(k, None)
        if e.tag == "testsuite":
            e.attrib.pop("name", None)
        if e.tag == "property" and e.get("name") in ("command_line", "started", "finished"):
            e.attrib.pop("value", None)
        # The contact sheet's attachment names OUT as the run was given it.
        if e.tag == "system-out" and e.text and "[[ATTACHMENT|" in e.text:
            e.text = re.sub(r"\[\[ATTACHMENT\|.*?([^/]+/contact\.jpg)\]\]",
                            r"[[ATTACHMENT|OUT/\1]]", e.text)
    return t


def tree(root):
    """Every file under root but the journal, relative, sorted."""
    out = []
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x != ".vbatch"]
        out += [os.path.relpath(os.path.join(d, f), root) for f in files]
    return sorted(out)


def differences(a, b, inputs=True):
    """What differs between OUT folders a and b: the reports, results.csv,
    junit.xml, the list of files ("files: ..."), and each other file (JSON
    cleaned, the rest byte for byte)."""
    bad = [f for f in REPORTS if report(a, f, inputs=inputs) != report(b, f, inputs=inputs)]
    if rows(a) != rows(b):
        bad.append("results.csv")
    if ET.tostring(junit(a)) != ET.tostring(junit(b)):
        bad.append("junit.xml")
    ta, tb = tree(a), tree(b)
    if ta != tb:
        bad.append("files: %s" % sorted(set(ta) ^ set(tb)))
    for rel in ta:
        if rel not in tb or rel.startswith("summary/"):
            continue
        if rel.endswith(".json"):
            same = js(a, rel) == js(b, rel)
        else:
            with open(os.path.join(a, rel), "rb") as fa, open(os.path.join(b, rel), "rb") as fb:
                same = fa.read() == fb.read()
        if not same:
            bad.append(rel)
    return bad
