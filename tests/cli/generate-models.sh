#!/bin/sh
# generate-models.sh - Kling's models as they are today, against the mock
# (tests/lib/mock_kling.py): a plain API key (KLING_API_KEY, Bearer) signs
# in without the AK/SK pair; a model Kling answers 1203 (discontinued
# after our table was written) or 1103 (not open to this account) fails
# its own jobs only, naming the model and the models the table knows, at
# no cost and without a lookup or a second create; the other jobs are
# made; the shipped kling-clip default is a live model.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/kling.sh"
need_tool "$PYTHON3"
need_tool vips

unset KLING_ACCESS_KEY KLING_SECRET_KEY
export KLING_API_KEY=test-api-key-PK3W
trap 'kling_stop' EXIT

kling_start "$T/m1" --gen-time 0.3 --max-concurrent 3 \
    --discontinued kling-v2-1 --no-access kling-v2-5-turbo || exit 99
kling_config "$T/c1.ini"
vips black "$T/still.png" 1280 720 --bands 3 || exit 99
cat >"$T/jobs1.csv" <<EOF2
id,prompt,model,mode,duration,image
a,a kite over the sea,kling-v2-6,std,5,
gone,make it move,kling-v2-1,std,5,$T/still.png
gone-too,make it move again,kling-v2-1,pro,10,$T/still.png
closed,a turbo kite,kling-v2-5-turbo,pro,5,
b,a kite over the hills,,,,
EOF2
expect_status 3 "refused models fail their jobs only" \
    sh -c '"$0" generate "$1" --preset kling-clip --config "$2" --output "$3" > "$4" 2>&1' \
    "$VBATCH" "$T/jobs1.csv" "$T/c1.ini" "$T/o1" "$T/o1.out"
kling_stats "$T/s1.json"
R=$T/o1/summary/batch_report.json
item() { echo "[i for i in d['items'] if i['generation']['id'] == '$1'][0]"; }
check "signed in with the API key alone" pyjson "$T/s1.json" 'd["auth"]["invalid"] == 0 and d["auth"]["valid"] >= 4'
check "one create per job, two tasks" pyjson "$T/s1.json" 'd["creates"] == 5 and d["tasks_created"] == 2 and d["duplicate_creates"] == 0'
check "refused creates never looked up" pyjson "$T/s1.json" 'd["rejected"].get("1203") == 2 and d["rejected"].get("1103") == 1'
check "the live models are made" pyjson "$R" "$(item a)['status'] in ('done', 'qc_failed') and $(item b)['status'] in ('done', 'qc_failed')"
check "the default model of kling-clip is live" pyjson "$R" "$(item b)['generation']['task_id']"
for id in gone gone-too closed; do
    check "$id: failed at generation" pyjson "$R" "$(item $id)['status'] == 'failed' and $(item $id)['error_stage'] == 'generate'"
    check "$id: costs nothing" pyjson "$R" "$(item $id)['generation']['units'] == 0"
done
check "1203 names the model and the known ones" pyjson "$R" "'model kling-v2-1' in $(item gone)['error'] and '1203' in $(item gone)['error'] and 'kling-v2-6, kling-v2-5-turbo' in $(item gone)['error']"
check "1103 names the model" pyjson "$R" "'model kling-v2-5-turbo' in $(item closed)['error'] and '1103' in $(item closed)['error']"
check "the API key is nowhere" sh -c "! grep -r -a -l -e '$KLING_API_KEY' '$T/o1' '$T/o1.out'"
kling_stop

# A key the server does not know: refused keys (exit 2), nothing created.
kling_start "$T/m2" --gen-time 0.3 --api-key other-key-XY12 || exit 99
kling_config "$T/c2.ini"
printf 'id,prompt\nx,a kite\n' > "$T/jobs2.csv"
expect_status 2 "an unknown API key is a configuration error" \
    sh -c '"$0" generate "$1" --config "$2" --output "$3" > "$4" 2>&1' \
    "$VBATCH" "$T/jobs2.csv" "$T/c2.ini" "$T/o2" "$T/o2.out"
kling_stats "$T/s2.json"
check "nothing created with a refused key" pyjson "$T/s2.json" 'd["tasks_created"] == 0'
check "the hint names KLING_API_KEY" grep -q "KLING_API_KEY" "$T/o2.out"
check "the refused key is nowhere" sh -c "! grep -r -a -l -e '$KLING_API_KEY' '$T/o2' '$T/o2.out'"
finish
