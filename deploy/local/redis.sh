#!/usr/bin/env bash
# Finds (or starts) the Redis server that `make run` and `make test` use.
#
#   deploy/local/redis.sh url    print redis://127.0.0.1:6379 when a Redis answers there,
#                                else start (or reuse) a private one and print its URL
#   deploy/local/redis.sh start  skip discovery: start (or reuse) the private server
#   deploy/local/redis.sh stop   stop the private server if it runs
#   deploy/local/redis.sh clean  stop it and delete its directory
#
# The private server listens on 127.0.0.1:56379, keeps nothing on disk (--save '',
# --appendonly no) and keeps its pid file and log in ./data/redis. redis-server is
# installed with apt-get when missing, if running as root and FLOWSVAULT_NO_INSTALL is
# unset. Settings: FLOWSVAULT_REDIS_DIR (default <repo>/data/redis), FLOWSVAULT_REDIS_PORT
# (default 56379).
#
# The script can also be sourced; it then only defines the fv_redis_* functions.
# Only the URL goes to stdout; every message goes to stderr.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FV_REDIS_DEFAULT_PORT=56379

# True when a Redis on 127.0.0.1:PORT answers PING with PONG (one without a password).
fv_redis_ping() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 3 bash -c '
        exec 3<>"/dev/tcp/127.0.0.1/$0" || exit 1
        printf "PING\r\n" >&3
        IFS= read -r -t 2 line <&3 || exit 1
        [[ "$line" == "+PONG"* ]]
    ' "$1" 2>/dev/null
}

fv_redis_dir() {
    realpath -m -- "${FLOWSVAULT_REDIS_DIR:-$FV_ROOT/data/redis}"
}

fv_redis_port() {
    local port="${FLOWSVAULT_REDIS_PORT:-$FV_REDIS_DEFAULT_PORT}"
    [[ "$port" =~ ^[0-9]+$ ]] || fv_die "FLOWSVAULT_REDIS_PORT is not a port number: $port"
    printf '%s\n' "$port"
}

# The pid in DIR/redis.pid when that process is alive and is a redis-server.
fv_redis_live_pid() {
    local dir="$1" pid
    pid="$(cat "$dir/redis.pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    fv_pid_alive "$pid" || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == redis* ]] || return 1
    printf '%s\n' "$pid"
}

# Starts (or reuses) the private server and prints its URL.
fv_redis_private_url() {
    local dir port server lock_fd pid running_port owner tries=0
    port="$(fv_redis_port)"
    dir="$(fv_redis_dir)"
    mkdir -p -- "$dir" || fv_die "cannot create $dir"
    touch "$dir/.flowsvault-redis"

    exec {lock_fd}>"$dir/.lock"
    flock -w 60 "$lock_fd" || fv_die "another process holds $dir/.lock for more than 60 s"

    if pid="$(fv_redis_live_pid "$dir")"; then
        running_port="$(cat "$dir/port" 2>/dev/null || true)"
        if [[ -n "$running_port" ]] && fv_redis_ping "$running_port"; then
            if [[ "$running_port" != "$port" ]]; then
                fv_note "the private Redis already runs on port $running_port (not $port); using it"
            fi
            exec {lock_fd}>&-
            printf 'redis://127.0.0.1:%s\n' "$running_port"
            return 0
        fi
        fv_die "redis-server pid $pid (from $dir/redis.pid) runs but does not answer; stop it ($0 stop) and try again"
    fi

    if fv_port_open 127.0.0.1 "$port"; then
        if fv_redis_ping "$port"; then
            fv_note "a Redis not started by this script already answers on 127.0.0.1:$port; using it"
            exec {lock_fd}>&-
            printf 'redis://127.0.0.1:%s\n' "$port"
            return 0
        fi
        owner="$(fv_port_owner "$port")"
        fv_die "port $port is taken by another program${owner:+ ($owner)}; stop it or set FLOWSVAULT_REDIS_PORT"
    fi

    if ! server="$(command -v redis-server)"; then
        if fv_may_install; then
            fv_note "redis-server not found"
            fv_apt_install redis-server || fv_die "installing redis-server failed"
            server="$(command -v redis-server)" || fv_die "redis-server was installed but is not on PATH"
        else
            fv_die "no Redis answers on 127.0.0.1:6379 and redis-server is not installed; install it (Debian: apt-get install redis-server; this script does that itself when run as root)"
        fi
    fi

    fv_note "starting a private Redis on 127.0.0.1:$port (log: $dir/redis.log)"
    rm -f -- "$dir/redis.pid"
    printf '%s\n' "$port" >"$dir/port"
    "$server" --port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
        --pidfile "$dir/redis.pid" --dir "$dir" --logfile "$dir/redis.log" >&2 {lock_fd}>&- ||
        fv_die "redis-server failed to start (see $dir/redis.log)"
    until fv_redis_ping "$port"; do
        tries=$((tries + 1))
        if [[ "$tries" -ge 100 ]]; then
            tail -n 20 -- "$dir/redis.log" >&2 2>/dev/null || true
            fv_die "the private Redis did not answer on 127.0.0.1:$port within 10 s (log above)"
        fi
        sleep 0.1
    done
    exec {lock_fd}>&-
    printf 'redis://127.0.0.1:%s\n' "$port"
}

fv_redis_url() {
    if fv_redis_ping 6379; then
        printf 'redis://127.0.0.1:6379\n'
        return 0
    fi
    fv_redis_private_url
}

fv_redis_stop() {
    local dir pid waited=0
    dir="$(fv_redis_dir)"
    if ! pid="$(fv_redis_live_pid "$dir")"; then
        fv_note "no private Redis runs from $dir"
        rm -f -- "$dir/redis.pid"
        return 0
    fi
    fv_note "stopping the private Redis (pid $pid)"
    kill -TERM "$pid"
    while fv_pid_alive "$pid"; do
        if [[ "$waited" -ge 100 ]]; then
            fv_note "Redis (pid $pid) ignored SIGTERM for 10 s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    rm -f -- "$dir/redis.pid"
}

fv_redis_clean() {
    local dir
    dir="$(fv_redis_dir)"
    fv_redis_stop
    if [[ ! -e "$dir" ]]; then
        return 0
    fi
    if [[ ! -f "$dir/.flowsvault-redis" ]]; then
        fv_die "refusing to delete $dir: it was not made by this script"
    fi
    fv_note "deleting $dir"
    rm -rf -- "$dir"
}

fv_redis_usage() {
    printf 'usage: %s url|start|stop|clean\n' "$0"
}

fv_redis_main() {
    case "${1:-}" in
        url) fv_redis_url ;;
        start) fv_redis_private_url ;;
        stop) fv_redis_stop ;;
        clean) fv_redis_clean ;;
        -h | --help | help) fv_redis_usage ;;
        *)
            fv_redis_usage >&2
            exit 2
            ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    FV_SCRIPT="redis.sh"
    fv_redis_main "$@"
fi
