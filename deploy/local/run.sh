#!/usr/bin/env bash
# `make run`: builds the release binaries and runs the whole platform on this machine
# until Ctrl-C (or SIGTERM).
#
# - PostgreSQL: deploy/local/postgres.sh url ($DATABASE_URL, else 127.0.0.1:5432, else a
#   private cluster in ./data/pg that is started and left running). auth-service uses the
#   database flowsvault_auth and file-service flowsvault_files on that server; each
#   creates its own database when missing.
# - Redis: deploy/local/redis.sh url (127.0.0.1:6379, else a private one on 56379); when
#   neither can be had, the gateway keeps its rate limits in memory.
# - Sign-in: the development sign-in (FLOWSVAULT_DEV_SIGNIN, on by default here) and,
#   unless FLOWSVAULT_AUTH_PROVIDERS names providers, the local OpenID provider of
#   deploy/local/oidc.sh (npm oidc-provider; any login_hint signs in, alice by default).
# - Objects: ./data/objects. Logs: ./data/logs/<service>.log, also shown here with a
#   [service] prefix. The variables given to the services are written to ./data/run.env
#   (read by `make api-key`).
#
# Addresses come from FLOWSVAULT_GATEWAY_ADDR (default 127.0.0.1:8080) and
# FLOWSVAULT_{AUTH,FILES,STORAGE,JANITOR}_ADDR (127.0.0.1:50051..50054); the services'
# URLs are derived from them. FLOWSVAULT_RUN_TIMEOUT (default 60) is how many seconds the
# backends, and then the gateway, get to become ready.
set -euo pipefail
FV_SCRIPT="run.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$FV_ROOT"

here="$FV_ROOT/deploy/local"
data="$FV_ROOT/data"
logs="$data/logs"
timeout_secs="${FLOWSVAULT_RUN_TIMEOUT:-60}"
CARGO_TARGET_DIR="$(fv_target_dir)"
export CARGO_TARGET_DIR
bin="$CARGO_TARGET_DIR/release"

export FLOWSVAULT_GATEWAY_ADDR="${FLOWSVAULT_GATEWAY_ADDR:-127.0.0.1:8080}"
export FLOWSVAULT_AUTH_ADDR="${FLOWSVAULT_AUTH_ADDR:-127.0.0.1:50051}"
export FLOWSVAULT_FILES_ADDR="${FLOWSVAULT_FILES_ADDR:-127.0.0.1:50052}"
export FLOWSVAULT_STORAGE_ADDR="${FLOWSVAULT_STORAGE_ADDR:-127.0.0.1:50053}"
export FLOWSVAULT_JANITOR_ADDR="${FLOWSVAULT_JANITOR_ADDR:-127.0.0.1:50054}"

# Service order: backends first, the gateway last (it is stopped first).
tags=(auth files storage janitor gateway)
binaries=(auth-service file-service storage-service janitor gateway)
addr_vars=(FLOWSVAULT_AUTH_ADDR FLOWSVAULT_FILES_ADDR FLOWSVAULT_STORAGE_ADDR
    FLOWSVAULT_JANITOR_ADDR FLOWSVAULT_GATEWAY_ADDR)
addrs=()
for var in "${addr_vars[@]}"; do
    addrs+=("${!var}")
done

# A URL that reaches ADDR from this machine (a wildcard address is reached on loopback).
local_url() {
    local addr="$1" host port
    host="${addr%:*}"
    port="${addr##*:}"
    case "$host" in
        0.0.0.0 | "" | "[::]") host=127.0.0.1 ;;
    esac
    printf 'http://%s:%s\n' "$host" "$port"
}

export FLOWSVAULT_AUTH_URL FLOWSVAULT_FILES_URL FLOWSVAULT_STORAGE_URL FLOWSVAULT_JANITOR_URL
FLOWSVAULT_AUTH_URL="$(local_url "$FLOWSVAULT_AUTH_ADDR")"
FLOWSVAULT_FILES_URL="$(local_url "$FLOWSVAULT_FILES_ADDR")"
FLOWSVAULT_STORAGE_URL="$(local_url "$FLOWSVAULT_STORAGE_ADDR")"
FLOWSVAULT_JANITOR_URL="$(local_url "$FLOWSVAULT_JANITOR_ADDR")"
gateway_url="$(local_url "$FLOWSVAULT_GATEWAY_ADDR")"

# Fails, naming the port, when something already listens on one of our ports.
check_ports() {
    local i addr port owner previous=""
    if [[ -f "$data/run.pid" ]]; then
        previous="$(cat "$data/run.pid" 2>/dev/null || true)"
        if [[ ! "$previous" =~ ^[0-9]+$ ]] || ! fv_pid_alive "$previous" || [[ "$previous" -eq $$ ]]; then
            previous=""
        fi
    fi
    for i in "${!tags[@]}"; do
        addr="${addrs[$i]}"
        port="${addr##*:}"
        if fv_port_open 127.0.0.1 "$port"; then
            owner="$(fv_port_owner "$port")"
            fv_say "run.sh: error: port $port (for ${binaries[$i]}) is already in use${owner:+ by $owner}."
            if [[ -n "$previous" ]]; then
                fv_say "  An earlier \`make run\` (pid $previous) is still running: stop it with Ctrl-C in its terminal, or: kill $previous"
            else
                fv_say "  A previous \`make run\` may have left it running: stop that process (kill PID), or move ${binaries[$i]} to another address with ${addr_vars[$i]}=127.0.0.1:PORT."
            fi
            exit 1
        fi
    done
}

pids=()   # one per service: the pid of its process group leader (started with setsid)
tails=()  # the log-prefixing pipelines
stopping=""

# shellcheck disable=SC2317 # called from traps
cleanup() {
    local i waited=0 alive
    [[ -z "$stopping" ]] || return 0
    stopping=1
    # Stop the services even when our output is gone (a closed terminal, `make run | tee`
    # interrupted with Ctrl-C): failed writes must neither kill nor stop this function.
    trap '' PIPE
    set +e
    if [[ "${#pids[@]}" -gt 0 ]]; then
        fv_note "stopping the services"
        for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
            kill -TERM -- "-${pids[$i]}" 2>/dev/null || true
        done
        while :; do
            alive=""
            for i in "${!pids[@]}"; do
                if fv_pid_alive "${pids[$i]}"; then
                    alive+=" ${binaries[$i]}"
                fi
            done
            [[ -n "$alive" ]] || break
            if [[ "$waited" -ge 150 ]]; then
                fv_note "still running after 15 s, killing:$alive"
                break
            fi
            sleep 0.1
            waited=$((waited + 1))
        done
        # Whatever is left in the services' process groups (even after a leader exited).
        for i in "${!pids[@]}"; do
            kill -KILL -- "-${pids[$i]}" 2>/dev/null || true
        done
    fi
    if [[ "${#tails[@]}" -gt 0 ]]; then
        kill "${tails[@]}" 2>/dev/null || true
    fi
    wait 2>/dev/null || true
    if [[ "$(cat "$data/run.pid" 2>/dev/null || true)" == "$$" ]]; then
        rm -f -- "$data/run.pid"
    fi
}

# shellcheck disable=SC2317 # called from traps
on_signal() {
    trap '' INT TERM HUP PIPE
    {
        fv_say ""
        fv_note "got SIG$1"
    } 2>/dev/null || true
    cleanup
    exit "$2"
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# Starts service I in its own session and process group, logging to data/logs/TAG.log.
start_service() {
    local i="$1" tag="${tags[$1]}" log="$logs/${tags[$1]}.log" pid
    if [[ -f "$log" ]]; then
        mv -f -- "$log" "$log.1"
    fi
    : >"$log"
    # A background child of a script is no group leader, so setsid(1) execs in place:
    # $! is the service itself, leader of a new process group that Ctrl-C does not reach
    # (this script stops it in order).
    setsid "$bin/${binaries[$i]}" >>"$log" 2>&1 </dev/null &
    pid=$!
    pids[i]="$pid"
    tail -n +1 -F --pid="$pid" -- "$log" 2>/dev/null | sed -u "s/^/[$tag] /" &
    tails+=("$!")
}

# Explains why service I is not up, with the end of its log.
report_failure() {
    local i="$1" why="$2"
    fv_say "run.sh: error: ${binaries[$i]} $why; the end of $logs/${tags[$i]}.log:"
    if [[ -s "$logs/${tags[$i]}.log" ]]; then
        tail -n 25 -- "$logs/${tags[$i]}.log" | sed "s/^/    /" >&2 || true
    else
        fv_say "    (empty)"
    fi
}

# Exits with an explanation when a started service has died.
check_alive() {
    local i status
    for i in "${!pids[@]}"; do
        if ! fv_pid_alive "${pids[$i]}"; then
            status=0
            wait "${pids[$i]}" 2>/dev/null || status=$?
            report_failure "$i" "exited (status $status) during start-up"
            exit 1
        fi
    done
}

# --- 1. nothing of an earlier run may hold our ports --------------------------------
check_ports

# --- 2. build ------------------------------------------------------------------------
fv_note "building the release binaries (cargo build --release --bins; target dir $CARGO_TARGET_DIR)"
cargo build --release --bins >&2
for name in "${binaries[@]}"; do
    [[ -x "$bin/$name" ]] || fv_die "cargo built no $bin/$name (is its crate a workspace member?)"
done

fv_note "building the web UI"
bash "$here/web.sh" build
export FLOWSVAULT_WEB_DIR="$FV_ROOT/gateway/web/dist"

# --- 3. PostgreSQL, Redis, directories -------------------------------------------------
pg_server="$(bash "$here/postgres.sh" url)" || fv_die "no PostgreSQL server (see above)"
export FLOWSVAULT_AUTH_DATABASE_URL FLOWSVAULT_FILES_DATABASE_URL
FLOWSVAULT_AUTH_DATABASE_URL="$(fv_db_url "$pg_server" flowsvault_auth)"
FLOWSVAULT_FILES_DATABASE_URL="$(fv_db_url "$pg_server" flowsvault_files)"

if redis_url="$(bash "$here/redis.sh" url)"; then
    export FLOWSVAULT_REDIS_URL="$redis_url"
else
    fv_note "no Redis (see above): the gateway keeps its rate limits in memory"
    unset FLOWSVAULT_REDIS_URL
fi

export FLOWSVAULT_STORAGE_ROOT="$data/objects"
mkdir -p -- "$FLOWSVAULT_STORAGE_ROOT" "$logs"

# Sign-in: the one-click development sign-in (the gateway allows it on loopback only), and
# the local OpenID provider of deploy/local/oidc.sh when no providers are configured.
export FLOWSVAULT_DEV_SIGNIN="${FLOWSVAULT_DEV_SIGNIN:-true}"
if [[ -z "${FLOWSVAULT_AUTH_PROVIDERS:-}" ]]; then
    export FLOWSVAULT_OIDC_REDIRECT_URI="http://$FLOWSVAULT_GATEWAY_ADDR/api/auth/callback/local"
    if issuer="$(bash "$here/oidc.sh" start)"; then
        export FLOWSVAULT_AUTH_PROVIDERS=local
        export FLOWSVAULT_AUTH_PROVIDER_LOCAL_NAME="Local OpenID provider"
        export FLOWSVAULT_AUTH_PROVIDER_LOCAL_ISSUER="$issuer"
        export FLOWSVAULT_AUTH_PROVIDER_LOCAL_CLIENT_ID=flowsvault-local
        export FLOWSVAULT_AUTH_PROVIDER_LOCAL_CLIENT_SECRET="${FLOWSVAULT_OIDC_CLIENT_SECRET:-flowsvault-local-secret}"
    else
        fv_note "the local OpenID provider did not start (see above): only the development sign-in is offered"
    fi
fi

# --- 4. data/run.env, for make api-key and for anyone who wants the same settings ----
{
    printf '# Written by deploy/local/run.sh (make run); source it to talk to the same servers.\n'
    for var in FLOWSVAULT_GATEWAY_ADDR FLOWSVAULT_AUTH_ADDR FLOWSVAULT_FILES_ADDR \
        FLOWSVAULT_STORAGE_ADDR FLOWSVAULT_JANITOR_ADDR FLOWSVAULT_AUTH_URL \
        FLOWSVAULT_FILES_URL FLOWSVAULT_STORAGE_URL FLOWSVAULT_JANITOR_URL \
        FLOWSVAULT_AUTH_DATABASE_URL FLOWSVAULT_FILES_DATABASE_URL \
        FLOWSVAULT_STORAGE_ROOT FLOWSVAULT_REDIS_URL FLOWSVAULT_DEV_SIGNIN FLOWSVAULT_WEB_DIR; do
        if [[ -n "${!var:-}" ]]; then
            printf 'export %s=%q\n' "$var" "${!var}"
        fi
    done
} >"$data/run.env.tmp"
mv -f -- "$data/run.env.tmp" "$data/run.env"
printf '%s\n' "$$" >"$data/run.pid"

# --- 5. start: backends, then the gateway --------------------------------------------
check_ports
fv_note "starting auth-service, file-service, storage-service and janitor"
for i in 0 1 2 3; do
    start_service "$i"
done

deadline=$((SECONDS + timeout_secs))
waiting=(0 1 2 3)
while [[ "${#waiting[@]}" -gt 0 ]]; do
    check_alive
    still=()
    for i in "${waiting[@]}"; do
        if ! fv_port_open 127.0.0.1 "${addrs[$i]##*:}"; then
            still+=("$i")
        fi
    done
    waiting=("${still[@]}")
    [[ "${#waiting[@]}" -gt 0 ]] || break
    if [[ "$SECONDS" -ge "$deadline" ]]; then
        for i in "${waiting[@]}"; do
            report_failure "$i" "does not listen on ${addrs[$i]} after ${timeout_secs} s"
        done
        exit 1
    fi
    sleep 0.25
done

fv_note "starting the gateway"
start_service 4
deadline=$((SECONDS + timeout_secs))
body="$data/ready.json"
code=""
while :; do
    check_alive
    code="$(curl -sS -o "$body" -w '%{http_code}' --max-time 2 "$gateway_url/api/ready" 2>/dev/null || true)"
    [[ "$code" != 200 ]] || break
    if [[ "$SECONDS" -ge "$deadline" ]]; then
        fv_say "run.sh: error: $gateway_url/api/ready did not answer 200 within ${timeout_secs} s (last answer: HTTP ${code:-none}${code:+ $(head -c 600 "$body" 2>/dev/null || true)})"
        report_failure 4 "is not ready"
        exit 1
    fi
    sleep 0.5
done
rm -f -- "$body"

cat <<EOF

  Flowsvault is running: $gateway_url
    API key:   make api-key EMAIL=you@example.com   (in another terminal)
    logs:      $logs/<service>.log
    database:  $(printf '%s' "$pg_server" | sed 's#://\([^:/@]*\):[^@]*@#://\1:***@#')
    redis:     ${FLOWSVAULT_REDIS_URL:-none (rate limits in memory)}
  Press Ctrl-C to stop.

EOF

# --- 6. run until a signal, or until a service dies ----------------------------------
status=0
exited=""
wait -n -p exited "${pids[@]}" || status=$?
for i in "${!pids[@]}"; do
    if [[ "${pids[$i]}" == "$exited" ]]; then
        report_failure "$i" "exited (status $status); stopping the rest"
    fi
done
exit 1
