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
    anamorphic.mp4)      # 720x576 with 16:15 pixels
        _ff -f lavfi -i testsrc2=size=720x576:rate=25 -t 4 -vf setsar=16/15 -c:v libx264 -preset ultrafast \
            -pix_fmt yuv420p "$_o" ;;
    silent_video.mp4)    # no audio at all, 1280x720, 8 s
        _ff -f lavfi -i testsrc2=size=1280x720:rate=30 -t 8 -c:v libx264 -preset ultrafast \
            -pix_fmt yuv420p -movflags +faststart "$_o" ;;
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
