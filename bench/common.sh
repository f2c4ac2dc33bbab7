# common.sh - sourced by the bench scripts: which vbatch to time, the
# tools a script needs, a scratch folder, and the timing helpers.
#   bench_init NAME TOOL...   (NAME for messages; sets vbatch, how, tmp)

bench_init() {
    local name=$1 tool
    shift
    if [ -n "${VBATCH:-}" ]; then
        vbatch=$VBATCH; how=\$VBATCH
    elif [ -x ./vbatch ]; then
        vbatch=$PWD/vbatch; how='./vbatch'
    elif command -v vbatch >/dev/null 2>&1; then
        vbatch=$(command -v vbatch); how='PATH'
    else
        echo "$name: no vbatch: set VBATCH, run from the build folder, or install it" >&2
        exit 2
    fi
    if [ ! -x "$vbatch" ]; then
        echo "$name: $vbatch is not executable" >&2
        exit 2
    fi
    for tool in "$@"; do
        if ! command -v "$tool" >/dev/null 2>&1; then
            echo "$name: $tool not found (Debian packages ffmpeg, libvips-tools, mediainfo, time)" >&2
            exit 2
        fi
    done
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/vbatch-bench.XXXXXX") || exit 2
    trap 'rm -rf "$tmp"' EXIT
    trap 'exit 130' INT TERM
}

# bench_positive NAME VAR...: each variable must be a positive whole number
bench_positive() {
    local name=$1 v
    shift
    for v in "$@"; do
        case ${!v} in
        '' | *[!0-9]* | 0) echo "$name: $v must be a positive whole number, not '${!v}'" >&2; exit 2 ;;
        esac
    done
}

# bench_link_folder SRC DIR COUNT NAME...: DIR filled with COUNT hard links
# to the files NAME... of SRC, in rotation (v0000001.mp4 ...): a folder of
# any size that costs no disk space
bench_link_folder() {
    local src=$1 dst=$2 n=$3
    shift 3
    mkdir -p "$dst" || return 1
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$src" "$dst" "$n" "$@" <<'EOF'
import os, sys
src, dst, n, names = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
for i in range(n):
    c = names[i % len(names)]
    os.link(os.path.join(src, c), os.path.join(dst, "v%07d%s" % (i + 1, os.path.splitext(c)[1])))
EOF
    else
        local names=("$@") i c
        for ((i = 0; i < n; i++)); do
            c=${names[i % ${#names[@]}]}
            ln "$src/$c" "$(printf '%s/v%07d.%s' "$dst" $((i + 1)) "${c##*.}")" || return 1
        done
    fi
}

# bench_kling_mock N GEN_TIME MAX_CONCURRENT RPM: the mock Kling server
# (tests/lib/mock_kling.py) with those account limits, made-up keys,
# $tmp/jobs.csv with N text-to-video jobs; sets KLING_URL and lower, the
# least time those limits allow for N jobs (requests paced at RPM, at most
# MAX_CONCURRENT tasks at once, each GEN_TIME s). KLING_MOCK_ARGS: more
# of the mock's options (e.g. --rpm-scope all). Needs $tmp; stops the
# mock at exit.
#
# With --rpm-scope all the limit counts lookups too, and any client needs
# at least ceil(N / 50) of them (a lookup names 50 tasks at most, and each
# task must be seen done once), so R = N + ceil(N / 50) requests go at
# RPM: the last one no sooner than (R - 1) * 60 / RPM. The lookups can
# all come after the last create, while the last tasks generate, so the
# bound is the larger of that and the creates' own (last create + one
# task); with the benchmark's figures (500 jobs, 600 a minute, 2 s) the
# 10 lookups fit in the last 2 s and the bound stays 51.9 s. It is a
# bound for a client that knows when a slot frees without asking; one that
# must see a task done before reusing its slot pays the lookups' share of
# the rate on top (each takes a create's token).
bench_kling_mock() {
    local dir
    dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
    export KLING_MOCK=$dir/../tests/lib/mock_kling.py
    export KLING_CACHE=${TMPDIR:-/tmp}/vbatch-mock-kling-media
    PYTHON3=${PYTHON3:-python3}
    . "$dir/../tests/lib/kling.sh"
    trap 'kling_stop; rm -rf "$tmp"' EXIT
    KLING_ACCESS_KEY=bench-ak-$$
    KLING_SECRET_KEY=$(od -An -tx1 -N16 /dev/urandom | tr -d ' \n')
    export KLING_ACCESS_KEY KLING_SECRET_KEY
    kling_jobs_csv "$tmp/jobs.csv" "$1" || exit 2
    # shellcheck disable=SC2086
    # A bench outlives the tests' 15 minutes (the baselines at three
    # polling intervals, three runs each): the mock lives until it ends.
    kling_start "$tmp/mock" --gen-time "$2" --max-concurrent "$3" --rpm "$4" \
        --url-ttl 300 --lifetime 14400 ${KLING_MOCK_ARGS:-} || exit 2
    local lookups=0
    case " ${KLING_MOCK_ARGS:-} " in
    *' --rpm-scope all '*) lookups=$((($1 + 49) / 50)) ;;
    esac
    lower=$(awk -v n="$1" -v g="$2" -v c="$3" -v r="$4" -v l="$lookups" 'BEGIN {
        a = (n - 1) * 60 / r; w = int((n + c - 1) / c) - 1; b = w * g
        t = (a > b ? a : b) + g; q = (n + l - 1) * 60 / r
        printf "%.2f", (q > t ? q : t) }')
}

now() { date +%s.%N; }
# elapsed START: seconds since START
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
# median VALUE...
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
    if (NR % 2) printf "%.3f", v[(NR + 1) / 2]; else printf "%.3f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# ratio A B GOAL: "A/B x (goal >= GOAL x: met|NOT met)"
ratio() { awk -v a="$1" -v b="$2" -v g="$3" 'BEGIN {
    if (b <= 0) { printf "n/a"; exit }
    r = a / b; ok = (r >= g) ? "met" : "NOT met"; printf "%.1fx (goal >= %dx: %s)", r, g, ok }'; }
