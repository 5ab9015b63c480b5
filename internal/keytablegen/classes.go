package keytablegen

// The hand-written part of the table: what COMMAND cannot tell. Every
// command of the server ends up in exactly one class; Generate fails on a
// command it cannot classify, so a new server version forces a human look.

// refused commands would cross the namespace, or change the connection
// that the parts share. The text says why, and what to do instead.
var refused = map[string]string{
	"FLUSHDB":                 "it deletes the keys of every namespace; delete this part's keys with SCAN (scoped to the namespace) and UNLINK",
	"FLUSHALL":                "it deletes the keys of every namespace in every database; delete this part's keys with SCAN (scoped to the namespace) and UNLINK",
	"RANDOMKEY":               "it can return another namespace's key; pick one from SCAN (scoped to the namespace)",
	"DBSIZE":                  "it counts the keys of every namespace; count this part's keys with SCAN (scoped to the namespace)",
	"SWAPDB":                  "it swaps the data of every namespace; give the part its own database with REDIS_<PART>_DB",
	"SELECT":                  "it would switch the database of the connection the parts share; set REDIS_<PART>_DB instead",
	"MOVE":                    "it moves a key to a database outside this part's connection; open a part on that database (REDIS_<PART>_DB) and write the key there",
	"DEBUG":                   "it reaches the whole server; use a client without a namespace",
	"MONITOR":                 "it shows the commands of every namespace; use a client without a namespace",
	"SYNC":                    "it is the replication protocol; use a client without a namespace",
	"PSYNC":                   "it is the replication protocol; use a client without a namespace",
	"REPLCONF":                "it is the replication protocol; use a client without a namespace",
	"AUTH":                    "it would change the user of the connection the parts share; set REDIS_<PART>_USERNAME and REDIS_<PART>_PASSWORD",
	"HELLO":                   "it would renegotiate the connection the parts share; set REDIS_PROTOCOL",
	"RESET":                   "it would reset the connection the parts share",
	"QUIT":                    "it would close the connection the parts share; release the part instead",
	"CLIENT TRACKING":         "client-side caching is run by rueidis; use DoCache",
	"CLIENT CACHING":          "client-side caching is run by rueidis; use DoCache",
	"CLIENT REPLY":            "it would silence the replies of the connection the parts share",
	"CLIENT SETNAME":          "it would rename the connection the parts share; set REDIS_CLIENT_NAME",
	"CLIENT NO-EVICT":         "it would change the connection the parts share; use a client without a namespace",
	"READONLY":                "the cluster state of a connection is run by rueidis",
	"READWRITE":               "the cluster state of a connection is run by rueidis",
	"ASKING":                  "the cluster state of a connection is run by rueidis",
	"CLUSTER GETKEYSINSLOT":   "it lists the keys of every namespace; use SCAN (scoped to the namespace)",
	"CLUSTER COUNTKEYSINSLOT": "it counts the keys of every namespace; use SCAN (scoped to the namespace)",
}

// scoped commands are rewritten to see only the namespace.
var scoped = map[string]bool{
	"KEYS":                 true,
	"SCAN":                 true,
	"PUBSUB CHANNELS":      true,
	"PUBSUB SHARDCHANNELS": true,
}

// channels commands name pub/sub channels or patterns rather than keys.
var channels = map[string]bool{
	"SUBSCRIBE":          true,
	"UNSUBSCRIBE":        true,
	"PSUBSCRIBE":         true,
	"PUNSUBSCRIBE":       true,
	"PUBLISH":            true,
	"SSUBSCRIBE":         true,
	"SUNSUBSCRIBE":       true,
	"SPUBLISH":           true,
	"PUBSUB NUMSUB":      true,
	"PUBSUB SHARDNUMSUB": true,
}

// rules name the hand-written keyspec rule of a command, and which of its
// key specs the rule replaces (those marked unknown or incomplete; MIGRATE's
// key at 3 too, which is no key when empty).
var rules = map[string]struct {
	fn       string
	replaces []int
}{
	"SORT":    {"SortRule", []int{1, 2}},
	"SORT_RO": {"SortRule", []int{1}},
	"MIGRATE": {"MigrateRule", []int{0, 1}},
}
