#!/bin/sh
# journal.sh - the journal OUT/.vbatch/state.db when it is not as vbatch
# left it: damaged (truncated in the middle, a page overwritten with
# garbage) it is refused before any work, naming the file, with the hint
# to move OUT/.vbatch aside (exit 2); made by a newer vbatch (a schema
# version above this one's) it is refused clearly (exit 2); one made
# before schema versions existed still works; an item status this vbatch
# does not know is counted as unknown in status and in the reports'
# totals. (A read-only journal: readonly.sh.)
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
check "status (text): 2 unknown" grep -q "2 unknown" "$T/unknown-list.txt"
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
"$VBATCH" report --output "$O" --format junit --format html > /dev/null
check "junit.xml: an unknown status is an error, never a pass" \
    [ "$(grep -c "<error message=\"the journal's status '[a-z]*' is unknown" "$O/summary/junit.xml")" -eq 2 ]
check "report.html: unknown items shown as errors" \
    [ "$(grep -c '<b>unknown</b>: the journal' "$O/summary/report.html")" -eq 2 ]
expect_status 0 "a run into that folder works" "$VBATCH" process "$NEW" --output "$O" --quiet

finish
