#!/usr/bin/env bash
# `make clean-data`: stops the private S3 store (deploy/local/s3.sh, when present), Redis
# server and PostgreSQL cluster (if they run), then deletes ./data: the cluster, stored
# objects, logs and data/run.env. Servers that this project did not start
# (127.0.0.1:5432, 127.0.0.1:6379, DATABASE_URL) are left alone.
set -euo pipefail
FV_SCRIPT="clean-data.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$FV_ROOT"

run_pid="$(cat data/run.pid 2>/dev/null || true)"
if [[ "$run_pid" =~ ^[0-9]+$ ]] && fv_pid_alive "$run_pid"; then
    fv_die "\`make run\` (pid $run_pid) is still running; stop it (Ctrl-C) first"
fi

if [[ -f deploy/local/s3.sh ]]; then
    bash deploy/local/s3.sh stop
fi
bash deploy/local/redis.sh stop
if [[ -z "${FLOWSVAULT_PG_DIR:-}" ]]; then
    # Also removes the cluster when, as root, it had to live outside the clone.
    bash deploy/local/postgres.sh clean
else
    bash deploy/local/postgres.sh stop
fi
if [[ -e data ]]; then
    fv_note "deleting $FV_ROOT/data"
    rm -rf -- data
fi
