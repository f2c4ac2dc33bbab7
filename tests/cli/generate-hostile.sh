#!/bin/sh
# generate-hostile.sh - `vbatch generate` with a JOBS.csv from someone else
# and keys the API refuses, against the mock Kling server:
# - an input image whose header claims 100000 x 100000 pixels (PNG) or
#   60000 x 60000 (JPEG) is refused before anything is sent, by the
#   [qc] image_max_pixels cap `process` applies, local or downloaded by
#   URL (image and image_tail); the batch goes on;
# - image cells naming files outside the CSV's folder (../, an absolute
#   path, a link to outside) are refused in --dry-run and in a real run,
#   never read nor sent; --images-from DIR allows them;
# - keys refused (1000, 1002, HTTP 403; tokens refused on polls) end with
#   exit 2, a message naming the keys and never a key, the batch left
#   interrupted; `vbatch resume` with the right keys makes every job once.
. "$TOP_SRCDIR/tests/lib/testlib.sh"
. "$TOP_SRCDIR/tests/lib/kling.sh"
need_tool "$PYTHON3"
need_tool vipsheader

AK=hostile-access-key-AK3X
SK=hostile-secret-key-SK8W
export KLING_ACCESS_KEY=$AK KLING_SECRET_KEY=$SK
trap 'kling_stop; httpd_stop' EXIT

config() { kling_config "$1"; }
# run_to FILE CMD...: CMD with its output in FILE; its exit status
run_to() { _f=$1; shift; "$@" >"$_f" 2>&1; }
# item OUT ID EXPR: the report has the item of that generation id, and
# EXPR (on i) is true of it
item() {
    pyjson "$1/summary/batch_report.json" \
        "[i for i in d['items'] if i['generation']['id'] == '$2'] and all($3 for i in d['items'] if i['generation']['id'] == '$2')"
}
# left OUT: the latest batch is interrupted, its 4 jobs pending, none failed
left() {
    "$VBATCH" status --output "$1" --format json >"$1.status.json" &&
    pyjson "$1.status.json" "d['batches'][-1]['status'] == 'interrupted' and d['batches'][-1]['counts']['pending'] == 4 and d['batches'][-1]['counts']['failed'] == 0"
}
batch_id() {
    "$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$1/summary/batch_report.json"
}

# ---- the inputs: synthesised here ----
P="$T/proj"
mkdir -p "$P/img" "$T/private" || exit 99
_ff -f lavfi -i color=c=gray:s=1280x720 -frames:v 1 "$P/img/ok.jpg" || exit 99
_ff -f lavfi -i color=c=blue:s=960x540 -frames:v 1 "$T/private/secret.jpg" || exit 99
ln -s ../../private/secret.jpg "$P/img/link.jpg" || exit 99
ln -s ok.jpg "$P/img/inside.jpg" || exit 99
# A PNG whose IHDR says 100000 x 100000 (70 bytes), and a real JPEG whose
# SOF is patched to 60000 x 60000: small, valid headers, a bomb to decode.
"$PYTHON3" - "$P/img" <<'PY' || exit 99
import struct, sys, zlib
d = sys.argv[1]
def chunk(t, b):
    return struct.pack(">I", len(b)) + t + b + struct.pack(">I", zlib.crc32(t + b) & 0xffffffff)
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(b"\0" * 301)) + chunk(b"IEND", b""))
open(d + "/bomb.png", "wb").write(png)
j = bytearray(open(d + "/ok.jpg", "rb").read())
i = 2
while True:
    assert j[i] == 0xFF
    m, n = j[i + 1], (j[i + 2] << 8) | j[i + 3]
    if m in (0xC0, 0xC1, 0xC2):
        struct.pack_into(">HH", j, i + 5, 60000, 60000)
        break
    i += 2 + n
open(d + "/bomb.jpg", "wb").write(j)
PY
check "the bombs' headers say so (vipsheader)" sh -c \
    "vipsheader '$P/img/bomb.png' | grep -q '100000x100000' && vipsheader '$P/img/bomb.jpg' | grep -q '60000x60000'"
cat >"$P/jobs.csv" <<EOF
id,prompt,image
good,animate the good one,img/ok.jpg
bomb,animate the PNG bomb,img/bomb.png
bombj,animate the JPEG bomb,img/bomb.jpg
up,animate the secret,../private/secret.jpg
abs,animate it by its path,$T/private/secret.jpg
link,animate it through a link,img/link.jpg
inside,animate the good one,img/inside.jpg
EOF

# ---- 1. the dry run: every refusal shown, exit 3, nothing sent ----
expect_status 3 "dry run: refused jobs give exit 3" \
    run_to "$T/plan.txt" "$VBATCH" generate "$P/jobs.csv" --dry-run
cat "$T/plan.txt"
check "dry run: the PNG bomb refused by the pixel cap" \
    grep -q 'bomb .*refused: img/bomb.png: image header claims 100000 x 100000.*image_max_pixels' "$T/plan.txt"
check "dry run: the JPEG bomb too" grep -q 'bombj .*refused: img/bomb.jpg: image header claims 60000 x 60000' "$T/plan.txt"
check "dry run: ../ refused, with the row" \
    grep -q "up .*refused: .*jobs.csv:5 (row 5): image: '../private/secret.jpg' is outside the folder of" "$T/plan.txt"
check "dry run: an absolute path refused" grep -q "abs .*refused: .*(row 6): image: '$T/private/secret.jpg' is outside" "$T/plan.txt"
check "dry run: a link to outside refused" grep -q "link .*refused: .*(row 7): image: 'img/link.jpg' is outside" "$T/plan.txt"
check "dry run: the option is named" grep -q -- "--images-from DIR" "$T/plan.txt"
check "dry run: good submitted" grep -Eq ' good +i2v .* submit' "$T/plan.txt"
check "dry run: a link inside is the same request as good" grep -Eq ' inside +i2v .*same request as line 2' "$T/plan.txt"
check "dry run: 5 refused" grep -q 'refused locally: 5' "$T/plan.txt"
"$VBATCH" generate "$P/jobs.csv" --dry-run --format json --images-from "$T/private" >"$T/plan2.json"
check "dry run --images-from: the outside files allowed, the bombs still not" pyjson "$T/plan2.json" \
    "[j['status'] for j in d['jobs']] == ['submit', 'refused', 'refused', 'submit', 'submit', 'submit', 'duplicate'] and d['jobs'][3]['image']['check'] == 'ok'"
expect_status 2 "--images-from a missing folder" "$VBATCH" generate "$P/jobs.csv" --dry-run --images-from "$T/none"
expect_status 2 "--images-from a file" "$VBATCH" generate "$P/jobs.csv" --dry-run --images-from "$P/jobs.csv"

# ---- 2. the real run: only the good requests reach the API ----
kling_start "$T/m1" --gen-time 0.3 --max-concurrent 3 || exit 99
config "$T/c.ini"
expect_status 3 "real run: refused jobs fail, the batch goes on" \
    run_to "$T/o1.out" "$VBATCH" generate "$P/jobs.csv" --config "$T/c.ini" --output "$T/o1"
kling_stats "$T/s1.json"
check "no create for a bomb or an outside file: one create (inside is good's twin)" \
    pyjson "$T/s1.json" 'd["creates"] == 1 and d["tasks_created"] == 1'
check "the good job is generated" item "$T/o1" good "i['status'] in ('done', 'qc_failed') and i['generation']['task_id']"
check "the PNG bomb fails at generate, costs nothing" item "$T/o1" bomb \
    "i['status'] == 'failed' and i['error_stage'] == 'generate' and 'image_max_pixels' in i['error'] and not i['generation']['units']"
check "the JPEG bomb too" item "$T/o1" bombj "i['status'] == 'failed' and '60000 x 60000' in i['error']"
for id in up abs link; do
    check "$id: refused, with its row" item "$T/o1" $id \
        "i['status'] == 'failed' and i['error_stage'] == 'generate' and 'is outside the folder of' in i['error'] and '(row ' in i['error'] and not i['generation']['task_id']"
done
check "no refused image copied into OUT" sh -c "! find '$T/o1' -name 'secret*' | grep -q ."
kling_ctl reset >/dev/null
expect_status 3 "real run with --images-from: the outside files are sent, not the bombs" \
    run_to "$T/o2.out" "$VBATCH" generate "$P/jobs.csv" --config "$T/c.ini" --output "$T/o2" \
        --images-from "$T/private" --images-from "$P" --preset default
kling_stats "$T/s2.json"
check "--images-from: four requests made, the bombs never" \
    pyjson "$T/s2.json" 'd["creates"] == 4 and d["tasks_created"] == 4 and d["duplicate_creates"] == 0'
check "--images-from: the secret one made" item "$T/o2" abs "i['status'] in ('done', 'qc_failed') and i['generation']['task_id']"

# Images given by URL: the downloaded bomb is refused like a local one.
mkdir -p "$T/www" && cp "$P/img/bomb.png" "$P/img/bomb.jpg" "$P/img/ok.jpg" "$T/www/" || exit 99
httpd_start "$T/www"
WWW=$HTTPD_URL
cat >"$T/web.csv" <<EOF
id,prompt,image,image_tail
webgood,animate the web image,$WWW/ok.jpg,
webbomb,animate the web bomb,$WWW/bomb.png,
webtail,a bomb as the last frame,$WWW/ok.jpg,$WWW/bomb.jpg
EOF
kling_ctl reset >/dev/null
expect_status 3 "URL images: the bombs refused after download" \
    run_to "$T/o6.out" "$VBATCH" generate "$T/web.csv" --config "$T/c.ini" --output "$T/o6"
kling_stats "$T/s6.json"
check "URL images: one create, the good one" pyjson "$T/s6.json" 'd["creates"] == 1 and d["tasks_created"] == 1'
check "URL images: the good one made" item "$T/o6" webgood "i['status'] in ('done', 'qc_failed')"
check "URL images: the PNG bomb refused" item "$T/o6" webbomb \
    "i['status'] == 'failed' and 'image_max_pixels' in i['error'] and '100000 x 100000' in i['error']"
check "URL images: the JPEG bomb as image_tail refused" item "$T/o6" webtail \
    "i['status'] == 'failed' and 'image_tail refused' in i['error'] and 'image_max_pixels' in i['error']"
httpd_stop
kling_stop

# ---- 3. keys refused: exit 2, no key shown, resumable ----
kling_start "$T/m3" --gen-time 0.3 --max-concurrent 3 --access-key "$AK" --secret-key "$SK" \
    --echo-access-key || exit 99
config "$T/c3.ini"
kling_jobs_csv "$T/jobs3.csv" 4
BAD_AK=wrong-access-key-QQ7Z
expect_status 2 "unknown access key (1000): exit 2" \
    run_to "$T/o3.out" env KLING_ACCESS_KEY=$BAD_AK "$VBATCH" generate "$T/jobs3.csv" \
        --config "$T/c3.ini" --output "$T/o3"
cat "$T/o3.out"
check "the message names the keys and the way on" sh -c \
    "grep -q 'kling refuses the API keys (code 1000' '$T/o3.out' && grep -q 'check KLING_API_KEY, or KLING_ACCESS_KEY and KLING_SECRET_KEY' '$T/o3.out' && grep -q 'vbatch resume --job-id' '$T/o3.out'"
check "no key in the output or OUT, not even the one the server echoed" sh -c \
    "! grep -r -a -l -e '$BAD_AK' -e '$SK' -e '$AK' -e 'eyJhbGciOi' '$T/o3' '$T/o3.out'"
kling_stats "$T/s3.json"
check "nothing created" pyjson "$T/s3.json" 'd["tasks_created"] == 0 and d["auth"]["by_code"].get("1000", 0) >= 1'
ID3=$(batch_id "$T/o3")
check "the batch is left interrupted, its jobs pending" left "$T/o3"
expect_status 2 "a wrong secret (1002): exit 2" \
    run_to "$T/o3b.out" env KLING_SECRET_KEY=not-the-secret-key "$VBATCH" resume --job-id "$ID3" --output "$T/o3"
check "1002 named" grep -q 'refuses the API keys (code 1002' "$T/o3b.out"
expect_status 0 "resume with the right keys: every job made" \
    run_to "$T/o3r.out" "$VBATCH" resume --job-id "$ID3" --output "$T/o3"
kling_stats "$T/s3r.json"
check "keys: four tasks, nothing paid twice" pyjson "$T/s3r.json" \
    'd["tasks_created"] == 4 and d["duplicate_creates"] == 0 and max(d["tasks_per_external_id"].values()) == 1'

# ---- 4. a gateway's 403 on a create: the keys, not the job ----
kling_ctl reset >/dev/null
kling_ctl config '{"inject": ["kind=403,on=create,count=1"]}' >/dev/null
expect_status 2 "HTTP 403: exit 2" run_to "$T/o4.out" "$VBATCH" generate "$T/jobs3.csv" \
    --config "$T/c3.ini" --output "$T/o4"
check "403 named as a key problem" grep -q 'kling refuses the API keys (HTTP 403' "$T/o4.out"
check "403: no job failed, all pending" left "$T/o4"
expect_status 0 "resume after the 403" run_to "$T/o4r.out" "$VBATCH" resume --job-id "$(batch_id "$T/o4")" --output "$T/o4"
kling_stats "$T/s4.json"
check "403: four tasks, nothing paid twice" pyjson "$T/s4.json" 'd["tasks_created"] == 4 and d["duplicate_creates"] == 0'

# ---- 5. tokens refused on polls: the created tasks are held, not failed ----
kling_ctl reset >/dev/null
kling_ctl config '{"inject": ["kind=1004,on=query,count=1000"]}' >/dev/null
expect_status 2 "tokens refused on polls: exit 2" run_to "$T/o5.out" "$VBATCH" generate "$T/jobs3.csv" \
    --config "$T/c3.ini" --output "$T/o5"
check "tokens named, with the clock" grep -q 'refuses the tokens signed with the API keys (code 1004.*clock' "$T/o5.out"
kling_stats "$T/s5a.json"
check "some tasks created before" pyjson "$T/s5a.json" 'd["tasks_created"] >= 1'
check "no job failed, all pending" left "$T/o5"
kling_ctl config '{"inject": []}' >/dev/null
expect_status 0 "resume once the tokens are taken" run_to "$T/o5r.out" "$VBATCH" resume --job-id "$(batch_id "$T/o5")" --output "$T/o5"
kling_stats "$T/s5.json"
check "polls: four tasks, none created twice" pyjson "$T/s5.json" \
    'd["tasks_created"] == 4 and d["duplicate_creates"] == 0 and max(d["tasks_per_external_id"].values()) == 1'
kling_stop
finish
