#!/usr/bin/env bash
# `make test` (and so CI's .ci/run): the real servers the tests need, then formatting,
# lints and the whole test suite. Stops at the first step that fails.
#
# Exports for the tests: FLOWSVAULT_TEST_DATABASE_URL (a server's /postgres database;
# each test makes its own fv_test_<hex> database there), FLOWSVAULT_TEST_REDIS_URL, the
# FLOWSVAULT_TEST_REDIS_SERVER (a redis-server binary), the FLOWSVAULT_S3_* settings of
# the S3 server and FLOWSVAULT_TEST_OIDC_ISSUER.
set -euo pipefail
FV_SCRIPT="test.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$FV_ROOT"

CARGO_TARGET_DIR="$(fv_target_dir)"
export CARGO_TARGET_DIR
here="$FV_ROOT/deploy/local"
step_number=0

step() {
    step_number=$((step_number + 1))
    printf '\n==> %s. %s\n' "$step_number" "$*" >&2
}

step "PostgreSQL"
FLOWSVAULT_TEST_DATABASE_URL="$(bash "$here/postgres.sh" url)" || fv_die "no PostgreSQL server for the tests (see above)"
export FLOWSVAULT_TEST_DATABASE_URL
fv_say "FLOWSVAULT_TEST_DATABASE_URL=$(printf '%s' "$FLOWSVAULT_TEST_DATABASE_URL" | sed 's#://\([^:/@]*\):[^@]*@#://\1:***@#')"

step "Redis"
FLOWSVAULT_TEST_REDIS_URL="$(bash "$here/redis.sh" url)" || fv_die "no Redis server for the tests (see above)"
export FLOWSVAULT_TEST_REDIS_URL
fv_say "FLOWSVAULT_TEST_REDIS_URL=$FLOWSVAULT_TEST_REDIS_URL"
# One test kills and restarts a redis-server of its own (the shared one stays up).
if ! command -v redis-server >/dev/null 2>&1; then
    fv_may_install || fv_die "redis-server is not installed (Debian: apt-get install redis-server)"
    fv_apt_install redis-server || fv_die "installing redis-server failed"
fi
FLOWSVAULT_TEST_REDIS_SERVER="$(command -v redis-server)"
export FLOWSVAULT_TEST_REDIS_SERVER

step "S3-compatible server (SeaweedFS)"
s3_env="$(bash "$here/s3.sh" env)" || fv_die "no S3 server for the tests (see above)"
eval "$s3_env"
fv_say "FLOWSVAULT_S3_ENDPOINT=$FLOWSVAULT_S3_ENDPOINT bucket=$FLOWSVAULT_S3_BUCKET"

step "OpenID provider (npm oidc-provider)"
oidc_env="$(bash "$here/oidc.sh" env)" || fv_die "no OpenID provider for the tests (see above)"
eval "$oidc_env"
fv_say "FLOWSVAULT_TEST_OIDC_ISSUER=$FLOWSVAULT_TEST_OIDC_ISSUER"

step "Stock tus clients (tus-js-client, tuspy)"
tus_env="$(bash "$here/tus/tus.sh" env)" || fv_die "the tus clients could not be installed (see above)"
eval "$tus_env"
fv_say "FLOWSVAULT_TUS_NODE=$FLOWSVAULT_TUS_NODE FLOWSVAULT_TUS_PYTHON=$FLOWSVAULT_TUS_PYTHON"

step "Web UI: npm ci, typecheck, build, unit tests"
bash "$here/web.sh" test

step "Dropping test databases that earlier runs left behind (fv_test_*)"
if ! command -v psql >/dev/null 2>&1 && fv_may_install; then
    fv_apt_install postgresql-client || fv_note "installing postgresql-client failed"
fi
psql_at() {
    PGCONNECT_TIMEOUT=10 psql -X -w -q -At -v ON_ERROR_STOP=1 -d "$FLOWSVAULT_TEST_DATABASE_URL" "$@"
}
if command -v psql >/dev/null 2>&1; then
    leftovers="$(psql_at -c "SELECT datname FROM pg_database WHERE datname ~ '^fv_test_[0-9a-f]+\$' ORDER BY datname")" ||
        fv_die "psql could not list the databases of the test server"
    dropped=0
    kept=0
    while IFS= read -r database; do
        [[ -n "$database" ]] || continue
        # Without FORCE: a database still in use (another test run) is kept.
        if psql_at -c "DROP DATABASE IF EXISTS \"$database\"" 2>/dev/null; then
            dropped=$((dropped + 1))
        else
            kept=$((kept + 1))
        fi
    done <<<"$leftovers"
    if [[ "$kept" -gt 0 ]]; then
        fv_say "dropped $dropped; kept $kept that are still in use"
    else
        fv_say "dropped $dropped"
    fi
else
    fv_note "psql is not available: leftover test databases are not dropped (harmless)"
fi

step "Rust components (rustfmt, clippy)"
missing=()
cargo fmt --version >/dev/null 2>&1 || missing+=(rustfmt)
cargo clippy --version >/dev/null 2>&1 || missing+=(clippy)
if [[ "${#missing[@]}" -gt 0 ]]; then
    command -v rustup >/dev/null 2>&1 || fv_die "cargo lacks ${missing[*]}, and there is no rustup to add them"
    rustup component add "${missing[@]}" >&2
fi
fv_say "$(cargo fmt --version), $(cargo clippy --version)"

step "cargo fmt --all --check"
cargo fmt --all --check

step "cargo clippy --workspace --all-targets --locked -- -D warnings"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test --workspace --locked"
cargo test --workspace --locked

step "Browser tests: the web UI in headless Chromium (Playwright) against the real services, then schemathesis against their API"
bash "$here/e2e.sh"
