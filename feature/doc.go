// Package feature gives each part of a service its own namespaced Redis
// client over a shared connection.
//
// A *Client implements rueidis.Client; every key it sends is prefixed with
// its namespace, whatever the command:
//
//	session := feature.New(shared, "session")
//	session.Do(ctx, session.B().Set().Key("user:1").Value("x").Build()) // SET session:user:1 x
//
// As with rueidis, a command passed to a part is handed over: the part
// prefixes its keys in place (rueidis then recycles it), which costs one
// allocation. Pin a command to send it more than once; a pinned command is
// never changed, but copied. On a cluster, the command gets the slot of its
// prefixed keys. Where the
// keys are comes from a table generated from the server's own key specs
// (internal/keyspec); RegisterCommand adds module commands, and
// LearnCommands asks the server about the rest. Pub/Sub channels are
// namespaced too, and reach callbacks without the prefix. Commands that
// would cross the namespace (FLUSHDB, RANDOMKEY, SELECT, ...) and commands
// whose keys cannot be placed are refused with a *CommandError; nothing is
// ever sent unprefixed. Replies are not rewritten: use StripKey on key
// names a reply carries (KEYS, BLPOP, ...), or Scan to walk the part's keys.
//
// With wire, ask for a part by type: feature.SessionRedis, feature.CacheRedis
// (provided by feature.Set), or a type of your own built the same way.
package feature
