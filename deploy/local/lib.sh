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
# collected it yet still answers kill -0). With STARTED (from fv_pid_started), only the
# process that had that start time counts: once a process is gone, its pid may come round
# again for another (a machine that starts many processes wraps its pids within
# seconds). A pid that came round as a thread of another process never counts: kill -0
# and /proc/PID answer for thread ids too.
fv_pid_alive() {
    local pid="$1" started="${2:-}" state tgid
    kill -0 "$pid" 2>/dev/null || return 1
    tgid="$(sed -n 's/^Tgid:[[:space:]]*//p' "/proc/$pid/status" 2>/dev/null || true)"
    [[ -z "$tgid" || "$tgid" == "$pid" ]] || return 1
    [[ -z "$started" || "$(fv_pid_started "$pid")" == "$started" ]] || return 1
    state="$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ "$state" != Z && "$state" != X ]]
}

# When process PID started (clock ticks since boot, field 22 of /proc/PID/stat); empty
# when there is no such process.
fv_pid_started() {
    sed -n 's/^.*) //p' "/proc/$1/stat" 2>/dev/null | awk '{print $20}'
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

# Creates VENV afresh with python3 (3.11 or later), installing Debian's python3-venv when
# that is what is missing and the script may install. WHAT names its packages in errors.
fv_make_venv() {
    local venv="$1" what="$2" python recent
    python="$(command -v python3)" || fv_die "python3 is not installed (Debian: apt-get install python3 python3-venv)"
    recent="$("$python" -c 'import sys; print(sys.version_info >= (3, 11))')" || fv_die "$python does not run"
    [[ "$recent" == True ]] ||
        fv_die "the pinned $what needs Python 3.11 or later; $python is $("$python" --version 2>&1)"
    rm -rf -- "$venv"
    mkdir -p -- "$(dirname -- "$venv")" || fv_die "cannot create $(dirname -- "$venv")"
    if "$python" -m venv "$venv" >&2; then
        return 0
    fi
    rm -rf -- "$venv"
    if fv_may_install; then
        fv_apt_install python3-venv || fv_die "installing python3-venv failed"
        "$python" -m venv "$venv" >&2 && return 0
    fi
    fv_die "python3 -m venv $venv failed (Debian: apt-get install python3-venv)"
}

# Makes VENV hold the packages of the file REQUIREMENTS, unless it was built from that
# file as it is now (a stamp in the venv keeps the file's SHA-256). WHAT names the
# packages in messages; the remaining arguments are a command that must then succeed,
# run with the venv's bin first on PATH. Concurrent callers wait for one another, and
# FLOWSVAULT_NO_INSTALL forbids building.
fv_pip_venv() {
    local venv="$1" requirements="$2" what="$3" sum hash lock_fd
    shift 3
    sum="$(sha256sum <"$requirements")" || fv_die "cannot read $requirements"
    hash="${sum%% *}"
    fv_venv_built() {
        [[ -x "$venv/bin/python" && "$(cat "$venv/.flowsvault-requirements.sha256" 2>/dev/null || true)" == "$hash" ]]
    }
    if fv_venv_built; then
        return 0
    fi
    mkdir -p -- "$(dirname -- "$venv")" || fv_die "cannot create $(dirname -- "$venv")"
    exec {lock_fd}>"$(dirname -- "$venv")/.$(basename -- "$venv").lock"
    flock -w 600 "$lock_fd" || fv_die "another process has been installing into $venv for more than 10 minutes"
    if fv_venv_built; then
        exec {lock_fd}>&-
        return 0
    fi
    if [[ -n "${FLOWSVAULT_NO_INSTALL:-}" ]]; then
        fv_die "$what is not installed in $venv (or $requirements changed) and FLOWSVAULT_NO_INSTALL forbids installing it"
    fi
    if [[ -e "$venv" ]]; then
        fv_note "$requirements changed since $venv was built; rebuilding it"
    fi
    fv_note "creating $venv with $what (pip install -r $requirements)"
    fv_make_venv "$venv" "$what"
    "$venv/bin/python" -m pip install --disable-pip-version-check --no-input --quiet \
        -r "$requirements" >&2 ||
        fv_die "pip install -r $requirements into $venv failed"
    PATH="$venv/bin:$PATH" "$@" >&2 || fv_die "$what was installed into $venv but \`$*\` fails"
    printf '%s\n' "$hash" >"$venv/.flowsvault-requirements.sha256"
    exec {lock_fd}>&-
}

