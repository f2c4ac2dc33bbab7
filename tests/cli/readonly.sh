#!/bin/sh
# readonly.sh - a read-only output folder (archived results), run as an
# unprivileged user where the tests run as root (root writes anywhere):
# status and report read its journal (immutable when no -wal is left; a
# killed run's -wal read too), report writes elsewhere with --report-dir
# and says when OUT/summary is read-only, process and resume say
# "read-only" (exit 2), and nothing in OUT changes. Also on a real
# read-only mount, where a private mount namespace can be made.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

IN="$T/in"; mkdir -p "$IN"
cp "$(clip h264_aac_720p.mp4)" "$IN/a.mp4"
cp "$(clip h264_short.mp4)" "$IN/b.mp4"
cp "$(clip silent_video.mp4)" "$IN/c.mp4"
NEW="$T/new"; mkdir -p "$NEW"; cp "$IN/a.mp4" "$NEW/fresh.mp4"
REF="$T/ref"
"$VBATCH" process "$IN" --output "$REF" --quiet
ID=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$REF/summary/batch_report.json")

# Who runs vbatch: root writes anywhere, so then nobody, for whom OUT
# (root's) is read-only; another user runs it on an OUT made read-only.
RUN=
if [ "$(id -u)" -eq 0 ]; then
    for r in "setpriv --reuid=nobody --regid=$(id -g nobody 2>/dev/null || echo 65534) --clear-groups" "runuser -u nobody --"; do
        # shellcheck disable=SC2086
        if $r "$VBATCH" --version > /dev/null 2>&1 && $r test -r "$REF/.vbatch/state.db" && ! $r test -w "$REF"; then
            RUN=$r; break
        fi
    done
    [ -n "$RUN" ] || { echo "SKIP: cannot run vbatch as an unprivileged user here"; exit 77; }
fi

# to FILE CMD...: CMD with its output into FILE (for expect_status).
to() { _f=$1; shift; "$@" > "$_f"; }
# tree OUT: every path under OUT with its size and mtime (what changed).
tree() { find "$1" -exec stat -c '%n %s %Y' {} + | sort; }
# copy_out NAME: a copy of the reference output folder
copy_out() { rm -rf "$T/$1"; cp -a "$REF" "$T/$1"; echo "$T/$1"; }

RO=$(copy_out readonly)
# And one archived as a killed run left it: its last writes still in the
# -wal file beside the journal (the process died with it open).
RK=$(copy_out readonly-killed)
"$PYTHON3" - "$RK/.vbatch/state.db" <<'PY'
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA wal_autocheckpoint = 0")
db.execute("UPDATE batches SET status = 'running', finished = NULL")
db.execute("UPDATE items SET status = 'pending', record_json = NULL WHERE seq = 3")
db.commit()
os._exit(0)
PY
check "killed: a -wal left" test -s "$RK/.vbatch/state.db-wal"
if [ -z "$RUN" ]; then
    chmod -R a-w "$RO" "$RK"
    test -w "$RO" && { chmod -R u+w "$RO" "$RK"; echo "SKIP: chmod does not stop writes here"; exit 77; }
fi
RD="$T/elsewhere"; mkdir -p "$RD"; chmod 777 "$RD"
tree "$RO" > "$T/ro.before"
tree "$RK" > "$T/rk.before"
# shellcheck disable=SC2086
{
    $RUN "$VBATCH" status --output "$RO" --format json > "$T/ro-status.json"
    check "read-only: status" pyjson "$T/ro-status.json" 'd["batches"][0]["batch_id"] == "'"$ID"'" and d["batches"][0]["counts"]["total"] == 3'
    expect_status 0 "read-only: status of the batch" to "$T/ro-one.txt" $RUN "$VBATCH" status --output "$RO" --job-id "$ID"
    expect_status 2 "read-only: report into OUT/summary refused" $RUN "$VBATCH" report --output "$RO" 2> "$T/ro-report.err"
    check "... saying summary/ is read-only, and what to do" grep -q "$RO/summary is read-only.*--report-dir" "$T/ro-report.err"
    expect_status 0 "read-only: report --format text prints" to "$T/ro-text.txt" $RUN "$VBATCH" report --output "$RO" --format text
    check "... the summary" grep -q "$ID: 3 items" "$T/ro-text.txt"
    expect_status 0 "read-only: report --report-dir" $RUN "$VBATCH" report --output "$RO" --report-dir "$RD/summary"
    for f in batch_report.json results.csv junit.xml error_log.json; do
        cmp -s "$RD/summary/$f" "$RO/summary/$f" || fail "--report-dir: $f as the batch wrote it"
    done
    expect_status 2 "read-only: process refused" $RUN "$VBATCH" process "$NEW" --output "$RO" --quiet 2> "$T/ro-process.err"
    check "... saying read-only" grep -q "$RO: the output folder is read-only" "$T/ro-process.err"
    expect_status 2 "read-only: resume refused" $RUN "$VBATCH" resume --job-id "$ID" --output "$RO" --quiet 2> "$T/ro-resume.err"
    check "... saying read-only" grep -q "read-only" "$T/ro-resume.err"
    $RUN "$VBATCH" status --output "$RK" --format json > "$T/rk-status.json"
    check "read-only, killed: status reads the -wal too" pyjson "$T/rk-status.json" 'd["batches"][0]["status"] == "interrupted (process gone)" and d["batches"][0]["counts"]["pending"] == 1'
    expect_status 0 "read-only, killed: report --format text" to "$T/rk-text.txt" $RUN "$VBATCH" report --output "$RK" --format text
    check "... 2 items recorded" grep -q "$ID: 2 items" "$T/rk-text.txt"
}
cat "$T/ro-report.err" "$T/ro-process.err" >&2
tree "$RO" > "$T/ro.after"
check "read-only: nothing in OUT changed (no -wal, -shm, lock)" cmp -s "$T/ro.before" "$T/ro.after"
tree "$RK" > "$T/rk.after"
check "read-only, killed: nothing in OUT changed" cmp -s "$T/rk.before" "$T/rk.after"
[ -z "$RUN" ] && chmod -R u+w "$RO" "$RK"

# A real read-only mount, where one can be made (a private mount
# namespace): the same, with the file system's word for it.
if command -v unshare > /dev/null 2>&1 && unshare -m sh -c "mount --bind '$RO' '$RO' && mount -o remount,ro,bind '$RO'" 2> /dev/null; then
    unshare -m sh -c "mount --bind '$RO' '$RO' && mount -o remount,ro,bind '$RO' &&
        '$VBATCH' status --output '$RO' > '$T/mnt-status.txt' &&
        { '$VBATCH' process '$NEW' --output '$RO' --quiet 2> '$T/mnt-process.err'; echo \$? > '$T/mnt-process.rc'; } &&
        { '$VBATCH' report --output '$RO' 2> '$T/mnt-report.err'; echo \$? > '$T/mnt-report.rc'; }"
    check "ro mount: status reads" grep -q "$ID" "$T/mnt-status.txt"
    check "ro mount: process refused (exit 2)" [ "$(cat "$T/mnt-process.rc")" = 2 ]
    check "... on a read-only file system" grep -q "read-only file system" "$T/mnt-process.err"
    check "ro mount: report refused (exit 2)" [ "$(cat "$T/mnt-report.rc")" = 2 ]
else
    echo "note: no read-only mount here (unshare -m not permitted): skipped that part"
fi
finish
