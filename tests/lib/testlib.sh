# testlib.sh - sourced by the command-line tests. The harness exports
# VBATCH (the binary), TOP_SRCDIR, TEST_TMP and PYTHON3.
set -u
: "${VBATCH:?VBATCH not set}"
: "${TOP_SRCDIR:?TOP_SRCDIR not set}"
: "${TEST_TMP:=/tmp/vbatch-tests}"
: "${PYTHON3:=python3}"
. "$TOP_SRCDIR/tests/lib/media.sh"

TEST_NAME=$(basename "$0" .sh)
T="$TEST_TMP/$TEST_NAME"
CLIPS="$TEST_TMP/clips"
rm -rf "$T"
mkdir -p "$T" "$CLIPS"
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
# check DESC CMD...: run CMD, fail with DESC if it fails
check() { _d=$1; shift; if "$@"; then ok "$_d"; else fail "$_d"; fi; }
# expect_status N DESC CMD...: CMD must exit with N
expect_status() {
    _want=$1; _d=$2; shift 2
    "$@"; _got=$?
    if [ "$_got" -eq "$_want" ]; then ok "$_d (exit $_got)"; else fail "$_d: exit $_got, expected $_want"; fi
}
need_tool() { command -v "$1" >/dev/null 2>&1 || { echo "SKIP: $1 not installed"; exit 77; }; }
clip() { media_make "$CLIPS" "$1" || { echo "cannot synthesise $1" >&2; exit 99; }; echo "$CLIPS/$1"; }
# jq-like checks with Python: pyjson FILE EXPR (d is the document; EXPR must be true)
pyjson() {
    "$PYTHON3" - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ok = eval(sys.argv[2])
if not ok:
    print("expression false:", sys.argv[2], file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}
finish() {
    if [ "$failures" -ne 0 ]; then echo "$failures check(s) failed"; exit 1; fi
    echo "all checks passed"; exit 0
}
need_tool ffmpeg
need_tool ffprobe
# throttled CMD...: run CMD with tests/lib/throttle.so preloaded (set the
# THROTTLE_* variables for it; see throttle.c). ASan wants to come first
# among the libraries, which a preloaded one prevents: told not to mind.
need_throttle() { [ -r "${THROTTLE_SO:-}" ] || { echo "SKIP: tests/lib/throttle.so not built"; exit 77; }; }
throttled() {
    LD_PRELOAD="$THROTTLE_SO" ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
}
# httpd_start ROOT [LIFETIME]: tests/lib/httpd.py serving ROOT (default
# lifetime 300 s) in the background; sets HTTPD_PID and HTTPD_URL
# (http://127.0.0.1:PORT). Exits 99 if it does not come up. httpd_stop
# ends it (safe to call twice, e.g. from an EXIT trap).
HTTPD_PID=
HTTPD_URL=
httpd_start() {
    _hp="$T/httpd.port.$$"
    rm -f "$_hp"
    "$PYTHON3" "$TOP_SRCDIR/tests/lib/httpd.py" --root "$1" --port-file "$_hp" \
        --lifetime "${2:-300}" &
    HTTPD_PID=$!
    _hi=0
    while [ ! -s "$_hp" ]; do
        _hi=$((_hi + 1))
        [ $_hi -gt 100 ] && { echo "test server did not start" >&2; exit 99; }
        sleep 0.1
    done
    HTTPD_URL=http://127.0.0.1:$(cat "$_hp")
}
httpd_stop() { [ -z "$HTTPD_PID" ] || kill "$HTTPD_PID" 2>/dev/null; HTTPD_PID=; }
