#!/bin/sh
# fix-generate.sh - `vbatch generate --fix` against the mock Kling server:
# each generated clip that fails a fixable rule is fixed and checked again;
# the generation, paid for, is kept in <item>/original/ (moved, never
# overwritten), the fixed file delivered in video/; nothing paid twice.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/kling.sh"
. "$TOP_SRCDIR/tests/lib/oracle.sh"
need_tool "$PYTHON3"

export KLING_ACCESS_KEY=test-access-key-AK7Q
export KLING_SECRET_KEY=test-secret-key-SK9Z
trap 'kling_stop' EXIT

kling_start "$T/m" --gen-time 0.3 || exit 99
# The mock's clips carry AAC sound: a preset that forbids audio makes
# every one fail, and a remux without the sound fixes it.
kling_config "$T/c.ini" '[qc]' 'audio = forbidden'
printf 'id,prompt,duration,aspect_ratio\n' > "$T/jobs.csv"
printf 'a,A red kite,5,16:9\nb,A blue kite,5,9:16\n' >> "$T/jobs.csv"
"$VBATCH" generate "$T/jobs.csv" --fix --config "$T/c.ini" --output "$T/out" > "$T/out.txt" 2>&1
check "generate --fix: exit 0, every clip fixed" [ $? -eq 0 ]
check "generate --fix: the FIXED lines" [ "$(grep -c 'FIXED' "$T/out.txt")" = 2 ]
for i in a b; do
    check "$i: the generation kept in original/" [ -s "$T/out/$i/original/$i.mp4" ]
    check "$i: the generation still has its sound" [ "$(probe "$T/out/$i/original/$i.mp4" stream=codec_name a:0)" = aac ]
    check "$i: the delivered file has none" [ -z "$(probe "$T/out/$i/video/$i.mp4" stream=codec_name a:0)" ]
    check "$i: the delivered video bit-identical" sh -c "[ \"\$(. '$TOP_SRCDIR/tests/lib/oracle.sh'; packets_of '$T/out/$i/original/$i.mp4' v)\" = \"\$(. '$TOP_SRCDIR/tests/lib/oracle.sh'; packets_of '$T/out/$i/video/$i.mp4' v)\" ]"
done
pyjson "$T/out/summary/batch_report.json" 'all(i["status"] == "done" and i["fix_actions"] == ["remux", "audio"] and i["generation"]["task_id"] for i in d["items"])' ||
    fail "the report: done, fixed by remux + audio, generated"
kling_stats "$T/s.json"
pyjson "$T/s.json" 'd["tasks_created"] == 2 and d["duplicate_creates"] == 0' || fail "nothing paid twice"
finish
