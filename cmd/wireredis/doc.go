// Command wireredis is the code generator of wireredis and the operator's
// tools. It links no demo, no embedded Redis and no OpenTelemetry SDK:
// consumers add it with go tool. The demo is cmd/wireredis-demo.
//
//	wireredis <command> [flags]
//
// Every command takes -h, which lists its flags with their defaults and
// an example. Exit status: 0 on success, 1 on failure (a connection that
// does not answer), 2 on a usage error, an invalid setting or an unknown
// part.
//
// gen writes typed parts for go generate: for each -part
// Name=namespace[,hashtag][,db=N][,url_env=VAR] a type NameRedis, its wire
// provider, and one wire set of them all. It refuses parts whose variables
// would collide and url_env names that are not variable names. The file's
// header records the command line, which describes every part. -o - writes
// to standard output; each part's variables (REDIS_<NAMESPACE>_*) are
// printed to standard error.
//
// config shows each part's effective settings, secrets redacted, their
// fingerprints (the same as in the application's logs), and which parts
// share a connection. It resolves the parts as the application does,
// reading what gen put in code from the generated file of -pkg; it warns
// about REDIS_ variables it does not understand, with the nearest known
// name, and -strict makes them errors.
//
// ping dials each distinct connection of the parts, fail-fast whatever
// REDIS_STARTUP says and within -timeout, and reports its latency and the
// server's version: a health probe.
//
// keys lists a part's keys without its prefix (a namespaced SCAN), with
// the part's hash tag and connection.
//
// acl prints, for redis-cli, the ACL SETUSER lines of the users under
// which the server holds the parts to their keys and channels: the
// commands a part sends, what its connection needs, nothing server-wide.
// The server then refuses a Lua script that reaches outside the namespace,
// which a part cannot see into. The lines hold no password.
//
// version prints the version of wireredis the binary was built from, and
// of Go.
package main
