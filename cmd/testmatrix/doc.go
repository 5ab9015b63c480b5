// Command testmatrix runs the test suite against every supported server
// (make test-matrix): redis-server from PATH and each server build in the
// servers directory (REDIS_SERVERS_DIR, by default ../shared/servers
// beside the project), one after the other, each through REDIS_SERVER_BIN.
// It prints a table of results per server (tests passed, failed, and
// skipped because the server lacks a feature, as redistest.Require says)
// and a matrix of features per server, and with -doc writes both into
// docs/compatibility.md between its markers. It fails when any test
// fails.
//
//	go run ./cmd/testmatrix [-run regexp] [-doc docs/compatibility.md]
package main
