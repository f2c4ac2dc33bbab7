# oracle.sh - outside oracles for the media vbatch writes (sourced by the
# tests; needs ffmpeg, ffprobe and python3): what ffprobe says, packet
# hashes, the MP4 box order, ebur128's loudness, a clean decode.

# ffprobe's value of one entry: probe FILE SECTION=ENTRY [STREAM]
probe() {
    ffprobe -v error ${3:+-select_streams $3} -show_entries "$2" -of default=nw=1:nk=1 "$1" | head -1
}
# Packets as (stream, size, hash), stream by stream: equal for
# bit-identical copies whatever the timestamps and the interleaving.
packets() { ffmpeg -v error -i "$1" -map 0 -c copy -f framemd5 - | grep -v '^#' | awk -F, '{print $1, $5, $6}' | sort -s -k1,1n; }
# One stream's packets (v or a): packets_of FILE v
packets_of() { ffmpeg -v error -i "$1" -map "0:$2" -c copy -f framemd5 - | grep -v '^#' | awk -F, '{print $5, $6}'; }
# Top-level boxes in order, and whether any track has an edit list.
boxes() {
    "$PYTHON3" - "$1" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
def walk(b, e, path, out):
    while b + 8 <= e:
        size, kind = struct.unpack('>I4s', d[b:b + 8])
        hdr = 8
        if size == 1:
            size = struct.unpack('>Q', d[b + 8:b + 16])[0]; hdr = 16
        elif size == 0:
            size = e - b
        if size < hdr:
            break
        kind = kind.decode('latin-1')
        out.append(path + kind)
        if kind in ('moov', 'trak', 'edts', 'mdia', 'minf', 'stbl'):
            walk(b + hdr, b + size, path + kind + '/', out)
        b += size
out = []
walk(0, len(d), '', out)
top = [k for k in out if '/' not in k]
print(' '.join(top), 'elst' if any(k.endswith('/elst') for k in out) else 'no-elst')
PY
}
# ebur128's integrated loudness and true peak: I TP
loudness() {
    ffmpeg -nostdin -hide_banner -nostats -i "$1" -map 0:a -af ebur128=peak=true -f null - 2>&1 |
        awk '/^ +I:/ {i=$2} /^ +Peak:/ {p=$2} END {print i, p}'
}
# ebur128's integrated loudness of $1 to the thousandth (its summary
# rounds to a tenth): the last lavfi.r128.I it puts on the frames.
lufs_fine() {
    ffmpeg -nostdin -hide_banner -nostats -i "$1" -map 0:a \
        -af ebur128=metadata=1,ametadata=mode=print:key=lavfi.r128.I:file=- -f null - 2>/dev/null |
        awk -F= '/lavfi.r128.I/ { i = $2 } END { print i }'
}
near() { "$PYTHON3" -c "import sys; a,b,t=map(float,sys.argv[1:]); sys.exit(abs(a-b)>t)" "$1" "$2" "$3"; }
le() { "$PYTHON3" -c "import sys; a,b=map(float,sys.argv[1:]); sys.exit(not a<=b)" "$1" "$2"; }
# The ffmpeg CLI decodes the whole file without an error.
plays_clean() { [ -s "$1" ] && [ -z "$(ffmpeg -nostdin -v error -i "$1" -f null - 2>&1)" ]; }
# Frame timestamps evenly spaced (a constant frame rate).
constant_spacing() {
    ffprobe -v error -select_streams v:0 -show_entries frame=pts -of csv=p=0 "$1" | cut -d, -f1 |
        "$PYTHON3" -c "
import sys
p = [int(l) for l in sys.stdin if l.strip()]
sys.exit(len(p) < 2 or len({b - a for a, b in zip(p, p[1:])}) != 1)"
}
