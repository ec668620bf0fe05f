# Chopsticks: the two set-up commands are `make sandbox` and `make test`.
GO      ?= go
BIN     := bin/chopsticks
GOFLAGS ?=
# Two cores: build and test two packages at a time.
GOTEST  := $(GO) test -p 2 -count=1

.PHONY: all build sandbox test test-go vet bench deps-sandbox deps-test clean \
        monitoring-up monitoring-logs monitoring-down nomad-validate

all: build

build:
	$(GO) build $(GOFLAGS) -o $(BIN) ./cmd/chopsticks

deps-sandbox:
	@scripts/deps.sh sandbox

deps-test:
	@scripts/deps.sh test

## sandbox: a local cluster against discordsim with a playground page.
sandbox: deps-sandbox build
	$(BIN) sandbox $(SANDBOX_FLAGS)

## test: everything `make test` checks, as CI runs it.
test: deps-test vet test-go

vet:
	$(GO) vet ./...

test-go: build
	CHOPSTICKS_BIN=$(CURDIR)/$(BIN) $(GOTEST) -timeout 15m ./...
	# The limiter's behaviours again, each test on a Redis Cluster of its own.
	CHOPSTICKS_TEST_REDIS=cluster $(GOTEST) -timeout 5m ./ratelimit/

## bench: benchmarks and soaks (long; not part of test).
bench: deps-test build
	scripts/bench.sh

clean:
	rm -rf bin .sandbox

## The full stack in Docker Compose (needs a Docker engine; see docs/operations.md).
COMPOSE ?= $(shell docker compose version >/dev/null 2>&1 && echo "docker compose" || echo docker-compose)

monitoring-up:
	@test -f .env || { echo "cp deploy/compose.env.example .env and fill it in"; exit 1; }
	$(COMPOSE) up -d --build
	$(COMPOSE) ps

monitoring-logs:
	$(COMPOSE) logs -f --tail=200

monitoring-down:
	$(COMPOSE) down

## nomad-validate builds nomad once (minutes) into ~/.cache and validates the jobs.
nomad-validate:
	deploy/nomad/validate.sh
