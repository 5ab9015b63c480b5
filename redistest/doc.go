// Package redistest gives tests a real Redis server.
//
//	func TestSomething(t *testing.T) {
//		srv := redistest.Start(t)       // stopped by t.Cleanup
//		srv.Client.Do(ctx, srv.Client.B().Ping().Build())
//	}
//
// Start picks, in order: the server at REDIS_TEST_ADDR (shared: tests must
// not assume it is empty), a redis-server from PATH started on a free
// loopback port in a temporary directory, or a container when a Docker
// engine answers within a second. With none of them it fails the test and
// says how to install redis-server.
//
// This is the only wireredis package that imports dockertest; library code
// never imports it.
package redistest
