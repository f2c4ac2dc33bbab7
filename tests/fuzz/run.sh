#!/bin/sh
# run.sh - run the libFuzzer harnesses of a ./configure --enable-fuzz
# build tree on their synthesised seeds (README.md, "Fuzzing").
#
#   tests/fuzz/run.sh [--smoke | --runs N | --time SECONDS] [--jobs N]
#                     [--keep-going] [--build DIR] [--out DIR] [HARNESS...]
#
# HARNESS: preset jobs list layout kling media readers (default: all). --smoke
# (the default, what CI runs through `make fuzz-smoke`) runs each for a
# fixed number of executions from its seeds alone, into an empty corpus,
# with a fixed random seed; --runs and --time run longer and keep what
# they find in OUT/corpus/H/, which later runs start from. A crash, a leak, a timeout, an input over
# the memory limit or a broken promise of the harness fails the harness:
# its input is saved in OUT/crashes/H/ (crash-*, leak-*, timeout-*,
# oom-*), and `BUILD/tests/fuzz/fuzz-H FILE` replays it. libFuzzer stops
# at the first such input; --keep-going (with --time) runs it in fork
# mode instead, which records each one and goes on. OUT defaults to
# BUILD/tests/fuzz; each harness's output goes to OUT/H.log, and its
# result, in the test driver's format, to OUT/H.trs. Exit status 0 only
# if every harness passed.
set -u

mode=smoke runs= time= jobs=1 build=. out= keep=
usage() {
    sed -n '5,6p' "$0" | sed 's/^# *//' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case $1 in
    --smoke) mode=smoke; shift ;;
    --runs) mode=runs; runs=${2:?}; shift 2 ;;
    --time) mode=time; time=${2:?}; shift 2 ;;
    --jobs) jobs=${2:?}; shift 2 ;;
    --keep-going) keep=1; shift ;;
    --build) build=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    -h|--help) usage ;;
    -*) echo "run.sh: unknown option $1" >&2; usage ;;
    *) break ;;
    esac
done
all="preset jobs list layout kling media readers"
[ $# -gt 0 ] || set -- $all
srcdir=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "$build" && pwd) || exit 2
out=${out:-$build/tests/fuzz}
mkdir -p "$out" && out=$(cd "$out" && pwd) || exit 2
for h in "$@"; do
    case " $all " in *" $h "*) ;; *) echo "run.sh: no harness $h (one of: $all)" >&2; exit 2 ;; esac
    if [ ! -x "$build/tests/fuzz/fuzz-$h" ]; then
        echo "run.sh: $build/tests/fuzz/fuzz-$h not built: ./configure --enable-fuzz CC=clang && make" >&2
        exit 2
    fi
done

# Per harness: executions of a smoke run, seconds one input may take,
# and the longest input libFuzzer makes. The smoke figures keep the
# whole run near three minutes on a 2-core machine under load.
smoke_runs() {
    case $1 in
    preset) echo 5000 ;; jobs) echo 5000 ;; list) echo 10000 ;;
    layout) echo 50000 ;; kling) echo 50000 ;; media) echo 1000 ;; readers) echo 100000 ;;
    esac
}
timeout_of() { case $1 in media) echo 60 ;; jobs) echo 20 ;; *) echo 10 ;; esac; }
max_len_of() { case $1 in media) echo 24576 ;; *) echo 4096 ;; esac; }

# Inputs and the libraries under test stay quiet; fontconfig's cache,
# kept for the life of the process, is the one leak suppressed.
export LSAN_OPTIONS="suppressions=$srcdir/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
work=$out/tmp
rm -rf "$work" && mkdir -p "$work"
export TMPDIR=$work
export VB_FUZZ_IMAGES=$out/seeds/images

seeds=$out/seeds
rm -rf "$seeds"
if ! sh "$srcdir/tests/fuzz/seeds.sh" "$seeds" "$@" images >"$out/seeds.log" 2>&1; then
    cat "$out/seeds.log" >&2
    echo "run.sh: the seed corpora could not be made" >&2
    exit 1
fi

pass=0 fail=0
for h in "$@"; do
    log=$out/$h.log
    crashes=$out/crashes/$h
    mkdir -p "$crashes"
    if [ "$mode" = smoke ]; then
        corpus=$out/smoke-corpus/$h
        rm -rf "$corpus"
        # A fixed seed: the same code gives the same smoke run.
        limit="-runs=$(smoke_runs "$h") -seed=1"
    else
        corpus=$out/corpus/$h
        if [ "$mode" = runs ]; then limit="-runs=$runs"; else limit="-max_total_time=$time"; fi
    fi
    mkdir -p "$corpus"
    par=
    if [ -n "$keep" ]; then
        par="-fork=$jobs -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1"
    elif [ "$jobs" -gt 1 ]; then
        par="-jobs=$jobs -workers=$jobs"
    fi
    dict=
    [ -f "$srcdir/tests/fuzz/$h.dict" ] && dict="-dict=$srcdir/tests/fuzz/$h.dict"
    start=$(date +%s)
    # shellcheck disable=SC2086  # $limit, $par and $dict are option lists
    (cd "$work" && exec "$build/tests/fuzz/fuzz-$h" $limit $par $dict \
        -timeout="$(timeout_of "$h")" -rss_limit_mb=2048 -max_len="$(max_len_of "$h")" \
        -artifact_prefix="$crashes/" -print_final_stats=1 "$corpus" "$seeds/$h") \
        >"$log" 2>&1
    st=$?
    secs=$(( $(date +%s) - start ))
    [ -z "$keep" ] && [ "$jobs" -gt 1 ] && cat "$work"/fuzz-*.log >>"$log" 2>/dev/null &&
        rm -f "$work"/fuzz-*.log
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | awk '{s+=$1} END {print s+0}')
    last=$(grep -E '^#[0-9]+' "$log" | tail -n 1)
    # fork mode: the parent's last line counts every worker's executions
    [ "$execs" -eq 0 ] && execs=$(echo "$last" | sed -n 's/^#\([0-9]*\).*/\1/p')
    cov=$(echo "$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
    found=$(find "$crashes" -type f -newer "$out/seeds.log" | wc -l)
    if [ "$st" -eq 0 ] && [ "$found" -eq 0 ]; then
        result=PASS pass=$((pass + 1))
    else
        result=FAIL fail=$((fail + 1))
    fi
    printf ':test-result: %s\n' "$result" >"$out/$h.trs"
    printf '%s: fuzz-%s: %s executions in %s s, cov %s, ft %s, corpus %s files, %s new in %s\n' \
        "$result" "$h" "$execs" "$secs" "${cov:-?}" "${ft:-?}" \
        "$(find "$corpus" -type f | wc -l)" "$found" "$crashes"
    if [ "$result" = FAIL ]; then
        echo "  exit status $st; see $log; replay: $build/tests/fuzz/fuzz-$h FILE"
    fi
done
rm -rf "$work"
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
