#!/usr/bin/env bash
# `make api-key EMAIL=you@example.com [NAME=laptop]`: creates an API key for that user
# (made on first use) and prints the key, and nothing else, on stdout.
#
# Also: deploy/local/api-key.sh EMAIL [NAME]. It talks to auth-service's database
# directly, with the settings that `make run` wrote to data/run.env, or, without that
# file, with the database found as `make run` finds it. The platform need not be running.
set -euo pipefail
FV_SCRIPT="api-key.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$FV_ROOT"

email="${1:-${EMAIL:-}}"
name="${2:-${NAME:-cli}}"
if [[ -z "$email" ]]; then
    fv_say "usage: make api-key EMAIL=you@example.com [NAME=laptop]"
    fv_say "   or: deploy/local/api-key.sh you@example.com [laptop]"
    exit 2
fi

# True unless pg_isready is present and says the server of URL does not answer.
server_answers() {
    if command -v pg_isready >/dev/null 2>&1; then
        pg_isready -q -t 5 -d "$1"
    fi
}

url=""
if [[ -f data/run.env ]]; then
    # shellcheck source=/dev/null
    source data/run.env
    url="${FLOWSVAULT_AUTH_DATABASE_URL:-}"
    if [[ -n "$url" ]] && ! server_answers "$url"; then
        fv_note "the database server named in data/run.env does not answer; looking for one again"
        url=""
    fi
fi
if [[ -z "$url" ]]; then
    server="$(bash "$FV_ROOT/deploy/local/postgres.sh" url)" || fv_die "no PostgreSQL server (see above)"
    url="$(fv_db_url "$server" flowsvault_auth)"
fi
export FLOWSVAULT_AUTH_DATABASE_URL="$url"

CARGO_TARGET_DIR="$(fv_target_dir)"
export CARGO_TARGET_DIR
bin="$CARGO_TARGET_DIR/release/auth-service"
if [[ ! -x "$bin" ]]; then
    fv_note "building auth-service (cargo build --release --bin auth-service)"
    cargo build --release --bin auth-service >&2
    [[ -x "$bin" ]] || fv_die "cargo built no $bin"
fi

exec "$bin" api-key create --email "$email" --name "$name"
