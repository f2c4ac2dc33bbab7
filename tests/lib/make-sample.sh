#!/bin/sh
# make-sample.sh DIR - a small sample folder for `make demo` and the
# README's quick start: four clips synthesised with the ffmpeg CLI (see
# media.sh). With --preset kling-clip, h264_aac_720p.mp4 and
# silent_video.mp4 and vertical_1080x1920.mp4 pass, h264_short.mp4 fails
# the duration gate (2 s).
set -u

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 DIR" >&2
    exit 2
fi
dir=$1
here=$(dirname "$0")
# shellcheck source=tests/lib/media.sh
. "$here/media.sh"

if ! command -v "$FFMPEG" >/dev/null 2>&1; then
    echo "make-sample.sh: $FFMPEG not found (install the Debian package ffmpeg)" >&2
    exit 1
fi

mkdir -p "$dir" || exit 1
# Made side by side: the four encodes take a few seconds together.
clips="h264_aac_720p.mp4 silent_video.mp4 vertical_1080x1920.mp4 h264_short.mp4"
pids=
for clip in $clips; do
    media_make "$dir" "$clip" &
    pids="$pids $!"
done
status=0
for p in $pids; do
    wait "$p" || status=1
done
if [ $status -ne 0 ]; then
    echo "make-sample.sh: could not make the sample clips in $dir" >&2
    exit 1
fi
echo "sample folder $dir: $clips"
