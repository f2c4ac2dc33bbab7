#!/bin/sh
# --shard K/N: N runs, each into its own output folder (its own journal),
# take every item exactly once between them, whatever order each walk
# gives; auto/N and auto read Kubernetes' and Slurm's variables; a resume
# of a shard keeps its shard; bad specs are usage errors.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
mkdir -p "$T/in/a" "$T/in/b"
# Distinct clips (identical ones would be analysed once): 24 hues.
i=0
for d in a b; do
    for n in 01 02 03 04 05 06 07 08 09 10 11 12; do
        i=$((i + 1))
        ff -f lavfi -i testsrc2=size=640x360:rate=25 -t 8 -vf "hue=h=$((i * 15))" -c:v libx264 \
            -preset ultrafast "$T/in/$d/c$n.mp4"
    done
done
printf '[thumbnails]\nenabled = false\n' > "$T/base.ini"

# sources OUT: the items' sources in OUT's batch_report.json, one a line, sorted
sources() {
    "$PYTHON3" -c '
import json, sys
for i in json.load(open(sys.argv[1] + "/summary/batch_report.json"))["items"]:
    print(i["source"].split("/in/", 1)[1])' "$1" | sort
}

for k in 1 2 3; do
    "$VBATCH" process "$T/in" -r --config "$T/base.ini" --shard "$k/3" --output "$T/s$k" --quiet
    check "shard $k/3: exit 0" [ $? -eq 0 ]
    sources "$T/s$k" > "$T/s$k.txt"
done
cat "$T/s1.txt" "$T/s2.txt" "$T/s3.txt" | sort > "$T/union.txt"
(cd "$T/in" && find . -name '*.mp4' | sed 's|^\./||' | sort) > "$T/all.txt"
check "the three shards cover every item ($(wc -l < "$T/union.txt") of 24)" cmp -s "$T/union.txt" "$T/all.txt"
check "no item in two shards" [ -z "$(uniq -d "$T/union.txt")" ]
for k in 1 2 3; do
    check "shard $k has a share ($(wc -l < "$T/s$k.txt") items)" [ "$(wc -l < "$T/s$k.txt")" -ge 3 ]
done

# The same shard from another walk (the folders named one by one, b
# first): the same items, as the hash is of the relative path.
"$VBATCH" process "$T/in/b" "$T/in/a" --config "$T/base.ini" --shard 2/3 --output "$T/s2b" --quiet
"$PYTHON3" -c '
import json, sys
for i in json.load(open(sys.argv[1] + "/summary/batch_report.json"))["items"]:
    print(i["source"].rsplit("/", 1)[1])' "$T/s2b" | sort > "$T/s2b.txt"
# These items' relative paths are their names: compare with shard 2 of a
# walk of each folder on its own.
: > "$T/s2a.txt"
for d in a b; do
    "$VBATCH" process "$T/in/$d" --config "$T/base.ini" --shard 2/3 --output "$T/s2-$d" --quiet
    sources "$T/s2-$d" | sed 's|.*/||' >> "$T/s2a.txt"
done
sort -o "$T/s2a.txt" "$T/s2a.txt"
check "shard 2 takes the same items whatever the order of the walk" cmp -s "$T/s2a.txt" "$T/s2b.txt"

# Kubernetes: JOB_COMPLETION_INDEX (from 0) and the count given.
JOB_COMPLETION_INDEX=1 "$VBATCH" process "$T/in" -r --config "$T/base.ini" --shard auto/3 \
    --output "$T/k8s" --quiet
sources "$T/k8s" > "$T/k8s.txt"
check "JOB_COMPLETION_INDEX=1 with auto/3 is shard 2/3" cmp -s "$T/k8s.txt" "$T/s2.txt"
# Slurm: the array's ids from SLURM_ARRAY_TASK_MIN, the count from the array.
SLURM_ARRAY_TASK_ID=7 SLURM_ARRAY_TASK_MIN=5 SLURM_ARRAY_TASK_COUNT=3 \
    "$VBATCH" process "$T/in" -r --config "$T/base.ini" --shard auto --output "$T/slurm" --quiet
sources "$T/slurm" > "$T/slurm.txt"
check "SLURM_ARRAY_TASK_ID=7 from 5 of 3 is shard 3/3" cmp -s "$T/slurm.txt" "$T/s3.txt"

# A resume of an interrupted shard keeps the shard: the journal says so.
"$PYTHON3" -c "
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute('SELECT inputs_json FROM batches').fetchall()
sys.exit(0 if '--shard 1/3' in rows[0][0] else 1)" "$T/s1/.vbatch/state.db" ||
    fail "the journal records the shard with the inputs"
# Kill shard 1 (-9) once its first result is in the journal, then resume
# it: the resume must take shard 1's other items, and no other shard's.
"$PYTHON3" - "$VBATCH" "$T/in" "$T/r1" "$T/base.ini" <<'PY'
import os, signal, sqlite3, subprocess, sys, time
vbatch, src, out, ini = sys.argv[1:5]
p = subprocess.Popen([vbatch, "process", src, "-r", "--deep", "--config", ini, "--shard", "1/3",
                      "--jobs", "1", "--output", out, "--quiet"])
db = os.path.join(out, ".vbatch", "state.db")
deadline = time.time() + 30
while time.time() < deadline and p.poll() is None:
    try:
        n = sqlite3.connect(db).execute("SELECT count(*) FROM items WHERE status = 'done'").fetchone()[0]
        if n >= 1:
            break
    except sqlite3.Error:
        pass
    time.sleep(0.005)
p.send_signal(signal.SIGKILL)
p.wait()
PY
"$VBATCH" resume --output "$T/r1" --quiet
check "resume of shard 1: exit 0" [ $? -eq 0 ]
sources "$T/r1" > "$T/r1.txt"
check "the resumed shard holds shard 1's items, no other" cmp -s "$T/r1.txt" "$T/s1.txt"

# The merge: the three shards as one batch equal one unsharded run of the
# same inputs, apart from timings, batch ids and the command line.
"$VBATCH" process "$T/in" -r --config "$T/base.ini" --output "$T/full" --quiet
"$VBATCH" merge "$T/s3" "$T/s1" "$T/s2" --output "$T/merged" --quiet
check "merge: exit 0" [ $? -eq 0 ]
"$PYTHON3" - "$TOP_SRCDIR/tests/lib" "$T/full" "$T/merged" <<'PY' || fail "merge: the same as one unsharded run"
import sys
sys.path.insert(0, sys.argv[1])
from vbout import differences
bad = differences(sys.argv[2], sys.argv[3], inputs=False)
if bad:
    print("differs:", bad)
    sys.exit(1)
PY
check "merge: the journal has one batch of 24 items" \
    [ "$("$PYTHON3" -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM items').fetchone()[0])" "$T/merged/.vbatch/state.db")" = 24 ]
# What is not one batch is refused, and nothing written.
refuse() {
    _what=$1; shift
    "$VBATCH" merge "$@" --output "$T/refused" 2> "$T/refused.err"
    check "merge refuses $_what (exit 2: $(head -1 "$T/refused.err"))" [ $? -eq 2 ]
    check "merge refuses $_what: nothing written" [ ! -e "$T/refused" ]
}
refuse "a shard missing" "$T/s1" "$T/s2"
refuse "a shard twice" "$T/s1" "$T/s2" "$T/s1"
refuse "a folder not sharded" "$T/s1" "$T/s2" "$T/full"
printf '[thumbnails]\nenabled = false\n[qc]\nduration_max = 100\n' > "$T/other.ini"
"$VBATCH" process "$T/in" -r --config "$T/other.ini" --shard 3/3 --output "$T/s3other" --quiet
refuse "shards of other settings" "$T/s1" "$T/s2" "$T/s3other"
mkdir -p "$T/busy" && : > "$T/busy/x"
"$VBATCH" merge "$T/s1" "$T/s2" "$T/s3" --output "$T/busy" 2> /dev/null
check "merge refuses an output folder that holds something (exit 2)" [ $? -eq 2 ]

# generate --shard: the jobs split by their request, so that identical
# requests (rows a and f) fall in one shard and are made once; the dry
# runs of the three shards together plan every job once.
printf '%s\n' 'id,prompt,duration' 'a,a cat,5' 'b,a dog,5' 'c,a bird,5' 'd,a fish,5' 'e,a cow,5' \
    'f,a cat,5' 'g,a horse,5' 'h,a goat,5' 'i,a pig,5' > "$T/jobs.csv"
for k in 1 2 3; do
    "$VBATCH" generate "$T/jobs.csv" --shard "$k/3" --dry-run --format json -o "$T/g$k" \
        > "$T/g$k.json" 2> /dev/null
    check "generate --shard $k/3 --dry-run: exit 0" [ $? -eq 0 ]
done
"$PYTHON3" - "$T/g1.json" "$T/g2.json" "$T/g3.json" <<'PY' || fail "generate shards: every job once, a and f together"
import json, sys
shards = [[j["id"] for j in json.load(open(p))["jobs"]] for p in sys.argv[1:]]
ids = sorted(i for s in shards for i in s)
assert ids == list("abcdefghi"), ids
assert any("a" in s and "f" in s for s in shards), shards
assert all(len(s) >= 1 for s in shards), shards
PY
check "generate --shard: the dry runs wrote nothing" [ ! -e "$T/g1" ] && [ ! -e "$T/g2" ]

# A shard the hash gives none of the items found is no empty input (an
# Indexed Job's pod would fail and run again): exit 0, saying so; an
# input with no item at all is still one (exit 5), sharded or not.
mkdir -p "$T/one" "$T/none"
cp "$(clip h264_aac_720p.mp4)" "$T/one/only.mp4"
for k in 1 2; do
    "$VBATCH" process "$T/one" --shard "$k/2" --output "$T/one$k" 2> "$T/one$k.err"
    echo $? > "$T/one$k.rc"
done
check "one item, two shards: both exit 0" [ "$(cat "$T/one1.rc") $(cat "$T/one2.rc")" = "0 0" ]
check "the shard without it says so" grep -q "none of the 1 items found is this shard's" "$T/one1.err" "$T/one2.err"
"$VBATCH" process "$T/none" --shard 1/2 --output "$T/none1" 2> /dev/null
check "no item at all, sharded: exit 5" [ $? -eq 5 ]
for k in 1 2; do
    "$VBATCH" process "$T/one" --shard "$k/2" --dry-run --output "$T/oned" > /dev/null 2>&1
    echo $? >> "$T/oned.rc"
done
check "the dry runs of both shards exit 0" [ "$(cat "$T/oned.rc" | tr '\n' ' ')" = "0 0 " ]

# Bad specs: usage errors, nothing run.
for spec in 0/3 4/3 3 a/b 1/0 auto; do
    env -u JOB_COMPLETION_INDEX -u SLURM_ARRAY_TASK_ID "$VBATCH" process "$T/in" --shard "$spec" \
        --output "$T/bad" 2> "$T/bad.err"
    check "--shard $spec: exit 2 ($(grep -m1 shard "$T/bad.err"))" [ $? -eq 2 ]
done
check "bad specs wrote nothing" [ ! -e "$T/bad" ]
JOB_COMPLETION_INDEX=3 "$VBATCH" process "$T/in" --shard auto/3 --output "$T/bad" 2> "$T/bad.err"
check "JOB_COMPLETION_INDEX past the count: exit 2" [ $? -eq 2 ]

finish
