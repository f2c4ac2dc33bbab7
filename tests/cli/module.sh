#!/bin/sh
# The media module (vbatch-media.so): libvips, libavfilter and libswscale
# are loaded only by runs that analyse, make thumbnails or read images
# (the dynamic loader's own log, LD_DEBUG=libs, says what was loaded:
# not by --version, probe, status, report, probe-only runs, nor a deep
# run whose analyses are all reused);
# without the module those items fail with a clear message at their stage
# (exit 3) while everything else still works.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

IN="$T/in"; mkdir -p "$IN"
for c in h264_aac_720p.mp4 silent_video.mp4; do
    cp "$(clip $c)" "$IN/" || exit 99
done
_ff -f lavfi -i testsrc2=size=320x240 -frames:v 1 "$T/still.png" || exit 99

MEDIA_LIBS='vbatch-media\.so|libvips|libavfilter|libswscale'
# loads NAME CMD...: run CMD with the loader's log on; true if it loaded
# the media module or one of its libraries (the log is kept in $T/NAME.ld)
loads() {
    _n=$1; shift
    LD_DEBUG=libs LD_DEBUG_OUTPUT="$T/$_n.ld" "$@" > "$T/$_n.out" 2> "$T/$_n.err"
    echo "$?" > "$T/$_n.rc"
    cat "$T/$_n.ld".* 2>/dev/null | grep -Eq "(find library|calling init): .*($MEDIA_LIBS)|file=.*($MEDIA_LIBS)"
}
rc_of() { cat "$T/$1.rc"; }
no_load() {
    _n=$1
    if loads "$@"; then
        fail "$_n loaded the media module or its libraries:"
        cat "$T/$_n.ld".* | grep -E "($MEDIA_LIBS)" | head -5 >&2
    else
        ok "$_n does not load the media module"
    fi
}

OUT="$T/out"
no_load version "$VBATCH" --version
check "--version exits 0" [ "$(rc_of version)" -eq 0 ]
check "--version names libvips without loading it" grep -q "libvips" "$T/version.out"
no_load probe "$VBATCH" probe "$IN/h264_aac_720p.mp4"
check "probe exits 0" [ "$(rc_of probe)" -eq 0 ]
no_load process "$VBATCH" process "$IN" --output "$OUT" --quiet
check "probe-only process exits 0" [ "$(rc_of process)" -eq 0 ]
check "probe-only process wrote probe.json" test -s "$OUT/h264_aac_720p/metadata/probe.json"
no_load status "$VBATCH" status --output "$OUT"
check "status exits 0" [ "$(rc_of status)" -eq 0 ]

# The other way round, so that the checks above can fail: analysis and
# thumbnails do load it (and its libraries).
D="$T/deep"
if loads deep "$VBATCH" process "$IN" --output "$D" --deep --thumbnails --quiet; then
    ok "--deep --thumbnails loads the media module"
else
    fail "--deep --thumbnails did not load the media module (or the log test is broken)"
fi
check "--deep loads libavfilter" sh -c "cat '$T'/deep.ld.* | grep -Eq 'file=.*libavfilter'"
# libavfilter is opened when the analysis or a fix first needs it:
# thumbnails alone load the module without it (avfilter-lazy.c).
if loads thumbsonly "$VBATCH" process "$IN" --output "$T/thumbsonly" --thumbnails --quiet; then
    ok "--thumbnails loads the media module"
else
    fail "--thumbnails did not load the media module"
fi
check "--thumbnails alone does not load libavfilter" \
    sh -c "! cat '$T'/thumbsonly.ld.* | grep -Eq 'file=.*libavfilter'"
check "--thumbnails alone: contact sheets made" test -s "$T/thumbsonly/h264_aac_720p/contact.jpg"
check "--deep --thumbnails exits 0" [ "$(rc_of deep)" -eq 0 ]
for f in metadata/analysis.json metadata/thumbnails.json contact.jpg thumbnails/thumb-01.jpg; do
    check "deep: $f" test -s "$D/h264_aac_720p/$f"
done
pyjson "$D/h264_aac_720p/metadata/analysis.json" 'd["has_video"] and d["has_audio"] and abs(d["integrated_lufs"]) > 1' ||
    fail "deep: analysis figures"
# Again into the same folder: the analyses of these (identical) files are
# reused, so nothing needs the module; nor do the reports.
no_load rerun "$VBATCH" process "$IN" --output "$D" --deep --quiet
check "deep again exits 0" [ "$(rc_of rerun)" -eq 0 ]
check "deep again: analysis.json kept" test -s "$D/silent_video/metadata/analysis.json"
no_load report "$VBATCH" report --output "$D" --format json
check "report exits 0" [ "$(rc_of report)" -eq 0 ]
"$VBATCH" -v --version > "$T/vversion.out"
check "-v --version loads the module and names it" \
    grep -Eq "media module .*vbatch-media\.so: libvips [0-9.]+, libavfilter [0-9.]+, libswscale" "$T/vversion.out"

# ---- without the module ----
mkdir -p "$T/empty"
VBATCH_MODULE_DIR="$T/empty"; export VBATCH_MODULE_DIR
expect_status 0 "no module: probe-only process" "$VBATCH" process "$IN" --output "$T/m0" --quiet
expect_status 0 "no module: probe" "$VBATCH" probe "$IN/silent_video.mp4" > /dev/null
expect_status 3 "no module: --thumbnails" "$VBATCH" process "$IN" --output "$T/m1" --thumbnails --quiet
E="$T/m1/summary/error_log.json"
pyjson "$E" 'len(d["errors"]) == 2 and all(e["stage"] == "thumbs" and "cannot load the media module" in e["message"] and "vbatch-media.so" in e["message"] for e in d["errors"])' ||
    fail "no module: a per-item error at the thumbs stage naming the module"
check "no module: probe.json still written" test -s "$T/m1/silent_video/metadata/probe.json"
expect_status 3 "no module: --deep" "$VBATCH" process "$IN" --output "$T/m2" --deep --quiet
pyjson "$T/m2/summary/error_log.json" 'len(d["errors"]) == 2 and all(e["stage"] == "analyse" and "cannot load the media module" in e["message"] for e in d["errors"])' ||
    fail "no module: a per-item error at the analyse stage"
# an image item fails; the videos next to it do not
cp "$T/still.png" "$IN/"
expect_status 3 "no module: an image" "$VBATCH" process "$IN" --output "$T/m3" --pattern '*.png' --pattern '*.mp4' --quiet
pyjson "$T/m3/summary/error_log.json" 'len(d["errors"]) == 1 and d["errors"][0]["stage"] == "probe" and "still.png" in d["errors"][0]["source"] and "media module" in d["errors"][0]["message"]' ||
    fail "no module: only the image fails, at the probe stage"
# a broken module: dlopen's message, no crash
yes 'not an ELF file' | head -c 8192 > "$T/empty/vbatch-media.so"
expect_status 3 "broken module: --thumbnails" "$VBATCH" process "$IN" --output "$T/m4" --thumbnails --pattern '*.mp4' --quiet
pyjson "$T/m4/summary/error_log.json" 'len(d["errors"]) == 2 and all("cannot load the media module" in e["message"] and "ELF" in e["message"] for e in d["errors"])' ||
    fail "broken module: dlerror's message per item"
"$VBATCH" -v --version > "$T/broken-version.out"
check "broken module: -v --version still exits 0" [ $? -eq 0 ]
check "broken module: -v --version says why" grep -q "cannot load the media module" "$T/broken-version.out"
unset VBATCH_MODULE_DIR
finish
