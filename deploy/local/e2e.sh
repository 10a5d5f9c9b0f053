#!/usr/bin/env bash
# The browser tests of the web UI (gateway/web/e2e, Playwright), then schemathesis
# against the API's OpenAPI document, both against the real services and the real OpenID
# provider:
#
#   deploy/local/e2e.sh [playwright test options]     e.g. --grep "API key"
#
# 1. builds the debug binaries (cargo build --bins --locked) and the web UI (npm ci when
#    gateway/web/node_modules is missing or older than package-lock.json, then npm run build);
# 2. starts auth-service, file-service, storage-service (local backend, objects in a
#    temporary directory), janitor and gateway on 127.0.0.1, on the five ports from
#    FLOWSVAULT_E2E_PORT (default 28280: the gateway; 28281-28284 the others), with fresh
#    databases fv_e2e_<hex>_auth and fv_e2e_<hex>_files on the server of
#    deploy/local/postgres.sh, the Redis of redis.sh (keys under their own prefix), a copy
#    of the built UI (FLOWSVAULT_WEB_DIR) and a client registered for this gateway at the
#    OpenID provider of oidc.sh (dynamic registration);
# 3. runs the suite in headless Debian Chromium (installed with apt-get when missing, if
#    running as root and FLOWSVAULT_NO_INSTALL is unset; Playwright downloads no browser);
# 4. whatever the suite's result, runs deploy/local/schemathesis.sh against the gateway:
#    schemathesis (PyPI, pinned in deploy/local/schemathesis/requirements.txt, installed
#    into a venv under ~/.cache/flowsvault/tools at step 1) sends generated requests to
#    every operation of /api/openapi.json (boundary values, then at most 20 random
#    examples per operation, then as many chains of calls) with the API key of a fresh
#    account (auth-service api-key create), and fails on any 5xx and on any status,
#    Content-Type, header or body the document does not describe. The cleanup runs with
#    the gateway's CRON_SECRET, the account deletion with a second account. Skipped with
#    FLOWSVAULT_E2E_SCHEMATHESIS=0;
# 5. stops everything it started (by pid), drops its databases and Redis keys, deletes its
#    temporary directory and prints a summary.
#
# The exit code is the suite's when it failed, else schemathesis's. The summary ends with
# Playwright's counts, then schemathesis's verdict, then (on failure) a line naming what
# failed. Kept for a reviewer under ./data/e2e (git-ignored): screenshots/ (the main pages
# in both themes), axe/ (the accessibility results of each page), results/ (traces and
# screenshots of failed tests), logs/ (the services' logs), report.json (Playwright's JSON
# report), schemathesis/ (output.txt, its whole output with a curl command for each
# failure; junit.xml; summary.txt).
#
# Settings: FLOWSVAULT_E2E_PORT (first of the five ports), FLOWSVAULT_E2E_TIMEOUT
# (seconds the services get to start, default 90), FLOWSVAULT_E2E_WORKERS (parallel
# browsers, default 1), FLOWSVAULT_E2E_SERVE=1 (for writing tests: start the services, write
# data/e2e/serve.env and wait for Ctrl-C instead of running the suite),
# FLOWSVAULT_E2E_SKIP_BUILD=1 (use the debug binaries already built, as they are),
# FLOWSVAULT_E2E_SCHEMATHESIS=0 (skip schemathesis; default 1), and schemathesis.sh's own
# FLOWSVAULT_SCHEMATHESIS_EXAMPLES, _WORKERS, _SEED, _TIMEOUT and _ARGS.
set -euo pipefail
FV_SCRIPT="e2e.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# Only for fv_oidc_need_node: sourced, oidc.sh defines functions and runs nothing.
# shellcheck source-path=SCRIPTDIR source=oidc.sh
source "$FV_ROOT/deploy/local/oidc.sh"
cd "$FV_ROOT"

here="$FV_ROOT/deploy/local"
web="$FV_ROOT/gateway/web"
out="$FV_ROOT/data/e2e"
logs="$out/logs"
timeout_secs="${FLOWSVAULT_E2E_TIMEOUT:-90}"
started_at="$SECONDS"
CARGO_TARGET_DIR="$(fv_target_dir)"
export CARGO_TARGET_DIR
bin="$CARGO_TARGET_DIR/debug"

[[ "$timeout_secs" =~ ^[0-9]+$ && "$timeout_secs" -gt 0 ]] ||
    fv_die "FLOWSVAULT_E2E_TIMEOUT is not a number of seconds: $timeout_secs"
schemathesis="${FLOWSVAULT_E2E_SCHEMATHESIS:-1}"
[[ "$schemathesis" == 0 || "$schemathesis" == 1 ]] ||
    fv_die "FLOWSVAULT_E2E_SCHEMATHESIS is 1 (run schemathesis, the default) or 0 (skip it), not $schemathesis"

step() {
    printf '\n==> e2e: %s\n' "$*" >&2
}

# --- ports ---------------------------------------------------------------------------
# Below the kernel's ephemeral range (32768 and up here), so that no outgoing connection
# of the tests can hold one of these ports when a service binds it.
base_port="${FLOWSVAULT_E2E_PORT:-28280}"
[[ "$base_port" =~ ^[0-9]+$ && "$base_port" -ge 1024 && "$base_port" -le 65531 ]] ||
    fv_die "FLOWSVAULT_E2E_PORT is not a port number from 1024 to 65531: $base_port"
# Service order: backends first, the gateway last (it is stopped first).
tags=(auth files storage janitor gateway)
binaries=(auth-service file-service storage-service janitor gateway)
ports=($((base_port + 1)) $((base_port + 2)) $((base_port + 3)) $((base_port + 4)) "$base_port")
gateway_port="$base_port"
gateway_url="http://127.0.0.1:$gateway_port"

check_ports() {
    local i owner
    for i in "${!tags[@]}"; do
        if fv_port_open 127.0.0.1 "${ports[$i]}"; then
            owner="$(fv_port_owner "${ports[$i]}")"
            fv_die "port ${ports[$i]} (for ${binaries[$i]}) is already in use${owner:+ by $owner}; stop that program or choose other ports with FLOWSVAULT_E2E_PORT=PORT (five ports from PORT on)"
        fi
    done
}

# --- cleanup (set up before anything is started) --------------------------------------
pids=()        # one per service: its pid, leader of its own process group (setsid)
work=""        # temporary directory: the UI's files, objects, the registration answer
databases=()   # to drop at the end
pg_server=""
redis_url=""
redis_prefix=""
stopping=""

psql_at() {
    PGCONNECT_TIMEOUT=10 psql -X -w -q -At -v ON_ERROR_STOP=1 -d "$pg_server" "$@"
}

# shellcheck disable=SC2317 # called from traps
cleanup() {
    local i waited=0 alive database
    [[ -z "$stopping" ]] || return 0
    stopping=1
    trap '' PIPE
    set +e
    if [[ "${#pids[@]}" -gt 0 ]]; then
        fv_note "stopping the services"
        for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
            [[ -n "${pids[$i]:-}" ]] && kill -TERM -- "-${pids[$i]}" 2>/dev/null
        done
        while :; do
            alive=""
            for i in "${!pids[@]}"; do
                if [[ -n "${pids[$i]:-}" ]] && fv_pid_alive "${pids[$i]}"; then
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
        for i in "${!pids[@]}"; do
            [[ -n "${pids[$i]:-}" ]] && kill -KILL -- "-${pids[$i]}" 2>/dev/null
        done
        wait 2>/dev/null
    fi
    if [[ "${#databases[@]}" -gt 0 ]] && command -v psql >/dev/null 2>&1; then
        for database in "${databases[@]}"; do
            psql_at -c "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" 2>/dev/null ||
                fv_note "could not drop the database $database"
        done
    fi
    # The rate limiter's keys expire by themselves within minutes; remove them at once.
    if [[ -n "$redis_url" && -n "$redis_prefix" ]] && command -v redis-cli >/dev/null 2>&1; then
        redis-cli -u "$redis_url" --scan --pattern "$redis_prefix:*" 2>/dev/null |
            xargs -r redis-cli -u "$redis_url" del >/dev/null 2>&1
    fi
    if [[ -n "$work" && -d "$work" ]]; then
        rm -rf -- "$work"
    fi
}

# shellcheck disable=SC2317 # called from traps
on_signal() {
    trap '' INT TERM HUP PIPE
    fv_note "got SIG$1" 2>/dev/null || true
    cleanup
    exit "$2"
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# --- 1. tools --------------------------------------------------------------------------
if [[ "$schemathesis" == 1 ]]; then
    step "tools: node, npm, chromium, psql, schemathesis"
else
    step "tools: node, npm, chromium, psql"
fi
fv_oidc_need_node
if ! command -v chromium >/dev/null 2>&1; then
    if fv_may_install; then
        fv_apt_install chromium fonts-liberation || fv_die "installing chromium failed"
    else
        fv_die "the browser tests need Debian's chromium (apt-get install chromium; this script does that itself when run as root)"
    fi
fi
chromium_path="$(command -v chromium)"
if ! command -v psql >/dev/null 2>&1 && fv_may_install; then
    fv_apt_install postgresql-client || fv_note "installing postgresql-client failed"
fi
command -v psql >/dev/null 2>&1 || fv_die "psql is needed to create and drop the test databases (apt-get install postgresql-client)"
command -v curl >/dev/null 2>&1 || fv_die "curl is not installed (Debian: apt-get install curl)"
fv_say "$(node --version), npm $(npm --version), $("$chromium_path" --version 2>/dev/null | head -n 1)"
# Now rather than after the suite: a venv that cannot be made stops the run before the build.
if [[ "$schemathesis" == 1 ]]; then
    bash "$here/schemathesis.sh" install || fv_die "schemathesis could not be installed (see above; FLOWSVAULT_E2E_SCHEMATHESIS=0 skips it)"
fi

check_ports

# --- 2. build ----------------------------------------------------------------------------
if [[ -n "${FLOWSVAULT_E2E_SKIP_BUILD:-}" ]]; then
    step "using the debug binaries in $bin as they are (FLOWSVAULT_E2E_SKIP_BUILD)"
else
    step "cargo build --bins --locked (target dir $CARGO_TARGET_DIR)"
    cargo build --bins --locked >&2 || fv_die "cargo build --bins --locked failed (see above)"
fi
for name in "${binaries[@]}"; do
    [[ -x "$bin/$name" ]] || fv_die "there is no $bin/$name (cargo build --bins)"
done

step "web UI: npm ci (when needed) and npm run build in gateway/web"
# Locked on the lockfile itself (opened read-only), as oidc.sh does for its packages.
exec {lock_fd}<"$web/package-lock.json"
flock -w 600 "$lock_fd" || fv_die "another process has been installing into $web/node_modules for more than 10 minutes"
if [[ ! -d "$web/node_modules/@playwright/test" || ! -d "$web/node_modules/axe-core" ||
    "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]]; then
    [[ -z "${FLOWSVAULT_NO_INSTALL:-}" ]] ||
        fv_die "gateway/web/node_modules is missing or out of date and FLOWSVAULT_NO_INSTALL forbids installing (cd gateway/web && npm ci)"
    fv_note "installing the web UI's npm packages (npm ci)"
    (cd "$web" && npm ci --no-audit --no-fund) >&2 || fv_die "npm ci in $web failed"
fi
(cd "$web" && npm run build) >&2 || fv_die "npm run build in $web failed"
exec {lock_fd}<&-
[[ -f "$web/dist/index.html" ]] || fv_die "npm run build made no $web/dist/index.html"
# The gateway serves a copy: a rebuild of gateway/web/dist while the suite runs (make run,
# another checkout's tools) must not pull the files from under the pages.
work="$(mktemp -d "${TMPDIR:-/tmp}/flowsvault-e2e.XXXXXX")"
cp -R -- "$web/dist" "$work/web"
while IFS= read -r asset; do
    [[ -f "$work/web$asset" ]] || fv_die "gateway/web/dist changed while it was copied (no $asset); run again"
done < <(grep -o '/assets/[^"]*' "$work/web/index.html")

# --- 3. PostgreSQL, Redis, the OpenID provider ---------------------------------------------
step "PostgreSQL, Redis, OpenID provider"
pg_server="$(bash "$here/postgres.sh" url)" || fv_die "no PostgreSQL server (see above)"
redis_url="$(bash "$here/redis.sh" url)" || fv_die "no Redis server (see above)"
oidc_env="$(bash "$here/oidc.sh" env)" || fv_die "no OpenID provider (see above)"
eval "$oidc_env"
issuer="$FLOWSVAULT_TEST_OIDC_ISSUER"
fv_say "postgres $(printf '%s' "$pg_server" | sed 's#://\([^:/@]*\):[^@]*@#://\1:***@#'), redis $redis_url, issuer $issuer"

# Databases that an earlier run left behind (killed with SIGKILL): without FORCE, so that
# those of a run still going on are kept.
leftovers="$(psql_at -c "SELECT datname FROM pg_database WHERE datname ~ '^fv_e2e_[0-9a-f]+_(auth|files)\$'")" ||
    fv_die "psql could not list the databases of $(printf '%s' "$pg_server" | sed 's#://\([^:/@]*\):[^@]*@#://\1:***@#')"
while IFS= read -r database; do
    [[ -n "$database" ]] || continue
    psql_at -c "DROP DATABASE IF EXISTS \"$database\"" 2>/dev/null && fv_note "dropped $database, left by an earlier run"
done <<<"$leftovers"

run_id="$(od -An -tx1 -N6 /dev/urandom | tr -d ' \n')"
auth_db="fv_e2e_${run_id}_auth"
files_db="fv_e2e_${run_id}_files"
databases=("$auth_db" "$files_db")

mkdir -p -- "$work/objects" "$logs"
rm -rf -- "$out/screenshots" "$out/axe" "$out/results" "$out/schemathesis"
rm -f -- "$out/report.json"
mkdir -p -- "$out/screenshots" "$out/axe" "$out/schemathesis"

# A client of our own at the provider (dynamic registration), for this gateway's callback:
# the static client's redirect URI belongs to `make run`.
redirect_uri="$gateway_url/api/auth/callback/local"
curl -fsS -m 10 -o "$work/client.json" -H 'Content-Type: application/json' \
    -d "{\"redirect_uris\":[\"$redirect_uri\"],\"grant_types\":[\"authorization_code\"],\"response_types\":[\"code\"],\"token_endpoint_auth_method\":\"client_secret_basic\",\"client_name\":\"Flowsvault e2e $run_id\"}" \
    "$issuer/reg" || fv_die "registering a client at $issuer/reg failed"
client_id="$(node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.stdout.write(c.client_id)' "$work/client.json")"
client_secret="$(node -e 'const c = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); process.stdout.write(c.client_secret)' "$work/client.json")"
[[ -n "$client_id" && -n "$client_secret" ]] || fv_die "the provider's registration answer lacks client_id or client_secret"

# --- 4. the services --------------------------------------------------------------------------
# Settings from the caller's environment that would change what is tested.
unset FLOWSVAULT_PUBLIC_URL FLOWSVAULT_TRUSTED_PROXIES FLOWSVAULT_DEV_SIGNIN \
    FLOWSVAULT_ALLOWED_EXTENSIONS FLOWSVAULT_MAX_UPLOAD_BYTES FLOWSVAULT_DEFAULT_DURATION \
    FLOWSVAULT_STORAGE_BACKEND FLOWSVAULT_S3_BUCKET FLOWSVAULT_S3_ENDPOINT DATABASE_URL \
    FLOWSVAULT_AUTH_DATABASE_URL_FILE FLOWSVAULT_FILES_DATABASE_URL_FILE
export FLOWSVAULT_AUTH_ADDR="127.0.0.1:${ports[0]}"
export FLOWSVAULT_FILES_ADDR="127.0.0.1:${ports[1]}"
export FLOWSVAULT_STORAGE_ADDR="127.0.0.1:${ports[2]}"
export FLOWSVAULT_JANITOR_ADDR="127.0.0.1:${ports[3]}"
export FLOWSVAULT_GATEWAY_ADDR="127.0.0.1:$gateway_port"
export FLOWSVAULT_AUTH_URL="http://$FLOWSVAULT_AUTH_ADDR"
export FLOWSVAULT_FILES_URL="http://$FLOWSVAULT_FILES_ADDR"
export FLOWSVAULT_STORAGE_URL="http://$FLOWSVAULT_STORAGE_ADDR"
export FLOWSVAULT_JANITOR_URL="http://$FLOWSVAULT_JANITOR_ADDR"
# No metrics port: it would collide with a `make run` on the same machine.
export FLOWSVAULT_JANITOR_METRICS_ADDR=
FLOWSVAULT_AUTH_DATABASE_URL="$(fv_db_url "$pg_server" "$auth_db")"
FLOWSVAULT_FILES_DATABASE_URL="$(fv_db_url "$pg_server" "$files_db")"
export FLOWSVAULT_AUTH_DATABASE_URL FLOWSVAULT_FILES_DATABASE_URL
export FLOWSVAULT_STORAGE_BACKEND=local
export FLOWSVAULT_STORAGE_ROOT="$work/objects"
export FLOWSVAULT_STORAGE_STAGING_DIR="$work/staging"
export FLOWSVAULT_REDIS_URL="$redis_url"
redis_prefix="fv_e2e_$run_id"
export FLOWSVAULT_REDIS_PREFIX="$redis_prefix"
export FLOWSVAULT_RATE_LIMIT_UPLOADS="100000/1m"
export FLOWSVAULT_RATE_LIMIT_DOWNLOADS="100000/1m"
export FLOWSVAULT_RATE_LIMIT_API="100000/1m"
export FLOWSVAULT_CRON_SECRET="e2e-cron-$run_id"
export FLOWSVAULT_WEB_DIR="$work/web"
export FLOWSVAULT_DEV_SIGNIN=false
export FLOWSVAULT_AUTH_PROVIDERS=local
export FLOWSVAULT_AUTH_PROVIDER_LOCAL_NAME="Local OpenID provider"
export FLOWSVAULT_AUTH_PROVIDER_LOCAL_ISSUER="$issuer"
export FLOWSVAULT_AUTH_PROVIDER_LOCAL_CLIENT_ID="$client_id"
export FLOWSVAULT_AUTH_PROVIDER_LOCAL_CLIENT_SECRET="$client_secret"

start_service() {
    local i="$1" log="$logs/${tags[$1]}.log"
    : >"$log"
    # setsid: the service leads its own process group, which cleanup stops as a whole.
    setsid "$bin/${binaries[$i]}" >>"$log" 2>&1 </dev/null &
    pids[i]=$!
}

report_failure() {
    local i="$1" why="$2"
    fv_say "e2e.sh: error: ${binaries[$i]} $why; the end of $logs/${tags[$i]}.log:"
    tail -n 25 -- "$logs/${tags[$i]}.log" 2>/dev/null | sed 's/^/    /' >&2 || true
}

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

step "starting the services (gateway $gateway_url, logs in $logs)"
check_ports
for i in 0 1 2 3; do
    start_service "$i"
done
deadline=$((SECONDS + timeout_secs))
waiting=(0 1 2 3)
while [[ "${#waiting[@]}" -gt 0 ]]; do
    check_alive
    still=()
    for i in "${waiting[@]}"; do
        fv_port_open 127.0.0.1 "${ports[$i]}" || still+=("$i")
    done
    waiting=("${still[@]}")
    [[ "${#waiting[@]}" -gt 0 ]] || break
    if [[ "$SECONDS" -ge "$deadline" ]]; then
        for i in "${waiting[@]}"; do
            report_failure "$i" "does not listen on 127.0.0.1:${ports[$i]} after $timeout_secs s"
        done
        exit 1
    fi
    sleep 0.25
done

start_service 4
deadline=$((SECONDS + timeout_secs))
while :; do
    check_alive
    code="$(curl -sS -o /dev/null -w '%{http_code}' --max-time 2 "$gateway_url/api/ready" 2>/dev/null || true)"
    [[ "$code" != 200 ]] || break
    if [[ "$SECONDS" -ge "$deadline" ]]; then
        report_failure 4 "is not ready ($gateway_url/api/ready answers HTTP ${code:-nothing})"
        exit 1
    fi
    sleep 0.25
done

# The UI must come from the gateway itself, with its SPA fallback.
index="$(curl -sS --max-time 5 "$gateway_url/" 2>/dev/null || true)"
deep="$(curl -sS --max-time 5 "$gateway_url/keys" 2>/dev/null || true)"
if [[ "$index" != *'<div id="app">'* || "$deep" != *'<div id="app">'* ]]; then
    fv_die "the gateway does not serve the web UI at $gateway_url/ and $gateway_url/keys (FLOWSVAULT_WEB_DIR=$FLOWSVAULT_WEB_DIR); it answered: $(printf '%s' "$index" | head -c 300)"
fi
fv_say "services up after $((SECONDS - started_at)) s"

export FV_E2E_BASE_URL="$gateway_url" FV_E2E_ISSUER="$issuer" FV_E2E_CHROMIUM="$chromium_path" \
    FV_E2E_OUT="$out" FV_E2E_WORKERS="${FLOWSVAULT_E2E_WORKERS:-1}"

# Prints a new API key of the user EMAIL (made on first use), straight from auth-service's
# database, as `make api-key` does.
new_api_key() {
    "$bin/auth-service" api-key create --email "$1" --name e2e </dev/null
}

# For writing tests: keep the services up and run `npm run e2e` by hand against them.
if [[ -n "${FLOWSVAULT_E2E_SERVE:-}" ]]; then
    for var in FV_E2E_BASE_URL FV_E2E_ISSUER FV_E2E_CHROMIUM FV_E2E_OUT FV_E2E_WORKERS; do
        printf 'export %s=%q\n' "$var" "${!var}"
    done >"$out/serve.env"
    fv_say ""
    fv_say "  The services run at $gateway_url until Ctrl-C. In another terminal:"
    fv_say "    source data/e2e/serve.env && cd gateway/web && npm run e2e -- [options]"
    if key="$(new_api_key schemathesis@example.test)"; then
        fv_say "  or schemathesis (DELETE /api/profile/delete left out; FLOWSVAULT_SCHEMATHESIS_ARGS for more options):"
        fv_say "    FLOWSVAULT_SCHEMATHESIS_CRON_SECRET=$FLOWSVAULT_CRON_SECRET deploy/local/schemathesis.sh run $gateway_url $key"
    fi
    fv_say ""
    status=0
    wait -n "${pids[@]}" || status=$?
    fv_die "a service exited (status $status); see $logs"
fi

# --- 5. the suite ---------------------------------------------------------------------------------
step "Playwright (headless $chromium_path)"
suite_started="$SECONDS"
status=0
(cd "$web" && npm run --silent e2e -- "$@") || status=$?
suite_secs=$((SECONDS - suite_started))

# --- 6. schemathesis --------------------------------------------------------------------------------
# Whatever the suite's result. Two accounts of its own: one whose key every operation
# uses throughout, and one for DELETE /api/profile/delete to delete.
st_status=""
if [[ "$schemathesis" == 1 ]]; then
    step "schemathesis against $gateway_url/api/openapi.json (deploy/local/schemathesis.sh)"
    st_status=0
    if st_key="$(new_api_key schemathesis@example.test)" &&
        st_delete_key="$(new_api_key schemathesis-deleted@example.test)"; then
        FLOWSVAULT_SCHEMATHESIS_OUT="$out/schemathesis" \
            FLOWSVAULT_SCHEMATHESIS_CRON_SECRET="$FLOWSVAULT_CRON_SECRET" \
            FLOWSVAULT_SCHEMATHESIS_DELETE_KEY="$st_delete_key" \
            bash "$here/schemathesis.sh" run "$gateway_url" "$st_key" || st_status=$?
    else
        st_status=1
        printf 'schemathesis: FAILED: no API keys to run it with (auth-service api-key create failed, see above)\n' \
            >"$out/schemathesis/summary.txt"
    fi
fi
cleanup

# --- 7. summary ----------------------------------------------------------------------------------
# Everything is stopped (and the databases dropped) by now. What a CI log's tail keeps:
# Playwright's counts ("e2e: N passed, N failed, N skipped"), schemathesis's verdict, and
# when anything failed, a last line that names it.
fv_say "e2e: service logs in $logs"
if [[ -f "$out/report.json" ]]; then
    (cd "$FV_ROOT" && node "$web/e2e/summary.mjs" "$out" "$suite_secs" "$((SECONDS - started_at))") ||
        fv_note "could not summarise $out/report.json"
else
    fv_note "Playwright wrote no report ($out/report.json); the suite exited with status $status"
fi
if [[ -z "$st_status" ]]; then
    printf 'schemathesis: skipped (FLOWSVAULT_E2E_SCHEMATHESIS=0)\n'
elif [[ -s "$out/schemathesis/summary.txt" ]]; then
    cat -- "$out/schemathesis/summary.txt"
else
    printf 'schemathesis: %s (status %s; no summary, see the output above)\n' \
        "$([[ "$st_status" -eq 0 ]] && echo passed || echo FAILED)" "$st_status"
fi
failed=()
[[ "$status" -eq 0 ]] || failed+=("the Playwright suite (status $status)")
[[ "${st_status:-0}" -eq 0 ]] || failed+=("schemathesis (status $st_status)")
if [[ "${#failed[@]}" -eq 2 ]]; then
    printf 'e2e.sh: FAILED: %s and %s\n' "${failed[0]}" "${failed[1]}"
elif [[ "${#failed[@]}" -eq 1 ]]; then
    printf 'e2e.sh: FAILED: %s\n' "${failed[0]}"
fi
if [[ "$status" -ne 0 ]]; then
    exit "$status"
fi
exit "${st_status:-0}"
