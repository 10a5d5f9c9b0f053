# Flowsvault: the commands a newcomer types. `make` alone lists them.
# The work is done by the scripts in deploy/local; they also run on their own.

# Cargo's build output goes to $(HOME)/.cache/flowsvault/target unless CARGO_TARGET_DIR
# is already set: outside the clone, so that a fresh clone (CI clones afresh for every
# run) reuses the compiled dependencies of earlier ones instead of rebuilding for
# minutes. Set CARGO_TARGET_DIR=target to keep the build inside the clone.
ifeq ($(strip $(CARGO_TARGET_DIR)),)
CARGO_TARGET_DIR := $(HOME)/.cache/flowsvault/target
endif
export CARGO_TARGET_DIR

SHELL := bash
.DEFAULT_GOAL := help
.PHONY: help run test api-key bench fmt lint clean-data

# NAME names the API key only when given on the command line: many environments set a
# NAME variable of their own.
ifneq ($(origin NAME),command line)
unexport NAME
endif

help: ## list the targets
	@printf 'Flowsvault make targets:\n\n'
	@sed -n 's/^\([a-z-]*\):.*## \(.*\)$$/  make \1\t\2/p' $(MAKEFILE_LIST) | expand -t 28
	@printf '\nBuild output: %s\n' '$(CARGO_TARGET_DIR)'

run: ## build and start all five services on http://127.0.0.1:8080 (Ctrl-C stops them)
	@bash deploy/local/run.sh

test: ## what CI runs: PostgreSQL and Redis, then fmt --check, clippy, all tests
	@bash deploy/local/test.sh

api-key: ## print a new API key: make api-key EMAIL=you@example.com [NAME=laptop]
	@bash deploy/local/api-key.sh

bench: ## run the benchmarks (deploy/local/bench.sh)
	@if [[ -f deploy/local/bench.sh ]]; then \
		bash deploy/local/bench.sh; \
	else \
		echo 'make bench: deploy/local/bench.sh does not exist yet' >&2; exit 1; \
	fi

fmt: ## format all the code
	cargo fmt --all

lint: ## check formatting and run clippy as CI does
	cargo fmt --all --check
	cargo clippy --workspace --all-targets --locked -- -D warnings

clean-data: ## stop the private PostgreSQL, Redis and S3 servers, then delete ./data
	@bash deploy/local/clean-data.sh
