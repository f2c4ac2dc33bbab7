# media.sh - synthesise the test clips with the ffmpeg CLI (sourced by the
# command-line tests, `make demo` and the benchmarks). Nothing is fetched
# from outside: every clip is made from lavfi sources.
#
#   media_make DIR NAME   make one clip DIR/NAME (see media_all for names)
#   media_all DIR         make the whole suite set into DIR

FFMPEG=${FFMPEG:-ffmpeg}

_ff() {
    "$FFMPEG" -nostdin -hide_banner -loglevel error -y "$@"
}

# _concat_rate OUT OPTION...: 2 s at 25 fps then 2 s at 50 (320x240 and a
# tone, unless the options say -an), encoded apart with the options and
# joined by the concat demuxer into one MPEG-TS
_concat_rate() {
    _co=$1; shift
    _ff -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=700:sample_rate=48000 \
        -t 2 "$@" -shortest "$_co.a.ts" &&
    _ff -f lavfi -i testsrc2=size=320x240:rate=50 -f lavfi -i sine=frequency=700:sample_rate=48000 \
        -t 2 "$@" -shortest "$_co.b.ts" &&
    printf "file '%s'\nfile '%s'\n" "$(basename "$_co.a.ts")" "$(basename "$_co.b.ts")" > "$_co.txt" &&
    _ff -f concat -safe 0 -i "$_co.txt" -c copy "$_co"
    _crc=$?
    rm -f "$_co.a.ts" "$_co.b.ts" "$_co.txt"
    return $_crc
}

# media_make DIR NAME
media_make() {
    _d=$1; _n=$2; _final="$_d/$_n"
    [ -s "$_final" ] && return 0
    # Tests run in parallel and share the clip folder: make the clip under
    # a temporary name (same extension, so ffmpeg picks the format) and
    # rename it into place.
    _o="$_d/.part$$.$_n"
    case $_n in
    h264_aac_720p.mp4)   # a good Kling-like clip: 6 s 720p, faststart
        _ff -f lavfi -i testsrc2=size=1280x720:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
            -t 6 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 160k -ac 2 \
            -movflags +faststart -shortest "$_o" ;;
    h264_short.mp4)      # too short for kling-clip, moov at the end
        _ff -f lavfi -i testsrc2=size=1280x720:rate=25 -f lavfi -i sine=frequency=330:sample_rate=44100 \
            -t 2 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 96k -shortest "$_o" ;;
    vertical_1080x1920.mp4)
        _ff -f lavfi -i testsrc2=size=1080x1920:rate=30 -f lavfi -i sine=frequency=550:sample_rate=48000 \
            -t 5 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -profile:v high -c:a aac -b:a 128k \
            -movflags +faststart -shortest "$_o" ;;
    rotated.mp4)         # 1280x720 stored, shown 720x1280 (display matrix);
                         # the rotate tag is honoured when remuxing
        _ff -f lavfi -i testsrc2=size=1280x720:rate=24 -t 5 -c:v libx264 -preset ultrafast \
            -pix_fmt yuv420p "$_o.tmp.mp4" &&
        _ff -i "$_o.tmp.mp4" -c copy -metadata:s:v:0 rotate=90 "$_o" && rm -f "$_o.tmp.mp4" ;;
    hevc_hdr10.mp4)      # 10-bit HEVC, BT.2020 + PQ: HDR
        _ff -f lavfi -i testsrc2=size=1280x720:rate=24 -t 5 -c:v libx265 -preset ultrafast \
            -x265-params log-level=error -pix_fmt yuv420p10le -tag:v hvc1 \
            -color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc "$_o" ;;
    vp9_opus.webm)
        _ff -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=frequency=600:sample_rate=48000 \
            -t 5 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -b:v 500k -c:a libopus -shortest "$_o" ;;
    vp9_10bit.webm)      # VP9 profile 2, 10 bit, no audio
        _ff -f lavfi -i testsrc2=size=640x360:rate=30 -t 2 -c:v libvpx-vp9 -deadline realtime \
            -cpu-used 8 -pix_fmt yuv420p10le -profile:v 2 "$_o" ;;
    vp9_444.mkv)         # VP9 profile 1, 4:4:4, Vorbis, in Matroska
        _ff -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=sample_rate=48000 \
            -t 2 -c:v libvpx-vp9 -deadline realtime -cpu-used 8 -pix_fmt yuv444p \
            -c:a libvorbis -shortest "$_o" ;;
    av1_opus.webm)       # AV1 (libaom) Main 4:2:0 + Opus in WebM: the av1C record's header
        _ff -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=sample_rate=48000 \
            -t 2 -c:v libaom-av1 -cpu-used 8 -usage realtime -b:v 300k -pix_fmt yuv420p \
            -c:a libopus -shortest "$_o" ;;
    av1_10bit_hdr.webm)  # AV1 (SVT-AV1) 10 bit, BT.2020 + PQ
        _ff -f lavfi -i testsrc2=size=320x240:rate=30 -t 1 -c:v libsvtav1 -pix_fmt yuv420p10le \
            -color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc "$_o" 2>/dev/null ;;
    av1_444.mkv)         # AV1 High 4:4:4, Vorbis, in Matroska
        _ff -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=sample_rate=48000 \
            -t 1 -c:v libaom-av1 -cpu-used 8 -usage realtime -b:v 300k -pix_fmt yuv444p \
            -c:a libvorbis -shortest "$_o" ;;
    av1_422p12.mkv)      # AV1 Professional 4:2:2 12 bit
        _ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v libaom-av1 -cpu-used 8 \
            -usage realtime -b:v 300k -pix_fmt yuv422p12le "$_o" ;;
    av1_gray_full.mkv)   # AV1 monochrome (gray), then sRGB 4:4:4 (gbrp) in another clip
        _ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v libaom-av1 -cpu-used 8 \
            -usage realtime -b:v 300k -pix_fmt gray "$_o" ;;
    av1_gbrp.mkv)
        _ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v libaom-av1 -cpu-used 8 \
            -usage realtime -b:v 300k -pix_fmt gbrp "$_o" ;;
    av1_full_709.webm)   # AV1 full range, BT.709
        _ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 1 -c:v libaom-av1 -cpu-used 8 \
            -usage realtime -b:v 300k -pix_fmt yuv420p -color_range pc -color_primaries bt709 \
            -color_trc bt709 -colorspace bt709 "$_o" ;;
    av1_aac.mp4)         # AV1 + AAC in MP4 (av1C in the sample entry)
        _ff -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi -i sine=sample_rate=48000 \
            -t 2 -c:v libaom-av1 -cpu-used 8 -usage realtime -b:v 300k -pix_fmt yuv420p \
            -c:a aac -shortest "$_o" ;;
    prores_pcm.mov)      # broadcast-style master
        _ff -f lavfi -i testsrc2=size=1920x1080:rate=25 -f lavfi -i sine=frequency=1000:sample_rate=48000 \
            -t 2 -c:v prores_ks -profile:v 2 -c:a pcm_s24le -ac 2 -shortest "$_o" ;;
    h264_ntsc.mkv)       # 29.97 fps, language tag
        _ff -f lavfi -i testsrc2=size=854x480:rate=30000/1001 -f lavfi -i sine=frequency=700:sample_rate=44100 \
            -t 5 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -shortest \
            -metadata:s:a:0 language=eng "$_o" ;;
    audio_only.m4a)
        _ff -f lavfi -i sine=frequency=440:sample_rate=44100 -t 5 -c:a aac -b:a 128k "$_o" ;;
    mpeg2.ts)
        _ff -f lavfi -i testsrc2=size=720x576:rate=25 -f lavfi -i sine=frequency=900:sample_rate=48000 \
            -t 4 -c:v mpeg2video -b:v 3M -c:a mp2 -shortest "$_o" ;;
    h264_aac.ts)         # H.264 + AAC in MPEG-TS (the TS fast path)
        _ff -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
            -t 3 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 128k -shortest "$_o" ;;
    h264_aac_8s.ts)      # 8 s of H.264 + AAC in MPEG-TS: past the AAC fast path's 4 s, so
                         # find_stream_info, whose window (5 s) sets AAC's average bit rate
        _ff -f lavfi -i testsrc2=size=320x240:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
            -t 8 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 96k -shortest "$_o" ;;
    hevc10_ac3.ts)       # 10-bit HEVC + AC-3 in MPEG-TS, 29.97 fps
        _ff -f lavfi -i testsrc2=size=640x360:rate=30000/1001 -f lavfi -i sine=frequency=500:sample_rate=44100 \
            -t 3 -c:v libx265 -preset ultrafast -x265-params log-level=error -pix_fmt yuv420p10le \
            -c:a ac3 -shortest "$_o" ;;
    mpeg2_ac3_wide.ts)   # MPEG-2 16:9 + AC-3 in MPEG-TS (the TS fast path)
        _ff -f lavfi -i testsrc2=size=720x576:rate=25 -f lavfi -i sine=frequency=900:sample_rate=48000 \
            -t 3 -vf setdar=16/9 -c:v mpeg2video -b:v 3M -c:a ac3 -shortest "$_o" ;;
    mpeg2_709_mp3.ts)    # MPEG-2 720p50 with BT.709 colour (a display extension), MP3
        _ff -f lavfi -i testsrc2=size=1280x720:rate=50 -f lavfi -i sine=frequency=900:sample_rate=48000 \
            -t 2 -c:v mpeg2video -b:v 5M -color_primaries bt709 -color_trc bt709 -colorspace bt709 \
            -c:a libmp3lame -shortest "$_o" ;;
    mpeg2_interlaced.ts) # MPEG-2 interlaced: find_stream_info decides the rate
        _ff -f lavfi -i testsrc2=size=720x576:rate=25 -f lavfi -i sine=frequency=900:sample_rate=48000 \
            -t 2 -c:v mpeg2video -flags +ildct+ilme -top 1 -b:v 3M -c:a mp2 -shortest "$_o" ;;
    h264_1080_ac3.ts)    # H.264 1920x1080 (coded 1088, cropped), BT.709, AC-3: the TS fast path
        _ff -f lavfi -i testsrc2=size=1920x1080:rate=30000/1001 -f lavfi -i sine=frequency=700:sample_rate=48000 \
            -t 2 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -color_primaries bt709 -color_trc bt709 \
            -colorspace bt709 -c:a ac3 -shortest "$_o" ;;
    h264_interlaced.ts)  # H.264 interlaced (MBAFF) + MP2: the TS fast path, its window read
        _ff -f lavfi -i testsrc2=size=720x576:rate=25 -f lavfi -i sine=frequency=900:sample_rate=48000 \
            -t 2 -c:v libx264 -preset ultrafast -flags +ildct+ilme -x264-params interlaced=1:tff=1 \
            -pix_fmt yuv420p -c:a mp2 -shortest "$_o" ;;
    h264_interlaced_aac.ts) # H.264 MBAFF bottom field first, 1080i 29.97, AAC (both read to the end)
        _ff -f lavfi -i testsrc2=size=1920x1080:rate=30000/1001 -f lavfi -i sine=frequency=900:sample_rate=48000 \
            -t 2 -c:v libx264 -preset ultrafast -b:v 3M -flags +ildct+ilme -x264-params interlaced=1:bff=1 \
            -pix_fmt yuv420p -c:a aac -shortest "$_o" ;;
    h264_interlaced_rate.ts) # H.264 MBAFF whose frames come twice as often after 2 s (past
                         # the first 21): ffprobe's rate is 50, so find_stream_info decides
        _ff -f lavfi -i testsrc2=size=720x576:rate=25 -t 4 \
            -vf "setpts='if(lt(N,50),N,50+(N-50)*0.5)/25/TB'" -r 50 -fps_mode vfr -c:v libx264 \
            -preset ultrafast -flags +ildct+ilme -x264-params interlaced=1:tff=1 -pix_fmt yuv420p "$_o" ;;
    h264_rate_vfr.ts)    # progressive H.264 whose frames come twice as often after 2 s (past
                         # the first 21); the SPS says 50: ffprobe's rates are 50
        _ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 4 \
            -vf "setpts='if(lt(N,50),N,50+(N-50)*0.5)/25/TB'" -r 50 -fps_mode vfr -c:v libx264 \
            -preset ultrafast -pix_fmt yuv420p "$_o" ;;
    h264_rate_concat.ts) # 2 s of H.264 at 25 fps, then 2 s at 50 (two encodes joined): the
                         # first 21 frames and the first SPS say 25, ffprobe's rates are 50
        _concat_rate "$_o" -c:v libx264 -preset ultrafast -pix_fmt yuv420p -an ;;
    mpeg2_rate_concat.ts) # the same in MPEG-2 video, with MP2
        _concat_rate "$_o" -c:v mpeg2video -b:v 1M -c:a mp2 ;;
    h264_full_sar.ts)    # H.264 full range (yuvj420p), 16:15 pixels, no audio
        _ff -f lavfi -i testsrc2=size=720x576:rate=25 -t 2 -vf setsar=16/15 -c:v libx264 -preset ultrafast \
            -pix_fmt yuvj420p "$_o" ;;
    h264_444p10.ts)      # H.264 High 4:4:4 10 bit, 50 fps
        _ff -f lavfi -i testsrc2=size=640x360:rate=50 -t 2 -c:v libx264 -preset ultrafast \
            -pix_fmt yuv444p10le "$_o" ;;
    h264_422.ts)         # H.264 High 4:2:2, 24 fps, MP2 mono
        _ff -f lavfi -i testsrc2=size=640x360:rate=24 -f lavfi -i sine=frequency=900:sample_rate=48000 \
            -t 2 -c:v libx264 -preset ultrafast -pix_fmt yuv422p -c:a mp2 -ac 1 -shortest "$_o" ;;
    h264_aac_mono.ts)    # H.264 + AAC-LC mono 44.1 kHz 64k in MPEG-TS
        _ff -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440:sample_rate=44100 \
            -t 2 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -ac 1 -b:a 64k -shortest "$_o" ;;
    h264_aac51.ts)       # H.264 + AAC-LC 5.1 48 kHz in MPEG-TS
        _ff -f lavfi -i testsrc2=size=640x360:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
            -t 2 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -ac 6 -shortest "$_o" ;;
    aac_22k.ts)          # AAC-LC 22.05 kHz alone (could be HE-AAC's core: the decoder decides)
        _ff -f lavfi -i sine=frequency=440:sample_rate=22050 -t 2 -c:a aac -b:a 48k "$_o" ;;
    hevc_hdr_aac.ts)     # HEVC Main 10 1080p, BT.2020 + PQ, 4:3 pixels, AAC: the TS fast path
        _ff -f lavfi -i testsrc2=size=1920x1080:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
            -t 2 -vf setsar=4/3 -c:v libx265 -preset ultrafast -x265-params log-level=error \
            -pix_fmt yuv420p10le -color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc \
            -c:a aac -shortest "$_o" ;;
    hevc_422.ts)         # HEVC 4:2:2 10 bit
        _ff -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -c:v libx265 -preset ultrafast \
            -x265-params log-level=error -pix_fmt yuv422p10le "$_o" ;;
    hevc_444_full.ts)    # HEVC 4:4:4 8 bit, then full range 4:2:0 (yuvj420p) in another clip
        _ff -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -c:v libx265 -preset ultrafast \
            -x265-params log-level=error -pix_fmt yuv444p "$_o" ;;
    hevc_full.ts)
        _ff -f lavfi -i testsrc2=size=640x360:rate=25 -t 2 -c:v libx265 -preset ultrafast \
            -x265-params log-level=error -pix_fmt yuvj420p "$_o" ;;
    hevc_interlaced.ts)  # HEVC coded as fields (each 720x576 picture a field): the TS fast path
        _ff -f lavfi -i testsrc2=size=720x576:rate=25 -t 2 -c:v libx265 -preset ultrafast \
            -x265-params log-level=error:interlace=tff "$_o" ;;
    hevc_fields.ts)      # HEVC, 576i's fields at 50 a second (720x288), bottom first, AAC
        _ff -f lavfi -i testsrc2=size=720x576:rate=25 -f lavfi -i sine=frequency=900:sample_rate=48000 \
            -t 2 -vf separatefields -c:v libx265 -preset ultrafast \
            -x265-params log-level=error:interlace=bff -c:a aac -shortest "$_o" ;;
    anamorphic.mp4)      # 720x576 with 16:15 pixels
        _ff -f lavfi -i testsrc2=size=720x576:rate=25 -t 4 -vf setsar=16/15 -c:v libx264 -preset ultrafast \
            -pix_fmt yuv420p "$_o" ;;
    silent_video.mp4)    # no audio at all, 1280x720, 8 s
        _ff -f lavfi -i testsrc2=size=1280x720:rate=30 -t 8 -c:v libx264 -preset ultrafast \
            -pix_fmt yuv420p -movflags +faststart "$_o" ;;
    vfr.mp4)             # 3 s at 30 fps whose frames after the first 30
                         # come every 1.5 frame periods (variable rate)
        _ff -f lavfi -i testsrc2=size=320x240:rate=30 -t 3 \
            -vf "setpts='if(lt(N,30),N,30+(N-30)*1.5)/30/TB'" -fps_mode vfr -c:v libx264 \
            -preset ultrafast -pix_fmt yuv420p "$_o" ;;
    yuv444.mp4)          # H.264 High 4:4:4 Predictive
        _ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -c:v libx264 -preset ultrafast \
            -pix_fmt yuv444p "$_o" ;;
    h264_10bit.mp4)      # H.264 High 10, yuv420p10le
        _ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -c:v libx264 -preset ultrafast \
            -pix_fmt yuv420p10le "$_o" ;;
    baseline.mp4)        # H.264 Constrained Baseline
        _ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -c:v libx264 -preset ultrafast \
            -profile:v baseline -pix_fmt yuv420p "$_o" ;;
    *) echo "media_make: unknown clip $_n" >&2; return 1 ;;
    esac
    _rc=$?
    if [ $_rc -ne 0 ] || [ ! -s "$_o" ]; then
        rm -f "$_o"
        echo "media_make: could not make $_n" >&2
        return 1
    fi
    mv -f "$_o" "$_final"
}

MEDIA_SUITE="h264_aac_720p.mp4 h264_short.mp4 vertical_1080x1920.mp4 rotated.mp4 hevc_hdr10.mp4 vp9_opus.webm prores_pcm.mov h264_ntsc.mkv audio_only.m4a mpeg2.ts anamorphic.mp4 silent_video.mp4"

media_all() {
    mkdir -p "$1"
    for _c in $MEDIA_SUITE; do
        media_make "$1" "$_c" || return 1
    done
}

# ---- decode analysis (analyse.c) -----------------------------------------
# Clips with one known defect each, for tests/cli/analyse.sh: 640x360 25 fps
# h264 + AAC 48 kHz stereo, 10 s, the rest of the picture moving (testsrc2)
# and the rest of the sound a 1 kHz tone at about -14 LUFS (-13 dBTP);
# a key frame every second, as in clips made for the web.
#
#   analyse_clean.mp4      no defect
#   analyse_black.mp4      black picture from 3 s to 5 s
#   analyse_freeze.mp4     picture frozen from 2 s to 6 s (frames 50-149
#                          repeat frame 50)
#   analyse_silence.mp4    digital silence from 3 s to 6 s
#   analyse_loud.mp4       full-scale tone: about -3 LUFS, 11 LU above the
#                          others, true peak about -2 dBTP
#   analyse_edges.mp4      black for the first 1 s and the last 1.5 s
#   analyse_mute.mp4       moving picture, silent throughout
#   analyse_truncated.mkv  a 10 s Matroska file cut in half: the header still
#                          says 10 s (probe can not tell, analysis must)
#   analyse_truncated.mp4  a 6 s faststart MP4 with its mdat cut in half (the
#                          index at the front points past the end)
#   analyse_gap.mp4        8 s, no sound, a 2 s hole in the timestamps at 4 s
#   analyse_damaged.mp4    analyse_clean.mp4 with bytes overwritten in the
#                          middle of its media data

_an_video="testsrc2=size=640x360:rate=25"
_an_tone="sine=frequency=1000:sample_rate=48000"

# _an_make OUT VIDEO_FILTER AUDIO_FILTER [EXTRA...]: a 10 s analysis clip
_an_make() {
    _ao=$1; _avf=$2; _aaf=$3; shift 3
    _ff -f lavfi -i "$_an_video" -f lavfi -i "$_an_tone" -t 10 \
        -vf "$_avf" -af "$_aaf" -c:v libx264 -preset ultrafast -g 25 -pix_fmt yuv420p \
        -c:a aac -b:a 128k -ac 2 -movflags +faststart "$@" "$_ao"
}

# media_variant SRC DST N: a copy of the MP4 file SRC with a 'free' box
# holding N appended: demuxed and decoded exactly like SRC, but with its
# own content hash (identical files are analysed only once, so tests that
# need many files to decode use variants, not links)
media_variant() {
    cp "$1" "$2" || return 1
    # box size (big-endian, 8 + payload), type, payload
    printf "\\000\\000\\000\\$(printf '%03o' $((8 + ${#3})))free%s" "$3" >> "$2"
}

# media_make_analyse DIR NAME: make one analysis clip DIR/NAME (media_make
# knows only the suite above; this one follows the same temporary-name
# then rename rule, since tests share the clip folder)
media_make_analyse() {
    _d=$1; _n=$2; _final="$_d/$_n"
    [ -s "$_final" ] && return 0
    _o="$_d/.part$$.$_n"
    # about -14 LUFS: the sine source is at 1/8 (-18 dBFS) and comes out
    # of the AAC encoder 2 dB lower (-13 dBTP)
    _tone="volume=2.24"
    case $_n in
    analyse_clean.mp4)
        _an_make "$_o" "null" "$_tone" ;;
    analyse_black.mp4)
        _an_make "$_o" "drawbox=c=black:t=fill:enable='gte(t,3)*lt(t,5)'" "$_tone" ;;
    analyse_freeze.mp4)
        _an_make "$_o" "split[a][b];[a][b]freezeframes=first=50:last=149:replace=50" "$_tone" ;;
    analyse_silence.mp4)
        _an_make "$_o" "null" "$_tone,volume=enable='gte(t,3)*lt(t,6)':volume=0" ;;
    analyse_loud.mp4)
        _an_make "$_o" "null" "volume=8" ;;
    analyse_edges.mp4)
        _an_make "$_o" "drawbox=c=black:t=fill:enable='lt(t,1)+gte(t,8.5)'" "$_tone" ;;
    analyse_mute.mp4)
        _an_make "$_o" "null" "volume=0" ;;
    analyse_truncated.mkv)
        _ff -f lavfi -i "$_an_video" -f lavfi -i "$_an_tone" -t 10 -af "$_tone" -c:v libx264 \
            -preset ultrafast -g 25 -pix_fmt yuv420p -c:a aac -b:a 128k -ac 2 "$_o.full.mkv" &&
        _sz=$(wc -c < "$_o.full.mkv") &&
        head -c $((_sz / 2)) "$_o.full.mkv" > "$_o" && rm -f "$_o.full.mkv" ;;
    analyse_truncated.mp4)
        _ff -f lavfi -i "$_an_video" -f lavfi -i "$_an_tone" -t 6 -af "$_tone" -c:v libx264 \
            -preset ultrafast -g 25 -pix_fmt yuv420p -c:a aac -b:a 128k -ac 2 -movflags +faststart "$_o.full.mp4" &&
        _sz=$(wc -c < "$_o.full.mp4") &&
        head -c $((_sz / 2)) "$_o.full.mp4" > "$_o" && rm -f "$_o.full.mp4" ;;
    analyse_gap.mp4)     # no sound; frames 0-99, then a 2 s hole, then 50 more
        _ff -f lavfi -i "$_an_video" -t 8 -vf "setpts='PTS+gte(N,100)*2/TB'" -fps_mode passthrough \
            -c:v libx264 -preset ultrafast -g 25 -pix_fmt yuv420p "$_o" ;;
    analyse_damaged.mp4) # 40 runs of 64 bytes overwritten from a third of the way in
        _an_make "$_o.full.mp4" "null" "$_tone" &&
        _sz=$(wc -c < "$_o.full.mp4") && _i=0 &&
        while [ $_i -lt 40 ]; do
            head -c 64 /dev/zero | tr '\000' '\377' |
                dd of="$_o.full.mp4" bs=1 seek=$((_sz / 3 + _i * 20011)) conv=notrunc 2>/dev/null ||
                break
            _i=$((_i + 1))
        done && [ $_i -eq 40 ] && mv "$_o.full.mp4" "$_o" ;;
    *) echo "media_make_analyse: unknown clip $_n" >&2; return 1 ;;
    esac
    _rc=$?
    rm -f "$_o.full.mkv" "$_o.full.mp4"
    if [ $_rc -ne 0 ] || [ ! -s "$_o" ]; then
        rm -f "$_o"
        echo "media_make_analyse: could not make $_n" >&2
        return 1
    fi
    mv -f "$_o" "$_final"
}

MEDIA_ANALYSE="analyse_clean.mp4 analyse_black.mp4 analyse_freeze.mp4 analyse_silence.mp4 analyse_loud.mp4 analyse_edges.mp4 analyse_mute.mp4 analyse_truncated.mkv analyse_truncated.mp4 analyse_gap.mp4 analyse_damaged.mp4"

# media_analyse_all DIR: make the analysis clips into DIR
media_analyse_all() {
    mkdir -p "$1"
    for _c in $MEDIA_ANALYSE; do
        media_make_analyse "$1" "$_c" || return 1
    done
}

# ---- thumbnails (thumbs.c) ------------------------------------------------
# Clips for tests/cli/thumbs.sh, made like media_make's (temporary name,
# then rename, since tests share the clip folder).
#
#   thumbs_black_start.mp4  1280x720 25 fps h264, 2 s of black then 4 s of
#                           testsrc2: early thumbnails must move off black

# media_make_thumbs DIR NAME
media_make_thumbs() {
    _d=$1; _n=$2; _final="$_d/$_n"
    [ -s "$_final" ] && return 0
    _o="$_d/.part$$.$_n"
    case $_n in
    thumbs_black_start.mp4)
        _ff -f lavfi -i color=black:size=1280x720:rate=25:duration=2 \
            -f lavfi -i testsrc2=size=1280x720:rate=25:duration=4 \
            -filter_complex '[0:v][1:v]concat=n=2:v=1:a=0' -c:v libx264 -preset ultrafast \
            -pix_fmt yuv420p "$_o" ;;
    *) echo "media_make_thumbs: unknown clip $_n" >&2; return 1 ;;
    esac
    _rc=$?
    if [ $_rc -ne 0 ] || [ ! -s "$_o" ]; then
        rm -f "$_o"
        echo "media_make_thumbs: could not make $_n" >&2
        return 1
    fi
    mv -f "$_o" "$_final"
}

# ---- hostile and awkward inputs (mediaio.c, probe.c, thumbs) --------------
# Made like media_make's (temporary name, then rename). Python patches the
# bytes where a file must lie; nothing here is fetched from outside.
#
#   hostile_unknown_codec.mkv  2 s 320x240 H.264 in Matroska, its CodecID
#                              "V_MPEG4/ISO/AVC" overwritten with
#                              "V_UNKNOWN/CODEC" (same length): a video
#                              track no FFmpeg has a decoder for
#   hostile_header_liar.mp4    6 s 320x256 H.264 + AAC whose tkhd and avc1
#                              sample entry declare 1920x1080 (ffprobe,
#                              which decodes, says 320x256)
#   hostile_dead_video.mp4     4 s 640x360 H.264 whose video samples are all
#                              zeros: the header probes fine, nothing decodes
#   hostile_gzip_bomb.mp4      a 2 MB gzip file of about 2 GB of zeros
#   hostile_streams.mkv        one 0.4 s 160x120 H.264 stream mapped 120 times:
#                              more streams than an item may have
#   hostile_giant_frame.mkv    one PNG frame of 9000x9000 pixels (243 MB once
#                              decoded, 240 KB of black as PNG) in Matroska
#   onekey_h264.ts             8 s 640x360 25 fps H.264 in MPEG-TS, libx264's
#                              default GOP (one key frame, as in every x264
#                              clip of 10 s or less), the hue turning 51
#                              degrees a frame so that each frame differs
#   onekey_mpeg2.ts            the same picture in MPEG-2 video, one GOP
#   onekey_mpeg2.mpg           the same in MPEG-PS (.mpg: its streams appear
#                              with their first packets, no header)

# _patch_py SCRIPT IN OUT: run a patcher
_patch_py() { "${PYTHON3:-python3}" -c "$1" "$2" "$3"; }

_py_unknown_codec='
import sys
d = open(sys.argv[1], "rb").read()
old, new = b"V_MPEG4/ISO/AVC", b"V_UNKNOWN/CODEC"
assert d.count(old) == 1 and len(old) == len(new)
open(sys.argv[2], "wb").write(d.replace(old, new))
'

# Offsets from the start of each box (its size field):
#   tkhd v0: 8 header + 4 version/flags + 20 (creation, modification,
#            track id, reserved, duration) + 8 reserved + 8 (layer,
#            alternate group, volume, reserved) + 36 matrix = 84: width,
#            then height, 16.16 fixed point (v1: 12 more, for the 64-bit
#            times and duration)
#   avc1:    8 header + 6 reserved + 2 data reference index + 16
#            pre-defined/reserved = 32: width, then height, 16-bit
_py_header_liar='
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
W, H = 1920, 1080
def walk(start, end):
    while start + 8 <= end:
        size, typ = struct.unpack(">I4s", d[start:start + 8])
        if size < 8:
            return
        if typ in (b"moov", b"trak", b"mdia", b"minf", b"stbl"):
            yield from walk(start + 8, start + size)
        else:
            yield start, typ
        start += size
done = 0
for pos, typ in walk(0, len(d)):
    if typ == b"tkhd":
        tkhd = pos
    elif typ == b"stsd":
        entry = pos + 16          # full box header 12 + entry count 4
        if d[entry + 4:entry + 8] == b"avc1":
            o = tkhd + (96 if d[tkhd + 8] == 1 else 84)
            struct.pack_into(">II", d, o, W << 16, H << 16)
            struct.pack_into(">HH", d, entry + 32, W, H)
            done += 1
assert done == 1, "no avc1 track"
open(sys.argv[2], "wb").write(d)
'

# Zero every video sample: the sizes and offsets come from the video
# track's stsz and stco (one chunk per sample is not assumed: stsc says
# how many samples each chunk has).
_py_dead_video='
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
def walk(start, end):
    while start + 8 <= end:
        size, typ = struct.unpack(">I4s", d[start:start + 8])
        if size < 8:
            return
        yield start, size, typ
        if typ in (b"moov", b"trak", b"mdia", b"minf", b"stbl"):
            yield from walk(start + 8, start + size)
        start += size
trak = None
for pos, size, typ in walk(0, len(d)):
    if typ == b"trak":
        trak, boxes = (pos, size), {}
    elif trak and pos < trak[0] + trak[1]:
        boxes[typ] = pos
        if typ == b"stsd" and d[pos + 20:pos + 24] == b"avc1":
            video = boxes
n = struct.unpack(">I", d[video[b"stsz"] + 16:video[b"stsz"] + 20])[0]
sizes = struct.unpack(">%dI" % n, d[video[b"stsz"] + 20:video[b"stsz"] + 20 + 4 * n])
nc = struct.unpack(">I", d[video[b"stco"] + 12:video[b"stco"] + 16])[0]
chunks = struct.unpack(">%dI" % nc, d[video[b"stco"] + 16:video[b"stco"] + 16 + 4 * nc])
ns = struct.unpack(">I", d[video[b"stsc"] + 12:video[b"stsc"] + 16])[0]
runs = [struct.unpack(">III", d[video[b"stsc"] + 16 + 12 * i:video[b"stsc"] + 28 + 12 * i])
        for i in range(ns)]
s = 0
for c in range(nc):
    per = [r[1] for r in runs if r[0] <= c + 1][-1]
    off = chunks[c]
    for _ in range(per):
        d[off:off + sizes[s]] = bytes(sizes[s])
        off += sizes[s]
        s += 1
assert s == n
open(sys.argv[2], "wb").write(d)
'

# A gzip stream of zeros built from one deflate block repeated: after a
# full flush the compressor turns the same input into the same bytes, so
# the bomb costs a small compression, not gigabytes of it.
_py_gzip_bomb='
import struct, sys, zlib
chunk = bytes(1 << 20)
co = zlib.compressobj(9, zlib.DEFLATED, -15)
first = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)
rep = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)
n = (2000000 - len(first)) // len(rep)
crc = 0
for _ in range(n + 1):
    crc = zlib.crc32(chunk, crc)
with open(sys.argv[2], "wb") as f:
    f.write(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + first + rep * n)
    f.write(co.flush(zlib.Z_FINISH) + struct.pack("<II", crc, ((n + 1) << 20) & 0xffffffff))
'

# A black 9000x9000 RGB PNG, written row by row (never 243 MB at once).
_py_giant_png='
import struct, sys, zlib
W = H = 9000
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
co = zlib.compressobj(9)
row = bytes(1 + 3 * W)
idat = b"".join(co.compress(row) for _ in range(H)) + co.flush()
with open(sys.argv[2], "wb") as f:
    f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0)))
    f.write(chunk(b"IDAT", idat) + chunk(b"IEND", b""))
'

_onekey_src="testsrc2=size=640x360:rate=25"

# media_make_hostile DIR NAME
media_make_hostile() {
    _d=$1; _n=$2; _final="$_d/$_n"
    [ -s "$_final" ] && return 0
    _o="$_d/.part$$.$_n"
    case $_n in
    hostile_unknown_codec.mkv)
        _ff -f lavfi -i testsrc2=size=320x240:rate=25 -t 2 -c:v libx264 -preset ultrafast \
            -pix_fmt yuv420p "$_o.src.mkv" && _patch_py "$_py_unknown_codec" "$_o.src.mkv" "$_o" ;;
    hostile_header_liar.mp4)
        _ff -f lavfi -i testsrc2=size=320x256:rate=25 -f lavfi -i sine=frequency=440:sample_rate=48000 \
            -t 6 -c:v libx264 -preset ultrafast -pix_fmt yuv420p -c:a aac -b:a 160k \
            -movflags +faststart -shortest "$_o.src.mp4" &&
        _patch_py "$_py_header_liar" "$_o.src.mp4" "$_o" ;;
    hostile_dead_video.mp4)
        _ff -f lavfi -i testsrc2=size=640x360:rate=25 -t 4 -c:v libx264 -preset ultrafast \
            -pix_fmt yuv420p -movflags +faststart "$_o.src.mp4" &&
        _patch_py "$_py_dead_video" "$_o.src.mp4" "$_o" ;;
    hostile_gzip_bomb.mp4)
        _patch_py "$_py_gzip_bomb" - "$_o" ;;
    hostile_giant_frame.mkv)
        _patch_py "$_py_giant_png" - "$_o.src.png" &&
        _ff -f image2 -c:v png -framerate 1 -i "$_o.src.png" -c copy -t 1 "$_o" ;;
    hostile_streams.mkv)
        _ff -f lavfi -i testsrc2=size=160x120:rate=25 -t 0.4 -c:v libx264 -preset ultrafast \
            -pix_fmt yuv420p "$_o.src.mkv" &&
        _ff -i "$_o.src.mkv" $(_i=0; while [ $_i -lt 120 ]; do printf -- '-map 0:v '; _i=$((_i + 1)); done) \
            -c copy "$_o" ;;
    onekey_h264.ts)
        _ff -f lavfi -i "$_onekey_src" -t 8 -vf hue=h=n*51 -c:v libx264 -preset ultrafast \
            -pix_fmt yuv420p "$_o" ;;
    onekey_mpeg2.ts)
        _ff -f lavfi -i "$_onekey_src" -t 8 -vf hue=h=n*51 -c:v mpeg2video -g 1000 -b:v 3M "$_o" ;;
    onekey_mpeg2.mpg)
        _ff -f lavfi -i "$_onekey_src" -t 8 -vf hue=h=n*51 -c:v mpeg2video -g 1000 -b:v 3M \
            -f vob "$_o" ;;
    *) echo "media_make_hostile: unknown clip $_n" >&2; return 1 ;;
    esac
    _rc=$?
    rm -f "$_o.src.mkv" "$_o.src.mp4" "$_o.src.png"
    if [ $_rc -ne 0 ] || [ ! -s "$_o" ]; then
        rm -f "$_o"
        echo "media_make_hostile: could not make $_n" >&2
        return 1
    fi
    mv -f "$_o" "$_final"
}
