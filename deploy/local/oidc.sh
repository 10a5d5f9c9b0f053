#!/usr/bin/env bash
# Starts (or reuses) the OpenID Connect provider that `make run` and `make test` sign in
# with: deploy/local/oidc/server.mjs (npm oidc-provider 9) on 127.0.0.1.
#
#   deploy/local/oidc.sh env    start (or reuse) the provider and print, for eval,
#                                 export FLOWSVAULT_TEST_OIDC_ISSUER=http://127.0.0.1:19400
#   deploy/local/oidc.sh start  the same, but print only the issuer URL
#   deploy/local/oidc.sh stop   stop the provider if it runs
#   deploy/local/oidc.sh clean  stop it and delete its directory
#
#   eval "$(deploy/local/oidc.sh env)"
#
# What the provider does (every request signs in at once, as the login_hint's account or
# alice; open dynamic client registration; the static client flowsvault-local) is told
# at the top of server.mjs. deploy/local/oidc/check.sh signs in once with curl against it.
#
# The first run installs the provider's npm packages from deploy/local/oidc/package-lock.json
# (`npm ci`, again whenever that lockfile is newer than node_modules), and installs
# Debian's nodejs and npm with apt-get when they are missing, if running as root and
# FLOWSVAULT_NO_INSTALL is unset.
#
# The provider keeps everything in memory: a restart forgets all clients and sessions.
# Its pid file (oidc.pid), port, settings and log (oidc.log) are in ./data/oidc. It is
# restarted when it was started with other settings than the current ones, or from
# another server.mjs or package-lock.json.
# Settings: FLOWSVAULT_OIDC_DIR (default <repo>/data/oidc), FLOWSVAULT_OIDC_PORT (default
# 19400), FLOWSVAULT_OIDC_CLIENT_SECRET and FLOWSVAULT_OIDC_REDIRECT_URI (the static
# client's; see server.mjs), FLOWSVAULT_OIDC_START_TIMEOUT (seconds, default 20).
#
# The script can also be sourced; it then only defines the fv_oidc_* functions.
# Only the result goes to stdout; every message goes to stderr.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FV_OIDC_DEFAULT_PORT=19400
FV_OIDC_APP="$FV_ROOT/deploy/local/oidc"
FV_OIDC_RUNNING_PORT=

fv_oidc_dir() {
    realpath -m -- "${FLOWSVAULT_OIDC_DIR:-$FV_ROOT/data/oidc}"
}

fv_oidc_port() {
    local port="${FLOWSVAULT_OIDC_PORT:-$FV_OIDC_DEFAULT_PORT}"
    [[ "$port" =~ ^[0-9]+$ && "$port" -ge 1024 && "$port" -le 65535 ]] ||
        fv_die "FLOWSVAULT_OIDC_PORT is not a port number from 1024 to 65535: $port"
    printf '%s\n' "$port"
}

# One line that changes when the provider must be restarted: to follow the environment
# (the secret only as a hash: it goes into a file) or a new server.mjs or lockfile.
fv_oidc_settings() {
    local port="$1" secret_hash code_hash
    secret_hash="$(printf '%s' "${FLOWSVAULT_OIDC_CLIENT_SECRET:-}" | sha256sum)"
    code_hash="$(cat -- "$FV_OIDC_APP/server.mjs" "$FV_OIDC_APP/package-lock.json" | sha256sum)" ||
        fv_die "cannot read $FV_OIDC_APP/server.mjs and package-lock.json"
    printf 'port=%s redirect_uri=%s client_secret_sha256=%s code_sha256=%s\n' "$port" \
        "${FLOWSVAULT_OIDC_REDIRECT_URI:-}" "${secret_hash%% *}" "${code_hash%% *}"
}

# True when an OpenID provider on 127.0.0.1:PORT serves its discovery document with the
# issuer http://127.0.0.1:PORT.
fv_oidc_answers() {
    local port="$1" body
    body="$(curl -fsS -m 3 "http://127.0.0.1:$port/.well-known/openid-configuration" 2>/dev/null)" ||
        return 1
    [[ "$body" == *"\"issuer\":\"http://127.0.0.1:$port\""* ]]
}

# The pid in DIR/oidc.pid when that process is alive and is node running server.mjs.
fv_oidc_live_pid() {
    local dir="$1" pid
    pid="$(cat "$dir/oidc.pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    fv_pid_alive "$pid" || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == node* ]] || return 1
    [[ "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)" == *server.mjs* ]] || return 1
    printf '%s\n' "$pid"
}

# Makes sure node (20.19 or later) and npm are there, installing Debian's packages when
# allowed.
fv_oidc_need_node() {
    local recent
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        if fv_may_install; then
            fv_note "node or npm not found"
            fv_apt_install nodejs npm || fv_die "installing nodejs and npm failed"
        else
            fv_die "node and npm are needed for the OpenID provider; install them (Debian: apt-get install nodejs npm; this script does that itself when run as root)"
        fi
    fi
    recent="$(node -p 'const [a, b] = process.versions.node.split(".").map(Number); a > 20 || (a === 20 && b >= 19)')" ||
        fv_die "node does not run"
    [[ "$recent" == true ]] ||
        fv_die "oidc-provider 9 needs Node.js 20.19 or later; $(command -v node) is $(node --version)"
}

# Runs `npm ci` in deploy/local/oidc when node_modules is missing or older than the
# lockfile (npm writes node_modules/.package-lock.json at the end of each install).
fv_oidc_install() {
    local app="$FV_OIDC_APP" lock_fd
    fv_oidc_need_node
    [[ -f "$app/package-lock.json" ]] || fv_die "$app/package-lock.json is missing"
    if [[ -d "$app/node_modules/oidc-provider" && ! "$app/package-lock.json" -nt "$app/node_modules/.package-lock.json" ]]; then
        return 0
    fi
    # Locked on the lockfile itself (opened read-only), so that no lock file lands in the
    # repository and two scripts never run npm ci in the same place at once.
    exec {lock_fd}<"$app/package-lock.json"
    flock -w 600 "$lock_fd" || fv_die "another process has been installing into $app/node_modules for more than 10 minutes"
    if [[ -d "$app/node_modules/oidc-provider" && ! "$app/package-lock.json" -nt "$app/node_modules/.package-lock.json" ]]; then
        exec {lock_fd}<&-
        return 0
    fi
    if [[ -n "${FLOWSVAULT_NO_INSTALL:-}" ]]; then
        fv_die "the OpenID provider's npm packages are not installed and FLOWSVAULT_NO_INSTALL forbids installing them (cd $app && npm ci)"
    fi
    fv_note "installing the OpenID provider's npm packages (npm ci in $app)"
    (cd "$app" && npm ci --no-audit --no-fund --ignore-scripts) >&2 || fv_die "npm ci in $app failed"
    exec {lock_fd}<&-
}

# Stops the provider whose pid is in DIR/oidc.pid, if it runs.
fv_oidc_kill() {
    local dir="$1" pid waited=0
    if pid="$(fv_oidc_live_pid "$dir")"; then
        fv_note "stopping the OpenID provider (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        while fv_pid_alive "$pid"; do
            if [[ "$waited" -ge 50 ]]; then
                fv_note "the OpenID provider (pid $pid) ignored SIGTERM for 5 s; killing it"
                kill -KILL "$pid" 2>/dev/null || true
                break
            fi
            sleep 0.1
            waited=$((waited + 1))
        done
    fi
    rm -f -- "$dir/oidc.pid"
}

# Starts (or reuses) the provider; sets FV_OIDC_RUNNING_PORT to its port. (Not to be
# called in a command substitution, where bash would ignore set -e.)
fv_oidc_start() {
    local dir port settings timeout deadline lock_fd pid running_port owner
    port="$(fv_oidc_port)"
    settings="$(fv_oidc_settings "$port")"
    timeout="${FLOWSVAULT_OIDC_START_TIMEOUT:-20}"
    [[ "$timeout" =~ ^[0-9]+$ && "$timeout" -gt 0 ]] ||
        fv_die "FLOWSVAULT_OIDC_START_TIMEOUT is not a number of seconds: $timeout"
    command -v curl >/dev/null 2>&1 || fv_die "curl is not installed (Debian: apt-get install curl)"

    dir="$(fv_oidc_dir)"
    mkdir -p -- "$dir" || fv_die "cannot create $dir"
    touch "$dir/.flowsvault-oidc"

    exec {lock_fd}>"$dir/.lock"
    flock -w 60 "$lock_fd" || fv_die "another process holds $dir/.lock for more than 60 s"

    if pid="$(fv_oidc_live_pid "$dir")"; then
        running_port="$(cat "$dir/port" 2>/dev/null || true)"
        if [[ "$(cat "$dir/settings" 2>/dev/null || true)" != "$settings" ]]; then
            fv_note "the OpenID provider (pid $pid) was started with other settings or code; restarting it"
            fv_oidc_kill "$dir"
        elif [[ -n "$running_port" ]] && fv_oidc_answers "$running_port"; then
            exec {lock_fd}>&-
            FV_OIDC_RUNNING_PORT="$running_port"
            return 0
        else
            fv_note "the OpenID provider (pid $pid) runs but does not answer; restarting it"
            fv_oidc_kill "$dir"
        fi
    fi

    if fv_port_open 127.0.0.1 "$port"; then
        owner="$(fv_port_owner "$port")"
        if fv_oidc_answers "$port"; then
            fv_die "an OpenID provider not started from $dir (another checkout or FLOWSVAULT_OIDC_DIR?) already listens on 127.0.0.1:$port${owner:+ ($owner)}; stop it or set FLOWSVAULT_OIDC_PORT"
        fi
        fv_die "port $port is taken by another program${owner:+ ($owner)}; stop it or set FLOWSVAULT_OIDC_PORT"
    fi

    fv_oidc_install

    fv_note "starting the OpenID provider on http://127.0.0.1:$port (log: $dir/oidc.log)"
    rm -f -- "$dir/oidc.pid"
    printf '%s\n' "$port" >"$dir/port"
    printf '%s\n' "$settings" >"$dir/settings"
    # setsid: the provider outlives this script and the terminal or make that started it.
    FLOWSVAULT_OIDC_PORT="$port" setsid node "$FV_OIDC_APP/server.mjs" \
        </dev/null >"$dir/oidc.log" 2>&1 {lock_fd}>&- &
    pid=$!
    printf '%s\n' "$pid" >"$dir/oidc.pid"

    deadline=$((EPOCHSECONDS + timeout))
    until fv_oidc_answers "$port"; do
        if ! fv_pid_alive "$pid"; then
            tail -n 30 -- "$dir/oidc.log" >&2 2>/dev/null || true
            rm -f -- "$dir/oidc.pid"
            fv_die "the OpenID provider exited during start-up (log above, full log: $dir/oidc.log)"
        fi
        if [[ "$EPOCHSECONDS" -ge "$deadline" ]]; then
            tail -n 30 -- "$dir/oidc.log" >&2 2>/dev/null || true
            fv_oidc_kill "$dir"
            fv_die "the OpenID provider did not answer on 127.0.0.1:$port within $timeout s (log above, full log: $dir/oidc.log)"
        fi
        sleep 0.2
    done
    exec {lock_fd}>&-
    fv_note "the OpenID provider is ready (pid $pid)"
    FV_OIDC_RUNNING_PORT="$port"
}

fv_oidc_env() {
    fv_oidc_start
    printf 'export FLOWSVAULT_TEST_OIDC_ISSUER=%q\n' "http://127.0.0.1:$FV_OIDC_RUNNING_PORT"
}

fv_oidc_url() {
    fv_oidc_start
    printf 'http://127.0.0.1:%s\n' "$FV_OIDC_RUNNING_PORT"
}

fv_oidc_stop() {
    local dir lock_fd
    dir="$(fv_oidc_dir)"
    if [[ ! -f "$dir/.flowsvault-oidc" ]]; then
        fv_note "no OpenID provider directory at $dir"
        return 0
    fi
    exec {lock_fd}>"$dir/.lock"
    flock -w 60 "$lock_fd" || fv_die "another process holds $dir/.lock for more than 60 s"
    if ! fv_oidc_live_pid "$dir" >/dev/null; then
        fv_note "no OpenID provider runs from $dir"
    fi
    fv_oidc_kill "$dir"
    exec {lock_fd}>&-
}

fv_oidc_clean() {
    local dir
    dir="$(fv_oidc_dir)"
    if [[ ! -e "$dir" ]]; then
        return 0
    fi
    if [[ ! -f "$dir/.flowsvault-oidc" ]]; then
        fv_die "refusing to delete $dir: it was not made by this script"
    fi
    fv_oidc_stop
    fv_note "deleting $dir"
    rm -rf -- "$dir"
}

fv_oidc_usage() {
    printf 'usage: %s env|start|stop|clean\n' "$0"
}

fv_oidc_main() {
    case "${1:-}" in
        env) fv_oidc_env ;;
        start) fv_oidc_url ;;
        stop) fv_oidc_stop ;;
        clean) fv_oidc_clean ;;
        -h | --help | help) fv_oidc_usage ;;
        *)
            fv_oidc_usage >&2
            exit 2
            ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    shopt -s inherit_errexit
    FV_SCRIPT="oidc.sh"
    fv_oidc_main "$@"
fi
