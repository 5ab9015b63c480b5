# The README's two commands: `make run` (the demo) and `make test`.
GOLANGCI_LINT := go run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0

BENCHSTAT := go run golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da

.PHONY: run test test-matrix fuzz chaos generate check-generated lint bench conformance

# The demo, on an embedded Redis unless REDIS_URL is set.
run:
	go run ./cmd/wireredis-demo

# Every test against real redis-server processes, with the race detector;
# then the allocation tests, which need it off (it makes sync.Pool lossy).
test:
	./scripts/ensure-redis-server.sh
	go test -race -count=1 -parallel 4 ./...
	go test -count=1 -run 'Allocations' ./feature
	cd redistest/dockerbackend && go test -race -count=1 ./...

# The chaos test and the reproductions of issue 20 at length: each chaos
# configuration (one server and a cluster; RESP2 and RESP3; batching on
# and off) for two minutes under kills, pauses, restarts and failovers,
# then fifty rounds of each reproduction; prints the counts. make test runs
# both briefly.
chaos:
	./scripts/ensure-redis-server.sh
	cd feature && { WIREREDIS_CHAOS_SECONDS=$${CHAOS_SECONDS:-120} go test -count=1 -timeout 60m -run '^TestChaos$$' -v . > ../chaos.log 2>&1; s=$$?; \
	  grep -E 'chaos_test.go:[0-9]+: |^(---|ok|FAIL|PASS)' ../chaos.log; exit $$s; }
	cd feature && { WIREREDIS_FAULT_ROUNDS=$${FAULT_ROUNDS:-50} go test -count=1 -timeout 60m -run '^TestFault' -v . > ../faults.log 2>&1; s=$$?; \
	  grep -E 'rounds, |^(---|ok|FAIL|PASS)' ../faults.log; exit $$s; }
	rm -f chaos.log faults.log

# The differential fuzzer's long run (feature/difffuzz_test.go; a seeded
# run of 10,000 commands is part of make test): a million
# generated commands through a part, judged by the effect oracle, about
# 30 minutes here. FUZZ_COMMANDS, FUZZ_SEED and FUZZ_WORLDS (server, or
# all: hash-tag, RESP2 and cluster worlds too) change it. Then Go's native
# fuzzing, FUZZTIME each, of the rewrite, of the ports of the server's
# argument reading, and of the reply guard (whatever a server writes,
# rueidis reading it through the guard must not crash).
FUZZ_COMMANDS ?= 1000000
FUZZ_SEED ?= 21
FUZZ_WORLDS ?= server
FUZZTIME ?= 2m
fuzz:
	./scripts/ensure-redis-server.sh
	WIREREDIS_FUZZ_COMMANDS=$(FUZZ_COMMANDS) WIREREDIS_FUZZ_SEED=$(FUZZ_SEED) WIREREDIS_FUZZ_WORLDS=$(FUZZ_WORLDS) \
	  go test -count=1 -timeout 0 -v -run '^TestDifferentialFuzz$$' ./feature
	go test -run '^$$' -fuzz '^FuzzRewrite$$' -fuzztime $(FUZZTIME) ./feature
	go test -run '^$$' -fuzz '^FuzzKeyword$$' -fuzztime $(FUZZTIME) ./internal/keyspec
	go test -run '^$$' -fuzz '^FuzzParseInt$$' -fuzztime $(FUZZTIME) ./internal/keyspec
	go test -run '^$$' -fuzz '^FuzzRueidisReadsWhatPasses$$' -fuzztime $(FUZZTIME) ./internal/respguard

# The whole suite against every supported server, one at a time:
# redis-server from PATH (7.0.15) and each build in REDIS_SERVERS_DIR
# (default ../shared/servers: Redis 6.2.16, 7.2.6, 7.4.1, Valkey 8.0.1).
# Prints the results and the feature matrix, and writes them into
# docs/compatibility.md. TESTS=subset runs CI's subset only.
test-matrix:
	./scripts/ensure-redis-server.sh
	go run ./cmd/testmatrix $(if $(TESTS),-run '$(TESTS)') $(if $(TESTS),,-doc docs/compatibility.md)

# rueidiscompat's own test suite over raw rueidis clients and over parts,
# compared spec by spec against conformance/expected.txt (see
# conformance/README.md). About ten minutes: not part of make test.
conformance:
	./scripts/ensure-redis-server.sh
	cd conformance && go test -count=1 -timeout 60m -v .

# Regenerates internal/keyspec/table_gen.go (from the union of the
# commands of redis-server from PATH and every build in REDIS_SERVERS_DIR,
# default ../shared/servers, which it starts),
# the demo's parts (wireredis gen), then wire_gen.go, which uses them.
generate:
	./scripts/ensure-redis-server.sh
	go generate ./internal/keyspec ./cmd/wireredis-demo/internal/demo
	go tool wire ./...

# Fails when a generated file is stale or a file is not gofmt'ed.
check-generated:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	@test -z "$$(go tool wire diff ./...)" || { echo "wire_gen.go is stale: run make generate"; exit 1; }

lint: check-generated
	go vet ./...
	$(GOLANGCI_LINT) run ./...
	cd bench && go vet ./... && $(GOLANGCI_LINT) run ./...
	cd redistest/dockerbackend && go vet ./... && $(GOLANGCI_LINT) run ./...
	cd conformance && go vet . ./cmd/... && $(GOLANGCI_LINT) run . ./cmd/...

# The load generator (raw rueidis, SessionRedis, go-redis, go-redis's
# AutoPipeline and rueidis with MaxFlushDelay against one redis-server,
# interleaved, pinned then unpinned, with redis-benchmark -P 16 each round;
# then raw rueidis and SessionRedis against a 3-primary cluster) writes
# docs/benchmarks.md and its chart, and bench/notes.md follows (why the
# figures are what they are); the Go benchmarks come last: raw rueidis, a
# part over it, and SessionRedis side by side. They run six passes of -count 1, not one of -count 6 (which repeats
# each benchmark back to back), so that the machine's drift hits the three
# clients alike. BenchmarkDo (the rewrite alone, no server) is timed, the
# server benchmarks run a fixed number of commands.
bench:
	./scripts/ensure-redis-server.sh
	cd bench && go run . -o ../docs/benchmarks.md -svg ../docs/benchmarks.svg
	cat bench/notes.md >> docs/benchmarks.md
	go test -c -o bench/feature.test ./feature
	for i in 1 2 3 4 5 6; do \
	  (cd feature && ../bench/feature.test -test.run '^$$' -test.bench 'BenchmarkDo' -test.benchtime 500ms && \
	   ../bench/feature.test -test.run '^$$' -test.bench 'BenchmarkServer' -test.benchtime 20000x) || exit 1; \
	done > bench/go-bench.txt
	{ echo; echo '## Go benchmarks: raw rueidis, a part over it, and SessionRedis from a registry (benchstat -col /client)'; echo; echo '```'; \
	  $(BENCHSTAT) -col /client bench/go-bench.txt; echo '```'; } >> docs/benchmarks.md
	rm -f bench/go-bench.txt bench/feature.test
