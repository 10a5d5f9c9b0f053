#!/usr/bin/env bash
# `make bench`: measures the whole stack (release build, real PostgreSQL, local-disk
# storage) next to baselines measured in the same run. The machine is shared and noisy,
# so the comparisons (all but section 3's) run in FLOWSVAULT_BENCH_ROUNDS rounds that
# alternate the runs compared (the order is reversed every other round; section 2 starts
# the services afresh for each run instead), and report the medians (and, but for
# section 2, each round). Sections:
#
# 1. Transfers of one large file (FLOWSVAULT_BENCH_MIB): upload with `curl -F` to
#    POST /api/upload, next to a private nginx that stores the same body on the same
#    disk (dav_methods PUT, `curl -T`), and a plain `cp`; the same file as a resumable
#    upload with the stock tus-js-client in 50 MiB PATCHes, against /api/uploads and
#    against SeaweedFS's own tus server (a private filer; same client, same chunks, the
#    file read in 1 MiB pieces: upload.mjs --read-size), the same client with its own
#    64 KiB reader against /api/uploads (for comparison: its pipes' CPU time shares the
#    two cores with the servers), and the same 50 MiB PATCHes sent by curl (the protocol
#    without a client library: compared with the curl POST);
#    download of the stored file from GET /api/download/{id}, next to nginx sending the
#    same file (storage-service's object, read by nginx from the same directory), twice:
#    dropped from the page cache first (`dd iflag=nocache`), so both read it from the
#    disk, and read into the page cache first, so both send it from memory. Each
#    transfer is timed by its client, from its first request to its last response (curl's
#    time_total, summed over tus-curl's requests; upload.mjs's elapsedMs), so the start of
#    a client process (Node.js and tus-js-client's loading: 0.1 to 0.2 s) is not counted as
#    the server's; the same runs by the wall clock, client start included, are shown
#    beside. Every upload is timed up to the end of a `sync`, so each one counts the bytes
#    reaching the disk whatever the server does about fsync. Every transfer's sha256 is
#    checked.
# 2. Peak resident memory of each service (gateway, auth-service, file-service,
#    storage-service) for a small upload (FLOWSVAULT_BENCH_SMALL_MIB), the large file
#    (FLOWSVAULT_BENCH_MIB, the same POST as in section 1) and several uploads at once
#    (FLOWSVAULT_BENCH_PARALLEL of FLOWSVAULT_BENCH_PARALLEL_MIB each), each on services
#    stopped and started again just before it (same ports, settings and logs): a process
#    keeps memory its allocator once took, so after section 1's large transfers a small
#    upload would show their peaks. The small vs large comparison uses only these fresh
#    figures; section 1's peaks of the large file (POST and tus, on warm processes) are
#    shown apart. Each peak is also reset just before its upload
#    (`echo 5 > /proc/PID/clear_refs`), so the growth counts from the RSS then.
# 3. The cost of authentication: requests per second and latency of an API-key
#    `GET /api/files` with wrk, on a gateway with its verified-key cache and on a second
#    gateway with the cache off, side by side, with the CPU time auth-service spent.
# 4. What the gateway's edge adds to a request that does no work of its own (the
#    edge_bench example): nothing, a cached API key, a cached API key plus a rate limit
#    decision in Redis, with wrk -c50.
# 5. `GET /api/files` with FLOWSVAULT_BENCH_LIST_FILES files of the bench user (rows
#    seeded with SQL into file-service's database) under wrk -c32, next to the same two
#    statements file-service runs (deploy/local/bench/list-files.sql) sent straight to
#    PostgreSQL by pgbench -c32: p50 and p99 of both.
#
# Disk: the scratch directory needs about (5 + FLOWSVAULT_BENCH_ROUNDS) times
# FLOWSVAULT_BENCH_MIB free (SeaweedFS keeps deleted files' space until it compacts).
#
# Tools it installs with apt-get when missing (as root, unless FLOWSVAULT_NO_INSTALL is
# set): wrk, nginx, pgbench. SeaweedFS comes from deploy/local/s3.sh's venv, the tus
# client from deploy/local/tus/tus.sh. Without nginx, SeaweedFS or pgbench the runs that
# need them are left out (the tables say so); without wrk sections 3 to 5 are.
#
# Settings:
#   FLOWSVAULT_BENCH_MIB           size of the large file in MiB (default 1024), in
#                                  sections 1 and 2
#   FLOWSVAULT_BENCH_PORT          first of 14 consecutive free ports (default 27080):
#                                  +0 gateway, +1 auth-service, +2 file-service,
#                                  +3 storage-service, +4 gateway without key cache,
#                                  +5 and +6 the edge gateways, +7 nginx, +8 and +9
#                                  SeaweedFS master (HTTP, gRPC), +10 and +11 its volume
#                                  server, +12 and +13 its filer (with the tus server)
#   FLOWSVAULT_BENCH_DIR           scratch space (default a new directory under /var/tmp);
#                                  nginx and SeaweedFS write there too, so all of them
#                                  use the same disk; removed at the end
#   FLOWSVAULT_BENCH_ROUNDS        rounds of every comparison (default 3); each round of
#                                  section 2 restarts the services three times
#   FLOWSVAULT_BENCH_SMALL_MIB     the small upload of the memory section (default 100)
#   FLOWSVAULT_BENCH_PARALLEL      uploads at once in the memory section (default 8)
#   FLOWSVAULT_BENCH_PARALLEL_MIB  size of each of them in MiB (default 256)
#   FLOWSVAULT_BENCH_AUTH_SECS     seconds of load per auth and edge run (default 10)
#   FLOWSVAULT_BENCH_EDGE_ROUNDS   rounds of the edge runs (default FLOWSVAULT_BENCH_ROUNDS)
#   FLOWSVAULT_BENCH_LIST_FILES    files seeded for the list section (default 100000)
#   FLOWSVAULT_BENCH_LIST_SECS     seconds per list run, wrk and pgbench alike (default
#                                  FLOWSVAULT_BENCH_AUTH_SECS)
set -euo pipefail
FV_SCRIPT=bench
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$FV_ROOT"

# positive_int NAME VALUE: VALUE, or the end of the script when it is not a whole
# number of at least 1.
positive_int() {
    [[ "$2" =~ ^[0-9]+$ && "$2" -ge 1 ]] || fv_die "$1 must be a whole number of at least 1, not '$2'"
    printf '%s\n' "$2"
}
size_mib="$(positive_int FLOWSVAULT_BENCH_MIB "${FLOWSVAULT_BENCH_MIB:-1024}")"
rounds="$(positive_int FLOWSVAULT_BENCH_ROUNDS "${FLOWSVAULT_BENCH_ROUNDS:-3}")"
small_mib="$(positive_int FLOWSVAULT_BENCH_SMALL_MIB "${FLOWSVAULT_BENCH_SMALL_MIB:-100}")"
parallel="$(positive_int FLOWSVAULT_BENCH_PARALLEL "${FLOWSVAULT_BENCH_PARALLEL:-8}")"
parallel_mib="$(positive_int FLOWSVAULT_BENCH_PARALLEL_MIB "${FLOWSVAULT_BENCH_PARALLEL_MIB:-256}")"
auth_secs="$(positive_int FLOWSVAULT_BENCH_AUTH_SECS "${FLOWSVAULT_BENCH_AUTH_SECS:-10}")"
edge_rounds="$(positive_int FLOWSVAULT_BENCH_EDGE_ROUNDS "${FLOWSVAULT_BENCH_EDGE_ROUNDS:-$rounds}")"
list_files="$(positive_int FLOWSVAULT_BENCH_LIST_FILES "${FLOWSVAULT_BENCH_LIST_FILES:-100000}")"
list_secs="$(positive_int FLOWSVAULT_BENCH_LIST_SECS "${FLOWSVAULT_BENCH_LIST_SECS:-$auth_secs}")"
for name in small_mib parallel_mib; do
    [[ "${!name}" -le "$size_mib" ]] || fv_die "the ${name%_mib} uploads must not be larger than FLOWSVAULT_BENCH_MIB ($size_mib)"
done
# Below the kernel's ephemeral range, so no outgoing connection can hold one of them.
first_port="$(positive_int FLOWSVAULT_BENCH_PORT "${FLOWSVAULT_BENCH_PORT:-27080}")"
port_count=14
[[ $((first_port + port_count - 1)) -le 65535 ]] || fv_die "FLOWSVAULT_BENCH_PORT=$first_port: $port_count ports from there do not fit below 65536"
export CARGO_TARGET_DIR
CARGO_TARGET_DIR="$(fv_target_dir)"
target="$CARGO_TARGET_DIR"
bin="$target/release"

gateway_port=$first_port
auth_port=$((first_port + 1))
files_port=$((first_port + 2))
storage_port=$((first_port + 3))
uncached_port=$((first_port + 4))
edge_port=$((first_port + 5))
edge_limited_port=$((first_port + 6))
nginx_port=$((first_port + 7))
# SeaweedFS gets every port explicitly: by default it puts gRPC on port + 10000, which
# could land in the ephemeral range or on someone else's server.
weed_master_port=$((first_port + 8))
weed_master_grpc=$((first_port + 9))
weed_volume_port=$((first_port + 10))
weed_volume_grpc=$((first_port + 11))
weed_filer_port=$((first_port + 12))
weed_filer_grpc=$((first_port + 13))

fv_note "building release binaries"
cargo build --release --bins --locked >&2
cargo build --release --locked -p flowsvault-gateway --example edge_bench >&2

# --- tools, before anything starts, so that a missing one shows up at once -------------
# bench_install COMMAND PACKAGE...: installs the Debian packages when COMMAND is missing
# and this script may install; never fails (the caller checks again).
bench_install() {
    local command="$1"
    shift
    if ! command -v "$command" >/dev/null 2>&1 && fv_may_install; then
        fv_apt_install "$@" || true
    fi
}
bench_install wrk wrk
# nginx lives in /usr/sbin, which is not on every user's PATH.
bench_install nginx nginx
nginx_bin="$(command -v nginx 2>/dev/null || true)"
if [[ -z "$nginx_bin" && -x /usr/sbin/nginx ]]; then
    nginx_bin=/usr/sbin/nginx
fi
[[ -n "$nginx_bin" ]] || fv_note "nginx is not installed: the nginx baselines are left out"
# pgbench: the newest of this machine's PostgreSQL installations (the /usr/bin wrapper
# picks a version by its own rules), else whatever PATH has. Debian's /usr/bin/pgbench
# is that wrapper even when no pgbench is installed, hence the --version check. Debian 12
# ships pgbench only with the server package (postgresql-15, which postgres.sh installs
# too); the client package is tried first in case a release moves it there.
find_pgbench() {
    local found
    found="$(find /usr/lib/postgresql -path '*/bin/pgbench' 2>/dev/null | sort -V | tail -n 1)"
    if [[ -z "$found" ]] && command -v pgbench >/dev/null 2>&1 && pgbench --version >/dev/null 2>&1; then
        found="$(command -v pgbench)"
    fi
    printf '%s\n' "$found"
}
bench_install psql postgresql-client
pgbench_bin="$(find_pgbench)"
if [[ -z "$pgbench_bin" ]] && fv_may_install; then
    fv_apt_install postgresql-client || true
    pgbench_bin="$(find_pgbench)"
    if [[ -z "$pgbench_bin" ]]; then
        fv_apt_install postgresql || true
        pgbench_bin="$(find_pgbench)"
    fi
fi
[[ -n "$pgbench_bin" ]] || fv_note "pgbench is not installed: the raw SQL baseline of the list section is left out"
weed_bin="$(bash "$FV_ROOT/deploy/local/s3.sh" install)" || weed_bin=""
[[ -n "$weed_bin" ]] || fv_note "SeaweedFS could not be installed: its tus server is left out"
tus_env="$(bash "$FV_ROOT/deploy/local/tus/tus.sh" env)" || fv_die "the tus clients could not be installed"
eval "$tus_env"

for offset in $(seq 0 $((port_count - 1))); do
    port=$((first_port + offset))
    if fv_port_open 127.0.0.1 "$port"; then
        fv_die "port $port is in use; set FLOWSVAULT_BENCH_PORT to a free range ($port_count ports)"
    fi
done

server_url="$("$FV_ROOT/deploy/local/postgres.sh" url)"
run_id="$(date +%s)_$$"
work="${FLOWSVAULT_BENCH_DIR:-$(mktemp -d /var/tmp/flowsvault-bench.XXXXXX)}"
mkdir -p "$work/objects"
pids=()
nginx_pid=""
weed_pid=""
# The processes of the Flowsvault stack (start_stack) and their names, in the order they
# started; apart from pids because section 2 stops and starts them again.
stack_pids=()
stack_names=()

# nginx stops on SIGTERM at once (its workers with it).
stop_nginx() {
    if [[ -n "$nginx_pid" ]]; then
        kill "$nginx_pid" 2>/dev/null || true
        wait "$nginx_pid" 2>/dev/null || true
        nginx_pid=""
    fi
}
# SeaweedFS takes about 20 s to stop on SIGTERM, and its files are thrown away anyway.
# It leaves Unix sockets in /tmp named after its ports; only the ones of this instance's
# ports are removed.
stop_weed() {
    local socket
    if [[ -n "$weed_pid" ]]; then
        kill -KILL "$weed_pid" 2>/dev/null || true
        wait "$weed_pid" 2>/dev/null || true
        weed_pid=""
        for socket in "master-grpc-$weed_master_grpc" "volume-grpc-$weed_volume_grpc" \
            "filer-grpc-$weed_filer_grpc" "filer-$weed_filer_port"; do
            if [[ -S "/tmp/seaweedfs-$socket.sock" ]]; then
                rm -f "/tmp/seaweedfs-$socket.sock"
            fi
        done
    fi
}

# stop_process PID NAME: SIGTERM, then up to 45 s for PID to exit (the gateway lets
# requests in flight finish for up to 30 s), then SIGKILL; reaps it either way.
stop_process() {
    local pid="$1" name="$2" deadline=$((SECONDS + 45)) started
    # This process, not whatever takes its pid once it is gone (BENCHMARKS.md, session 14).
    started="$(fv_pid_started "$pid")"
    kill "$pid" 2>/dev/null || true
    while fv_pid_alive "$pid" "$started" && [[ "$SECONDS" -lt "$deadline" ]]; do
        sleep 0.1
    done
    if fv_pid_alive "$pid" "$started"; then
        fv_note "$name (pid $pid) did not stop within 45 s of SIGTERM; killing it"
        # What it was doing: the end of its log, which the cleanup removes with $work.
        if [[ -f "$work/$name.log" ]]; then
            fv_say "--- the end of $work/$name.log:"
            tail -n 30 "$work/$name.log" >&2 || true
        fi
        # Where its threads are: name, state and kernel wait channel of each, and their
        # stacks when gdb is at hand (the bench runs as root, so it may attach).
        # What the liveness check saw (sessions 13 and 14 waited here for processes long
        # gone, whose pids a thread of another process had taken: BENCHMARKS.md).
        fv_say "--- kill -0: $(kill -0 "$pid" 2>&1 && echo ok); /proc/$pid/stat: $(head -c 120 "/proc/$pid/stat" 2>&1)"
        fv_say "--- its threads (name, state, wchan):"
        for task in /proc/"$pid"/task/*; do
            printf '%s %s %s\n' "$(cat "$task/comm" 2>/dev/null)" \
                "$(sed -n 's/^[0-9]* (.*) \([A-Za-z]\).*/\1/p' "$task/stat" 2>/dev/null)" \
                "$(cat "$task/wchan" 2>/dev/null)" >&2
        done
        if command -v gdb >/dev/null 2>&1; then
            timeout 60 gdb -p "$pid" -batch -ex 'thread apply all bt 15' 2>&1 |
                grep -E '^(Thread|#)' | head -n 200 >&2 || true
        fi
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}
# stop_stack: stops the stack's processes one by one, last started first (the gateways
# before the services they call), each gone before the next. Each leaves stack_pids as
# soon as it is reaped, so a cleanup that interrupts this never signals a reused pid.
stop_stack() {
    local i
    for ((i = ${#stack_pids[@]} - 1; i >= 0; i--)); do
        stop_process "${stack_pids[i]}" "${stack_names[i]}"
        unset 'stack_pids[i]' 'stack_names[i]'
    done
    stack_pids=()
    stack_names=()
}

cleanup() {
    stop_nginx
    stop_weed
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    stop_stack
    wait 2>/dev/null || true
    if command -v psql >/dev/null 2>&1; then
        for db in "fv_bench_auth_$run_id" "fv_bench_files_$run_id"; do
            psql "$server_url" -qAtc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
        done
    fi
    rm -rf "$work"
}
trap cleanup EXIT

# Warnings, and the steps of a stop (signal, drain, exit) with their times, so that a
# service that does not stop within stop_process's 45 s shows how far it got.
export RUST_LOG=warn,flowsvault_kit::shutdown=info,flowsvault_gateway::startup=info
export FLOWSVAULT_AUTH_DATABASE_URL
FLOWSVAULT_AUTH_DATABASE_URL="$(fv_db_url "$server_url" "fv_bench_auth_$run_id")"
export FLOWSVAULT_FILES_DATABASE_URL
FLOWSVAULT_FILES_DATABASE_URL="$(fv_db_url "$server_url" "fv_bench_files_$run_id")"

# Upload and download limits off: the rounds upload and download far more than a user
# would in five minutes.
gateway_settings=(
    FLOWSVAULT_AUTH_URL="http://127.0.0.1:$auth_port"
    FLOWSVAULT_FILES_URL="http://127.0.0.1:$files_port"
    FLOWSVAULT_STORAGE_URL="http://127.0.0.1:$storage_port"
    FLOWSVAULT_JANITOR_URL=
    FLOWSVAULT_MAX_UPLOAD_BYTES=$(((size_mib + 1) * 1024 * 1024))
    FLOWSVAULT_RATE_LIMIT_API=off
    FLOWSVAULT_RATE_LIMIT_UPLOADS=off
    FLOWSVAULT_RATE_LIMIT_DOWNLOADS=off
)
base="http://127.0.0.1:$gateway_port"

# start NAME VAR=VALUE...: starts the release binary NAME with these settings, its output
# appended to $work/NAME.log (a restart keeps the earlier process's lines), and keeps its
# pid in pid_NAME (dashes as underscores), which reset_peaks, record_peaks and section 3
# read.
start() {
    local name="$1"
    shift
    env "$@" "$bin/$name" >>"$work/$name.log" 2>&1 &
    stack_pids+=("$!")
    stack_names+=("$name")
    declare -g "pid_${name//-/_}=$!"
}
# stack_exited: the names of the stack's processes that are no longer running.
stack_exited() {
    local i
    for i in "${!stack_pids[@]}"; do
        fv_pid_alive "${stack_pids[i]}" || printf '%s ' "${stack_names[i]}"
    done
}
# start_stack: starts auth-service, file-service, storage-service, the gateway and the
# gateway without key cache, and waits until both gateways find every upstream ready.
start_stack() {
    local port exited name
    start auth-service FLOWSVAULT_AUTH_ADDR="127.0.0.1:$auth_port"
    start file-service FLOWSVAULT_FILES_ADDR="127.0.0.1:$files_port"
    start storage-service FLOWSVAULT_STORAGE_ADDR="127.0.0.1:$storage_port" \
        FLOWSVAULT_STORAGE_ROOT="$work/objects"
    start gateway FLOWSVAULT_GATEWAY_ADDR="127.0.0.1:$gateway_port" "${gateway_settings[@]}"
    # The same gateway with the verified-key cache off: every request pays bcrypt. Not
    # through start(), which would point pid_gateway at it.
    env FLOWSVAULT_GATEWAY_ADDR="127.0.0.1:$uncached_port" FLOWSVAULT_API_KEY_CACHE_TTL_SECS=0 \
        "${gateway_settings[@]}" "$bin/gateway" >>"$work/gateway-uncached.log" 2>&1 &
    stack_pids+=("$!")
    stack_names+=(gateway-uncached)
    # The uncached gateway too: after section 2's last restart, section 3 uses it soon.
    for port in "$gateway_port" "$uncached_port"; do
        exited=""
        for _ in $(seq 1 120); do
            if curl -fsS -o /dev/null "http://127.0.0.1:$port/api/ready" 2>/dev/null; then
                break
            fi
            # A process that exited (a port it could not bind, say) will not get ready.
            exited="$(stack_exited)"
            [[ -z "$exited" ]] || break
            sleep 0.5
        done
        if ! curl -fsS -o /dev/null "http://127.0.0.1:$port/api/ready"; then
            # The cleanup removes $work, logs and all: the ends of the exited ones' logs.
            for name in $exited; do
                fv_say "--- the end of $work/$name.log:"
                tail -n 20 "$work/$name.log" >&2 || true
            done
            fv_die "the stack did not become ready${exited:+ (exited: ${exited% })}; logs in $work"
        fi
    done
}
# restart_stack: stops the stack, waits for its processes to exit, starts it again on the
# same ports with the same settings and logs, and sends one request with the bench API
# key. The key lives in auth-service's database, so it outlives the processes; the
# request shows that it does, and fills the new gateway's verified-key cache and its
# connections to auth-service and file-service before anything is measured.
restart_stack() {
    local port owner
    stop_stack
    for port in "$gateway_port" "$auth_port" "$files_port" "$storage_port" "$uncached_port"; do
        if fv_port_open 127.0.0.1 "$port"; then
            owner="$(fv_port_owner "$port")"
            fv_die "port $port is still in use after the services stopped${owner:+ (by $owner)}"
        fi
    done
    start_stack
    curl -fsS -o /dev/null "${auth[@]}" "$base/api/files" ||
        fv_die "the bench API key does not work on the restarted services"
}

start_stack
key="$("$bin/auth-service" api-key create --email bench@example.com --name bench)"
auth=(-H "Authorization: Bearer $key")

# --- helpers -----------------------------------------------------------------------------
rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
now() { date +%s.%N; }
mib_per_s() { awk -v bytes="$1" -v start="$2" -v end="$3" 'BEGIN {printf "%.0f", bytes / 1048576 / (end - start)}'; }
sha256_of() { sha256sum "$1" | cut -d' ' -f1; }
# The median of a space-separated list of numbers (empty for an empty list).
median() { tr ' ' '\n' <<<"$1" | awk 'NF' | sort -g | awk '{v[NR] = $1} END {if (NR) print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
# The nearest-rank quantile Q (0.5, 0.99) of the numbers in FILE, one a line.
quantile() { sort -g "$2" | awk -v q="$1" '{v[NR] = $1} END {if (NR) {i = int(q * NR); if (i < q * NR) i++; if (i < 1) i = 1; print v[i]}}'; }
# Microseconds of a wrk latency figure such as 310.00us, 1.20ms or 1.01s.
micros() {
    awk -v text="$1" 'BEGIN {
        value = text + 0
        if (text ~ /us$/) factor = 1; else if (text ~ /ms$/) factor = 1000; else if (text ~ /s$/) factor = 1000000
        printf "%.0f", value * factor
    }'
}
# A / B as a percentage, or – when either is missing.
percent() { if [[ -n "$1" && -n "$2" ]]; then awk -v a="$1" -v b="$2" 'BEGIN {printf "%.0f %%", 100 * a / b}'; else printf '–'; fi; }
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
# Prints the words of a list in reverse order.
reversed() { local i items=(); for ((i = $#; i >= 1; i--)); do items+=("${!i}"); done; printf '%s\n' "${items[*]}"; }

services=(gateway auth-service file-service storage-service)
declare -A rss_before peak_kib growth_kib
peak_reset_failed=""
# Resets every service's peak (VmHWM) to its current RSS: writing 5 to clear_refs.
reset_peaks() {
    local service pid_var
    for service in "${services[@]}"; do
        pid_var="pid_${service//-/_}"
        if ! { echo 5 >"/proc/${!pid_var}/clear_refs"; } 2>/dev/null && [[ -z "$peak_reset_failed" ]]; then
            peak_reset_failed=1
            fv_note "cannot reset peak RSS through /proc/PID/clear_refs: peaks count from each service's start"
        fi
        rss_before[$service]="$(rss_kib "${!pid_var}")"
    done
}
# record_peaks LABEL: adds each service's peak since reset_peaks, and its growth over the
# RSS then, to the lists of LABEL.
record_peaks() {
    local label="$1" service pid_var peak
    for service in "${services[@]}"; do
        pid_var="pid_${service//-/_}"
        peak="$(hwm_kib "${!pid_var}")"
        peak_kib["$label/$service"]+="$peak "
        growth_kib["$label/$service"]+="$((peak - rss_before[$service])) "
    done
}

# post_file FILE SHA256 NAME JSON: POST /api/upload of FILE as NAME, the answer in JSON;
# fails unless it is 201 with the file's SHA256.
post_file() {
    local file="$1" sha="$2" name="$3" json="$4" status
    status="$(curl -sS -o "$json" -w '%{http_code}' "${auth[@]}" \
        -F "file=@$file;filename=$name" -F duration=1h "$base/api/upload")"
    [[ "$status" == 201 ]] || fv_die "the upload of $name answered $status: $(cat "$json")"
    grep -q "\"sha256\":\"$sha\"" "$json" || fv_die "the upload of $name stored other bytes"
}
json_id() { sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$1"; }
delete_file() {
    curl -fsS -o /dev/null -X DELETE "${auth[@]}" "$base/api/files/$1" || fv_die "deleting file $1 failed"
}

# --- test files ------------------------------------------------------------------------
fv_note "writing a ${size_mib} MiB test file"
# A text header, so the upload passes content sniffing as .txt whatever the random
# bytes after it begin with. The smaller files are its beginnings.
{
    printf 'flowsvault bench\n'
    head -c "$((size_mib * 1024 * 1024 - 17))" /dev/urandom
} >"$work/input.bin"
head -c "$((small_mib * 1024 * 1024))" "$work/input.bin" >"$work/small.bin"
head -c "$((parallel_mib * 1024 * 1024))" "$work/input.bin" >"$work/parallel.bin"
expected="$(sha256_of "$work/input.bin")"
small_sha="$(sha256_of "$work/small.bin")"
parallel_sha="$(sha256_of "$work/parallel.bin")"
bytes=$((size_mib * 1024 * 1024))

# --- private nginx: the plain HTTP server to compare with -------------------------------
# Its own configuration, pid file, temporary paths and logs under $work; never the
# system's /etc/nginx or its service. PUT bodies go to a temporary file on the same disk
# as the files it serves, then are renamed into place (client_body_temp_path inside the
# root). One worker: a single transfer at a time uses one anyway. sendfile on, as in
# Debian's own nginx.conf.
if [[ -n "$nginx_bin" ]]; then
    ngx="$work/nginx"
    mkdir -p "$ngx/www" "$ngx/temp"
    ngx_user=""
    # Run as root, nginx would hand its workers to `nobody`, who cannot write to $work.
    if [[ "$(id -u)" -eq 0 ]]; then
        ngx_user="user $(id -un) $(id -gn);"
    fi
    cat >"$ngx/nginx.conf" <<EOF
$ngx_user
daemon off;
master_process on;
worker_processes 1;
pid $ngx/nginx.pid;
error_log $ngx/error.log warn;
events {
    worker_connections 64;
}
http {
    access_log off;
    client_body_temp_path $ngx/www/.body;
    proxy_temp_path $ngx/temp/proxy;
    fastcgi_temp_path $ngx/temp/fastcgi;
    uwsgi_temp_path $ngx/temp/uwsgi;
    scgi_temp_path $ngx/temp/scgi;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$nginx_port;
        root $ngx/www;
        client_max_body_size 0;
        location / {
            dav_methods PUT;
            dav_access user:rw;
        }
        # The objects storage-service stored, so both downloads send the same file.
        location /stored/ {
            alias $work/objects/;
        }
    }
}
EOF
    # -e (nginx 1.19.5 and later): the errors before the configuration is read go to the
    # private log too, not to the compiled-in path.
    ngx_args=(-p "$ngx" -c "$ngx/nginx.conf")
    if "$nginx_bin" -h 2>&1 | grep -- '^ *-e ' >/dev/null; then
        ngx_args+=(-e "$ngx/error.log")
    fi
    "$nginx_bin" "${ngx_args[@]}" >"$ngx/stderr.log" 2>&1 &
    nginx_pid=$!
    for _ in $(seq 1 50); do
        fv_port_open 127.0.0.1 "$nginx_port" && break
        fv_pid_alive "$nginx_pid" || break
        sleep 0.1
    done
    fv_port_open 127.0.0.1 "$nginx_port" ||
        fv_die "the private nginx did not start: $(cat "$ngx/stderr.log" "$ngx/error.log" 2>/dev/null)"
fi

# --- private SeaweedFS: master, volume server and filer, no S3 ---------------------------
# The filer serves tus under /.tus: POST /.tus/<path> creates an upload of the file
# <path>, whose Location is /.tus/.uploads/<id>; it asks for no credentials unless a
# JWT signing key is configured (none is here). Its volumes live under $work, on the same
# disk as the others.
if [[ -n "$weed_bin" ]]; then
    mkdir -p "$work/weed"
    "$weed_bin" -logtostderr server -ip=127.0.0.1 -ip.bind=127.0.0.1 -dir="$work/weed" \
        -master.port="$weed_master_port" -master.port.grpc="$weed_master_grpc" \
        -volume.port="$weed_volume_port" -volume.port.grpc="$weed_volume_grpc" -volume.preStopSeconds=0 \
        -filer -filer.port="$weed_filer_port" -filer.port.grpc="$weed_filer_grpc" \
        -filer.tusMaxSizeMB=$((size_mib + 1)) \
        -master.volumeSizeLimitMB=1024 -volume.max=0 -metricsPort=0 -master.telemetry=false \
        </dev/null >"$work/weed.log" 2>&1 &
    weed_pid=$!
    weed_url="http://127.0.0.1:$weed_filer_port"
    # Ready once a small file can be written: the filer answers before the master has
    # grown volumes to write to.
    for _ in $(seq 1 240); do
        fv_pid_alive "$weed_pid" || break
        if curl -fsS -o /dev/null -X PUT --data-binary ok "$weed_url/bench/.probe" 2>/dev/null; then
            weed_ready=1
            break
        fi
        sleep 0.25
    done
    [[ -n "${weed_ready:-}" ]] || fv_die "the private SeaweedFS did not become ready (log: $work/weed.log)"
    curl -fsS -o /dev/null -X DELETE "$weed_url/bench/.probe"
fi

# --- 1. transfers of the large file, in alternating rounds ----------------------------
# MiB/s of each run, by run and round.
declare -A rate
upload_runs=(cp post tus tus-own-reader tus-curl)
download_runs=(download download-cached)
if [[ -n "$nginx_bin" ]]; then
    upload_runs=(cp nginx-put post tus tus-own-reader tus-curl)
    download_runs=(nginx-get download nginx-get-cached download-cached)
fi
if [[ -n "$weed_bin" ]]; then
    upload_runs+=(weed-tus)
fi
tus_chunk=$((50 * 1024 * 1024))
# tus-js-client's reads (and socket writes) for the tus and weed-tus runs: its own reader
# takes 64 KiB at a time through two stream pipes, which cost it about twice the CPU time
# of 1 MiB pieces (BENCHMARKS.md, session 13). tus-own-reader keeps the client's own.
tus_read=$((1024 * 1024))
# The input in 50 MiB pieces, for the tus run driven by curl (split once, not timed).
split -b "$tus_chunk" -d -a 3 "$work/input.bin" "$work/piece."

# tus_with_curl NAME: the tus protocol with no client library: a creation POST, then one
# curl PATCH per 50 MiB piece, each sent only after the previous one was acknowledged (as
# tus clients do). Sets tus_location (the upload's path) and tus_seconds (the sum of the
# requests' own times, as curl measured them).
tus_with_curl() {
    local name="$1" offset=0 piece status seconds
    seconds="$(curl -sS -o /dev/null -D "$work/tus-created.txt" -w '%{time_total}' "${auth[@]}" -X POST \
        -H 'Tus-Resumable: 1.0.0' -H "Upload-Length: $bytes" \
        -H "Upload-Metadata: filename $(printf '%s' "$name" | base64 -w0)" "$base/api/uploads")" ||
        fv_die "the tus creation for $name failed"
    tus_seconds="$seconds"
    tus_location="$(tr -d '\r' <"$work/tus-created.txt" | sed -n 's/^[Ll]ocation: //p')"
    [[ -n "$tus_location" ]] || fv_die "the tus creation for $name gave no Location"
    for piece in "$work"/piece.*; do
        read -r status seconds < <(curl -sS -o /dev/null -w '%{http_code} %{time_total}\n' "${auth[@]}" \
            -X PATCH -H 'Tus-Resumable: 1.0.0' -H "Upload-Offset: $offset" \
            -H 'Content-Type: application/offset+octet-stream' -T "$piece" "$base$tus_location")
        [[ "$status" == 204 ]] || fv_die "a tus PATCH at offset $offset answered $status"
        tus_seconds="$(awk -v a="$tus_seconds" -v b="$seconds" 'BEGIN {printf "%.6f", a + b}')"
        offset=$((offset + $(stat -c %s "$piece")))
    done
}

# The seconds of a tus-js-client run, from the elapsedMs of upload.mjs's result line.
client_seconds() { sed -n 's/.*"elapsedMs":\([0-9.]*\).*/\1/p' "$1" | awk 'NF {printf "%.6f", $1 / 1000}'; }

# timed RUN ROUND SECONDS WALL_START [sync]: records the run's rates. Its rate counts the
# SECONDS its client measured itself, from its first request to its last response (curl's
# time_total, upload.mjs's elapsedMs), plus, after an upload, a `sync`: what a transfer
# costs, without the start of the client's process. Its wall-clock rate (as RUN-wall)
# counts from WALL_START, taken before the client's process started, to the end of the
# same sync; for a Node.js client the two differ by Node.js's start and the client's
# loading.
timed() {
    local run="$1" round="$2" seconds="$3" wall_start="$4" synced end
    [[ "$seconds" =~ ^[0-9]+(\.[0-9]+)?$ ]] || fv_die "the $run run measured no time of its own: '$seconds'"
    synced="$(now)"
    [[ "${5:-}" != sync ]] || sync
    end="$(now)"
    rate["$run/$round"]="$(mib_per_s "$bytes" "$synced" "$(awk -v s="$seconds" -v e="$end" 'BEGIN {printf "%.9f", e + s}')")"
    rate[$run]+="${rate["$run/$round"]} "
    rate["$run-wall/$round"]="$(mib_per_s "$bytes" "$wall_start" "$end")"
    rate[$run-wall]+="${rate["$run-wall/$round"]} "
}

# transfer RUN ROUND: one timed run, its sha256 checked afterwards.
transfer() {
    local run="$1" round="$2" start end status seconds url
    case "$run" in
        cp)
            # No client clock: cp is timed from its start to the end of the sync.
            sync
            start="$(now)"
            cp "$work/input.bin" "$work/copy.bin"
            sync
            end="$(now)"
            rm -f "$work/copy.bin"
            rate["$run/$round"]="$(mib_per_s "$bytes" "$start" "$end")"
            rate[$run]+="${rate["$run/$round"]} "
            ;;
        nginx-put)
            rm -f "$ngx/www/bench.bin"
            sync
            start="$(now)"
            read -r status seconds < <(curl -sS -o "$work/nginx-put.txt" -w '%{http_code} %{time_total}\n' \
                -T "$work/input.bin" "http://127.0.0.1:$nginx_port/bench.bin")
            [[ "$status" == 201 ]] || fv_die "nginx answered the PUT with $status: $(cat "$work/nginx-put.txt")"
            timed "$run" "$round" "$seconds" "$start" sync
            [[ "$(sha256_of "$ngx/www/bench.bin")" == "$expected" ]] || fv_die "nginx stored other bytes"
            ;;
        post)
            reset_peaks
            sync
            start="$(now)"
            read -r status seconds < <(curl -sS -o "$work/upload.json" -w '%{http_code} %{time_total}\n' \
                "${auth[@]}" -F "file=@$work/input.bin;filename=bench-$round.txt" -F duration=1h \
                "$base/api/upload")
            [[ "$status" == 201 ]] || fv_die "upload answered $status: $(cat "$work/upload.json")"
            timed "$run" "$round" "$seconds" "$start" sync
            record_peaks post
            grep -q "\"sha256\":\"$expected\"" "$work/upload.json" || fv_die "the stored sha256 differs"
            post_id="$(json_id "$work/upload.json")"
            first_id="${first_id:-$post_id}"
            ;;
        tus)
            reset_peaks
            sync
            start="$(now)"
            "$FLOWSVAULT_TUS_NODE" --endpoint "$base/api/uploads" --key "$key" --file "$work/input.bin" \
                --metadata "filename=bench-tus-$round.txt" --chunk-size "$tus_chunk" \
                --read-size "$tus_read" --url-storage "$work/tus-urls.json" >"$work/tus.json" ||
                fv_die "the tus upload failed: $(cat "$work/tus.json")"
            timed "$run" "$round" "$(client_seconds "$work/tus.json")" "$start" sync
            record_peaks tus
            tus_id="$(sed -n 's#.*"url":"[^"]*/api/uploads/\([^"]*\)".*#\1#p' "$work/tus.json")"
            curl -fsS "${auth[@]}" "$base/api/files/$tus_id" | grep -q "\"sha256\":\"$expected\"" ||
                fv_die "the tus upload stored other bytes"
            ;;
        tus-own-reader)
            sync
            start="$(now)"
            "$FLOWSVAULT_TUS_NODE" --endpoint "$base/api/uploads" --key "$key" --file "$work/input.bin" \
                --metadata "filename=bench-tus-own-$round.txt" --chunk-size "$tus_chunk" \
                --url-storage "$work/tus-urls.json" >"$work/tus-own.json" ||
                fv_die "the tus upload with the client's own reader failed: $(cat "$work/tus-own.json")"
            timed "$run" "$round" "$(client_seconds "$work/tus-own.json")" "$start" sync
            tus_own_id="$(sed -n 's#.*"url":"[^"]*/api/uploads/\([^"]*\)".*#\1#p' "$work/tus-own.json")"
            curl -fsS "${auth[@]}" "$base/api/files/$tus_own_id" | grep -q "\"sha256\":\"$expected\"" ||
                fv_die "the tus upload with the client's own reader stored other bytes"
            ;;
        tus-curl)
            sync
            start="$(now)"
            tus_with_curl "bench-tus-curl-$round.txt"
            timed "$run" "$round" "$tus_seconds" "$start" sync
            tus_curl_id="${tus_location##*/}"
            curl -fsS "${auth[@]}" "$base/api/files/$tus_curl_id" | grep -q "\"sha256\":\"$expected\"" ||
                fv_die "the tus upload by curl stored other bytes"
            ;;
        weed-tus)
            sync
            start="$(now)"
            "$FLOWSVAULT_TUS_NODE" --endpoint "$weed_url/.tus/bench/bench-$round.bin" --file "$work/input.bin" \
                --chunk-size "$tus_chunk" --read-size "$tus_read" --url-storage "$work/tus-urls.json" \
                >"$work/weed-tus.json" ||
                fv_die "the tus upload to SeaweedFS failed: $(cat "$work/weed-tus.json")"
            timed "$run" "$round" "$(client_seconds "$work/weed-tus.json")" "$start" sync
            [[ "$(curl -fsS "$weed_url/bench/bench-$round.bin" | sha256sum | cut -d' ' -f1)" == "$expected" ]] ||
                fv_die "SeaweedFS stored other bytes"
            curl -fsS -o /dev/null -X DELETE "$weed_url/bench/bench-$round.bin"
            ;;
        nginx-get* | download*)
            stored=("$work/objects/$post_id"-*)
            [[ -f "${stored[0]}" ]] || fv_die "no stored object for file $post_id"
            url="http://127.0.0.1:$nginx_port/stored/${stored[0]##*/}"
            header=()
            if [[ "$run" == download* ]]; then
                url="$base/api/download/$post_id"
                header=("${auth[@]}")
            fi
            if [[ "$run" == *-cached ]]; then
                # From memory: the whole file in the page cache first.
                cat "${stored[0]}" >/dev/null
            else
                # From the disk: out of the page cache (whichever run read it last).
                dd if="${stored[0]}" iflag=nocache count=0 status=none
            fi
            start="$(now)"
            seconds="$(curl -fsS -o "$work/output.bin" -w '%{time_total}' "${header[@]}" "$url")" ||
                fv_die "the $run run failed"
            timed "$run" "$round" "$seconds" "$start"
            [[ "$(sha256_of "$work/output.bin")" == "$expected" ]] || fv_die "the $run run received other bytes"
            rm -f "$work/output.bin"
            ;;
    esac
}

fv_note "transfers: $rounds rounds of ${upload_runs[*]} ${download_runs[*]}"
for round in $(seq 1 "$rounds"); do
    uploads=("${upload_runs[@]}")
    downloads=("${download_runs[@]}")
    if [[ $((round % 2)) -eq 0 ]]; then
        read -ra uploads <<<"$(reversed "${uploads[@]}")"
        read -ra downloads <<<"$(reversed "${downloads[@]}")"
    fi
    for run in "${uploads[@]}" "${downloads[@]}"; do
        transfer "$run" "$round"
    done
    # The next round starts from the same disk usage.
    delete_file "$post_id"
    delete_file "$tus_id"
    delete_file "$tus_own_id"
    delete_file "$tus_curl_id"
    [[ -z "$nginx_bin" ]] || rm -f "$ngx/www/bench.bin"
done
stop_nginx
stop_weed

printf '\n## %s MiB through the stack, %s alternating rounds (%s)\n\n' "$size_mib" "$rounds" \
    "$(date -u +%Y-%m-%dT%H:%MZ)"
# label RUN: what a run is, in the tables (the backticks are markdown).
# shellcheck disable=SC2016
label() {
    case "$1" in
        cp) printf '`cp` on the same disk' ;;
        nginx-put) printf 'nginx PUT (dav_methods PUT, `curl -T`)' ;;
        post) printf 'POST /api/upload (`curl -F` → gateway → storage-service → disk)' ;;
        tus) printf 'tus /api/uploads (tus-js-client, 50 MiB PATCHes read in 1 MiB pieces, staged, then committed)' ;;
        tus-own-reader) printf 'tus /api/uploads (tus-js-client with its own 64 KiB reader, 50 MiB PATCHes)' ;;
        tus-curl) printf 'tus /api/uploads (curl, one PATCH per 50 MiB piece, each after the last is acknowledged)' ;;
        weed-tus) printf 'SeaweedFS filer tus (the same client and chunks)' ;;
        nginx-get) printf 'nginx GET of the stored object (sendfile, from the disk)' ;;
        download) printf 'GET /api/download (disk → storage-service → gateway → curl, from the disk)' ;;
        nginx-get-cached) printf 'nginx GET of the stored object (sendfile, from the page cache)' ;;
        download-cached) printf 'GET /api/download (disk → storage-service → gateway → curl, from the page cache)' ;;
        *-wall) printf '%s, wall clock' "$(label "${1%-wall}")" ;;
    esac
}
all_runs=(cp nginx-put post tus tus-own-reader tus-curl weed-tus nginx-get download nginx-get-cached download-cached)
# round_table SUFFIX RUN...: the MiB/s of each RUN (its rates under RUN + SUFFIX) in each
# round, one column per run.
round_table() {
    local suffix="$1" run round
    shift
    printf '| round |'
    for run in "$@"; do
        printf ' %s |' "$run"
    done
    printf '\n|---|'
    for run in "$@"; do
        printf -- '---|'
    done
    printf '\n'
    for round in $(seq 1 "$rounds"); do
        printf '| %s |' "$round"
        for run in "$@"; do
            printf ' %s |' "${rate["$run$suffix/$round"]:-–}"
        done
        printf '\n'
    done
}
printf '%s\n\n' "MiB/s of each run, timed by its client from its first request to its last response \
(curl's time_total, upload.mjs's elapsedMs), each upload up to the end of a \`sync\` after it."
round_table '' "${all_runs[@]}"
printf '\n'
for run in "${all_runs[@]}"; do
    printf -- '- %s: %s\n' "$run" "$(label "$run")"
done

# The same runs by the wall clock, from before the client's process started: the client's
# start (Node.js and tus-js-client's loading; curl's, 22 times in tus-curl) counts too.
printf '\nThe uploads by the wall clock, from before the client process started to the end of the sync (MiB/s):\n\n'
round_table -wall nginx-put post tus tus-own-reader tus-curl weed-tus

# compare RUN BASELINE GOAL: one line of the medians table. The ratio of the medians,
# and the median of each round's own ratio (which cancels load that changes between
# rounds).
compare() {
    local run="$1" baseline="$2" goal="$3" a b ratios="" round
    a="$(median "${rate[$run]:-}")"
    b="$(median "${rate[$baseline]:-}")"
    for round in $(seq 1 "$rounds"); do
        if [[ -n "${rate["$run/$round"]:-}" && -n "${rate["$baseline/$round"]:-}" ]]; then
            ratios+="$(awk -v a="${rate["$run/$round"]}" -v b="${rate["$baseline/$round"]}" 'BEGIN {print a / b}') "
        fi
    done
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$(label "$run")" "${a:-–}" "$(label "$baseline")" \
        "${b:-–}" "$(percent "$a" "$b")" "$(percent "$(median "$ratios")" "${ratios:+1}")" "$goal"
}
printf '\nMedians of the rounds:\n\n'
printf '| transfer | MiB/s | compared with | its MiB/s | ratio of the medians | median of the rounds'"'"' ratios | goal |\n'
printf '|---|---|---|---|---|---|---|\n'
compare post nginx-put '≥ 70 %'
compare download nginx-get '≥ 50 %'
compare download-cached nginx-get-cached '≥ 50 %'
compare tus-curl post '≥ 85 %'
compare tus post '≥ 85 %'
compare tus weed-tus '> 100 %'
compare tus-own-reader post –
compare tus-wall post-wall –
compare tus-curl-wall post-wall –
compare post cp –
compare download cp –
printf '\nsha256 %s matched after every upload and download.\n' "$expected"

# --- 2. peak memory: small, large and parallel uploads, each on fresh processes --------
# Every upload here runs on services started just before it: an allocator keeps what it
# once took, so processes that have done section 1's transfers (or the previous upload
# here) would report those peaks instead of this upload's. The peaks are still reset
# right before each upload, so the growth counts from the RSS of a process that has
# started and answered one authenticated request (restart_stack). The order need not
# alternate between rounds: no upload runs on a process another upload has used.
fv_note "memory: $rounds rounds of one ${small_mib} MiB upload, one ${size_mib} MiB upload and $parallel uploads of ${parallel_mib} MiB at once, each on freshly started services"
for round in $(seq 1 "$rounds"); do
    restart_stack
    reset_peaks
    post_file "$work/small.bin" "$small_sha" "bench-small-$round.txt" "$work/small.json"
    record_peaks small
    delete_file "$(json_id "$work/small.json")"

    # The file and the request of section 1's POST runs.
    restart_stack
    reset_peaks
    post_file "$work/input.bin" "$expected" "bench-large-$round.txt" "$work/large.json"
    record_peaks large
    delete_file "$(json_id "$work/large.json")"

    restart_stack
    reset_peaks
    uploaders=()
    for i in $(seq 1 "$parallel"); do
        post_file "$work/parallel.bin" "$parallel_sha" "bench-parallel-$round-$i.txt" "$work/parallel-$i.json" &
        uploaders+=("$!")
    done
    for pid in "${uploaders[@]}"; do
        wait "$pid" || fv_die "one of the $parallel uploads at once failed (see above)"
    done
    record_peaks parallel
    for i in $(seq 1 "$parallel"); do
        delete_file "$(json_id "$work/parallel-$i.json")"
    done
done

printf '\n## Peak resident memory per service, medians of %s rounds (%s)\n\n' "$rounds" "$(date -u +%Y-%m-%dT%H:%MZ)"
printf 'MiB: the peak during the upload (VmHWM, reset just before it), and in brackets its\n'
printf 'growth over the RSS at that moment. All but the last two columns come from services\n'
printf 'started afresh before each upload. The last two are the uploads of section 1, on\n'
printf 'processes that had already done the earlier transfers (their allocators keep what they\n'
printf 'once took), for reference only: they are not in the comparison. Goal: flat, at most 64 MiB\n'
printf 'of growth per service per upload, and the same fresh peak within 10 %% for %s MiB and %s MiB.\n\n' \
    "$small_mib" "$size_mib"
printf '| service | %s MiB POST | %s MiB POST | %s MiB peak vs %s MiB | %s × %s MiB POST at once | growth per upload of those | section 1: %s MiB POST | section 1: %s MiB tus |\n' \
    "$small_mib" "$size_mib" "$size_mib" "$small_mib" "$parallel" "$parallel_mib" "$size_mib" "$size_mib"
printf '|---|---|---|---|---|---|---|---|\n'
# cell LABEL SERVICE: "peak (+growth)" in MiB.
cell() {
    printf '%s (+%s)' "$(mib "$(median "${peak_kib["$1/$2"]}")")" "$(mib "$(median "${growth_kib["$1/$2"]}")")"
}
for service in "${services[@]}"; do
    small_peak="$(median "${peak_kib["small/$service"]}")"
    large_peak="$(median "${peak_kib["large/$service"]}")"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$service" "$(cell small "$service")" \
        "$(cell large "$service")" \
        "$(awk -v a="$large_peak" -v b="$small_peak" 'BEGIN {printf "%+.1f %%", 100 * (a / b - 1)}')" \
        "$(cell parallel "$service")" \
        "$(awk -v k="$(median "${growth_kib["parallel/$service"]}")" -v n="$parallel" 'BEGIN {printf "%.1f", k / 1024 / n}')" \
        "$(cell post "$service")" "$(cell tus "$service")"
done

# --- 3. authentication: cached vs uncached API keys, same stack, same run ---------------
if ! command -v wrk >/dev/null 2>&1; then
    fv_note "wrk is not installed: the authentication, edge and list benchmarks are skipped"
    exit 0
fi
cpu_secs() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
printf '\n## API-key authentication: GET /api/files, %s s per run, wrk -t2 -c8 (%s)\n\n' \
    "$auth_secs" "$(date -u +%Y-%m-%dT%H:%MZ)"
printf '| gateway | requests/s | p50 | p99 | auth-service CPU during the run (s) |\n|---|---|---|---|---|\n'
# shellcheck disable=SC2154 # pid_auth_service is set by start() through declare -g
for run in cached uncached; do
    port=$gateway_port
    [[ "$run" == uncached ]] && port=$uncached_port
    # One request first, so the cached run measures a warm cache.
    curl -fsS -o /dev/null -H "Authorization: Bearer $key" "http://127.0.0.1:$port/api/files"
    cpu_before="$(cpu_secs "$pid_auth_service")"
    wrk -t2 -c8 -d"${auth_secs}s" --latency -H "Authorization: Bearer $key" \
        "http://127.0.0.1:$port/api/files" >"$work/wrk-$run.txt"
    cpu_after="$(cpu_secs "$pid_auth_service")"
    rps="$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk-$run.txt")"
    p50="$(awk '$1 == "50%" {print $2}' "$work/wrk-$run.txt")"
    p99="$(awk '$1 == "99%" {print $2}' "$work/wrk-$run.txt")"
    non2xx="$(awk '/Non-2xx/ {print $NF}' "$work/wrk-$run.txt")"
    [[ -z "$non2xx" ]] || fv_die "the $run run got $non2xx non-2xx answers (see $work/wrk-$run.txt)"
    printf '| %s | %s | %s | %s | %s |\n' "$run" "$rps" "$p50" "$p99" \
        "$(awk -v a="$cpu_after" -v b="$cpu_before" 'BEGIN {printf "%.2f", a - b}')"
done

# --- 4. the edge: what authentication and rate limiting add to a request -------------------
# Two edge_bench gateways in front of the same auth-service: one with rate limits off,
# one limiting the `api` class in Redis (a limit far above what the run sends, so every
# request is decided and none refused). Three runs on a route that does nothing:
# without credentials on the first (the baseline), with the cached API key on the
# first (authentication), with the cached API key on the second (both).
redis_url="$(bash "$FV_ROOT/deploy/local/redis.sh" url)" || fv_die "no Redis server (see above)"
env FLOWSVAULT_GATEWAY_ADDR="127.0.0.1:$edge_port" "${gateway_settings[@]}" \
    "$bin/examples/edge_bench" >"$work/edge.log" 2>&1 &
pids+=("$!")
env FLOWSVAULT_GATEWAY_ADDR="127.0.0.1:$edge_limited_port" "${gateway_settings[@]}" \
    FLOWSVAULT_RATE_LIMIT_API=100000000/1m FLOWSVAULT_REDIS_URL="$redis_url" \
    FLOWSVAULT_REDIS_PREFIX="fvbench$run_id" "$bin/examples/edge_bench" >"$work/edge-limited.log" 2>&1 &
pids+=("$!")
for port in "$edge_port" "$edge_limited_port"; do
    for _ in $(seq 1 60); do
        curl -fsS -o /dev/null "http://127.0.0.1:$port/api/health" 2>/dev/null && break
        sleep 0.5
    done
    # Warms the verified-key cache (one bcrypt in auth-service).
    curl -fsS -o /dev/null -H "Authorization: Bearer $key" \
        "http://127.0.0.1:$port/api/bench/principal" || fv_die "the edge gateway on $port does not answer"
done

printf '\n## The edge: GET /api/bench/*, %s rounds of %s s per run, alternating, wrk -t2 -c50 (%s)\n\n' \
    "$edge_rounds" "$auth_secs" "$(date -u +%Y-%m-%dT%H:%MZ)"
printf '| round | run | requests/s | p50 | p99 |\n|---|---|---|---|---|\n'
declare -A edge_rps edge_p50 edge_p99
edge_runs=(baseline auth auth+ratelimit)
for round in $(seq 1 "$edge_rounds"); do
    for run in "${edge_runs[@]}"; do
        case "$run" in
            baseline) url="http://127.0.0.1:$edge_port/api/bench/plain"; header=() ;;
            auth) url="http://127.0.0.1:$edge_port/api/bench/principal"; header=(-H "Authorization: Bearer $key") ;;
            auth+ratelimit) url="http://127.0.0.1:$edge_limited_port/api/bench/principal"; header=(-H "Authorization: Bearer $key") ;;
        esac
        out="$work/wrk-edge-$run-$round.txt"
        wrk -t2 -c50 -d"${auth_secs}s" --latency "${header[@]}" "$url" >"$out"
        non2xx="$(awk '/Non-2xx/ {print $NF}' "$out")"
        [[ -z "$non2xx" ]] || fv_die "the edge $run run got $non2xx non-2xx answers (see $out)"
        rps="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
        p50="$(awk '$1 == "50%" {print $2}' "$out")"
        p99="$(awk '$1 == "99%" {print $2}' "$out")"
        printf '| %s | %s | %s | %s | %s |\n' "$round" "$run" "$rps" "$p50" "$p99"
        edge_rps[$run]+="$rps "
        edge_p50[$run]+="$(micros "$p50") "
        edge_p99[$run]+="$(micros "$p99") "
    done
done
printf '\nMedians of the rounds. "Added" is the difference from the baseline; "CPU per request\n'
printf 'added" is cores × (1/rps − 1/baseline rps), the work a request costs when the cores\n'
printf 'are saturated (then latency mostly measures queueing).\n\n'
printf '| run | requests/s | p50 (µs) | p99 (µs) | added at p50 (µs) | added at p99 (µs) | CPU per request added (µs) |\n'
printf '|---|---|---|---|---|---|---|\n'
base_rps="$(median "${edge_rps[baseline]}")"
base_p50="$(median "${edge_p50[baseline]}")"
base_p99="$(median "${edge_p99[baseline]}")"
for run in "${edge_runs[@]}"; do
    rps="$(median "${edge_rps[$run]}")" p50="$(median "${edge_p50[$run]}")" p99="$(median "${edge_p99[$run]}")"
    if [[ "$run" == baseline ]]; then
        printf '| %s | %s | %s | %s | | | |\n' "$run" "$rps" "$p50" "$p99"
    else
        printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$run" "$rps" "$p50" "$p99" \
            "$(awk -v a="$p50" -v b="$base_p50" 'BEGIN {print a - b}')" \
            "$(awk -v a="$p99" -v b="$base_p99" 'BEGIN {print a - b}')" \
            "$(awk -v cores="$(nproc)" -v r="$rps" -v b="$base_rps" 'BEGIN {printf "%.1f", cores * 1e6 * (1 / r - 1 / b)}')"
    fi
done

# --- 5. listing many files: GET /api/files vs the same SQL straight to PostgreSQL -------
# Rows go straight into file-service's table: active (sha256 and uploaded_at set, as the
# table's check demands), never expiring (duration unlimited, expires_at NULL), owned by
# the bench user (user_id is auth-service's user id, a uuid, taken here from the row of
# the bench's first upload), uploaded one second apart so the default sort has work to
# do. ANALYZE afterwards, so both runs see the same statistics.
if ! command -v psql >/dev/null 2>&1; then
    fv_note "psql is not installed: the list benchmark is skipped"
    exit 0
fi
fv_note "seeding $list_files files for the list benchmark"
user_id="$(psql "$FLOWSVAULT_FILES_DATABASE_URL" -qAt -v id="$first_id" \
    <<<"SELECT user_id FROM file_metadata WHERE id = :'id';")"
[[ -n "$user_id" ]] || fv_die "no user id found for file $first_id"
psql "$FLOWSVAULT_FILES_DATABASE_URL" -qAt -v ON_ERROR_STOP=1 -v user_id="$user_id" -v files="$list_files" \
    >/dev/null <<'SQL'
INSERT INTO file_metadata (id, user_id, original_name, file_name, extension, mime_type, size,
                           sha256, duration, status, created_at, uploaded_at, expires_at)
SELECT id, :'user_id', format('seed-%s.txt', n), format('%s-seed-%s.txt', id, n), 'txt',
       'text/plain', n, encode(sha256(convert_to(n::text, 'UTF8')), 'hex'), 'unlimited', 'active',
       now() - make_interval(secs => n), now() - make_interval(secs => n), NULL
FROM (SELECT gen_random_uuid() AS id, n FROM generate_series(1, :files) AS n) AS seed;
ANALYZE file_metadata;
SQL
total="$(curl -fsS "${auth[@]}" "$base/api/files" | sed -n 's/.*"total":\([0-9]*\).*/\1/p')"
[[ "$total" == "$list_files" ]] || fv_die "GET /api/files reports $total files, not the $list_files seeded"

list_sql="$FV_ROOT/deploy/local/bench/list-files.sql"
list_runs=(api)
[[ -z "$pgbench_bin" ]] || list_runs+=(pgbench)
printf '\n## GET /api/files with %s files: the gateway under wrk -t2 -c32 vs the same SQL in pgbench -c32 -j2,\n' "$list_files"
printf '%s rounds of %s s per run, alternating (%s)\n\n' "$rounds" "$list_secs" "$(date -u +%Y-%m-%dT%H:%MZ)"
printf '| round | run | per second | p50 (ms) | p99 (ms) | errors |\n|---|---|---|---|---|---|\n'
declare -A list_rate list_p50 list_p99 list_errors
for round in $(seq 1 "$rounds"); do
    runs=("${list_runs[@]}")
    if [[ $((round % 2)) -eq 0 ]]; then
        read -ra runs <<<"$(reversed "${runs[@]}")"
    fi
    for run in "${runs[@]}"; do
        if [[ "$run" == api ]]; then
            # A long timeout: a request wrk gave up on would be missing from the percentiles.
            # Errors (answers other than 2xx, such as the gateway's 504 after its upstream
            # timeout, and socket errors) are counted and reported, not fatal: under this
            # load they are part of the result.
            out="$work/wrk-list-$round.txt"
            wrk -t2 -c32 -d"${list_secs}s" --timeout 60s --latency "${auth[@]}" "$base/api/files" >"$out"
            errors="$(awk '/Non-2xx/ {n += $NF} /^ *Socket errors:/ {gsub(",", ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$out")"
            per_s="$(awk '/^Requests\/sec:/ {print $2}' "$out")"
            p50="$(micros "$(awk '$1 == "50%" {print $2}' "$out")")"
            p99="$(micros "$(awk '$1 == "99%" {print $2}' "$out")")"
        else
            # One transaction is one list request: both statements, on one connection,
            # prepared once per connection as file-service's connections prepare them. -l
            # logs each transaction's latency (third field, µs) into one file per thread.
            out="$work/pgbench-$round.txt"
            "$pgbench_bin" -n -M prepared -c 32 -j 2 -T "$list_secs" -D user_id="$user_id" -f "$list_sql" \
                -l --log-prefix="$work/pgbench-log-$round" "$FLOWSVAULT_FILES_DATABASE_URL" >"$out" 2>"$work/pgbench-$round.err" ||
                fv_die "pgbench failed: $(cat "$work/pgbench-$round.err")"
            errors="$(awk '/^number of failed transactions:/ {n = $5} END {print n + 0}' "$out")"
            # Failed transactions log a word instead of a latency.
            cat "$work/pgbench-log-$round".* | awk '$3 ~ /^[0-9]+$/ {print $3}' >"$work/pgbench-latency-$round.txt"
            # The last tps line: older pgbench prints one with connection set-up first.
            per_s="$(awk '/^tps = / {v = $3} END {printf "%.2f", v}' "$out")"
            p50="$(quantile 0.5 "$work/pgbench-latency-$round.txt")"
            p99="$(quantile 0.99 "$work/pgbench-latency-$round.txt")"
        fi
        printf '| %s | %s | %s | %.1f | %.1f | %s |\n' "$round" "$run" "$per_s" \
            "$(awk -v us="$p50" 'BEGIN {print us / 1000}')" "$(awk -v us="$p99" 'BEGIN {print us / 1000}')" "$errors"
        [[ "$errors" == 0 ]] || fv_note "the $run list run of round $round had $errors errors (see $out)"
        list_errors[$run]=$((${list_errors[$run]:-0} + errors))
        list_rate[$run]+="$per_s "
        list_p50[$run]+="$p50 "
        list_p99[$run]+="$p99 "
    done
done
printf '\nMedians of the rounds. api = GET /api/files through gateway, file-service (a pool of\n'
printf '%s database connections) and PostgreSQL; pgbench = the count and the page file-service\n' \
    "${FLOWSVAULT_FILES_DATABASE_POOL_SIZE:-16}"
printf 'runs, 32 connections straight to PostgreSQL (deploy/local/bench/list-files.sql).\n'
printf 'Goal: p99 of api at most 3 × p99 of pgbench.\n\n'
printf '| run | per second | p50 (ms) | p99 (ms) | p99 vs pgbench | errors, all rounds |\n|---|---|---|---|---|---|\n'
raw_p99="$(median "${list_p99[pgbench]:-}")"
for run in "${list_runs[@]}"; do
    p99="$(median "${list_p99[$run]}")"
    printf '| %s | %.1f | %.1f | %.1f | %s | %s |\n' "$run" "$(median "${list_rate[$run]}")" \
        "$(awk -v us="$(median "${list_p50[$run]}")" 'BEGIN {print us / 1000}')" \
        "$(awk -v us="$p99" 'BEGIN {print us / 1000}')" \
        "$(if [[ -n "$raw_p99" ]]; then awk -v a="$p99" -v b="$raw_p99" 'BEGIN {printf "%.2f ×", a / b}'; else printf '–'; fi)" \
        "${list_errors[$run]}"
done
