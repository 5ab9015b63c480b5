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
// sent through them reaches the Receives it names.
package apart
