# redis.sh - sourced by the queue tests after testlib.sh: a redis-server
# of the test's own on a free 127.0.0.1 port, its append-only file in a
# folder of the test, ended when the test exits.
#
#   redis_start DIR [ARGS...]  start it (again, on the same port when
#                              REDIS_PORT is set); sets REDIS_PORT,
#                              REDIS_PID, REDIS_URL (redis://127.0.0.1:PORT/0)
#   redis_stop                 SIGTERM, and wait (the AOF is written out)
#   rcli ARGS...               redis-cli against it (REDIS_AUTH: a password)
#   pending_owner NAME SEQ     the consumer holding item SEQ of queue NAME
need_tool redis-server
need_tool redis-cli
REDIS_PID=
REDIS_PORT=
REDIS_AUTH=
rcli() {
    if [ -n "$REDIS_AUTH" ]; then
        REDISCLI_AUTH=$REDIS_AUTH redis-cli --no-auth-warning -h 127.0.0.1 -p "$REDIS_PORT" "$@"
    else
        redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"
    fi
}
redis_start() {
    _rdir=$1; shift
    mkdir -p "$_rdir"
    [ -n "$REDIS_PORT" ] || REDIS_PORT=$("$PYTHON3" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly yes \
        --dir "$_rdir" "$@" >> "$_rdir/redis.log" 2>&1 &
    REDIS_PID=$!
    _ri=0
    until [ "$(rcli ping 2>/dev/null)" = PONG ] ||
          rcli ping 2>/dev/null | grep -q NOAUTH; do
        _ri=$((_ri + 1))
        [ $_ri -gt 100 ] && { echo "redis-server did not start" >&2; cat "$_rdir/redis.log" >&2; exit 99; }
        sleep 0.1
    done
    REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0
}
redis_stop() {
    [ -z "$REDIS_PID" ] && return 0
    kill "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=
}
pending_owner() {
    rcli --raw XPENDING "$1" vbatch - + 1000 2>/dev/null | paste - - - - |
        awk -v id="$2-1" '$1 == id { print $2 }'
}
# wait_for SECONDS CMD...: until CMD succeeds; 1 if it never did
wait_for() {
    _wl=$(( $1 * 10 )); shift
    while ! "$@"; do
        _wl=$((_wl - 1))
        [ $_wl -le 0 ] && return 1
        sleep 0.1
    done
    return 0
}
