// Package feature gives each part of a service its own namespaced Redis
// client over a shared connection.
//
// A *Client implements rueidis.Client; every key it sends is prefixed with
// its namespace, whatever the command:
//
//	session := feature.New(shared, "session")
//	session.Do(ctx, session.B().Set().Key("user:1").Value("x").Build()) // SET session:user:1 x
//
// With wire, ask for a part by type: [SessionRedis], [CacheRedis]
// (provided by [Set]), or a type of your own that `wireredis gen` writes;
// without wire, [Part.Open] opens one from a registry.
//
// # Keys
//
// Where the keys are comes from a table generated from the server's own
// key specs, with hand-written rules where the server does not follow them
// (GEORADIUS writes to its last STORE; XREAD takes its streams after the
// STREAMS its parser reaches). [RegisterCommand] adds module commands, and
// [LearnCommands] asks the server about the rest. As with rueidis, a
// command passed to a part is handed over: the part prefixes its keys in
// place (rueidis then recycles it), which costs one allocation. Pin a
// command to send it more than once; a pinned command is never changed,
// but copied. On a cluster, the command gets the slot of its prefixed
// keys. Pub/Sub channels are namespaced too, and reach callbacks without
// the prefix; so do keyspace notifications of the part's own keys.
//
// # A tenant, not an administrator
//
// Commands that would cross the namespace (FLUSHDB, RANDOMKEY, SELECT,
// COPY ... DB, ...), that reach the whole server (CONFIG, SHUTDOWN,
// FUNCTION LOAD, CLIENT KILL, SLOWLOG, INFO, ...), and commands whose keys
// cannot be placed are refused with a [*CommandError]; nothing is ever
// sent unprefixed. The administrative client (registry.Registry.Admin)
// sends what a part refuses. MULTI, EXEC, WATCH and the like work inside
// one DoMulti that closes what it opens (sent on a pooled connection of
// its own, apart from the parts' subscriptions), and on a Dedicated
// connection, never alone on the connection the parts share. A namespace
// with glob characters, braces or white space is refused ([ErrNamespace]),
// and so are two parts whose prefixes overlap on one server
// (ErrOverlap).
//
// # What only the server can enforce
//
// A Lua script can reach any key whatever the client does. [ACLRules]
// writes the ACL user under which the server holds scripts, and
// everything else it can, to the parts' keys. docs/namespacing.md says
// what the client guarantees, what only the server can, and how each is
// tested (an oracle that judges commands by their effects on a real
// server).
//
// # Telemetry
//
// A part opened from a registry that carries telemetry hooks (the
// telemetry package's) reports each command and batch it sends, refused
// ones included, to its observer: OpenTelemetry spans and metrics by
// part, never a key, value or argument. Without hooks, each call costs
// one comparison.
//
// # Replies
//
// Replies come back as if no prefix existed: the names in KEYS, SCAN,
// BLPOP, XREAD and the like, in PUBSUB CHANNELS, and in errors that quote
// a key. A script's reply cannot be known to carry names: use
// [Client.StripKey] on them, or [Client.Scan] to walk the part's keys.
package feature
