#!/usr/bin/env bash
# Helpers shared by the scripts in deploy/local. Source it; it defines functions and
# FV_ROOT (the repository root, found from this file's location) and runs nothing else.
# Everything here writes its messages to stderr: stdout stays free for the one value a
# script prints (a URL, an API key).

if [[ -n "${FV_LIB_LOADED:-}" ]]; then
    return 0
fi
FV_LIB_LOADED=1

# shellcheck disable=SC2034 # used by the scripts that source this file
FV_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)"

fv_say() {
    printf '%s\n' "$*" >&2
}

fv_note() {
    printf '%s: %s\n' "${FV_SCRIPT:-flowsvault}" "$*" >&2
}

fv_die() {
    printf '%s: error: %s\n' "${FV_SCRIPT:-flowsvault}" "$*" >&2
    exit 1
}

# Where cargo puts its output. The same default as the Makefile and .ci/run, so that a
# script started by hand finds the binaries `make` built.
fv_target_dir() {
    if [[ -n "${CARGO_TARGET_DIR:-}" ]]; then
        printf '%s\n' "$CARGO_TARGET_DIR"
    else
        printf '%s\n' "${HOME:?HOME is not set}/.cache/flowsvault/target"
    fi
}

# True when something accepts TCP connections on HOST:PORT (asked for at most 2 s).
fv_port_open() {
    local host="$1" port="$2"
    # shellcheck disable=SC2016 # expanded by the inner bash
    timeout 2 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null
}

# Who listens on PORT, for error messages (empty when ss is missing or tells nothing).
fv_port_owner() {
    local port="$1"
    if command -v ss >/dev/null 2>&1; then
        ss -Hltnp "sport = :$port" 2>/dev/null | sed -n 's/.*users:((\(.*\)))/\1/p' | head -n 1
    fi
}

# True when process PID exists and is not a zombie (a killed daemon whose reaper has not
# collected it yet still answers kill -0).
fv_pid_alive() {
    local pid="$1" state
    kill -0 "$pid" 2>/dev/null || return 1
    state="$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ "$state" != Z && "$state" != X ]]
}

# True when this script may install packages: as root, unless FLOWSVAULT_NO_INSTALL is set.
fv_may_install() {
    [[ "$(id -u)" -eq 0 && -z "${FLOWSVAULT_NO_INSTALL:-}" ]] && command -v apt-get >/dev/null 2>&1
}

# Installs Debian packages, sending all of apt's output to stderr.
fv_apt_install() {
    fv_note "installing $* with apt-get (set FLOWSVAULT_NO_INSTALL=1 to forbid this)"
    {
        apt-get update &&
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@"
    } >&2
}

# Replaces the database of a postgres:// URL: fv_db_url URL NAME. Keeps any ?query.
fv_db_url() {
    local url="$1" name="$2" query="" base rest authority scheme
    if [[ "$url" == *\?* ]]; then
        query="?${url#*\?}"
    fi
    base="${url%%\?*}"
    if [[ "$base" != *://* ]]; then
        fv_die "not a postgres:// URL: $url"
    fi
    scheme="${base%%://*}"
    rest="${base#*://}"
    authority="${rest%%/*}"
    printf '%s://%s/%s%s\n' "$scheme" "$authority" "$name" "$query"
}
