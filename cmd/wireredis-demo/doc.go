// Command wireredis-demo is the example application of wireredis: the
// session and cache parts and a generated analytics part, built through
// the injector initializeDemo (wire.go), writing through each, printing
// the keys as the server stores them, the connections the registry
// opened, and the trace and metrics the telemetry package recorded.
//
//	go run ./cmd/wireredis-demo [-serve addr]
//
// With no REDIS_URL (or REDIS_HOST) it starts an embedded Redis first (a
// redis-server from PATH, else miniredis); with -serve it serves an HTTP
// API until SIGINT or SIGTERM, then releases the parts through wire's
// cleanup. It is apart from cmd/wireredis so that the operator's tool
// links none of what only the demo needs.
package main
