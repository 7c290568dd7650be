# slipway: `make demo` shows it working, `make test` runs every test.
# Both build what is missing first (the first `make stack-tools` takes a while).

SHELL := /bin/bash
GO    ?= go
TOOLS := $(CURDIR)/.tools/bin
export SLIPWAY_TOOLS := $(TOOLS)

# Every binary of slipway's is static and free of the build machine's paths,
# as its image needs (make image): the CLI, the vet run, the tests, the
# image and the stack's tools (hack/tools.sh) then share one compile of each
# package. Only the race detector needs cgo (make race). No binary carries
# DWARF: nobody steps through them, and the link of each of the many test
# binaries is most of its build once its packages are compiled.
export CGO_ENABLED := 0
export GOFLAGS := -trimpath "-ldflags=-s -w" $(GOFLAGS)

# What the local stack and the tests run; make bench also needs kubectl and
# helm, the peers it measures against, which a test run never builds.
STACK_TOOLS := postgresql temporal temporal-server temporal-sql-tool etcd kube-apiserver kube-controller-manager kube-scheduler kwok kwokctl registry workflowcheck

.PHONY: all tools stack-tools build demo test unit race e2e e2e-prod lint layering cover fuzz bench bench-scale chaos clean

all: build

tools: ## build every program (the stack's, kubectl, helm) from pinned modules into .tools/bin
	@hack/tools.sh

stack-tools: ## build only what the local stack and the tests run
	@hack/tools.sh $(STACK_TOOLS)

build: ## the CLI at bin/slipway
	$(GO) build -o bin/slipway ./cmd/slipway

demo: stack-tools build ## bring the local stack up and walk through slipway
	@hack/demo.sh

test: stack-tools build lint ## every unit and end-to-end test, the two suites side by side
	@$(MAKE) --no-print-directory -j2 unit e2e

unit: ## unit tests only (no stack)
	$(GO) test -count=1 $$($(GO) list ./... | grep -v /testsuite)

# The race detector compiles every package a second time (with cgo): ten
# minutes of a cold run on 2 cores, which the CI budget has no room for.
race: ## the unit tests with the race detector
	CGO_ENABLED=1 $(GO) test -race -count=1 $$($(GO) list ./... | grep -v /testsuite)

# The end-to-end tests run slipway's own binaries, built without the race
# detector: instrumenting the harness would check only the harness, and
# cost each of its large test binaries a race build.
e2e: stack-tools build ## end-to-end tests only, against a real stack the harness starts
	$(GO) test -count=1 -timeout 30m ./testsuite/...

e2e-prod: stack-tools ## the production topology alone (make e2e runs it too): Temporal server on PostgreSQL, two workers, a CLI that shares nothing with them
	$(GO) test -count=1 -timeout 20m ./testsuite/prod

lint: stack-tools ## gofmt, go vet, go mod tidy, hack/alignmods and workflowcheck leave nothing to change
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: run gofmt -w on the files above"; exit 1; }
	$(GO) vet ./...
	$(GO) mod tidy -diff
	$(GO) run ./hack/alignmods -check
	$(TOOLS)/workflowcheck ./workflows/...

cover: ## the commands' unit tests cover at least 70% of cmd/ (no stack needed)
	$(GO) test -count=1 -coverprofile=.cover.out ./cmd/... >/dev/null
	@$(GO) tool cover -func=.cover.out | awk '/^total:/ { sub("%", "", $$3); print "cmd/ coverage: " $$3 "%"; if ($$3 + 0 < 70) { print "below 70%: add tests for the commands"; exit 1 } }'
	@rm -f .cover.out

layering: ## the domain packages import no command; commands use only the activities' input and output shapes
	$(GO) test -count=1 ./internal/layering

fuzz: ## run each fuzz target for a while
	$(GO) test ./model -run '^$$' -fuzz '^FuzzParseEnv$$' -fuzztime 30s
	$(GO) test ./model -run '^$$' -fuzz '^FuzzParsePairs$$' -fuzztime 30s
	$(GO) test ./model -run '^$$' -fuzz '^FuzzParseManifest$$' -fuzztime 30s
	$(GO) test ./model -run '^$$' -fuzz '^FuzzManifestErrorsHideValues$$' -fuzztime 30s

chaos: stack-tools build ## 200 promotions under faults (N=… to resize, SEED=… to replay a run), then a 5-minute rollout's history
	$(GO) test -count=1 -timeout 0 -v -run '^TestChaos$$' ./testsuite/chaos -args -n=$(or $(N),200) $(if $(SEED),-seed=$(SEED))
	$(GO) test -count=1 -timeout 30m -v -run '^TestLongRolloutHistoryBounded$$' ./testsuite/e2e -args -rollout 5m

IMAGE ?= localhost:5000/slipway/slipway:latest
.PHONY: image
image: ## slipway's own image (FROM scratch, static binary), built by its local builder and pushed to IMAGE
	$(GO) run ./deploy/image -image $(IMAGE)

bench-scale: tools build ## the whole promotion matrix (1, 10, 50 services × 2, 10 replicas), 1/10/50 apps at once, 10/1,000/10,000 past releases, on 20 kwok nodes (50 × 10 replicas for four tools, surges included, fill 10)
	SLIPWAY_DEV_NODES=20 $(GO) test ./testsuite/bench -run '^$$' -bench 'Promote|Concurrent|History' -benchtime 5x -timeout 180m \
		-args -matrix full -apps 1,10,50 -releases 10,1000,10000 -json $(CURDIR)/bin/bench-scale.json

clean: ## remove the CLI (not the tools: they take long to build)
	rm -rf bin

bench: tools build ## (rewrites the README's performance tables) promotion vs the floor, kubectl and helm (1 and 10 services); 1 and 10 apps at once; 10 and 1,000 past releases; pause and cancel latency; recovery from a killed worker and a crash loop; the local Temporal's SQLite settings vs the defaults; source packaging vs tar czf; the local builder
	$(GO) test ./testsuite/bench -run '^$$' -bench . -benchtime 10x -timeout 60m -args -json $(CURDIR)/bin/bench.json
	$(GO) run ./hack/benchreadme bin/bench.json README.md
	$(GO) test ./devstack -run '^$$' -bench TemporalSQLite -benchtime 10x
	$(GO) test ./source -run '^$$' -bench PackageAndUpload -benchtime 5x
	$(GO) test ./builder -run '^$$' -bench LocalBuildHello -benchtime 10x
