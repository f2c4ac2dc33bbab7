#!/bin/bash
# fix.sh - `vbatch process --fix` (fix.c: the plan's one pass, then the
# fixed file probed, gated and analysed again) against the ffmpeg tool
# doing the same work the way people script it:
#
#   (a) faststart remux of 200 small clips (H.264 + AAC, 2 s 320x240, the
#       moov at the end): vbatch with a [qc] of `faststart = true` only
#       (the plan is a pure remux) against a shell loop of
#       `ffmpeg -i F -c copy -movflags +faststart OUT/F`.
#       Goal: vbatch >= 4x faster.
#   (b) loudness of 20 clips (640x360, 2-6 s; quiet, loud, clipping, tone,
#       speech-like bursts, one of 2 s): vbatch measuring, applying and
#       checking again (loudness_target = -14, loudness_tolerance = 1,
#       true_peak_max = -1) against ffmpeg-normalize's two-pass loudnorm
#       (pass 1 `-af loudnorm=I=-14:TP=-1:LRA=11:print_format=json`, pass 2
#       with the measured_* values and linear=true, `-c:v copy -c:a aac
#       -b:a 192k`), one file after the other. Goal: vbatch >= 2x faster;
#       and each clip's error against -14 LUFS, as ebur128 measures both
#       outputs: vbatch's must be no larger on every clip.
#   (c) conform of 10 clips of 1080p (3-5 s) to 1080x1920 (scaled to fit,
#       black bars) H.264 with the same x264 settings (preset, CRF,
#       maxrate/bufsize, key frames every 2 s in closed GOPs, no scene-cut
#       key frames), audio copied: vbatch with --jobs 2 against
#       `ffmpeg -vf scale,pad -c:v libx264 ...`, two files at a time
#       (xargs -P 2). Goals: wall time <= 1.0x the CLI's; the PSNR of each
#       output against its source (the picture cut out of its bars and
#       scaled back to 1920x1080, the same way for both) within 0.1 dB of
#       the CLI's.
#
# Medians of REPEAT runs, vbatch and the peer alternated so that a change
# in the machine's load hits both alike. The clips are synthesised once and
# kept in ${BENCH_CACHE:-${TMPDIR:-/tmp}/vbatch-bench}/fix.
#
# Environment: VBATCH (else ./vbatch, else vbatch on PATH), REPEAT (3),
# JOBS (vbatch's --jobs in (a) and (b); default: the cores), PARTS (abc:
# the parts to run), PRESET (veryfast), CRF (23), MAXRATE (6M), BUFSIZE
# (12M), BENCH_CACHE.
set -u

REPEAT=${REPEAT:-3}
JOBS=${JOBS:-$(nproc)}
PARTS=${PARTS:-abc}
PRESET=${PRESET:-veryfast}
CRF=${CRF:-23}
MAXRATE=${MAXRATE:-6M}
BUFSIZE=${BUFSIZE:-12M}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/common.sh"
bench_positive fix.sh REPEAT JOBS CRF
bench_init fix.sh ffmpeg ffprobe awk
cache=${BENCH_CACHE:-${TMPDIR:-/tmp}/vbatch-bench}/fix
mkdir -p "$cache" || exit 2

ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }
# faster: "a/b x" with the goal (vbatch's time a, the peer's b)
faster() { awk -v a="$1" -v b="$2" -v g="$3" 'BEGIN { if (a <= 0) { print "n/a"; exit }
    r = b / a; printf "%.2fx faster (goal >= %sx: %s)", r, g, (r >= g) ? "met" : "NOT met" }'; }
# made FILE CMD...: run CMD (which writes FILE.part.mp4) unless FILE exists
made() {
    local f=$1
    shift
    [ -s "$f" ] && return 0
    "$@" "$f.part.mp4" && mv -f "$f.part.mp4" "$f"
}

# run_vbatch DIR INI OUT JOBS: one `vbatch process --fix`; fails on status > 1
run_vbatch() {
    rm -rf "$3"
    "$vbatch" process "$1" --fix --config "$tmp/base.ini" --config "$2" --output "$3" \
        --jobs "$4" --quiet > /dev/null 2> "$tmp/vbatch.err"
    local rc=$?
    if [ $rc -gt 1 ]; then
        echo "fix.sh: vbatch exited with status $rc: $(head -3 "$tmp/vbatch.err")" >&2
        return 1
    fi
}
# timed CMD...: "WALL CPU" seconds CMD took (CPU: user + system, children
# included), on stdout (CMD's own output dropped)
timed() {
    local TIMEFORMAT='%3R %3U %3S' t
    { time "$@" > /dev/null; } 2> "$tmp/time.txt" || return 1
    t=$(tail -n 1 "$tmp/time.txt")
    awk -v t="$t" 'BEGIN { split(t, a, " "); printf "%.3f %.3f", a[1], a[2] + a[3] }'
}
# alternate NAME: REPEAT runs of NAME_vbatch and NAME_peer in turns; sets
# vb and peer (medians of the wall times), vbcpu and peercpu (of the CPU
# times), and prints the runs. On a loaded machine the CPU times are the
# steadier figure.
alternate() {
    local v=() p=() vc=() pc=() i t
    for ((i = 1; i <= REPEAT; i++)); do
        t=$(timed "$1_vbatch") || exit 1
        v+=("${t% *}"); vc+=("${t#* }")
        t=$(timed "$1_peer") || exit 1
        p+=("${t% *}"); pc+=("${t#* }")
    done
    vb=$(median "${v[@]}")
    peer=$(median "${p[@]}")
    vbcpu=$(median "${vc[@]}")
    peercpu=$(median "${pc[@]}")
    echo "    runs (wall s): vbatch ${v[*]}; peer ${p[*]}"
    echo "    CPU (user + sys, median): vbatch $vbcpu s, peer $peercpu s, peer / vbatch $(awk -v a="$vbcpu" -v b="$peercpu" 'BEGIN { if (a > 0) printf "%.2f", b / a; else print "n/a" }')"
}
# the item folder's delivered file, by the input's name: fixed NAME.mp4 OUT
delivered() { ls "$2"/*/video/"$1" 2>/dev/null | head -1; }
# ebur128's integrated loudness of FILE, to the hundredth (its own
# summary rounds to a tenth): the last lavfi.r128.I it puts on the frames
lufs() {
    ffmpeg -nostdin -hide_banner -nostats -i "$1" -map 0:a \
        -af ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.I:file=- -f null - 2>/dev/null |
        awk -F= '/lavfi.r128.I/ { i = $2 } END { print i }'
}

echo "vbatch:  $vbatch (from $how)"
"$vbatch" --version | head -n 1 | sed 's/^/         /'
echo "machine: $(nproc) cores, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg)"
echo "runs:    $REPEAT of each, alternated (median)"
# Nothing but the rules of each part: no thumbnails, no other gate.
printf '[thumbnails]\nenabled = false\n' > "$tmp/base.ini"

# ---- (a) faststart remux ----

remux_vbatch() { run_vbatch "$tmp/remux" "$tmp/remux.ini" "$tmp/out-remux" "$JOBS"; }
remux_peer() {
    local f
    rm -rf "$tmp/ff-remux"
    mkdir -p "$tmp/ff-remux"
    for f in "$tmp/remux"/*.mp4; do
        ff -i "$f" -c copy -movflags +faststart "$tmp/ff-remux/${f##*/}" || return 1
    done
}

if [[ $PARTS == *a* ]]; then
    echo
    echo "(a) faststart remux: 200 clips of 2 s 320x240 H.264 + AAC, moov at the end"
    names=()
    for ((i = 1; i <= 20; i++)); do
        n=$(printf 'late-%02d.mp4' "$i")
        made "$cache/$n" ff -f lavfi -i "testsrc2=size=320x240:rate=25" \
            -f lavfi -i "sine=frequency=$((200 + 20 * i)):sample_rate=48000" -t 2 \
            -vf "hue=h=$((i * 17))" -c:v libx264 -preset ultrafast -c:a aac -b:a 96k || exit 2
        names+=("$n")
    done
    bench_link_folder "$cache" "$tmp/remux" 200 "${names[@]}" || exit 2
    printf '[qc]\nfaststart = true\n' > "$tmp/remux.ini"
    alternate remux
    fixed=$(grep -l '"fixed": *true' "$tmp/out-remux"/*/metadata/fix.json 2>/dev/null | wc -l)
    echo "    vbatch process --fix (--jobs $JOBS): $vb s ($fixed of 200 fixed)"
    echo "    ffmpeg -c copy -movflags +faststart loop: $peer s"
    echo "    vbatch $(faster "$vb" "$peer" 4)"
fi

# ---- (b) loudness ----

# The 20 clips: pink noise, tones and bursts at many levels, some clipped.
loud_clip() {
    local i=$1 out=$2 t a
    t=$((2 + i % 5))
    case $i in
    1) t=2; a="anoisesrc=color=pink:amplitude=0.5:seed=7,volume=12dB,aformat=sample_fmts=s16" ;;
    2) a="anoisesrc=color=pink:amplitude=0.02:seed=2" ;;
    3) a="anoisesrc=color=pink:amplitude=0.9:seed=3,volume=9dB,aformat=sample_fmts=s16" ;;
    4) a="sine=frequency=440,volume=-30dB" ;;
    5) a="sine=frequency=1000,volume=6dB,aformat=sample_fmts=s16" ;;
    6) a="anoisesrc=color=white:amplitude=0.05:seed=6" ;;
    7) a="anoisesrc=color=brown:amplitude=0.6:seed=7" ;;
    8) a="anoisesrc=color=pink:amplitude=0.3:seed=8,volume='if(lt(mod(t,1),0.5),1,0.05)':eval=frame" ;;
    9) a="sine=frequency=220,volume=-6dB" ;;
    10) a="anoisesrc=color=pink:amplitude=0.12:seed=10" ;;
    11) a="anoisesrc=color=pink:amplitude=0.7:seed=11,volume=3dB,aformat=sample_fmts=s16" ;;
    12) a="sine=frequency=3000,volume=-18dB" ;;
    13) a="anoisesrc=color=white:amplitude=0.8:seed=13" ;;
    14) a="anoisesrc=color=pink:amplitude=0.01:seed=14" ;;
    15) a="anoisesrc=color=pink:amplitude=0.4:seed=15,volume='if(lt(mod(t,0.4),0.1),4,0.3)':eval=frame,aformat=sample_fmts=s16" ;;
    16) a="sine=frequency=60,volume=0dB" ;;
    17) a="anoisesrc=color=brown:amplitude=0.05:seed=17" ;;
    18) a="anoisesrc=color=pink:amplitude=0.25:seed=18" ;;
    19) a="sine=frequency=880,volume=-40dB" ;;
    20) a="anoisesrc=color=pink:amplitude=0.6:seed=20,volume=15dB,aformat=sample_fmts=s16" ;;
    esac
    ff -f lavfi -i "testsrc2=size=640x360:rate=25" \
        -f lavfi -i "$a,aresample=48000,pan=stereo|c0=c0|c1=c0" -t "$t" -vf "hue=h=$((i * 18))" \
        -c:v libx264 -preset veryfast -pix_fmt yuv420p -c:a aac -b:a 192k -movflags +faststart "$out"
}
# ffmpeg-normalize's two passes on one file: normalize IN OUT
normalize() {
    local m
    m=$(ffmpeg -nostdin -hide_banner -nostats -i "$1" -vn -sn \
        -af loudnorm=I=-14:TP=-1:LRA=11:print_format=json -f null - 2>&1 |
        awk -F'"' '/"input_i"/ { i = $4 } /"input_tp"/ { tp = $4 } /"input_lra"/ { lra = $4 }
                   /"input_thresh"/ { th = $4 } /"target_offset"/ { off = $4 }
                   END { printf "measured_I=%s:measured_TP=%s:measured_LRA=%s:measured_thresh=%s:offset=%s",
                         i, tp, lra, th, off }')
    ff -i "$1" -af "loudnorm=I=-14:TP=-1:LRA=11:$m:linear=true:print_format=json" -ar 48000 \
        -c:v copy -c:a aac -b:a 192k "$2"
}
loud_vbatch() { run_vbatch "$tmp/loud" "$tmp/loud.ini" "$tmp/out-loud" "$JOBS"; }
loud_peer() {
    local f
    rm -rf "$tmp/ff-loud"
    mkdir -p "$tmp/ff-loud"
    for f in "$tmp/loud"/*.mp4; do
        normalize "$f" "$tmp/ff-loud/${f##*/}" || return 1
    done
}

if [[ $PARTS == *b* ]]; then
    echo
    echo "(b) loudness: 20 clips of 640x360, 2-6 s, quiet to clipping, to -14 LUFS (TP -1 dBTP)"
    mkdir -p "$tmp/loud"
    for ((i = 1; i <= 20; i++)); do
        n=$(printf 'loud-%02d.mp4' "$i")
        made "$cache/$n" loud_clip "$i" || exit 2
        ln "$cache/$n" "$tmp/loud/$n" 2>/dev/null || cp "$cache/$n" "$tmp/loud/$n" || exit 2
    done
    printf '[qc]\nloudness_target = -14\nloudness_tolerance = 1\ntrue_peak_max = -1\n' > "$tmp/loud.ini"
    alternate loud
    echo "    vbatch process --fix (--jobs $JOBS): $vb s"
    echo "    ffmpeg-normalize's two-pass loudnorm loop: $peer s"
    echo "    vbatch $(faster "$vb" "$peer" 2)"
    echo "    clip      source   vbatch  error   loudnorm  error   (LUFS by ebur128; error in LU from -14)"
    worse=0
    for f in "$tmp/loud"/*.mp4; do
        n=${f##*/}
        d=$(delivered "$n" "$tmp/out-loud")
        s=$(lufs "$f"); v=$(lufs "$d"); p=$(lufs "$tmp/ff-loud/$n")
        line=$(awk -v n="${n%.mp4}" -v s="$s" -v v="$v" -v p="$p" 'BEGIN {
            ev = v + 14; if (ev < 0) ev = -ev; ep = p + 14; if (ep < 0) ep = -ep
            printf "    %-8s %7.2f  %7.2f  %5.2f   %7.2f  %5.2f   %s", n, s, v, ev, p, ep,
                (ev <= ep + 0.005) ? "" : "vbatch farther"; exit (ev <= ep + 0.005) ? 0 : 1 }') || worse=$((worse + 1))
        echo "$line"
    done
    if [ "$worse" -eq 0 ]; then
        echo "    vbatch at least as close to -14 on every clip: met"
    else
        echo "    vbatch farther from -14 than loudnorm on $worse clip(s): NOT met"
    fi
fi

# ---- (c) conform ----

bits() { awk -v s="$1" 'BEGIN { u = substr(s, length(s)); v = s + 0
    if (u == "k" || u == "K") v *= 1000; else if (u == "M") v *= 1000000; printf "%d", v }'; }
# 1920x1080 inside 1080x1920: 1080x608 (even), bars of 656 above and below
VF="scale=1080:608:flags=bicubic,pad=1080:1920:(ow-iw)/2:(oh-ih)/2:black,setsar=1,format=yuv420p"
conform_vbatch() { run_vbatch "$tmp/hd" "$tmp/conform.ini" "$tmp/out-conform" 2; }
conform_peer() {
    rm -rf "$tmp/ff-conform"
    mkdir -p "$tmp/ff-conform"
    # xargs appends the file name: sh -c gets it as $1
    # shellcheck disable=SC2016
    printf '%s\0' "$tmp/hd"/*.mp4 | xargs -0 -n 1 -P 2 sh -c '
        ffmpeg -nostdin -hide_banner -loglevel error -y -i "$1" -vf "'"$VF"'" -c:v libx264 \
            -preset '"$PRESET"' -crf '"$CRF"' -maxrate '"$MAXRATE"' -bufsize '"$BUFSIZE"' \
            -g 50 -keyint_min 50 -sc_threshold 0 -flags +cgop -profile:v high -c:a copy \
            "'"$tmp/ff-conform"'/${1##*/}"' sh
}
# PSNR of the picture cut out of its bars, scaled back, against the source
psnr() {
    ffmpeg -nostdin -hide_banner -i "$1" -i "$2" -lavfi \
        "[0]crop=1080:608:0:656,scale=1920:1080:flags=bicubic[a];[a][1]psnr" -f null - 2>&1 |
        sed -n 's/.*average:\([0-9.inf]*\).*/\1/p'
}

if [[ $PARTS == *c* ]]; then
    echo
    echo "(c) conform: 10 clips of 1920x1080 25 fps, 3-5 s, to 1080x1920 (pad), x264 $PRESET crf $CRF maxrate $MAXRATE bufsize $BUFSIZE keyint 2 s; two files at a time"
    mkdir -p "$tmp/hd"
    for ((i = 1; i <= 10; i++)); do
        n=$(printf 'hd-%02d.mp4' "$i")
        case $((i % 3)) in 0) s=testsrc2 ;; 1) s=smptehdbars ;; 2) s=mandelbrot ;; esac
        made "$cache/$n" ff -f lavfi -i "$s=size=1920x1080:rate=25" \
            -f lavfi -i "sine=frequency=$((300 + 50 * i)):sample_rate=48000" -t $((3 + i % 3)) \
            -vf "hue=h=$((i * 36)),format=yuv420p" -c:v libx264 -preset veryfast -crf 18 \
            -colorspace bt709 -color_primaries bt709 -color_trc bt709 -c:a aac -b:a 128k \
            -movflags +faststart || exit 2
        ln "$cache/$n" "$tmp/hd/$n" 2>/dev/null || cp "$cache/$n" "$tmp/hd/$n" || exit 2
    done
    printf '[qc]\naspect_ratio = 9:16\n[fix]\nwidth = 1080\nheight = 1920\nfit = pad\nx264_preset = %s\ncrf = %s\nmaxrate = %s\nbufsize = %s\nkeyint = 2\n' \
        "$PRESET" "$CRF" "$MAXRATE" "$BUFSIZE" > "$tmp/conform.ini"
    alternate conform
    echo "    vbatch process --fix --jobs 2: $vb s"
    echo "    ffmpeg -vf scale,pad -c:v libx264, xargs -P 2: $peer s"
    awk -v a="$vb" -v b="$peer" 'BEGIN { if (b <= 0) { print "    vbatch / ffmpeg: n/a"; exit }
        r = a / b; printf "    vbatch / ffmpeg: %.2f (goal <= 1.0: %s)\n", r, (r <= 1.0) ? "met" : "NOT met" }'
    echo "    clip     PSNR vbatch  ffmpeg   diff    size vbatch   ffmpeg"
    off=0
    for f in "$tmp/hd"/*.mp4; do
        n=${f##*/}
        d=$(delivered "$n" "$tmp/out-conform")
        pv=$(psnr "$d" "$f"); pf=$(psnr "$tmp/ff-conform/$n" "$f")
        line=$(awk -v n="${n%.mp4}" -v a="$pv" -v b="$pf" -v sa="$(stat -c %s "$d")" \
            -v sb="$(stat -c %s "$tmp/ff-conform/$n")" 'BEGIN { d = a - b
            printf "    %-7s %8.2f %8.2f  %+6.2f   %10d %10d", n, a, b, d, sa, sb
            exit (d >= -0.1) ? 0 : 1 }') || off=$((off + 1))
        echo "$line"
    done
    if [ "$off" -eq 0 ]; then
        echo "    PSNR no more than 0.1 dB below the CLI's on every clip: met"
    else
        echo "    PSNR more than 0.1 dB below the CLI's on $off clip(s): NOT met"
    fi
fi
