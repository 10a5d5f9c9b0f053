#!/usr/bin/env bash
# Finds (or starts) the PostgreSQL server that `make run` and `make test` use.
#
#   deploy/local/postgres.sh url    print a server URL ending in /postgres (the
#                                   maintenance database), starting a server if needed
#   deploy/local/postgres.sh start  skip discovery: start (or reuse) the private cluster
#                                   and print its URL
#   deploy/local/postgres.sh stop   stop the private cluster if it runs
#   deploy/local/postgres.sh clean  stop it and delete its files
#
# `url` tries, in order:
#   1. $DATABASE_URL, with its database replaced by /postgres (any ?query is kept);
#   2. a server on 127.0.0.1:5432 that lets user `postgres` in without a password;
#   3. a private cluster in ./data/pg on port 55432, made with this machine's PostgreSQL
#      server binaries (installed with apt-get when missing, if running as root and
#      FLOWSVAULT_NO_INSTALL is unset). It is left running; `stop` stops it.
#
# Settings: FLOWSVAULT_PG_DIR (private cluster directory, default <repo>/data/pg),
# FLOWSVAULT_PG_PORT (its port, default 55432), FLOWSVAULT_PG_BINDIR (a directory holding
# initdb and pg_ctl, instead of searching /usr/lib/postgresql/*/bin and PATH).
#
# As root the cluster belongs to the OS user `postgres` (PostgreSQL refuses to run as
# root). When that user cannot reach <repo>/data (a checkout under /root, say), the
# cluster lives in /var/tmp/flowsvault-pg/<checksum of the repo path> instead.
#
# The script can also be sourced; it then only defines the fv_pg_* functions.
# Only the URL goes to stdout; every message goes to stderr.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FV_PG_DEFAULT_PORT=55432

fv_pg_redact() {
    printf '%s\n' "$1" | sed 's#://\([^:/@]*\):[^@]*@#://\1:***@#'
}

# The server URL (database /postgres) of $DATABASE_URL.
fv_pg_from_database_url() {
    local url rc=0 waited=0
    url="$(fv_db_url "$DATABASE_URL" postgres)"
    if command -v pg_isready >/dev/null 2>&1; then
        while :; do
            rc=0
            pg_isready -q -t 5 -d "$url" || rc=$?
            if [[ "$rc" -ne 1 || "$waited" -ge 15 ]]; then
                break
            fi
            # 1: the server is starting up or shutting down; give it a moment.
            sleep 1
            waited=$((waited + 1))
        done
        case "$rc" in
            0) ;;
            2) fv_die "DATABASE_URL is set, but its server does not answer: $(fv_pg_redact "$url")" ;;
            3) fv_die "DATABASE_URL is set, but pg_isready cannot use it: $(fv_pg_redact "$url")" ;;
            *) fv_die "DATABASE_URL is set, but its server rejects connections: $(fv_pg_redact "$url")" ;;
        esac
    fi
    printf '%s\n' "$url"
}

# True when a PostgreSQL server accepts connections on 127.0.0.1:PORT.
fv_pg_answers() {
    local port="$1"
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -t 3 -h 127.0.0.1 -p "$port"
    else
        fv_port_open 127.0.0.1 "$port"
    fi
}

# True unless psql is present and says that URL cannot be logged into without a password
# (the services neither read PGPASSWORD nor ~/.pgpass, so neither does this check).
fv_pg_can_login() {
    local url="$1"
    if ! command -v psql >/dev/null 2>&1; then
        return 0
    fi
    env -u PGPASSWORD PGPASSFILE=/dev/null PGCONNECT_TIMEOUT=5 \
        psql -w -X -q -At -d "$url" -c 'SELECT 1' >/dev/null 2>&1
}

# The highest-version directory holding initdb and pg_ctl, or the one of major version
# $1 when given. Fails when there is none.
fv_pg_bindir() {
    local want="${1:-}" candidate version best="" best_version="" found
    local -a candidates=()
    if [[ -n "${FLOWSVAULT_PG_BINDIR:-}" ]]; then
        candidates=("$FLOWSVAULT_PG_BINDIR")
    else
        for candidate in /usr/lib/postgresql/*/bin; do
            candidates+=("$candidate")
        done
        if found="$(command -v pg_ctl 2>/dev/null)"; then
            candidates+=("$(dirname "$(readlink -f "$found")")")
        fi
    fi
    for candidate in "${candidates[@]}"; do
        [[ -x "$candidate/initdb" && -x "$candidate/pg_ctl" ]] || continue
        # "pg_ctl (PostgreSQL) 15.19 (Debian ...)" -> 15
        version="$("$candidate/pg_ctl" --version 2>/dev/null | sed -n 's/^[^0-9]*\([0-9][0-9]*\).*/\1/p')"
        [[ -n "$version" ]] || continue
        if [[ -n "$want" ]]; then
            if [[ "$version" == "$want" ]]; then
                printf '%s\n' "$candidate"
                return 0
            fi
        elif [[ -z "$best" || "$version" -gt "$best_version" ]]; then
            best="$candidate"
            best_version="$version"
        fi
    done
    [[ -n "$best" ]] || return 1
    printf '%s\n' "$best"
}

fv_pg_is_root() {
    [[ "$(id -u)" -eq 0 ]]
}

# Runs a command as the owner of the cluster: user `postgres` when we are root, else us.
# From /, so that a working directory the owner cannot enter does not matter.
fv_pg_as_owner() {
    if fv_pg_is_root; then
        if command -v runuser >/dev/null 2>&1; then
            (cd / && runuser -u postgres -- "$@")
        else
            (cd / && setpriv --reuid=postgres --regid=postgres --init-groups -- "$@")
        fi
    else
        (cd / && "$@")
    fi
}

# As root: makes sure the OS user `postgres` exists.
fv_pg_ensure_user() {
    fv_pg_is_root || return 0
    id postgres >/dev/null 2>&1 && return 0
    if [[ -n "${FLOWSVAULT_NO_INSTALL:-}" ]]; then
        fv_die "there is no OS user 'postgres' to run PostgreSQL as (root may not), and FLOWSVAULT_NO_INSTALL forbids creating one"
    fi
    fv_note "creating the OS user 'postgres'"
    useradd --system --no-create-home --home-dir /var/lib/postgresql --shell /usr/sbin/nologin postgres >&2 ||
        fv_die "could not create the OS user 'postgres'"
}

# The private cluster's directory (see the header for the fallback used as root).
fv_pg_dir() {
    local dir
    if [[ -n "${FLOWSVAULT_PG_DIR:-}" ]]; then
        realpath -m -- "$FLOWSVAULT_PG_DIR"
        return 0
    fi
    dir="$FV_ROOT/data/pg"
    if fv_pg_is_root && id postgres >/dev/null 2>&1 && ! fv_pg_as_owner test -x "$FV_ROOT"; then
        dir="/var/tmp/flowsvault-pg/$(printf '%s' "$FV_ROOT" | cksum | cut -d ' ' -f 1)"
    fi
    printf '%s\n' "$dir"
}

fv_pg_port() {
    local port="${FLOWSVAULT_PG_PORT:-$FV_PG_DEFAULT_PORT}"
    [[ "$port" =~ ^[0-9]+$ ]] || fv_die "FLOWSVAULT_PG_PORT is not a port number: $port"
    printf '%s\n' "$port"
}

# The directory for the server's Unix socket: <dir>/run, or a short path in /tmp when
# that would exceed the kernel's limit on socket path length.
fv_pg_sockdir() {
    local dir="$1" port="$2" sock="$1/run"
    if [[ $((${#sock} + ${#port} + 16)) -gt 100 ]]; then
        sock="/tmp/flowsvault-pg-$(printf '%s' "$dir" | cksum | cut -d ' ' -f 1)"
    fi
    printf '%s\n' "$sock"
}

# Creates DIR for the cluster's owner.
fv_pg_mkdir_owned() {
    mkdir -p -- "$1" || fv_die "cannot create $1"
    if fv_pg_is_root; then
        chown postgres:postgres -- "$1" || fv_die "cannot hand $1 to user postgres"
    fi
}

# The port a running cluster listens on (line 4 of postmaster.pid).
fv_pg_running_port() {
    sed -n 4p "$1/postmaster.pid" 2>/dev/null
}

# Starts (or reuses) the private cluster and prints its URL.
fv_pg_private_url() {
    local dir port data sock log bindir version lock_fd rc port_in_use owner
    port="$(fv_pg_port)"

    if ! bindir="$(fv_pg_bindir)"; then
        if fv_may_install; then
            fv_note "PostgreSQL server binaries not found"
            fv_apt_install postgresql || fv_die "installing postgresql failed"
            bindir="$(fv_pg_bindir)" ||
                fv_die "postgresql was installed, but no initdb/pg_ctl was found in /usr/lib/postgresql/*/bin"
        else
            fv_die "no PostgreSQL server to use, and none to start: the server binaries initdb and pg_ctl are not installed (looked in ${FLOWSVAULT_PG_BINDIR:-/usr/lib/postgresql/*/bin and PATH}). Install PostgreSQL (Debian: apt-get install postgresql; this script does that itself when run as root), or set DATABASE_URL to a server."
        fi
    fi
    fv_pg_ensure_user

    dir="$(fv_pg_dir)"
    data="$dir/cluster"
    log="$dir/postgres.log"
    sock="$(fv_pg_sockdir "$dir" "$port")"
    if [[ "$dir" == "$FV_ROOT/data/pg" ]]; then
        # user postgres must be able to pass through data/, whatever root's umask.
        mkdir -p -- "$FV_ROOT/data" && chmod a+x -- "$FV_ROOT/data"
    fi
    fv_pg_mkdir_owned "$dir"
    fv_pg_mkdir_owned "$sock"
    if fv_pg_is_root && ! fv_pg_as_owner test -w "$dir"; then
        fv_die "user postgres cannot write to $dir (a parent directory is closed to it); set FLOWSVAULT_PG_DIR to a directory it can reach"
    fi
    touch "$dir/.flowsvault-pg"

    # One caller at a time sets the cluster up (make run and make test may overlap). The
    # server must not inherit the lock's descriptor, or it would hold the lock for good.
    exec {lock_fd}>"$dir/.lock"
    flock -w 120 "$lock_fd" || fv_die "another process holds $dir/.lock for more than 120 s"

    if [[ -f "$data/PG_VERSION" ]]; then
        version="$(<"$data/PG_VERSION")"
        bindir="$(fv_pg_bindir "$version")" ||
            fv_die "the cluster in $data was made by PostgreSQL $version, whose binaries are not installed; install them, or remove $dir (make clean-data) to start afresh"
    else
        if [[ -e "$data" ]]; then
            fv_note "removing the unfinished cluster in $data"
            rm -rf -- "$data"
        fi
        fv_note "creating a private PostgreSQL cluster in $data"
        fv_pg_as_owner "$bindir/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C >&2 ||
            fv_die "initdb failed for $data"
    fi

    rc=0
    fv_pg_as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1 || rc=$?
    if [[ "$rc" -eq 0 ]]; then
        port_in_use="$(fv_pg_running_port "$data")"
        if [[ -n "$port_in_use" && "$port_in_use" != "$port" ]]; then
            fv_note "the private cluster already runs on port $port_in_use (not $port); using it"
            port="$port_in_use"
        fi
    else
        if fv_port_open 127.0.0.1 "$port"; then
            owner="$(fv_port_owner "$port")"
            fv_die "port $port is taken by another program${owner:+ ($owner)}; stop it or set FLOWSVAULT_PG_PORT"
        fi
        fv_note "starting the private PostgreSQL cluster on 127.0.0.1:$port (log: $log)"
        if ! fv_pg_as_owner "$bindir/pg_ctl" -D "$data" -l "$log" -w -t 60 \
            -o "-p $port -k '$sock' -c listen_addresses=127.0.0.1" start >&2 {lock_fd}>&-; then
            tail -n 20 -- "$log" >&2 2>/dev/null || true
            fv_die "PostgreSQL did not start (log above, in full in $log)"
        fi
    fi
    exec {lock_fd}>&-

    if ! fv_pg_answers "$port"; then
        fv_die "the private cluster in $data runs, but nothing answers on 127.0.0.1:$port"
    fi
    printf 'postgres://postgres@127.0.0.1:%s/postgres\n' "$port"
}

# Discovery, in the order given in the header. Prints the server URL.
fv_pg_url() {
    local system_url="postgres://postgres@127.0.0.1:5432/postgres"
    if [[ -n "${DATABASE_URL:-}" ]]; then
        fv_pg_from_database_url
        return 0
    fi
    if fv_pg_answers 5432; then
        if fv_pg_can_login "$system_url"; then
            printf '%s\n' "$system_url"
            return 0
        fi
        fv_note "a PostgreSQL server answers on 127.0.0.1:5432 but does not let user postgres in without a password; using a private cluster (set DATABASE_URL to use that server instead)"
    fi
    fv_pg_private_url
}

fv_pg_stop() {
    local dir data version bindir pid waited=0 rc
    dir="$(fv_pg_dir)"
    data="$dir/cluster"
    if [[ ! -f "$data/postmaster.pid" ]]; then
        fv_note "no private PostgreSQL cluster runs in $data"
        return 0
    fi
    version="$(cat "$data/PG_VERSION" 2>/dev/null || true)"
    if bindir="$(fv_pg_bindir "$version")"; then
        rc=0
        fv_pg_as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1 || rc=$?
        if [[ "$rc" -ne 0 ]]; then
            fv_note "no private PostgreSQL cluster runs in $data (stale postmaster.pid)"
            return 0
        fi
        fv_note "stopping the private PostgreSQL cluster in $data"
        fv_pg_as_owner "$bindir/pg_ctl" -D "$data" -m fast -w -t 60 stop >&2 ||
            fv_die "pg_ctl could not stop the cluster in $data"
        return 0
    fi
    # No binaries (uninstalled since?): SIGINT is PostgreSQL's "fast shutdown".
    pid="$(head -n 1 "$data/postmaster.pid")"
    if [[ "$pid" =~ ^[0-9]+$ ]] && fv_pid_alive "$pid"; then
        fv_note "stopping the private PostgreSQL cluster in $data (pid $pid)"
        kill -INT "$pid"
        while fv_pid_alive "$pid"; do
            [[ "$waited" -lt 60 ]] || fv_die "PostgreSQL (pid $pid) did not stop within 60 s"
            sleep 1
            waited=$((waited + 1))
        done
    else
        fv_note "no private PostgreSQL cluster runs in $data (stale postmaster.pid)"
    fi
}

fv_pg_clean() {
    local dir
    dir="$(fv_pg_dir)"
    fv_pg_stop
    if [[ ! -e "$dir" ]]; then
        return 0
    fi
    if [[ ! -f "$dir/.flowsvault-pg" ]]; then
        fv_die "refusing to delete $dir: it was not made by this script"
    fi
    fv_note "deleting $dir"
    rm -rf -- "$dir"
    rm -rf -- "/tmp/flowsvault-pg-$(printf '%s' "$dir" | cksum | cut -d ' ' -f 1)"
}

fv_pg_usage() {
    printf 'usage: %s url|start|stop|clean\n' "$0"
}

fv_pg_main() {
    case "${1:-}" in
        url) fv_pg_url ;;
        start) fv_pg_private_url ;;
        stop) fv_pg_stop ;;
        clean) fv_pg_clean ;;
        -h | --help | help) fv_pg_usage ;;
        *)
            fv_pg_usage >&2
            exit 2
            ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    FV_SCRIPT="postgres.sh"
    fv_pg_main "$@"
fi
