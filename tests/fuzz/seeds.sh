#!/bin/sh
# seeds.sh OUT [HARNESS...] - synthesise the seed corpora of the fuzz
# harnesses into OUT/<harness>/ (default: all of them, and "images":
# OUT/images/, the input images the jobs harness copies next to its
# JOBS.csv). Text seeds are written here; media seeds and images are
# made with the ffmpeg CLI: a few frames at 64x48, so that one execution of the media harness stays in
# the tens of milliseconds. Nothing is taken from outside the source tree
# but the shipped presets.
set -eu
out=${1:?usage: seeds.sh OUT [HARNESS...]}
shift
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -gt 0 ] || set -- preset jobs list layout kling media readers images
mkdir -p "$out"
FFMPEG=${FFMPEG:-ffmpeg}

seed() { # seed HARNESS NAME: stdin to OUT/HARNESS/NAME
    mkdir -p "$out/$1"
    cat > "$out/$1/$2"
}

ff() { # ff NAME ARGS...: one media seed, quietly; a codec this ffmpeg
       # lacks only costs that seed
    name=$1
    shift
    mkdir -p "$out/media"
    "$FFMPEG" -nostdin -hide_banner -loglevel error -y "$@" "$out/media/$name" ||
        { echo "seeds.sh: could not make media seed $name" >&2; rm -f "$out/media/$name"; }
}

preset_seeds() {
    for f in "$srcdir"/presets/*.ini; do
        seed preset "shipped-$(basename "$f")" < "$f"
    done
    seed preset inherit.ini <<'E'
[preset]
inherit = kling-clip
description = a layer on a shipped preset
[qc]
duration_max = 12
min_width = 1920 ; a comment
E
    seed preset cycle.ini <<'E'
[preset]
inherit = ./fuzz.ini
E
    seed preset every-type.ini <<'E'
[batch]
jobs = 4
error_handling = stop
item_timeout = 0
stall_timeout = 30.5
retries = 100
[input]
patterns = *.mp4, *.mov *.MKV
exclude = draft-*
recursive = yes
max_download_size = 512MiB
[qc]
aspect_ratio = 9:16
bitrate_max = 8M
video_bitrate_min = 128k
audio = forbidden
sample_rates = 44100 48000
containers = mp4 mov
fps_min = 23.976
faststart = true
loudness_target = -14
true_peak_max = -1.5
image_max_pixels = 40000000
[analyse]
mode = keyframes
black_picture_threshold = 0.98
[thumbnails]
times = 0.5 1 2.25
format = webp
quality = 100
[output]
publish = no
[generate]
provider = kling
model = kling-v2-6
duration = 10
aspect_ratio = 1:1
cfg_scale = 0.5
negative_prompt = blurry
[provider.kling]
base_url = http://127.0.0.1:9/
request_timeout = 5
E
    printf '[qc]\r\nmin_width=1280\r\nmin_height = 720\r\n[nosuch]\r\nx=1\r\n' | seed preset crlf.ini
    printf '[qc]\nduration_min = 10\nduration_max = 5\n' | seed preset crossed.ini
    printf 'key without section = 1\n[qc\n=\n' | seed preset syntax.ini
}

jobs_seeds() {
    seed jobs t2v.csv <<'E'
id,prompt,model,duration,aspect_ratio,mode,cfg_scale
sunset,"A sunset over the sea, slow pan",kling-v2-6,5,16:9,std,0.5
city,"Night city, rain",kling-v2-5-turbo,10,9:16,pro,
row3,A cat,,,1:1,,
E
    seed jobs i2v.csv <<'E'
ID,Prompt,Image,Image_Tail,Negative_Prompt,Mode
first,"the picture comes alive",ok.png,,"blur, noise",pro
tail,,ok.png,ok.png,,pro
small,small picture,small.jpg,,,std
wide,wide picture,wide.png,,,std
bogus,not a picture,bogus.png,,,std
missing,gone,missing.png,,,std
remote,remote,https://example.com/x.png,,,std
ftp,remote,ftp://example.com/x.png,,,std
E
    seed jobs duplicates.csv <<'E'
id,prompt
a,same prompt
b,same prompt
a,other prompt
,
,,
E
    printf '\357\273\277id,prompt,duration\r\nx,"multi\r\nline ""quoted""",7\r\ny,ok,10\r\n' | seed jobs bom-crlf.csv
    printf 'prompt\n"unterminated\n' | seed jobs unterminated.csv
    printf 'id,prompt,unknown\nx,y,z\n1,2\n' | seed jobs bad-columns.csv
}

list_seeds() {
    seed list mixed.txt <<'E'
# a list: paths, URLs, comments
a.mp4
  sub
https://user:secret@cdn.example.com/v/clip.mp4?sig=abc&exp=1#t=3
http://example.com/a%20b.mov

ftp://example.com/x.mp4
fifo.mp4
dangling.mp4
loop
with space.mp4
missing.mp4
.
E
    printf 'HTTPS://EXAMPLE.COM/x.mp4\r\nhttp://[::1]:8080/y.webm\r\n\thttp://h/@x?y\r\n' | seed list urls.txt
    printf 'sub/deep\nsub/deep/d.webm\nsub/c.mkv\nnotes.txt\nempty\n' | seed list paths.txt
}

# The pure readers: raw elementary streams of a few frames (an H.264
# and an HEVC Annex B stream, MPEG-2 video, ADTS AAC, a VP9 key frame
# out of IVF, an AV1 temporal unit's OBUs and an av1C record).
readers_seeds() {
    mkdir -p "$out/readers"
    r=$out/readers
    "$FFMPEG" -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=64x48:rate=25 \
        -frames:v 2 -c:v libx264 -pix_fmt yuv420p -vf setsar=16/15 -colorspace bt709 "$r/sps.h264" ||
        rm -f "$r/sps.h264"
    "$FFMPEG" -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=64x48:rate=25 \
        -frames:v 2 -c:v libx264 -pix_fmt yuv422p10le "$r/sps422.h264" || rm -f "$r/sps422.h264"
    "$FFMPEG" -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=64x48:rate=25 \
        -frames:v 2 -c:v libx265 -x265-params log-level=error -pix_fmt yuv420p10le -vf setsar=4/3 \
        "$r/sps.hevc" || rm -f "$r/sps.hevc"
    "$FFMPEG" -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=64x48:rate=25 \
        -frames:v 2 -c:v mpeg2video -f mpeg2video "$r/seq.m2v" || rm -f "$r/seq.m2v"
    "$FFMPEG" -nostdin -hide_banner -loglevel error -y -f lavfi -i sine=sample_rate=48000 \
        -t 0.05 -c:a aac -f adts "$r/frame.aac" || rm -f "$r/frame.aac"
    "$FFMPEG" -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=64x48:rate=25 \
        -frames:v 1 -c:v libvpx-vp9 -f ivf "$r/key.ivf" &&
        tail -c +45 "$r/key.ivf" > "$r/key.vp9"
    rm -f "$r/key.ivf"
    "$FFMPEG" -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=64x48:rate=25 \
        -frames:v 1 -c:v libaom-av1 -cpu-used 8 -usage realtime -pix_fmt yuv422p10le -f obu \
        "$r/seq.obu" || rm -f "$r/seq.obu"
    printf '\201\001\014\000\012\013\000\000\000\014\304\377\147\066\276\100\020' > "$r/av1c.bin"
}

layout_seeds() {
    printf '0clip.mp4\n0clip.mp4\n0Clip.MP4\n0a/b/clip.mp4\n0../../etc/passwd\n0.hidden\n0-rf.mp4\n0summary.mp4\n0PUBLISH\n0.vbatch\n' | seed layout names.txt
    printf '1clip\n2clip\n2clip\n1Other\n2other\n0other.mp4\n2fresh\n3clip.final.mp4\n3..\n3-x\n' | seed layout reserve-claim.txt
    printf '0\303\251t\303\251 \344\270\255\346\226\207.mov\n0bad\377\376utf8\n0\355\240\200surrogate\n3\360\237\230\200.webm\n0a:b*c?d"e<f>g|h\\i\n' | seed layout utf8.txt
    python3 -c 'import sys; sys.stdout.write("0" + "\u00e9" * 100 + ".mp4\n3" + "x" * 300 + ".mp4\n")' | seed layout long.txt
}

kling_seeds() {
    # byte 0: HTTP status (index into fuzz-kling.c's table: 0 = 200,
    # 6 = 401, 8 = 404, 12 = 429, 13 = 500), byte 1: transfer failed
    printf '\000\000{"code":0,"message":"SUCCEED","request_id":"r1","data":{"task_id":"t1","task_status":"submitted","created_at":1,"updated_at":1,"task_info":{"external_task_id":"vb-1"}}}' | seed kling create-ok.json
    printf '\000\000{"code":0,"message":"SUCCEED","request_id":"r2","data":{"task_id":"t1","task_status":"succeed","task_status_msg":"","final_unit_deduction":"1.5","task_info":{"external_task_id":"vb-1"},"task_result":{"videos":[{"id":"v1","url":"https://cdn.example.com/v1.mp4","duration":"5.1"}]}}}' | seed kling query-succeed.json
    printf '\000\000{"code":0,"data":{"task_id":123,"task_status":"processing"}}' | seed kling query-processing.json
    printf '\000\000{"code":0,"data":{"task_id":"t2","task_status":"failed","task_status_msg":"content policy"}}' | seed kling query-failed.json
    printf '\014\000{"code":1302,"message":"rate limited","request_id":"r3"}' | seed kling rate.json
    printf '\014\000{"code":1303,"message":"parallel task over resource pack limit"}' | seed kling concurrency.json
    printf '\004\000{"code":1102,"message":"balance not enough"}' | seed kling no-credit.json
    printf '\004\000{"code":1201,"message":"external_task_id already exists"}' | seed kling duplicate.json
    printf '\006\000{"code":1004,"message":"token expired"}' | seed kling expired.json
    printf '\010\000{"code":1203,"message":"task not found"}' | seed kling not-found.json
    printf '\015\000<html><body>502 Bad Gateway</body></html>' | seed kling html.txt
    printf '\000\001' | seed kling transfer-failed.txt
    printf '\000\000{"code":0,"data":[]}' | seed kling no-data.json
}

media_seeds() {
    v="-f lavfi -i testsrc2=size=64x48:rate=10:duration=0.5"
    a="-f lavfi -i sine=frequency=440:sample_rate=8000:duration=0.5"
    # shellcheck disable=SC2086  # $v and $a are word lists on purpose
    {
    ff h264-aac.mp4 $v $a -c:v libx264 -preset ultrafast -crf 40 -g 3 -pix_fmt yuv420p -c:a aac -ac 1 -b:a 16k -shortest
    ff h264-faststart.mp4 $v -c:v libx264 -preset ultrafast -crf 40 -g 2 -pix_fmt yuv420p -movflags +faststart
    ff h264-rotated.mp4 $v -c:v libx264 -preset ultrafast -crf 40 -pix_fmt yuv420p -metadata:s:v:0 rotate=90
    ff mpeg4-pcm.mov $v $a -c:v mpeg4 -q:v 20 -c:a pcm_s16le -shortest
    ff h264-vorbis.mkv $v $a -c:v libx264 -preset ultrafast -crf 40 -pix_fmt yuv444p -c:a libvorbis -ac 1 -shortest
    ff ffv1.mkv $v -c:v ffv1 -pix_fmt yuv420p
    ff h264-aac.ts $v $a -c:v libx264 -preset ultrafast -crf 40 -g 2 -pix_fmt yuv420p -c:a aac -ac 1 -b:a 16k -shortest
    ff mpeg2-mp2.ts $v $a -c:v mpeg2video -q:v 20 -g 3 -c:a mp2 -b:a 32k -shortest
    ff vp8-vorbis.webm $v $a -c:v libvpx -b:v 20k -c:a libvorbis -ac 1 -shortest
    ff vp9.webm $v -c:v libvpx-vp9 -b:v 20k -deadline realtime -cpu-used 8
    ff black-silent.mp4 -f lavfi -i color=black:size=64x48:rate=10:duration=0.5 -f lavfi -i anullsrc=r=8000:cl=mono -t 0.5 -c:v libx264 -preset ultrafast -crf 40 -pix_fmt yuv420p -c:a aac -b:a 16k -shortest
    ff audio-only.m4a $a -c:a aac -b:a 16k
    ff still.png -f lavfi -i testsrc2=size=64x48 -frames:v 1
    }
}

image_seeds() {
    mkdir -p "$out/images"
    i=$out/images
    "$FFMPEG" -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=640x360 -frames:v 1 "$i/ok.png"
    "$FFMPEG" -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=100x100 -frames:v 1 "$i/small.jpg"
    "$FFMPEG" -nostdin -hide_banner -loglevel error -y -f lavfi -i testsrc2=size=1000x300 -frames:v 1 "$i/wide.png"
    echo "not an image" > "$i/bogus.png"
}

for h in "$@"; do
    case $h in
    preset) preset_seeds ;;
    jobs) jobs_seeds ;;
    images) image_seeds ;;
    list) list_seeds ;;
    layout) layout_seeds ;;
    kling) kling_seeds ;;
    media) media_seeds ;;
    readers) readers_seeds ;;
    *) echo "seeds.sh: no harness $h" >&2; exit 2 ;;
    esac
done
