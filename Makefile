# Every target runs with a Node >= 22.19: hack/node.sh prints the system Node
# when it is new enough, or installs node@24 from the npm registry into the
# tools cache (~/.cache/shardgate/tools) and prints that.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
NODE := $(shell hack/node.sh)
export PATH := $(dir $(NODE)):$(CURDIR)/node_modules/.bin:$(PATH)

.PHONY: help setup test-deps testbin build typecheck lint format test test-unit test-process test-integration test-e2e watch manifests bench run clean

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | column -t -s $$'\t'

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

setup: node_modules/.installed ## install Node 24 (if needed) and npm dependencies

test-deps: ## apt-get install what tests drive for real (postgresql, chromium, docker.io, haproxy, busybox-static); Python venvs with the pinned MCP SDKs (cached)
	hack/test-deps.sh
	node test/harness/python.ts

# The node's Debian packages first (apt, once). The images that need no Go
# binary (debootstrap, npm: mostly network and disk) build beside the Go builds
# (CPU); the CoreDNS and Traefik images wrap Go-built binaries, so they come last.
testbin: ## build the control plane, the test node (kubelet, CoreDNS, kube-router...) and its images, once per input
	hack/node/packages.sh
	hack/testbin/images.sh build pause hello node-base shardgate scaffold >/dev/null & images=$$!; \
	hack/testbin/build.sh; wait $$images
	hack/testbin/images.sh

build: setup ## compile TypeScript to dist/
	npm run build

typecheck: setup ## strict type check of src, test, bench, cdk8s
	npm run typecheck

lint: setup ## eslint (typed rules) and prettier
	npm run lint

format: setup ## rewrite files with prettier
	npm run format

manifests: setup ## regenerate crds/ and the cdk8s manifests
	node hack/generate-manifests.ts

# Type check and lint failures do not stop the tests: CI reads the last line,
# "N passed, N failed", and each failed check counts as one failure there.
test: setup testbin test-deps ## everything CI runs: types, lint, all tests against the real control plane
	@failed=(); \
	npm run typecheck || failed+=(typecheck); \
	npm run lint || failed+=(lint); \
	node hack/run-tests.ts --failed-checks="$${failed[*]}"

# The tiers (CONTRIBUTING.md says which one a new test belongs in). Each
# prints its elapsed time and the same closing line as `make test`.
test-unit: setup ## in-process tests only: no binaries, no child processes, under a minute
	node hack/run-tests.ts --project unit

test-process: setup test-deps ## tests that start processes (CLI, node children, helm, openssl, npm)
	node hack/run-tests.ts --project process

test-integration: setup testbin test-deps ## tests against the real control plane
	node hack/run-tests.ts --project integration

watch: setup ## rerun the unit tier on every change
	npx vitest --project unit

test-e2e: setup testbin ## tests on a real node (pods, the chart, NetworkPolicies); needs root
	node hack/run-tests.ts --project e2e

bench: setup testbin test-deps ## run the benchmarks under bench/
	for b in bench/*.ts; do node "$$b"; done

run: setup testbin ## start a local stack: control plane, operator, gateway, Traefik, Traefik shard
	node hack/run-local.ts

clean: ## remove build output (not the testbin cache)
	rm -rf dist coverage node_modules/.installed
