# The README's two commands: `make run` (the demo) and `make test`.
GOLANGCI_LINT := go run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

.PHONY: run test generate check-generated lint

# The demo, on an embedded Redis unless REDIS_URL is set.
run:
	go run ./cmd/wireredis demo

# Every test against real redis-server processes, with the race detector.
test:
	./scripts/ensure-redis-server.sh
	go test -race -count=1 ./...

# Regenerates internal/keyspec/table_gen.go (from a redis-server it starts),
# internal/demo's parts (wireredis gen), then wire_gen.go, which uses them.
generate:
	./scripts/ensure-redis-server.sh
	go generate ./internal/keyspec ./internal/demo
	go tool wire ./...

# Fails when a generated file is stale or a file is not gofmt'ed.
check-generated:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	@test -z "$$(go tool wire diff ./...)" || { echo "wire_gen.go is stale: run make generate"; exit 1; }

lint: check-generated
	go vet ./...
	$(GOLANGCI_LINT) run ./...
