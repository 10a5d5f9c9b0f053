#!/usr/bin/env bash
# Builds the web UI (gateway/web, Vite + Preact) that the gateway serves at `/`.
#
#   deploy/local/web.sh build   npm ci when node_modules is missing or older than the
#                               lockfile, then typecheck and build into gateway/web/dist
#   deploy/local/web.sh test    the same, then the UI's unit tests (vitest)
#
# Needs Node.js >= 20.19 with npm. Debian's nodejs is installed with apt-get when node is
# missing, if running as root and FLOWSVAULT_NO_INSTALL is unset (it must be new enough).
# Only messages are printed, on stderr.
set -euo pipefail
FV_SCRIPT="web.sh"
# shellcheck source-path=SCRIPTDIR source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

app="$FV_ROOT/gateway/web"

need_node() {
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
        fv_may_install || fv_die "Node.js >= 20.19 with npm is needed to build the web UI"
        fv_apt_install nodejs npm || fv_die "installing nodejs and npm failed"
    fi
    local version major minor
    version="$(node --version)"
    major="${version#v}"
    major="${major%%.*}"
    minor="${version#v*.}"
    minor="${minor%%.*}"
    if [[ "$major" -lt 20 || ("$major" -eq 20 && "$minor" -lt 19) ]]; then
        fv_die "Node.js $version is too old for the web UI's tools: 20.19 or newer is needed"
    fi
}

install_packages() {
    if [[ ! -d "$app/node_modules" || "$app/package-lock.json" -nt "$app/node_modules" ]]; then
        fv_note "installing the web UI's npm packages (npm ci)"
        (cd "$app" && npm ci --no-audit --no-fund >&2)
        touch "$app/node_modules"
    fi
}

build() {
    need_node
    install_packages
    fv_note "building the web UI into gateway/web/dist"
    (cd "$app" && npm run --silent build >&2)
}

case "${1:-}" in
    build) build ;;
    test)
        build
        fv_note "running the web UI's unit tests"
        (cd "$app" && npm test --silent >&2)
        ;;
    *)
        printf 'usage: %s build|test\n' "$0" >&2
        exit 2
        ;;
esac
