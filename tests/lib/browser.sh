# browser.sh - headless Chromium for the report tests (sourced after
# testlib.sh). Pages are opened as file:// URLs with a fresh profile, no
# network and a time limit; the DOM is taken after the page's scripts ran.
#
#   browser_find             set CHROMIUM to the browser, or return 1
#   browser_url FILE [FRAG]  the file:// URL of FILE, with #FRAG
#   browser_dom URL OUT      the DOM after scripts ran into OUT
#   browser_shot URL PNG W,H a screenshot of the window size W,H
#   browser_pdf URL PDF      the page as printed

browser_find() {
    CHROMIUM=
    for _c in "${CHROMIUM_BIN:-}" /usr/bin/chromium /usr/bin/chromium-browser; do
        [ -n "$_c" ] && [ -x "$_c" ] && CHROMIUM=$_c && return 0
    done
    return 1
}

browser_url() {
    "$PYTHON3" -c 'import pathlib, sys; print(pathlib.Path(sys.argv[1]).resolve().as_uri() + (("#" + sys.argv[2]) if len(sys.argv) > 2 and sys.argv[2] else ""))' "$@"
}

# _browser ARGS...: chromium headless, its own profile, nothing fetched
_browser() {
    _prof=$(mktemp -d)
    _to=
    command -v timeout >/dev/null 2>&1 && _to="timeout 120"
    $_to "$CHROMIUM" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --disable-quic \
        --no-first-run --disable-background-networking --disable-component-update --disable-sync \
        --hide-scrollbars --mute-audio --user-data-dir="$_prof" --virtual-time-budget=5000 "$@" \
        2>>"$T/chromium.log"
    _rc=$?
    rm -rf "$_prof"
    return $_rc
}

browser_dom() {
    _browser --dump-dom "$1" > "$2"
}

browser_shot() {
    _browser --screenshot="$2" --window-size="$3" "$1" > /dev/null
}

# browser_pdf URL PDF: the page as printed
browser_pdf() {
    _browser --no-pdf-header-footer --print-to-pdf="$2" "$1" > /dev/null
}
