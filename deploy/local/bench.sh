#!/usr/bin/env bash
# `make bench`: pushes one large file through the whole stack (release build, real
# PostgreSQL, local-disk storage) and reports, for each service, how much its resident
# memory grew at peak, next to the file size, plus upload and download throughput next
# to a plain `cp` of the same file on the same disk, measured in the same run. Then the
# cost of authentication: requests per second and latency of an API-key `GET /api/files`
# with wrk, on a gateway with its verified-key cache and on a second gateway with the
# cache off, side by side, with the CPU time auth-service spent during each. And the same
# file as a resumable upload with the stock tus-js-client, next to the POST upload. Last,
# what the gateway's edge adds to a request that does no work of its own (the
# edge_bench example): nothing, a cached API key, a cached API key plus a rate limit
# decision in Redis, with wrk -c50.
#
# Settings: FLOWSVAULT_BENCH_MIB (file size, default 1024), FLOWSVAULT_BENCH_PORT (first
# of seven consecutive free ports, default 27080), FLOWSVAULT_BENCH_DIR (scratch space,
# default a new directory under /var/tmp), FLOWSVAULT_BENCH_AUTH_SECS (seconds of load per
# auth run, default 10).
set -euo pipefail
FV_SCRIPT=bench
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$FV_ROOT"

size_mib="${FLOWSVAULT_BENCH_MIB:-1024}"
# Below the kernel's ephemeral range, so no outgoing connection can hold one of them.
first_port="${FLOWSVAULT_BENCH_PORT:-27080}"
export CARGO_TARGET_DIR
CARGO_TARGET_DIR="$(fv_target_dir)"
target="$CARGO_TARGET_DIR"
bin="$target/release"

fv_note "building release binaries"
cargo build --release --bins --locked >&2
cargo build --release --locked -p flowsvault-gateway --example edge_bench >&2

server_url="$("$FV_ROOT/deploy/local/postgres.sh" url)"
run_id="$(date +%s)_$$"
work="${FLOWSVAULT_BENCH_DIR:-$(mktemp -d /var/tmp/flowsvault-bench.XXXXXX)}"
mkdir -p "$work/objects"
pids=()

cleanup() {
    for pid in "${pids[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    if command -v psql >/dev/null 2>&1; then
        for db in "fv_bench_auth_$run_id" "fv_bench_files_$run_id"; do
            psql "$server_url" -qAtc "DROP DATABASE IF EXISTS \"$db\"" >/dev/null 2>&1 || true
        done
    fi
    rm -rf "$work"
}
trap cleanup EXIT

for offset in 0 1 2 3 4 5 6; do
    port=$((first_port + offset))
    if fv_port_open 127.0.0.1 "$port"; then
        fv_die "port $port is in use; set FLOWSVAULT_BENCH_PORT to a free range"
    fi
done
gateway_port=$first_port
auth_port=$((first_port + 1))
files_port=$((first_port + 2))
storage_port=$((first_port + 3))

export RUST_LOG=warn
export FLOWSVAULT_AUTH_DATABASE_URL
FLOWSVAULT_AUTH_DATABASE_URL="$(fv_db_url "$server_url" "fv_bench_auth_$run_id")"
export FLOWSVAULT_FILES_DATABASE_URL
FLOWSVAULT_FILES_DATABASE_URL="$(fv_db_url "$server_url" "fv_bench_files_$run_id")"

start() {
    local name="$1"
    shift
    env "$@" "$bin/$name" >"$work/$name.log" 2>&1 &
    pids+=("$!")
    declare -g "pid_${name//-/_}=$!"
}
start auth-service FLOWSVAULT_AUTH_ADDR="127.0.0.1:$auth_port"
start file-service FLOWSVAULT_FILES_ADDR="127.0.0.1:$files_port"
start storage-service FLOWSVAULT_STORAGE_ADDR="127.0.0.1:$storage_port" \
    FLOWSVAULT_STORAGE_ROOT="$work/objects"
gateway_settings=(
    FLOWSVAULT_AUTH_URL="http://127.0.0.1:$auth_port"
    FLOWSVAULT_FILES_URL="http://127.0.0.1:$files_port"
    FLOWSVAULT_STORAGE_URL="http://127.0.0.1:$storage_port"
    FLOWSVAULT_JANITOR_URL=
    FLOWSVAULT_MAX_UPLOAD_BYTES=$(((size_mib + 1) * 1024 * 1024))
    FLOWSVAULT_RATE_LIMIT_API=off
)
start gateway FLOWSVAULT_GATEWAY_ADDR="127.0.0.1:$gateway_port" "${gateway_settings[@]}"
# The same gateway with the verified-key cache off: every request pays bcrypt.
uncached_port=$((first_port + 4))
env FLOWSVAULT_GATEWAY_ADDR="127.0.0.1:$uncached_port" FLOWSVAULT_API_KEY_CACHE_TTL_SECS=0 \
    "${gateway_settings[@]}" "$bin/gateway" >"$work/gateway-uncached.log" 2>&1 &
pids+=("$!")

base="http://127.0.0.1:$gateway_port"
for _ in $(seq 1 120); do
    if curl -fsS -o /dev/null "$base/api/ready" 2>/dev/null; then
        break
    fi
    sleep 0.5
done
curl -fsS -o /dev/null "$base/api/ready" || fv_die "the stack did not become ready; logs in $work"

key="$("$bin/auth-service" api-key create --email bench@example.com --name bench)"

fv_note "writing a ${size_mib} MiB test file"
# A text header, so the upload passes content sniffing as .txt whatever the random
# bytes after it begin with.
{
    printf 'flowsvault bench\n'
    head -c "$((size_mib * 1024 * 1024 - 17))" /dev/urandom
} >"$work/input.bin"
expected="$(sha256sum "$work/input.bin" | cut -d' ' -f1)"

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }
now() { date +%s.%N; }
mib_per_s() { awk -v bytes="$1" -v start="$2" -v end="$3" 'BEGIN {printf "%.0f", bytes / 1048576 / (end - start)}'; }

services=(gateway auth-service file-service storage-service)
declare -A before
for service in "${services[@]}"; do
    pid_var="pid_${service//-/_}"
    before[$service]="$(rss_kib "${!pid_var}")"
done

bytes=$((size_mib * 1024 * 1024))
sync
start_copy="$(now)"
cp "$work/input.bin" "$work/copy.bin"
sync
end_copy="$(now)"
rm -f "$work/copy.bin"

start_upload="$(now)"
status="$(curl -sS -o "$work/upload.json" -w '%{http_code}' -H "Authorization: Bearer $key" \
    -F "file=@$work/input.bin;filename=bench.txt" -F duration=1h "$base/api/upload")"
sync
end_upload="$(now)"
[[ "$status" == 201 ]] || fv_die "upload answered $status: $(cat "$work/upload.json")"
id="$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' "$work/upload.json")"
grep -q "\"sha256\":\"$expected\"" "$work/upload.json" || fv_die "the stored sha256 differs"

start_download="$(now)"
curl -fsS -o "$work/output.bin" -H "Authorization: Bearer $key" "$base/api/download/$id"
end_download="$(now)"
actual="$(sha256sum "$work/output.bin" | cut -d' ' -f1)"
[[ "$actual" == "$expected" ]] || fv_die "the downloaded bytes differ"

printf '\n## %s MiB through the stack (%s)\n\n' "$size_mib" "$(date -u +%Y-%m-%dT%H:%MZ)"
printf '| service | RSS before (MiB) | peak RSS after (MiB) | growth (MiB) | file (MiB) |\n'
printf '|---|---|---|---|---|\n'
for service in "${services[@]}"; do
    pid_var="pid_${service//-/_}"
    peak="$(hwm_kib "${!pid_var}")"
    printf '| %s | %.1f | %.1f | %.1f | %s |\n' "$service" \
        "$(awk -v k="${before[$service]}" 'BEGIN {print k / 1024}')" \
        "$(awk -v k="$peak" 'BEGIN {print k / 1024}')" \
        "$(awk -v a="$peak" -v b="${before[$service]}" 'BEGIN {print (a - b) / 1024}')" \
        "$size_mib"
done
printf '\n| transfer | MiB/s | baseline `cp` on the same disk (MiB/s) |\n|---|---|---|\n'
copy_rate="$(mib_per_s "$bytes" "$start_copy" "$end_copy")"
printf '| upload (curl -F → gateway → storage-service → disk) | %s | %s |\n' \
    "$(mib_per_s "$bytes" "$start_upload" "$end_upload")" "$copy_rate"
printf '| download (disk → storage-service → gateway → curl) | %s | %s |\n' \
    "$(mib_per_s "$bytes" "$start_download" "$end_download")" "$copy_rate"
printf '\nsha256 %s matched after upload and download.\n' "$expected"

# --- the same file as a resumable (tus) upload, 50 MiB per PATCH ----------------------
tus_env="$(bash "$FV_ROOT/deploy/local/tus/tus.sh" env)" || fv_die "the tus clients could not be installed"
eval "$tus_env"
for service in gateway storage-service; do
    pid_var="pid_${service//-/_}"
    # Writing 5 resets the peak (VmHWM) to the current RSS.
    echo 5 >"/proc/${!pid_var}/clear_refs" 2>/dev/null || true
    before[$service]="$(rss_kib "${!pid_var}")"
done
start_tus="$(now)"
"$FLOWSVAULT_TUS_NODE" --endpoint "$base/api/uploads" --key "$key" --file "$work/input.bin" \
    --metadata filename=bench-tus.txt --chunk-size $((50 * 1024 * 1024)) \
    --url-storage "$work/tus-urls.json" >"$work/tus.json" || fv_die "the tus upload failed: $(cat "$work/tus.json")"
end_tus="$(now)"
tus_id="$(sed -n 's#.*"url":"[^"]*/api/uploads/\([^"]*\)".*#\1#p' "$work/tus.json")"
curl -fsS -H "Authorization: Bearer $key" "$base/api/files/$tus_id" | grep -q "\"sha256\":\"$expected\"" ||
    fv_die "the tus upload stored other bytes"
printf '\n| transfer | MiB/s | `POST /api/upload` in the same run (MiB/s) |\n|---|---|---|\n'
printf '| tus upload, tus-js-client, 50 MiB PATCHes (staged, then committed) | %s | %s |\n' \
    "$(mib_per_s "$bytes" "$start_tus" "$end_tus")" "$(mib_per_s "$bytes" "$start_upload" "$end_upload")"
printf '\n| service | RSS before the tus upload (MiB) | peak during it (MiB) | file (MiB) |\n|---|---|---|---|\n'
for service in gateway storage-service; do
    pid_var="pid_${service//-/_}"
    printf '| %s | %.1f | %.1f | %s |\n' "$service" \
        "$(awk -v k="${before[$service]}" 'BEGIN {print k / 1024}')" \
        "$(awk -v k="$(hwm_kib "${!pid_var}")" 'BEGIN {print k / 1024}')" "$size_mib"
done

# --- authentication: cached vs uncached API keys, same stack, same run ---------------
auth_secs="${FLOWSVAULT_BENCH_AUTH_SECS:-10}"
if ! command -v wrk >/dev/null 2>&1; then
    if fv_may_install; then
        fv_apt_install wrk || true
    fi
fi
if ! command -v wrk >/dev/null 2>&1; then
    fv_note "wrk is not installed: the authentication benchmark is skipped"
    exit 0
fi
cpu_secs() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
printf '\n## API-key authentication: GET /api/files, %s s per run, wrk -t2 -c8 (%s)\n\n' \
    "$auth_secs" "$(date -u +%Y-%m-%dT%H:%MZ)"
printf '| gateway | requests/s | p50 | p99 | auth-service CPU during the run (s) |\n|---|---|---|---|---|\n'
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

# --- the edge: what authentication and rate limiting add to a request -------------------
# Two edge_bench gateways in front of the same auth-service: one with rate limits off,
# one limiting the `api` class in Redis (a limit far above what the run sends, so every
# request is decided and none refused). Three runs on a route that does nothing:
# without credentials on the first (the baseline), with the cached API key on the
# first (authentication), with the cached API key on the second (both).
redis_url="$(bash "$FV_ROOT/deploy/local/redis.sh" url)" || fv_die "no Redis server (see above)"
edge_port=$((first_port + 5))
edge_limited_port=$((first_port + 6))
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

# Microseconds of a wrk latency figure such as 310.00us, 1.20ms or 1.01s.
micros() {
    awk -v text="$1" 'BEGIN {
        value = text + 0
        if (text ~ /us$/) factor = 1; else if (text ~ /ms$/) factor = 1000; else if (text ~ /s$/) factor = 1000000
        printf "%.0f", value * factor
    }'
}
printf '\n## The edge: GET /api/bench/*, %s s per run, wrk -t2 -c50 (%s)\n\n' \
    "$auth_secs" "$(date -u +%Y-%m-%dT%H:%MZ)"
printf '| run | requests/s | p50 | p99 | added at p50 (µs) | added at p99 (µs) | CPU per request added (µs) |\n'
printf '|---|---|---|---|---|---|---|\n'
base_p50=""
for run in baseline auth auth+ratelimit; do
    case "$run" in
        baseline) url="http://127.0.0.1:$edge_port/api/bench/plain"; header=() ;;
        auth) url="http://127.0.0.1:$edge_port/api/bench/principal"; header=(-H "Authorization: Bearer $key") ;;
        auth+ratelimit) url="http://127.0.0.1:$edge_limited_port/api/bench/principal"; header=(-H "Authorization: Bearer $key") ;;
    esac
    wrk -t2 -c50 -d"${auth_secs}s" --latency "${header[@]}" "$url" >"$work/wrk-edge-$run.txt"
    non2xx="$(awk '/Non-2xx/ {print $NF}' "$work/wrk-edge-$run.txt")"
    [[ -z "$non2xx" ]] || fv_die "the edge $run run got $non2xx non-2xx answers (see $work/wrk-edge-$run.txt)"
    rps="$(awk '/^Requests\/sec:/ {print $2}' "$work/wrk-edge-$run.txt")"
    p50="$(awk '$1 == "50%" {print $2}' "$work/wrk-edge-$run.txt")"
    p99="$(awk '$1 == "99%" {print $2}' "$work/wrk-edge-$run.txt")"
    if [[ -z "$base_p50" ]]; then
        base_p50="$(micros "$p50")" base_p99="$(micros "$p99")" base_rps="$rps"
        printf '| %s | %s | %s | %s | | | |\n' "$run" "$rps" "$p50" "$p99"
    else
        # Both cores serve the requests: the CPU a request costs is cores / throughput.
        printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$run" "$rps" "$p50" "$p99" \
            "$(($(micros "$p50") - base_p50))" "$(($(micros "$p99") - base_p99))" \
            "$(awk -v cores="$(nproc)" -v r="$rps" -v b="$base_rps" 'BEGIN {printf "%.1f", cores * 1e6 * (1 / r - 1 / b)}')"
    fi
done
