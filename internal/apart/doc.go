// Package apart runs Pub/Sub subscriptions on connections of their own,
// taken from rueidis's pool of dedicated connections, rather than on the
// pipelined connection other commands share.
//
// With RESP3, rueidis's Receive on a shared client subscribes on that
// pipeline, and Redis 7.0 and 6.2 write a message (a keyspace
// notification, say) inside the reply of another command of the same
// connection: rueidis's reading goroutine then panics and the process
// ends. With no subscription on the pipeline, no message can come inside
// its replies. A part (package feature) and the registry's own clients
// (package counted) both keep their Receives here, and an UNSUBSCRIBE
// sent through them ends the Receives it names.
//
// Classify says which commands a connection rueidis pipelines must not
// carry: subscriptions sent other than through Receive, Pub/Sub commands
// renamed after they were built, and those after which the connection no
// longer carries one reply for each command (MONITOR, SYNC, PSYNC,
// REPLCONF, CLIENT REPLY). The registry's clients refuse them
// (internal/counted); parts refuse them by the key table first.
package apart
