#!/bin/sh
# vbatch generate --dry-run: the plan as text and JSON (estimated units,
# duplicates made once, line numbers after multi-line prompts, budget,
# limits from the options), input images refused locally as Kling would
# (too small, too wide, too big, not an image, not JPEG/PNG: exit 3),
# every error of a bad JOBS.csv with FILE:LINE (exit 2), bad options.
# Nothing is ever sent: no network is needed.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

unset VBATCH_PRESET_DIR
# run_status N DESC OUT CMD...: run CMD with stdout to OUT (expect_status
# would send its own "ok" line there too); its exit status must be N
run_status() {
    _want=$1; _d=$2; _out=$3; shift 3
    "$@" > "$_out"; _got=$?
    if [ "$_got" -eq "$_want" ]; then ok "$_d (exit $_got)"; else fail "$_d: exit $_got, expected $_want"; fi
}
D="$T/jobs"; mkdir -p "$D/img"
# Images from ffmpeg; relative paths in JOBS.csv are taken from its folder.
_ff -f lavfi -i color=c=gray:s=1280x720 -frames:v 1 "$D/img/ok.jpg" || exit 99
_ff -f lavfi -i color=c=gray:s=720x1280 -frames:v 1 "$D/img/tall.png" || exit 99
_ff -f lavfi -i color=c=gray:s=200x200 -frames:v 1 "$D/img/small.png" || exit 99
_ff -f lavfi -i color=c=gray:s=1000x300 -frames:v 1 "$D/img/wide.png" || exit 99
_ff -f lavfi -i color=c=gray:s=640x480 -frames:v 1 "$D/img/anim.gif" || exit 99
# a valid JPEG header followed by 11 MB: over Kling's 10 MB
cp "$D/img/ok.jpg" "$D/img/big.jpg" && head -c 11000000 /dev/zero >> "$D/img/big.jpg" || exit 99
echo "not an image" > "$D/img/text.png"

# ---- a good file: text and JSON plans, exit 0 ----
# Row 3's prompt holds a comma, quotes and two line breaks: the next row
# starts on line 6. Row 6 asks for the same as row 2 (defaults filled in).
printf '%s\r\n' \
    'id,prompt,duration,mode,image,image_tail' \
    'cat,"a cat, on a mat",5,std,,' \
    'dog,"a ""good"" dog' \
    'running' \
    'fast",10,pro,,' \
    'pic,make it move,,,img/ok.jpg,img/tall.png' \
    'url,,,,https://example.com/a.png,' \
    'cat2,"a cat, on a mat",,,,' > "$D/jobs.csv"

cd "$T" || exit 99  # not the CSV's folder
run_status 0 "dry run of a good file" "$T/plan.txt" "$VBATCH" generate jobs/jobs.csv --dry-run \
    --preset kling-clip 2> "$T/err.txt"
cat "$T/plan.txt"
check "nothing on stderr" test ! -s "$T/err.txt"
check "plan: cat submitted" grep -Eq '^ +2 +2 +cat +t2v +kling-v2-6 +std +5 16:9 +2 +submit' "$T/plan.txt"
check "plan: dog on line 3, 10 s pro = 7 units" \
    grep -Eq '^ +3 +3 +dog +t2v +kling-v2-6 +pro +10 16:9 +7 +submit' "$T/plan.txt"
check "plan: pic on line 6 (after the 3-line prompt), row 4, i2v" \
    grep -Eq '^ +6 +4 +pic +i2v .* 2 +submit' "$T/plan.txt"
check "plan: URL image checked after download" grep -q 'url .*image URL checked after download' "$T/plan.txt"
check "plan: cat2 made once, as line 2" grep -Eq 'cat2 .* same request as line 2 \(cat\)' "$T/plan.txt"
check "plan: totals" grep -q '^jobs: 5; unique requests: 4; duplicates: 1; refused locally: 0' "$T/plan.txt"
check "plan: estimated cost" grep -q '^estimated cost: 13 units' "$T/plan.txt"
check "plan: no budget" grep -q '^budget: none' "$T/plan.txt"
check "plan: limits (every request counted)" grep -q '^limits: 3 tasks at once, 60 requests a minute' "$T/plan.txt"
run_status 0 "dry run, rate counting creates only" "$T/plan-creates.txt" "$VBATCH" generate jobs/jobs.csv \
    --dry-run --preset kling-clip --set generate.rpm_counts=creates
check "plan: limits (creates counted)" grep -q '^limits: 3 tasks at once, 60 submissions a minute' "$T/plan-creates.txt"

run_status 0 "dry run as JSON" "$T/plan.json" "$VBATCH" generate jobs/jobs.csv --dry-run --preset kling-clip \
    --format json --max-concurrent 7 --rpm 120
pyjson "$T/plan.json" "d['dry_run'] is True and d['provider'] == 'kling' and len(d['jobs']) == 5" \
    || fail "JSON: header"
pyjson "$T/plan.json" "[j['line'] for j in d['jobs']] == [2, 3, 6, 7, 8] and [j['row'] for j in d['jobs']] == [2, 3, 4, 5, 6]" \
    || fail "JSON: lines and rows"
pyjson "$T/plan.json" "d['jobs'][1]['prompt'] == 'a \"good\" dog\r\nrunning\r\nfast'" \
    || fail "JSON: multi-line prompt with quotes kept"
pyjson "$T/plan.json" "[j['status'] for j in d['jobs']] == ['submit', 'submit', 'submit', 'submit', 'duplicate']" \
    || fail "JSON: statuses"
pyjson "$T/plan.json" "d['jobs'][4]['duplicate_of'] == {'line': 2, 'id': 'cat'} and d['jobs'][4]['estimated_units'] == 0" \
    || fail "JSON: duplicate_of"
pyjson "$T/plan.json" "d['jobs'][2]['image']['check'] == 'ok' and d['jobs'][2]['image_tail']['check'] == 'ok' and d['jobs'][2]['aspect_ratio'] is None" \
    || fail "JSON: local images checked, no aspect for i2v"
pyjson "$T/plan.json" "d['jobs'][3]['image'] == {'source': 'https://example.com/a.png', 'check': 'after_download', 'message': None}" \
    || fail "JSON: URL image"
pyjson "$T/plan.json" "d['totals'] == {'jobs': 5, 'unique_requests': 4, 'duplicates': 1, 'refused': 0, 'estimated_units': 13, 'to_submit': 4, 'to_submit_units': 13, 'over_budget': 0}" \
    || fail "JSON: totals"
pyjson "$T/plan.json" "d['limits']['max_concurrent'] == 7 and d['limits']['rpm'] == 120 and d['limits']['rpm_counts'] == 'all' and d['limits']['budget'] is None and d['limits']['base_url'].startswith('https://')" \
    || fail "JSON: limits from the options"

# ---- budget: no new submission once the next would pass it ----
run_status 0 "dry run with --budget" "$T/budget.txt" "$VBATCH" generate jobs/jobs.csv --dry-run --preset kling-clip \
    --budget 10
check "budget line" grep -q '^budget: 10 units allows 2 of 4 requests (9 units); 2 would not be submitted' "$T/budget.txt"
check "pic over budget" grep -Eq 'pic .* over budget' "$T/budget.txt"
printf '[generate]\nbudget = 2\nmodel = kling-v2-6\n' > "$T/gen.ini"
run_status 0 "budget and model from --config" "$T/budget.json" "$VBATCH" generate jobs/jobs.csv --dry-run \
    --preset kling-clip --config "$T/gen.ini" --format json
pyjson "$T/budget.json" "d['limits']['budget'] == 2 and d['jobs'][0]['model'] == 'kling-v2-6' and d['jobs'][0]['estimated_units'] == 2 and [j['status'] for j in d['jobs']][:2] == ['submit', 'over_budget'] and d['jobs'][4]['status'] == 'duplicate'" \
    || fail "JSON: budget from [generate], kling-v2-6 std 5 s costs 2 units"

# ---- images Kling would refuse: shown, counted, exit 3 ----
printf '%s\n' 'id,image,prompt' \
    'ok,img/ok.jpg,' 'small,img/small.png,' 'wide,img/wide.png,' 'big,img/big.jpg,' \
    'text,img/text.png,' 'gif,img/anim.gif,' 'again,img/small.png,' > "$D/images.csv"
run_status 3 "refused images give exit 3" "$T/img.txt" "$VBATCH" generate jobs/images.csv --dry-run
cat "$T/img.txt"
check "ok.jpg accepted" grep -Eq ' ok +i2v .* submit' "$T/img.txt"
check "200x200 refused" grep -q 'small .*refused: img/small.png: 200 x 200 px: Kling needs at least 300 px' "$T/img.txt"
check "1000x300 refused (aspect)" grep -q 'wide .*refused: img/wide.png: 1000 x 300 px, aspect 3.33:1' "$T/img.txt"
check "11 MB refused" grep -q 'big .*refused: img/big.jpg: 10.[0-9] MB: Kling takes at most 10 MB' "$T/img.txt"
check "text file refused" grep -q 'text .*refused: img/text.png: not an image' "$T/img.txt"
check "GIF refused" grep -q 'gif .*refused: img/anim.gif: gif image: Kling takes JPEG or PNG' "$T/img.txt"
check "refused count" grep -q 'refused locally: 6' "$T/img.txt"
check "refused jobs cost nothing" grep -q '^estimated cost: 2 units' "$T/img.txt"
"$VBATCH" generate jobs/images.csv --dry-run --format json > "$T/img.json"
pyjson "$T/img.json" "[j['status'] for j in d['jobs']] == ['submit'] + ['refused'] * 6 and d['jobs'][1]['image']['check'] == 'refused' and d['jobs'][1]['estimated_units'] is None and d['totals']['refused'] == 6" \
    || fail "JSON: refused images"

# ---- a bad file: every error with FILE:LINE, exit 2, no plan ----
printf '%s\n' 'id,prompt,duration,aspect_ratio,mode,cfg_scale,image,image_tail,model' \
    'a,x,77,4:3,fast,2,,,' \
    'a,,5,,,,,,' \
    'b,"one,' 'two",5,,,,,img/ok.jpg,' \
    'c,x,5,,,,img/missing.png,,' \
    'd,x,5,,,,,,kling-v9' \
    'e,x,5,,,,,,kling-v1-6' \
    'f,x,7,,,,,,kling-v2-6' \
    'g,x,7,,,,,,kling-v3' > "$D/bad.csv"
run_status 2 "a bad file is refused" "$T/bad.out" "$VBATCH" generate jobs/bad.csv --dry-run 2> "$T/bad.err"
cat "$T/bad.err"
check "no plan printed" test ! -s "$T/bad.out"
check "bad duration" grep -q "jobs/bad.csv:2 (row 2): duration: '77' is not a whole number of seconds from 1 to 30" "$T/bad.err"
check "bad mode" grep -q "jobs/bad.csv:2 (row 2): mode: 'fast' is not std or pro" "$T/bad.err"
check "bad cfg_scale" grep -q "jobs/bad.csv:2 (row 2): cfg_scale: '2' is not between 0 and 1" "$T/bad.err"
check "missing prompt" grep -q "jobs/bad.csv:3 (row 3): prompt: empty" "$T/bad.err"
check "duplicate id" grep -q "jobs/bad.csv:3 (row 3): id: 'a' is already the id of line 2" "$T/bad.err"
check "image_tail without image, line of the row start" grep -q "jobs/bad.csv:4 (row 4): image_tail without image" "$T/bad.err"
check "missing image after a 2-line prompt" grep -q "jobs/bad.csv:6 (row 5): image: 'img/missing.png'" "$T/bad.err"
check "unknown model" grep -q "jobs/bad.csv:7 (row 6): model: 'kling-v9' is not a Kling model" "$T/bad.err"
check "discontinued model, the live ones named" grep -q "jobs/bad.csv:8 (row 7): model: kling-v1-6 is discontinued by Kling (answered 1203, resource does not exist); live models: kling-v2-6, " "$T/bad.err"
check "duration the model does not make" grep -q "jobs/bad.csv:9 (row 8): duration: 7 s (kling-v2-6 makes 5 or 10)" "$T/bad.err"
check "7 s on kling-v3 is fine" sh -c "! grep -q 'row 9' '$T/bad.err'"
check "count" grep -q "10 problems in the jobs file: nothing was submitted" "$T/bad.err"
printf 'id,prompt,colour\na,x,red\n' > "$D/col.csv"
expect_status 2 "unknown column" "$VBATCH" generate jobs/col.csv --dry-run 2> "$T/col.err"
check "unknown column named" grep -q "jobs/col.csv:1: unknown column 'colour'" "$T/col.err"
# 25 bad rows: 20 shown, then the count of the rest
{ echo 'prompt,duration'; i=0; while [ $i -lt 25 ]; do echo "p$i,3"; i=$((i + 1)); done; } > "$D/many.csv"
"$VBATCH" generate jobs/many.csv --dry-run 2> "$T/many.err"
check "20 errors shown" [ "$(grep -c "duration: 3 s" "$T/many.err")" -eq 20 ]
check "and 5 more" grep -q '\.\.\. and 5 more' "$T/many.err"

# ---- options ----
expect_status 2 "no JOBS.csv" "$VBATCH" generate --dry-run
expect_status 2 "missing file" "$VBATCH" generate "$T/none.csv" --dry-run
expect_status 2 "bad --rpm" "$VBATCH" generate jobs/jobs.csv --dry-run --rpm 0
expect_status 2 "bad --max-concurrent" "$VBATCH" generate jobs/jobs.csv --dry-run --max-concurrent x
expect_status 2 "bad --budget" "$VBATCH" generate jobs/jobs.csv --dry-run --budget lots
expect_status 2 "unknown provider" "$VBATCH" generate jobs/jobs.csv --dry-run --provider runway
expect_status 2 "bad --format" "$VBATCH" generate jobs/jobs.csv --dry-run --format xml
printf '[generate]\nduration = 70\n' > "$T/bad.ini"
expect_status 2 "bad [generate] value" "$VBATCH" generate jobs/jobs.csv --dry-run --config "$T/bad.ini" 2> "$T/ini.err"
check "bad.ini:2 named" grep -q "bad.ini:2: \[generate\] duration" "$T/ini.err"
finish
