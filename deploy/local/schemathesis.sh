#!/usr/bin/env bash
# Schemathesis (PyPI) against the gateway's OpenAPI document: property-based requests to
# every operation of /api/openapi.json, each answer checked against the document.
#
#   deploy/local/schemathesis.sh install             the venv (below), when it is missing
#                                                    or requirements.txt has changed
#   deploy/local/schemathesis.sh run BASE_URL KEY    install, then test BASE_URL (e.g.
#                                                    http://127.0.0.1:28280) with
#                                                    `Authorization: Bearer KEY`
#
# deploy/local/e2e.sh runs it after the browser suite (so `make test` does), with a fresh
# account's key. The run fails (non-zero exit) on any failed check or schemathesis error:
#   not_a_server_error            no 5xx answer at all
#   status_code_conformance       every status is one the operation documents
#   content_type_conformance      every Content-Type is one documented for that status
#   response_headers_conformance  the documented required headers are there, as described
#   response_schema_conformance   every body matches its schema
# over the phases examples, coverage (boundary and invalid values), fuzzing (random valid
# and invalid requests, at most FLOWSVAULT_SCHEMATHESIS_EXAMPLES per operation) and
# stateful (chains that follow the links schemathesis infers, e.g. an upload's id to
# GET /api/files/{id}, as many scenarios). It also fails when the key does not work
# before the run or has stopped working after it: every authenticated operation documents
# 401, so a dead key would otherwise pass while testing nothing.
#
# Settings beyond deploy/local/schemathesis/schemathesis.toml, from the environment:
#   FLOWSVAULT_SCHEMATHESIS_EXAMPLES     examples per operation (default 20)
#   FLOWSVAULT_SCHEMATHESIS_WORKERS      concurrent requests (default 1: with 2, hypothesis'
#                                        lambda-source cache once failed with "AST constructor
#                                        recursion depth mismatch", a race in the tool itself)
#   FLOWSVAULT_SCHEMATHESIS_SEED         the seed a summary printed, to draw the same data
#                                        again (the answers and their timing still vary)
#   FLOWSVAULT_SCHEMATHESIS_ARGS         more `st run` options, split at spaces, e.g.
#                                        "--include-operation-id=getFile" to work on one
#   FLOWSVAULT_SCHEMATHESIS_TIMEOUT      seconds before the run is stopped and fails
#                                        (default 600; a run takes a few minutes at most)
#   FLOWSVAULT_SCHEMATHESIS_OUT          where output.txt (the whole output), junit.xml,
#                                        summary.txt (the lines printed last) and
#                                        schemathesis's own cache (`st replay`) go
#                                        (default ./data/schemathesis; e2e.sh: data/e2e/schemathesis)
#   FLOWSVAULT_SCHEMATHESIS_CRON_SECRET  the gateway's CRON_SECRET; without it
#                                        POST /api/admin/cleanup is left out
#   FLOWSVAULT_SCHEMATHESIS_DELETE_KEY   a key of a second account that the run may delete
#                                        (DELETE /api/profile/delete); without it that
#                                        operation is left out, as it would end KEY's account
# Every operation of the document is tested otherwise. Sign-in redirects are not followed
# (schemathesis checks the documented 302/303 itself), so the OpenID provider is never
# asked; the tus endpoints get `Tus-Resumable: 1.0.0` (see schemathesis.toml).
#
# The venv is $FLOWSVAULT_TOOLS_DIR/schemathesis-venv (default
# ~/.cache/flowsvault/tools/schemathesis-venv), made with python3 (3.11 or later) and
# filled with `pip install -r deploy/local/schemathesis/requirements.txt`; the SHA-256 of
# that file is kept in the venv (.flowsvault-requirements.sha256) and a different one
# rebuilds it. Debian's python3-venv is installed with apt-get when missing, if running as
# root and FLOWSVAULT_NO_INSTALL is unset; FLOWSVAULT_NO_INSTALL=1 also forbids pip.
#
# The script can also be sourced; it then only defines the fv_st_* functions.
# Every message, and schemathesis's output, goes to stderr.

# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

FV_ST_DIR="$FV_ROOT/deploy/local/schemathesis"

# The checks of every response (`st run --checks`).
FV_ST_CHECKS="not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"

fv_st_venv() {
    realpath -m -- "${FLOWSVAULT_TOOLS_DIR:-${HOME:?HOME is not set}/.cache/flowsvault/tools}/schemathesis-venv"
}

# Builds the venv unless it was built from the current requirements.txt.
fv_st_install() {
    fv_pip_venv "$(fv_st_venv)" "$FV_ST_DIR/requirements.txt" schemathesis st --version
}

# Prints the id of the key KEY (GET /api/keys, the entry with its prefix) when BASE_URL
# accepts it; fails with a message otherwise. Run by the venv's python (urllib).
fv_st_key_id() {
    local base="$1" key="$2"
    FV_ST_BASE="$base" FV_ST_KEY="$key" "$(fv_st_venv)/bin/python" - <<'PYTHON'
import json, os, sys, urllib.error, urllib.request

base, key = os.environ["FV_ST_BASE"], os.environ["FV_ST_KEY"]
request = urllib.request.Request(f"{base}/api/keys", headers={"Authorization": f"Bearer {key}"})
try:
    with urllib.request.urlopen(request, timeout=30) as response:
        keys = json.load(response)
except urllib.error.HTTPError as error:
    sys.exit(f"GET {base}/api/keys with the key answers {error.code}: {error.read()[:300]!r}")
except (OSError, ValueError) as error:
    sys.exit(f"GET {base}/api/keys with the key failed: {error}")
prefix = key[3:11]
ids = [entry.get("id") for entry in keys if isinstance(entry, dict) and entry.get("prefix") == prefix]
if len(ids) != 1 or not ids[0]:
    sys.exit(f"GET {base}/api/keys does not list the key (prefix {prefix}) once")
print(ids[0])
PYTHON
}

# What schemathesis's summary in OUTPUT (its whole output) says: FIELD is `verdict` (the
# last line, e.g. "3 failures, 1 warning in 95.2s"), `cases` ("2900 generated, 2900
# passed") or `seed`. Empty when it is not there.
fv_st_summary_field() {
    local output="$1" field="$2"
    case "$field" in
        verdict) grep -E '^=+ .+ =+$' -- "$output" | tail -n 1 | sed -E 's/^=+ //; s/ =+$//' ;;
        cases) grep -A1 -E '^Test cases:' -- "$output" | tail -n 1 | sed -E 's/^ +//' ;;
        seed) sed -n 's/^Seed: //p' -- "$output" | tail -n 1 ;;
    esac
}

fv_st_run() {
    local base="${1:-}" key="${2:-}"
    local examples="${FLOWSVAULT_SCHEMATHESIS_EXAMPLES:-20}" workers="${FLOWSVAULT_SCHEMATHESIS_WORKERS:-1}"
    local limit="${FLOWSVAULT_SCHEMATHESIS_TIMEOUT:-600}" seed="${FLOWSVAULT_SCHEMATHESIS_SEED:-}"
    local out="${FLOWSVAULT_SCHEMATHESIS_OUT:-$FV_ROOT/data/schemathesis}"
    local cron_secret="${FLOWSVAULT_SCHEMATHESIS_CRON_SECRET:-}" delete_key="${FLOWSVAULT_SCHEMATHESIS_DELETE_KEY:-}"
    local venv key_id status started verdict cases item problem="" shown_out
    local -a command piped left_out=() extra=()

    [[ -n "$base" && -n "$key" ]] || {
        fv_st_usage >&2
        exit 2
    }
    base="${base%/}"
    [[ "$base" =~ ^https?://[^/]+$ ]] || fv_die "BASE_URL is not http(s)://host[:port]: $base"
    [[ "$key" =~ ^fv_[A-Za-z0-9]{8}_[A-Za-z0-9]+$ ]] || fv_die "KEY is not an API key (fv_<8 chars>_<secret>)"
    [[ "$examples" =~ ^[0-9]+$ && "$examples" -ge 1 ]] || fv_die "FLOWSVAULT_SCHEMATHESIS_EXAMPLES is not a positive number: $examples"
    [[ "$workers" =~ ^[0-9]+$ && "$workers" -ge 1 && "$workers" -le 64 ]] || fv_die "FLOWSVAULT_SCHEMATHESIS_WORKERS is not a number from 1 to 64: $workers"
    [[ "$limit" =~ ^[0-9]+$ && "$limit" -ge 1 ]] || fv_die "FLOWSVAULT_SCHEMATHESIS_TIMEOUT is not a number of seconds: $limit"
    [[ -z "$seed" || "$seed" =~ ^[0-9]+$ ]] || fv_die "FLOWSVAULT_SCHEMATHESIS_SEED is not a number: $seed"

    fv_st_install
    venv="$(fv_st_venv)"
    mkdir -p -- "$out" || fv_die "cannot create $out"
    out="$(cd -- "$out" && pwd -P)"
    rm -f -- "$out/output.txt" "$out/junit.xml" "$out/summary.txt"
    shown_out="${out#"$FV_ROOT"/}"

    key_id="$(fv_st_key_id "$base" "$key")" || fv_die "the API key does not work against $base (see above)"
    if [[ -n "$delete_key" ]] && ! fv_st_key_id "$base" "$delete_key" >/dev/null; then
        fv_die "FLOWSVAULT_SCHEMATHESIS_DELETE_KEY does not work against $base (see above)"
    fi

    command=("$venv/bin/st" --config-file "$FV_ST_DIR/schemathesis.toml" run "$base/api/openapi.json"
        --url "$base"
        --checks "$FV_ST_CHECKS"
        --phases "examples,coverage,fuzzing,stateful"
        --max-examples "$examples"
        --workers "$workers"
        --request-timeout 30
        --no-color
        --report junit --report-junit-path "$out/junit.xml")
    [[ -z "$seed" ]] || command+=(--seed "$seed")
    read -r -a extra <<<"${FLOWSVAULT_SCHEMATHESIS_ARGS:-}"
    command+=("${extra[@]}")
    # An operation whose credential is missing is left out rather than sent with the
    # wrong one; the placeholder of schemathesis.toml still needs a value.
    if [[ -z "$cron_secret" ]]; then
        command+=(--exclude-operation-id runCleanup)
        left_out+=("POST /api/admin/cleanup (no FLOWSVAULT_SCHEMATHESIS_CRON_SECRET)")
        cron_secret="unused"
    fi
    if [[ -z "$delete_key" ]]; then
        command+=(--exclude-operation-id deleteAccount)
        left_out+=("DELETE /api/profile/delete (no FLOWSVAULT_SCHEMATHESIS_DELETE_KEY)")
        delete_key="unused"
    fi
    fv_note "testing $base/api/openapi.json: $examples examples per operation, $workers workers${seed:+, seed $seed}${extra[*]:+, also ${extra[*]}}"
    for item in "${left_out[@]}"; do
        fv_note "left out: $item"
    done

    started="$SECONDS"
    set +e
    (
        cd -- "$out" || exit 1
        export FLOWSVAULT_SCHEMATHESIS_DIR="$FV_ST_DIR" FLOWSVAULT_SCHEMATHESIS_KEY="$key" \
            FLOWSVAULT_SCHEMATHESIS_KEY_ID="$key_id" FLOWSVAULT_SCHEMATHESIS_CRON_SECRET="$cron_secret" \
            FLOWSVAULT_SCHEMATHESIS_DELETE_KEY="$delete_key" COLUMNS=120
        unset SCHEMATHESIS_HOOKS
        exec timeout --kill-after=10 "$limit" "${command[@]}"
    ) 2>&1 </dev/null | tee -- "$out/output.txt" >&2
    piped=("${PIPESTATUS[@]}")
    set -e
    status="${piped[0]}"
    [[ "${piped[1]}" -eq 0 ]] || fv_note "could not write $out/output.txt"

    verdict="$(fv_st_summary_field "$out/output.txt" verdict || true)"
    cases="$(fv_st_summary_field "$out/output.txt" cases || true)"
    seed="$(fv_st_summary_field "$out/output.txt" seed || true)"
    if [[ "$status" -eq 124 || "$status" -eq 137 ]]; then
        problem="stopped after $limit s (FLOWSVAULT_SCHEMATHESIS_TIMEOUT)"
    elif [[ "$status" -ne 0 ]]; then
        problem="${verdict:-st exited with status $status}"
    elif ! fv_st_key_id "$base" "$key" >/dev/null; then
        # The run passed, but its key died on the way: what came after it saw only 401s.
        problem="the API key stopped working during the run, so the requests after that tested nothing"
        status=1
    fi
    {
        if [[ -n "$problem" ]]; then
            printf 'schemathesis: FAILED: %s\n' "$problem"
        else
            printf 'schemathesis: passed: %s\n' "${verdict:-no summary}"
        fi
        printf '  test cases: %s; seed %s; %s s in all\n' "${cases:-?}" "${seed:-?}" "$((SECONDS - started))"
        for item in "${left_out[@]}"; do
            printf '  left out: %s\n' "$item"
        done
        if [[ -n "$problem" ]]; then
            printf '  the whole output, each failure with a curl command that reproduces it: %s/output.txt\n' "$shown_out"
            printf '  to draw the same data again: FLOWSVAULT_SCHEMATHESIS_SEED=%s\n' "${seed:-<seed>}"
        fi
    } >"$out/summary.txt"
    fv_say ""
    cat -- "$out/summary.txt" >&2
    return "$status"
}

fv_st_usage() {
    printf 'usage: %s install | run BASE_URL API_KEY\n' "$0"
}

fv_st_main() {
    case "${1:-}" in
        install) fv_st_install ;;
        run)
            shift
            fv_st_run "$@"
            ;;
        -h | --help | help) fv_st_usage ;;
        *)
            fv_st_usage >&2
            exit 2
            ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    shopt -s inherit_errexit
    FV_SCRIPT="schemathesis.sh"
    fv_st_main "$@"
fi
