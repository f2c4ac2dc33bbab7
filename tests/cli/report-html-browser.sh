#!/bin/sh
# report.html as a review tool, looked at in headless Chromium: the DOM
# after the page's script ran is asserted on (items in the list and the
# grid, filters by verdict, rule and text, sorting, one item opened with
# its timeline spans, the fix's cut points, the player and the still),
# and screenshots of a failing and a passing batch, wide and 400 px wide,
# are taken and the page printed to PDF. The page's state is set through
# its URL fragment, the same path its controls take. Without chromium
# only the page's data is checked.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/browser.sh"
DOM="$PYTHON3 $TOP_SRCDIR/tests/lib/dom.py"

IN="$T/in"
mkdir -p "$IN"
for c in analyse_edges.mp4 analyse_mute.mp4 analyse_clean.mp4 analyse_freeze.mp4; do
    media_make_analyse "$CLIPS" "$c" || { echo "cannot synthesise $c" >&2; exit 99; }
done
cp "$CLIPS/analyse_edges.mp4" "$IN/black_intro.mp4"    # black 0-1 s and 8.5-10 s
cp "$CLIPS/analyse_mute.mp4" "$IN/silent.mp4"          # silent throughout
cp "$CLIPS/analyse_clean.mp4" "$IN/good.mp4"
cp "$CLIPS/analyse_freeze.mp4" "$IN/frozen.mp4"        # frozen 2-6 s
ffmpeg -nostdin -hide_banner -loglevel error -f lavfi -i testsrc2=size=640x360 -frames:v 1 \
    "$T/still.png" || { echo "cannot make still.png" >&2; exit 99; }

GATES="--set qc.leading_black_max=0.5 --set qc.trailing_black_max=0.5 --set qc.freeze_max_seconds=2
       --set qc.audio_silent_level=fail"
OUT="$T/out"
# shellcheck disable=SC2086
expect_status 1 "process --deep --thumbnails: some items fail" \
    "$VBATCH" process "$IN" "$T/still.png" --deep --thumbnails $GATES --output "$OUT" --quiet
PAGE="$OUT/summary/report.html"
check "report.html written" test -s "$PAGE"
xmllint --html --noout "$PAGE" > "$T/lint.txt" 2>&1
check "xmllint --html prints nothing" test ! -s "$T/lint.txt"

# the page's data: one object per item, with the black spans of the clip
check "embedded item data" "$PYTHON3" - "$PAGE" <<'PY'
import json, re, sys
html = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r'<script type="application/json" id="vb-items">(.*?)</script>', html, re.S)
items = json.loads(m.group(1))
by = {i["f"]: i for i in items}
def need(c, what):
    if not c:
        print("data:", what, file=sys.stderr); sys.exit(1)
need(sorted(by) == ["black_intro", "frozen", "good", "silent", "still"], "five items: %s" % sorted(by))
b = by["black_intro"]
need(b["c"] == "fail" and "leading_black" in b["rules"], "black_intro fails leading_black")
need([0.0, 1.0] in b["tl"]["black"] and b["tl"]["d"] == 10.0, "black span 0-1 s of 10 s")
need(by["frozen"]["tl"]["freeze"] and by["silent"]["c"] == "fail", "freeze span, silent fails")
need(b["poster"].startswith("data:image/jpeg;base64,") and b["contact"].startswith("data:image/"),
     "poster and contact sheet embedded")
need(b["video"] == "../black_intro/video/black_intro.mp4", "relative link to the delivered file")
need(by["still"]["k"] == "image" and by["still"]["img"].endswith("still/video/still.png"), "still")
need(not re.search(r'(src|href)="(https?:)?//', html) and "@import" not in html, "no external resources")
PY

if ! browser_find; then
    echo "SKIP: chromium not installed, the page is not rendered"
    finish
fi

# dom FRAG NAME: the DOM of the page opened at #FRAG into $T/NAME.html
dom() {
    browser_dom "$(browser_url "$PAGE" "$1")" "$T/$2.html" ||
        fail "chromium could not render #$1 (see $T/chromium.log)"
}
# has NAME QUERY EXPECT: a count of elements in a dumped DOM
has() { check "$1: $2 ($3)" $DOM "$T/$1.html" "$2" "$3"; }

dom "" list
has list "#items.list .row.item" 5
has list "#items .item.fail" 3
has list "#count" 1
check "list: the count line" grep -q '5 of 5 items' "$T/list.html"
has list "#items .row svg.tl rect.span.black" ">1"
has list "#f-fail" 1
has list "#f-rule option" ">3"
has list "noscript" 1
has list "[src^=http]" 0
has list "[href^=http]" 0
has list "img[src^=data:image/jpeg]" ">0"

dom "view=grid" grid
has grid "#items.grid .tile.item" 5
has grid "#items .tile.fail .poster img" 3
has grid "#items .tile.pass" 2
check "grid: the black intro is flagged on its poster" grep -q 'black intro 1' "$T/grid.html"

dom "view=grid&v=fail" fails
has fails "#items .tile.item" 3
has fails "#items .tile.pass" 0
dom "v=pass" passes
has passes "#items .item" 2
check "passes: good and still" sh -c "$DOM '$T/passes.html' '#items .item .name a' --text | sort | tr '\n' ' ' | grep -qx 'good still '"
dom "rule=freeze_max" rule
has rule "#items .item" 1
check "rule filter keeps frozen" grep -q '>frozen<' "$T/rule.html"
dom "q=silent" text
has text "#items .item" 1
check "text filter keeps silent" grep -q '>silent<' "$T/text.html"
dom "q=no-such-item" none
has none "#items .item" 0
dom "failures" legacy
has legacy "#items .item.pass" 0

dom "sort=-duration" sorted
check "sort by duration, longest first: the still last" \
    sh -c "$DOM '$T/sorted.html' '#items .item .name a' --text | tail -n 1 | grep -qx still"
dom "sort=name" byname
check "sort by name" sh -c "$DOM '$T/byname.html' '#items .item .name a' --text | tr '\n' ' ' | grep -qx 'black_intro frozen good silent still '"

# one item in full: the clip with black frames
N=$("$PYTHON3" -c 'import json,re,sys; h=open(sys.argv[1]).read(); d=json.loads(re.search(r"id=\"vb-items\">(.*?)</script>",h,re.S).group(1)); print([i["n"] for i in d if i["f"]=="black_intro"][0])' "$PAGE")
dom "item=$N" detail
has detail "#detail" 1
has detail "#detail[hidden]" 0
has detail "#detail svg.tl rect.span.black" 2
has detail "#detail svg.tl rect.span.black[data-start=0]" 1
has detail "#detail svg.tl line.thumb" ">2"
has detail "#detail video[controls]" 1
check "detail: the player plays the delivered file" \
    sh -c "$DOM '$T/detail.html' '#detail video' --attr src | grep -qx '../black_intro/video/black_intro.mp4'"
has detail "#detail .sheet img" 1
check "detail: the contact sheet at its own size" \
    sh -c "$DOM '$T/detail.html' '#detail .sheet img' --attr width | grep -Eqx '[0-9]{3,}'"
has detail "#detail .thumbs figure.blackintro" 1
# The analysis keeps ebur128's loudness over time: it is plotted.
has detail "#detail svg.loud polyline.m" 1
has detail "#detail svg.loud polyline.s" 1
has detail "#detail .noloud" 0
N=$("$PYTHON3" -c 'import json,re,sys; h=open(sys.argv[1]).read(); d=json.loads(re.search(r"id=\"vb-items\">(.*?)</script>",h,re.S).group(1)); print([i["n"] for i in d if i["f"]=="still"][0])' "$PAGE")
dom "item=$N" still
has still "#detail img.still" 1
has still "#detail video" 0
N=$("$PYTHON3" -c 'import json,re,sys; h=open(sys.argv[1]).read(); d=json.loads(re.search(r"id=\"vb-items\">(.*?)</script>",h,re.S).group(1)); print([i["n"] for i in d if i["f"]=="frozen"][0])' "$PAGE")
dom "item=$N" frozen
has frozen "#detail svg.tl rect.span.freeze" 1

for s in "list:1400,900:" "grid:1400,900:view=grid" "narrow:400,900:view=grid" "narrow-item:400,900:item=1"; do
    name=${s%%:*} rest=${s#*:}
    browser_shot "$(browser_url "$PAGE" "${rest#*:}")" "$T/$name.png" "${rest%%:*}"
    size=0
    [ -f "$T/$name.png" ] && size=$(wc -c < "$T/$name.png" | tr -d ' ')
    check "screenshot $name ($size bytes)" [ "$size" -gt 10240 ]
done

browser_pdf "$(browser_url "$PAGE")" "$T/report.pdf"
check "printed to PDF" sh -c "head -c 5 '$T/report.pdf' | grep -q '%PDF-' && [ \$(wc -c < '$T/report.pdf') -gt 10240 ]"

# a loudness series given in analysis.json is what is plotted
"$PYTHON3" - "$OUT/good/metadata/analysis.json" <<'PY'
import json, math, sys
p = sys.argv[1]
a = json.load(open(p))
a["loudness_series"] = {"interval": 0.1, "start": 0,
                        "momentary": [-14 + 3 * math.sin(i / 5) for i in range(100)],
                        "short_term": [-14 + math.sin(i / 20) for i in range(100)]}
json.dump(a, open(p, "w"))
PY
expect_status 0 "report --format html again" "$VBATCH" report --output "$OUT" --format html
N=$("$PYTHON3" -c 'import json,re,sys; h=open(sys.argv[1]).read(); d=json.loads(re.search(r"id=\"vb-items\">(.*?)</script>",h,re.S).group(1)); print([i["n"] for i in d if i["f"]=="good"][0])' "$PAGE")
dom "item=$N" loud
has loud "#detail svg.loud polyline.m" 1
has loud "#detail svg.loud polyline.s" 1

# --fix: the black edges are cut; the timeline shows where
FOUT="$T/fixed"
# shellcheck disable=SC2086
expect_status 1 "process --fix" "$VBATCH" process "$IN" --deep --thumbnails --fix $GATES \
    --output "$FOUT" --quiet
PAGE="$FOUT/summary/report.html"
N=$("$PYTHON3" -c 'import json,re,sys; h=open(sys.argv[1]).read(); d=json.loads(re.search(r"id=\"vb-items\">(.*?)</script>",h,re.S).group(1)); print([i["n"] for i in d if i["f"]=="black_intro"][0])' "$PAGE")
dom "item=$N" cut
has cut "#detail svg.tl line.cutline" 2
has cut "#detail svg.tl line.cutline[data-t=1]" 1
has cut "#detail svg.tl rect.span.cutblack" 2
has cut "#detail .badge.pass" 1

# a passing batch
POUT="$T/pass"
expect_status 0 "a passing batch" "$VBATCH" process "$IN/good.mp4" --deep --thumbnails --output "$POUT" --quiet
PAGE="$POUT/summary/report.html"
dom "" pass
has pass "#items .item.pass" 1
browser_shot "$(browser_url "$PAGE")" "$T/pass.png" 1400,900
check "screenshot of a passing batch" test -s "$T/pass.png"
finish
