// Package redistest gives tests a real Redis server.
//
//	func TestSomething(t *testing.T) {
//		srv := redistest.Start(t)       // stopped by t.Cleanup
//		srv.Client.Do(ctx, srv.Client.B().Ping().Build())
//	}
//
// Start picks, in order: the server at REDIS_TEST_ADDR (shared: tests must
// not assume it is empty), the server program REDIS_SERVER_BIN names (a
// path to redis-server or valkey-server of any version; by default
// redis-server from PATH) started on a free loopback port in a temporary
// directory, or a registered Backend. The
// module github.com/wireredis/wireredis/redistest/dockerbackend is one:
// imported (for its init), it runs a container when a Docker engine
// answers within a second. With none of them Start fails the test and says
// how to install redis-server.
//
// Tests that need a newer server than the one running skip by feature
// (Server.Require, RequireBinary) with a message that starts with
// SkipPrefix, which the test matrix (scripts/test-matrix.sh) counts.
//
// redistest imports no Docker library: its module graph stays that of
// rueidis.
package redistest
