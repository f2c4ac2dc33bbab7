#!/bin/sh
# journal.sh - the journal OUT/.vbatch/state.db when it is not as vbatch
# left it: damaged (truncated in the middle, a page overwritten with
# garbage) it is refused before any work, naming the file, with the hint
# to move OUT/.vbatch aside (exit 2); made by a newer vbatch (a schema
# version above this one's) it is refused clearly (exit 2); one made
# before schema versions existed still works; an item status this vbatch
# does not know is counted as unknown in status and in the reports'
# totals. And a read-only OUT (archived results, run as an unprivileged
# user where the tests run as root): status and report read it, report
# writes elsewhere with --report-dir, process and resume say "read-only"
# (exit 2) and nothing in OUT changes.
. "$TOP_SRCDIR/tests/lib/testlib.sh"

IN="$T/in"; mkdir -p "$IN"
cp "$(clip h264_aac_720p.mp4)" "$IN/a.mp4"
cp "$(clip h264_short.mp4)" "$IN/b.mp4"
cp "$(clip silent_video.mp4)" "$IN/c.mp4"
NEW="$T/new"; mkdir -p "$NEW"; cp "$IN/a.mp4" "$NEW/fresh.mp4"
REF="$T/ref"
"$VBATCH" process "$IN" --output "$REF" --quiet
check "a reference journal" test -s "$REF/.vbatch/state.db"
ID=$("$PYTHON3" -c 'import json,sys; print(json.load(open(sys.argv[1]))["batch_id"])' "$REF/summary/batch_report.json")
check "the journal has a schema version" [ "$("$PYTHON3" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$REF/.vbatch/state.db")" = 1 ]

# to FILE CMD...: CMD with its output into FILE (for expect_status).
to() { _f=$1; shift; "$@" > "$_f"; }
# tree OUT: every path under OUT with its size and mtime (what changed).
tree() { find "$1" -exec stat -c '%n %s %Y' {} + | sort; }
# copy_out NAME: a copy of the reference output folder
copy_out() { rm -rf "$T/$1"; cp -a "$REF" "$T/$1"; echo "$T/$1"; }

# refused NAME PATTERN: every command refuses OUT=$T/NAME with exit 2,
# a message matching PATTERN, and leaves OUT as it was (but for the lock
# taken and let go by the runs: the file's time, its folder's).
refused() {
    _o="$T/$1"; _p=$2
    tree "$_o" | grep -v "^$_o/.vbatch\(/lock\)\? " > "$T/$1.before"
    for _c in "process $NEW --quiet" "status" "status --job-id $ID" "report" \
              "resume --job-id $ID --quiet" "retry --job-id $ID --quiet"; do
        # shellcheck disable=SC2086
        "$VBATCH" $_c --output "$_o" > "$T/$1.out" 2> "$T/$1.err"
        _rc=$?
        [ "$_rc" -eq 2 ] || fail "$1: $_c: exit $_rc, expected 2"
        grep -q -- "$_p" "$T/$1.err" || { cat "$T/$1.err" >&2; fail "$1: $_c: the message"; }
    done
    cat "$T/$1.err" >&2
    check "$1: no item folder for the new input" [ ! -e "$_o/fresh" ]
    tree "$_o" | grep -v "^$_o/.vbatch\(/lock\)\? " > "$T/$1.after"
    check "$1: nothing in OUT changed (the journal neither)" cmp -s "$T/$1.before" "$T/$1.after"
}

# ---- damaged ----
O=$(copy_out truncated)
"$PYTHON3" - "$O/.vbatch/state.db" <<'PY'
import os, sys
n = os.path.getsize(sys.argv[1])
os.truncate(sys.argv[1], n // 2)
PY
hint="move $O/.vbatch aside (e.g. mv $O/.vbatch $O/.vbatch.damaged)"
refused truncated "$O/.vbatch/state.db: the journal is damaged"
check "truncated: the hint to move OUT/.vbatch aside" grep -qi "$hint" "$T/truncated.err"

O=$(copy_out garbage)
# The items table's root page overwritten with (seeded) garbage.
"$PYTHON3" - "$O/.vbatch/state.db" <<'PY'
import random, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
page_size = db.execute("PRAGMA page_size").fetchone()[0]
root = db.execute("SELECT rootpage FROM sqlite_master WHERE name = 'items'").fetchone()[0]
db.close()
with open(sys.argv[1], "r+b") as f:
    f.seek((root - 1) * page_size)
    f.write(random.Random(10).randbytes(page_size))
PY
refused garbage "$O/.vbatch/state.db: the journal is damaged"
check "garbage: the hint" grep -qi "move $O/.vbatch aside" "$T/garbage.err"

# A file that is no database at all.
O=$(copy_out notadb)
head -c 20000 "$IN/a.mp4" > "$O/.vbatch/state.db"
refused notadb "$O/.vbatch/state.db: the journal is damaged"

# Moved aside as told, the folder takes a new journal.
mv "$T/garbage/.vbatch" "$T/garbage/.vbatch.damaged"
expect_status 0 "after the hint: a new journal" "$VBATCH" process "$NEW" --output "$T/garbage" --quiet

# ---- made by a newer vbatch ----
O=$(copy_out newer)
"$PYTHON3" - "$O/.vbatch/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA user_version = 999")
db.commit()
PY
refused newer "$O/.vbatch/state.db: made by a newer vbatch (schema 999); this one ([^)]*) knows schema 1"

# ---- made before schema versions (user_version 0, no `discovered`) ----
O=$(copy_out older)
"$PYTHON3" - "$O/.vbatch/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA user_version = 0")
db.execute("ALTER TABLE batches DROP COLUMN discovered")
db.execute("UPDATE batches SET status = 'interrupted'")
db.commit()
PY
"$VBATCH" status --output "$O" --job-id "$ID" --format json > "$T/older.json"
pyjson "$T/older.json" 'd["status"] == "interrupted" and d["counts"]["total"] == 3' || fail "older: status reads it"
expect_status 0 "older: report renders it" to "$T/older.txt" "$VBATCH" report --output "$O" --format text
expect_status 0 "older: resume works" "$VBATCH" resume --job-id "$ID" --output "$O" --quiet
check "older: migrated to schema 1" [ "$("$PYTHON3" -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$O/.vbatch/state.db")" = 1 ]

# ---- an item status this vbatch does not know ----
O=$(copy_out unknown)
"$PYTHON3" - "$O/.vbatch/state.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.execute("PRAGMA ignore_check_constraints = ON")
(b,), = db.execute("SELECT id FROM batches").fetchall()
# One row as a newer vbatch might write it (with its record), one by
# hand (without).
db.execute("UPDATE items SET status = 'quarantined' WHERE batch = ? AND seq = 1", (b,))
db.execute("INSERT INTO items (batch, seq, source, folder, status) VALUES (?, 4, '/x/by-hand.mp4', NULL, 'weird')", (b,))
db.commit()
PY
"$VBATCH" status --output "$O" --format json > "$T/unknown-list.json"
pyjson "$T/unknown-list.json" 'd["batches"][0]["counts"]["unknown"] == 2 and d["batches"][0]["counts"]["total"] == 4' || fail "status: unknown counted"
pyjson "$T/unknown-list.json" 'sum(v for k, v in d["batches"][0]["counts"].items() if k != "total") == d["batches"][0]["counts"]["total"]' || fail "status: the counts add up to the total"
"$VBATCH" status --output "$O" > "$T/unknown-list.txt"
check "status (text): unknown: 2" grep -q "unknown: 2" "$T/unknown-list.txt"
"$VBATCH" status --output "$O" --job-id "$ID" --format json > "$T/unknown-one.json"
pyjson "$T/unknown-one.json" 'd["counts"]["unknown"] == 2 and d["progress"]["finished"] == 4' || fail "status of the batch: unknown counted, finished"
expect_status 0 "report with unknown statuses" to "$T/unknown-summary.txt" \
    "$VBATCH" report --output "$O" --format text --format json --format csv
check "the summary says unknown 2" grep -Eq "^  unknown +2 " "$T/unknown-summary.txt"
pyjson "$O/summary/batch_report.json" 'd["counts"]["unknown"] == 2 and d["counts"]["total"] == 4 and d["counts"]["done"] + d["counts"]["qc_failed"] + d["counts"]["failed"] + d["counts"]["skipped"] + d["counts"]["unknown"] == 4' ||
    fail "batch_report.json: unknown in the totals"
pyjson "$O/summary/batch_report.json" '[(i["seq"], i["status"]) for i in d["items"] if i["status"] == "unknown"] == [(1, "unknown"), (4, "unknown")] and "quarantined" in d["items"][0]["error"] and d["items"][0]["verdict"] is None' ||
    fail "batch_report.json: the unknown items, with the status found"
check "results.csv lists the item added by hand" grep -q "by-hand.mp4" "$O/summary/results.csv"
expect_status 0 "a run into that folder works" "$VBATCH" process "$NEW" --output "$O" --quiet

# ---- a read-only output folder ----
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
RUN=
if [ "$(id -u)" -eq 0 ]; then
    # root writes anywhere: run as nobody, for whom OUT (root's) is read-only.
    for r in "setpriv --reuid=nobody --regid=$(id -g nobody 2>/dev/null || echo 65534) --clear-groups" "runuser -u nobody --"; do
        # shellcheck disable=SC2086
        if $r "$VBATCH" --version > /dev/null 2>&1 && $r test -r "$RO/.vbatch/state.db" && ! $r test -w "$RO"; then
            RUN=$r; break
        fi
    done
    [ -n "$RUN" ] || { echo "SKIP: cannot run vbatch as an unprivileged user here"; exit 77; }
else
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
