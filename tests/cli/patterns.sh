#!/bin/sh
# patterns.sh - patterns match paths too: `**`, `sub/*.mp4`, braces, and
# `--exclude DIR` skips a folder (fnmatch and glob, nothing hand-written).
. "$TOP_SRCDIR/tests/lib/testlib.sh"

P="$T/in"
mkdir -p "$P/sub/deep" "$P/drafts" "$P/sub/drafts"
for f in a.mp4 b.mov c.mkv sub/d.mp4 sub/deep/e.mp4 drafts/f.mp4 sub/drafts/g.mp4; do
    cp "$(clip h264_short.mp4)" "$P/$f"
done
# taken WANT ARGS...: the sources a run with ARGS takes, sorted, relative to $P
taken() {
    _w=$1; shift
    "$VBATCH" -q process "$P" -o "$T/out" --force --allow-empty "$@"
    _got=$("$PYTHON3" -c 'import json,sys; d=json.load(open(sys.argv[1])); print(" ".join(sorted(i["source"][len(sys.argv[2])+1:] for i in d["items"])))' \
        "$T/out/summary/batch_report.json" "$P")
    if [ "$_got" = "$_w" ]; then ok "$* takes $_w"; else fail "$*: took '$_got', expected '$_w'"; fi
}
taken "a.mp4 drafts/f.mp4 sub/d.mp4 sub/deep/e.mp4 sub/drafts/g.mp4" -p '**/*.mp4'
taken "sub/d.mp4" -p 'sub/*.mp4'
taken "a.mp4 b.mov" -p '*.{mp4,mov}'
taken "a.mp4 b.mov drafts/f.mp4 sub/d.mp4 sub/deep/e.mp4 sub/drafts/g.mp4" -r -p '*.{mp4,mov}'
taken "sub/d.mp4 sub/deep/e.mp4 sub/drafts/g.mp4" -p 'sub/**'
taken "sub/deep/e.mp4" -p '**/deep/*.mp4'
taken "a.mp4 b.mov c.mkv sub/d.mp4 sub/deep/e.mp4" -r -x drafts
taken "a.mp4 b.mov c.mkv drafts/f.mp4 sub/d.mp4 sub/deep/e.mp4" -r -x sub/drafts
taken "a.mp4 b.mov c.mkv drafts/f.mp4 sub/d.mp4 sub/drafts/g.mp4" -r -x 'deep/'
taken "b.mov c.mkv" -r -x '**/*.mp4'
# The same from a preset's [input] keys; a comma inside braces does not
# split a glob there.
printf '[input]\npatterns = sub/*.mp4 *.mkv\nexclude = c.*\n' > "$T/in.ini"
taken "sub/d.mp4" -c "$T/in.ini"
printf '[input]\npatterns = *.{mp4,mov}, *.mkv\n' > "$T/in2.ini"
taken "a.mp4 b.mov c.mkv" -c "$T/in2.ini"

finish
