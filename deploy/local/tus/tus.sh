#!/usr/bin/env bash
# Installs the two stock tus clients that the resumable-upload tests drive against
# /api/uploads, and tells the tests where they are:
#   deploy/local/tus/upload.mjs  tus-js-client 4.x (npm), run by Node.js
#   deploy/local/tus/upload.py   tuspy 1.x (PyPI), run by a private venv's python
# Both take the same options (see the top of each file) and print one JSON line.
#
#   deploy/local/tus/tus.sh install  `npm ci` in deploy/local/tus when node_modules is
#                                    missing or older than package-lock.json, and the
#                                    venv (below) when it is missing or requirements.txt
#                                    has changed
#   deploy/local/tus/tus.sh env      install, then print for eval:
#                                      export FLOWSVAULT_TUS_NODE=<repo>/deploy/local/tus/upload.mjs
#                                      export FLOWSVAULT_TUS_PYTHON=<venv>/bin/python
#                                      export FLOWSVAULT_TUS_DIR=<repo>/deploy/local/tus
#
#   eval "$(deploy/local/tus/tus.sh env)"
#   "$FLOWSVAULT_TUS_NODE" --endpoint http://127.0.0.1:8080/api/uploads --key fv_... --file F
#   "$FLOWSVAULT_TUS_PYTHON" "$FLOWSVAULT_TUS_DIR/upload.py" --endpoint ... --key fv_... --file F
#
# upload.mjs is executable (#!/usr/bin/env node) and finds its node_modules next to itself,
# so FLOWSVAULT_TUS_NODE runs from any directory.
#
# The venv is $FLOWSVAULT_TOOLS_DIR/tus-venv (default ~/.cache/flowsvault/tools/tus-venv),
# made with python3 (3.11 or later: the pinned aiohttp stack needs it) and filled with
# `pip install -r deploy/local/tus/requirements.txt`; the SHA-256 of that file is kept in
# the venv (.flowsvault-requirements.sha256) and a different one rebuilds the venv.
# Debian's nodejs and npm, and python3-venv, are installed with apt-get when missing, if
# running as root and FLOWSVAULT_NO_INSTALL is unset; FLOWSVAULT_NO_INSTALL=1 also forbids
# `npm ci` and pip.
#
# The script can also be sourced; it then only defines the fv_tus_* functions.
# Only the result goes to stdout; every message goes to stderr.

# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

FV_TUS_APP="$FV_ROOT/deploy/local/tus"

fv_tus_venv() {
    realpath -m -- "${FLOWSVAULT_TOOLS_DIR:-${HOME:?HOME is not set}/.cache/flowsvault/tools}/tus-venv"
}

# Makes sure node (18.11 or later, for tus-js-client 4 and util.parseArgs with defaults)
# and npm are there, installing Debian's packages when allowed.
fv_tus_need_node() {
    local recent
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        if fv_may_install; then
            fv_note "node or npm not found"
            fv_apt_install nodejs npm || fv_die "installing nodejs and npm failed"
        else
            fv_die "node and npm are needed for tus-js-client; install them (Debian: apt-get install nodejs npm; this script does that itself when run as root)"
        fi
    fi
    recent="$(node -p 'const [a, b] = process.versions.node.split(".").map(Number); a > 18 || (a === 18 && b >= 11)')" ||
        fv_die "node does not run"
    [[ "$recent" == true ]] ||
        fv_die "upload.mjs needs Node.js 18.11 or later; $(command -v node) is $(node --version)"
}

# True when node_modules holds what package-lock.json asks for (npm writes
# node_modules/.package-lock.json at the end of each install).
fv_tus_node_ready() {
    [[ -d "$FV_TUS_APP/node_modules/tus-js-client" && -f "$FV_TUS_APP/node_modules/.package-lock.json" &&
        ! "$FV_TUS_APP/package-lock.json" -nt "$FV_TUS_APP/node_modules/.package-lock.json" ]]
}

# Runs `npm ci` in deploy/local/tus unless node_modules is up to date.
fv_tus_install_node() {
    local app="$FV_TUS_APP" lock_fd
    fv_tus_need_node
    [[ -f "$app/package-lock.json" ]] || fv_die "$app/package-lock.json is missing"
    if fv_tus_node_ready; then
        return 0
    fi
    # Locked on the lockfile itself (opened read-only), so that no lock file lands in the
    # repository and two scripts never run npm ci in the same place at once.
    exec {lock_fd}<"$app/package-lock.json"
    flock -w 600 "$lock_fd" || fv_die "another process has been installing into $app/node_modules for more than 10 minutes"
    if fv_tus_node_ready; then
        exec {lock_fd}<&-
        return 0
    fi
    if [[ -n "${FLOWSVAULT_NO_INSTALL:-}" ]]; then
        fv_die "tus-js-client is not installed and FLOWSVAULT_NO_INSTALL forbids installing it (cd $app && npm ci)"
    fi
    fv_note "installing tus-js-client (npm ci in $app)"
    (cd "$app" && npm ci --no-audit --no-fund --ignore-scripts) >&2 || fv_die "npm ci in $app failed"
    exec {lock_fd}<&-
}

# Builds the venv unless it was built from the current requirements.txt.
fv_tus_install_python() {
    fv_pip_venv "$(fv_tus_venv)" "$FV_TUS_APP/requirements.txt" tuspy \
        python -c 'import tusclient.client, tusclient.storage.filestorage'
}

fv_tus_install() {
    fv_tus_install_node
    fv_tus_install_python
}

fv_tus_env() {
    local venv
    fv_tus_install
    venv="$(fv_tus_venv)"
    [[ -x "$FV_TUS_APP/upload.mjs" ]] || fv_die "$FV_TUS_APP/upload.mjs is not executable (chmod +x it)"
    printf 'export FLOWSVAULT_TUS_NODE=%q\n' "$FV_TUS_APP/upload.mjs"
    printf 'export FLOWSVAULT_TUS_PYTHON=%q\n' "$venv/bin/python"
    printf 'export FLOWSVAULT_TUS_DIR=%q\n' "$FV_TUS_APP"
}

fv_tus_usage() {
    printf 'usage: %s install|env\n' "$0"
}

fv_tus_main() {
    case "${1:-}" in
        install) fv_tus_install ;;
        env) fv_tus_env ;;
        -h | --help | help) fv_tus_usage ;;
        *)
            fv_tus_usage >&2
            exit 2
            ;;
    esac
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    set -euo pipefail
    shopt -s inherit_errexit
    FV_SCRIPT="tus.sh"
    fv_tus_main "$@"
fi
