# funchost — the two set-up commands:
#   make run    start the pinned Azurite and serve the sample app on :7071
#   make test   vet, format check, durablevet and the whole test suite
# Other targets: make test-faults (part of make test), make bench, make azurite, make chromium, make screenshots,
# make fmt.

SHELL := /usr/bin/env bash
GO    ?= go
PORT  ?= 7071
# The suite runs on 2 cores in CI; -p 2 keeps packages from oversubscribing.
TEST_FLAGS ?= -p 2 -race -timeout 14m

.PHONY: run test test-faults vet fmt fmt-check durablevet bench azurite chromium screenshots

# make run: install Azurite if missing, start it in the background with its
# data in azurite/data, run the sample app (go build ./samples, then run it
# with --script-root .) in the foreground. Azurite runs in its own session so
# that Ctrl-C reaches only the app: the app drains and exits first, then the
# EXIT trap stops Azurite. The binary is run directly rather than through
# `go run` so that its exit status and signals are not mediated.
run: azurite
	@set -euo pipefail; \
	$(GO) build -o bin/samples ./samples; \
	mkdir -p azurite/data; \
	detach=; command -v setsid >/dev/null && detach=setsid; \
	$$detach azurite/run.sh >azurite/data/azurite.log 2>&1 & azpid=$$!; \
	trap 'kill $$azpid 2>/dev/null; wait $$azpid 2>/dev/null || true' EXIT; \
	trap 'exit 0' INT TERM; \
	up=; for i in $$(seq 1 300); do \
	  kill -0 $$azpid 2>/dev/null || { echo "Azurite failed to start (ports 10000-10002 in use?); see azurite/data/azurite.log" >&2; exit 1; }; \
	  if (exec 3<>/dev/tcp/127.0.0.1/10002) 2>/dev/null; then up=1; break; fi; \
	  sleep 0.1; \
	done; \
	[ -n "$$up" ] || { echo "Azurite did not start within 30 s; see azurite/data/azurite.log" >&2; exit 1; }; \
	echo "Azurite is running (pid $$azpid, log azurite/data/azurite.log)"; \
	bin/samples --script-root . --port $(PORT)

azurite:
	@azurite/install.sh

# The dashboard's browser tests (host/dashboard) drive Debian's Chromium;
# the script installs it with apt-get when /usr/bin/chromium is missing.
chromium:
	@scripts/install-chromium.sh

# One suite at a time per machine: two suites side by side starve each
# other's Azurite and time out. The lock is released when the suite ends.
TEST_LOCK ?= /tmp/funchost-make-test.lock

test: azurite chromium vet fmt-check durablevet
	flock $(TEST_LOCK) $(GO) test $(TEST_FLAGS) ./...
	@$(MAKE) --no-print-directory test-faults

# make test-faults: the long fault tests behind the build tag "faults"
# (docs/reliability.md): host processes on a disk-backed Azurite that is
# stopped and restarted mid-run, 1,000 racing singleton starts on two
# hosts, misbehaving functions beside good ones in one host, two of three
# hosts SIGKILLed under a mixed workload, the host of a traced orchestration SIGKILLed (one trace across both processes). Without -race: they drive real processes, and -race would only
# slow the test binary. make test runs them after the suite.
test-faults: azurite
	flock $(TEST_LOCK) $(GO) test -p 2 -tags faults -timeout 15m -run 'Fault|Outage' ./host/failover

vet:
	$(GO) vet ./...

# Files under testdata are fixtures (some deliberately unformatted) and the
# Azurite install holds no Go code of ours.
GOFILES = find . -name '*.go' -not -path './azurite/*' -not -path '*/testdata/*' -not -path './.git/*'

fmt-check:
	@out="$$(gofmt -l $$($(GOFILES)))"; \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

fmt:
	gofmt -w $$($(GOFILES))

durablevet:
	$(GO) run ./cmd/durablevet ./samples/...

# make screenshots: run the dashboard's browser tests and write their
# screenshots to docs/img (shown in README.md).
screenshots: azurite chromium
	FUNCHOST_SCREENSHOTS=$(CURDIR)/docs/img $(GO) test -count=1 -run 'TestBrowser' ./host/dashboard

# make bench: start one private Azurite and run the standard benchmark set
# (issue 6), printing one JSON line per run with its target checks on stdout
# and a summary table on stderr; then the entity benchmark (issue 11) on a
# second private Azurite, a markdown table. See docs/benchmarks.md.
bench: azurite
	@$(GO) run ./samples/bench -standard
	@$(GO) run ./samples/bench -entities -provider azurite -n 2000 -quiet
