# kling.sh - start, drive and stop the mock Kling server
# (tests/lib/mock_kling.py); sourced by the command-line tests and by
# bench/generate.sh. POSIX sh.
#
#   kling_start DIR [MOCK OPTIONS...]
#       start the server in the background (its stdout and stderr go to
#       DIR/mock.out and DIR/mock.err, its stats to DIR/mock-stats.json
#       when it stops); sets KLING_PID, KLING_PORT and KLING_URL (the
#       base_url to give vbatch). The keys are the environment's
#       KLING_ACCESS_KEY / KLING_SECRET_KEY unless --access-key and
#       --secret-key are given. Returns 1 if it does not come up.
#   kling_ctl stats|reset|config [JSON]   print the reply (JSON)
#   kling_stats FILE                      the stats, as JSON, into FILE
#   kling_stop                            SIGTERM and wait (stats written)
#   kling_jobs_csv FILE N                 a JOBS.csv of N text-to-video jobs
#   kling_config FILE [INI LINES...]      a config for vbatch: the mock's
#                                         base_url, quick polls, short
#                                         timeouts, then the lines given
#   kling_summary STATS.json              the stats in one line
#
# KLING_MOCK: the server script (default $TOP_SRCDIR/tests/lib/mock_kling.py)
# KLING_CACHE: where the clips are made once (default $TEST_TMP/kling-media)

: "${PYTHON3:=python3}"
KLING_MOCK=${KLING_MOCK:-${TOP_SRCDIR:-.}/tests/lib/mock_kling.py}
KLING_PID=
KLING_PORT=
KLING_URL=

kling_start() {
    _kd=$1; shift
    mkdir -p "$_kd" || return 1
    rm -f "$_kd/mock.port" "$_kd/mock-stats.json"
    _kc=${KLING_CACHE:-${TEST_TMP:+$TEST_TMP/kling-media}}
    "$PYTHON3" "$KLING_MOCK" --port-file "$_kd/mock.port" \
        --stats-file "$_kd/mock-stats.json" --lifetime 900 \
        ${_kc:+--cache-dir "$_kc"} "$@" >"$_kd/mock.out" 2>"$_kd/mock.err" &
    KLING_PID=$!
    # The first start makes the clips (a second or two); then it is quick.
    _ki=0
    while [ ! -s "$_kd/mock.port" ]; do
        if ! kill -0 "$KLING_PID" 2>/dev/null; then
            echo "kling_start: the mock server exited:" >&2
            cat "$_kd/mock.err" >&2
            KLING_PID=
            return 1
        fi
        _ki=$((_ki + 1))
        if [ $_ki -gt 600 ]; then
            echo "kling_start: the mock server did not start in 60 s" >&2
            kill "$KLING_PID" 2>/dev/null
            KLING_PID=
            return 1
        fi
        sleep 0.1
    done
    KLING_PORT=$(cat "$_kd/mock.port")
    KLING_URL=http://127.0.0.1:$KLING_PORT
    return 0
}

kling_ctl() {
    "$PYTHON3" "$KLING_MOCK" ctl "$KLING_URL" "$@"
}

kling_stats() {
    kling_ctl stats >"$1"
}

kling_stop() {
    [ -n "$KLING_PID" ] || return 0
    kill -TERM "$KLING_PID" 2>/dev/null
    wait "$KLING_PID" 2>/dev/null
    _ks=$?
    KLING_PID=
    return $_ks
}

# kling_jobs_csv FILE N: a JOBS.csv of N text-to-video jobs (ids j00001 ...)
# with the awkward cases of real prompt lists: commas, quotes and newlines
# inside prompts, both durations, the three aspect ratios, both modes.
kling_jobs_csv() {
    "$PYTHON3" - "$1" "$2" <<'PY'
import csv, sys
path, n = sys.argv[1], int(sys.argv[2])
ars = ["16:9", "9:16", "1:1"]
with open(path + ".tmp", "w", newline="", encoding="utf-8") as f:
    w = csv.writer(f)
    w.writerow(["id", "prompt", "negative_prompt", "model", "duration", "aspect_ratio", "mode",
                "cfg_scale", "image", "image_tail"])
    for i in range(1, n + 1):
        prompt = 'shot %d: a "red" kite, slow pan,\nover the sea at dusk' % i
        w.writerow(["j%05d" % i, prompt, "blur, text" if i % 2 else "", "kling-v2-6",
                    "10" if i % 5 == 0 else "5", ars[i % 3], "pro" if i % 7 == 0 else "std",
                    "0.5", "", ""])
import os
os.replace(path + ".tmp", path)
PY
}

# kling_summary STATS.json: one line from the server's stats: tasks, peak
# concurrency, peak creates per minute, most creates and tasks per
# external_task_id, duplicates, rejections, injected faults and units.
kling_summary() {
    "$PYTHON3" - "$1" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
print("mock: %d tasks (%s), peak concurrent %d, peak creates/min %d, max creates per "
      "external id %d, max tasks per external id %d, duplicate creates %d, rejected %s, "
      "injected %s, units %g, requests %s" % (
      s["tasks_created"], ", ".join("%s %d" % kv for kv in s["tasks_by_status"].items() if kv[1]),
      s["peak_concurrent"], s["rpm_peak"], max(s["creates_per_external_id"].values(), default=0),
      max(s["tasks_per_external_id"].values(), default=0), s["duplicate_creates"],
      json.dumps(s["rejected"], sort_keys=True), json.dumps(s["injected"], sort_keys=True),
      s["units_spent"], json.dumps(s["requests"], sort_keys=True)))
PY
}

kling_config() {
    _kf=$1; shift
    printf '%s\n' '[provider.kling]' "base_url = $KLING_URL" 'request_timeout = 5' \
        '[generate]' 'poll_interval = 0.3' 'task_timeout = 60' 'max_concurrent = 3' \
        'rpm = 600' "$@" >"$_kf"
}
