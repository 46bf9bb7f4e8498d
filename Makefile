# phylum-box — build, test, benchmark.
GO        ?= go
TAGS      ?= seccomp
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
GOFLAGS_B := -tags '$(TAGS)' -trimpath -ldflags '-X main.version=$(VERSION)'
# Packages whose unit tests run with the race detector.
UNIT_PKGS := ./cmd/... ./container/... ./rootfs/... ./precheck/... ./managers/... ./internal/...

export CGO_ENABLED=1
# Test output goes through hack/testsummary (one line a package, failures in full,
# every skipped test with its reason); pipefail keeps go test's status.
SHELL        := /bin/bash
.SHELLFLAGS  := -o pipefail -c
SUMMARY      := bin/testsummary

.PHONY: all build deps test unit integration bench bench-npm bench-managers detect-eval fuzz lint demo clean

all: build

build:
	$(GO) build $(GOFLAGS_B) -o bin/phylum-box ./cmd/phylum-box

# Install what the tests need (Debian packages, package managers). Idempotent.
deps:
	bash hack/install-deps.sh

# The whole test suite: lint, unit tests with -race, fuzz seed corpora, and the
# integration tests that drive bin/phylum-box as root and as an unprivileged user.
test: deps lint build unit integration

unit: $(SUMMARY)
	$(GO) test -tags '$(TAGS)' -race -count=1 -timeout 25m -json $(UNIT_PKGS) 2>&1 | $(SUMMARY)

# The integration tests run three at a time (the tests that watch shared
# directories, cgroups, timings or /etc stay serial: they do not call t.Parallel):
# they wait on package managers and registries about a third of the time.
IT_PARALLEL ?= 3

integration: build $(SUMMARY)
	PHYLUM_BOX_BIN=$(CURDIR)/bin/phylum-box $(GO) test -tags '$(TAGS)' -count=1 -parallel $(IT_PARALLEL) -timeout 80m -json ./integration/... 2>&1 | tee bin/integration.json | $(SUMMARY)

$(SUMMARY): hack/testsummary/main.go
	$(GO) build -o $@ ./hack/testsummary

bench: build
	PHYLUM_BOX_BIN=$(CURDIR)/bin/phylum-box $(GO) test -tags '$(TAGS)' -run '^$$' -bench . -benchmem -count=1 $(UNIT_PKGS) ./integration/...

# Bare `npm ci` against `phylum-box npm ci` on integration/testdata/bench-npm.
bench-npm: build
	PHYLUM_BOX=$(CURDIR)/bin/phylum-box bash hack/bench-npm.sh

# Issue 13's false alarms on real npm packages (live registry, ~40 min): bare npm ci,
# phylum-box with the default policy and without detection, the findings listed.
detect-eval: build
	PHYLUM_BOX=$(CURDIR)/bin/phylum-box bash hack/detect-eval.sh

# The nothing-to-do install of pnpm, yarn classic, pip and poetry, and cargo build with nothing changed, bare against phylum-box.
bench-managers: build
	PHYLUM_BOX=$(CURDIR)/bin/phylum-box bash hack/bench-managers.sh

FUZZTIME ?= 30s
fuzz:
	bash hack/fuzz.sh $(FUZZTIME)

# Linters at pinned versions, fetched through the Go module proxy on first use and
# kept in Go's build cache after that (nothing to install by hand, CI included).
STATICCHECK := $(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2
DEADCODE    := $(GO) run golang.org/x/tools/cmd/deadcode@v0.52.0

# staticcheck runs its default checks (U1000 included: unused code in test files
# too). deadcode runs with -test: code that only tests call counts as used, so the
# test-support packages (testutil, cmdtest, osvgen), reference implementations that
# tests compare against and small entry points other packages' tests drive are not
# reported; what it reports is called by nothing at all. It exits 0 on findings,
# hence the check of its output.
lint:
	@out=$$(gofmt -l cmd container rootfs precheck managers integration internal hack); \
	  if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet -tags '$(TAGS)' ./...
	$(STATICCHECK) -tags '$(TAGS)' ./...
	@out=$$($(DEADCODE) -test -tags '$(TAGS)' ./...) || exit 1; \
	  if [ -n "$$out" ]; then echo "dead code (deadcode -test):"; echo "$$out"; exit 1; fi

# The main job: a protected `npm install lodash` in a scratch project.
demo: deps build
	bash hack/demo.sh

clean:
	rm -rf bin
