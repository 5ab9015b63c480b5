package main

// The hand-written part of the table: what COMMAND cannot tell. Every
// command of the server ends up in exactly one class; Generate fails on a
// command it cannot classify, so a new server version forces a human look.
//
// A part is a tenant, not an administrator: a command without keys goes
// out only when tenantKeyless lists it; every other keyless command is in
// admin, refused with the reason of its kind.

// useAdmin ends the reason of every command a part refuses because it
// reaches the whole server.
const useAdmin = "; send it with the administrative client (registry.Admin), which has no namespace"

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
	"MIGRATE":                 "it moves keys to another server, outside this part's connection" + useAdmin,
	"DEBUG":                   "it reaches the whole server" + useAdmin,
	"MONITOR":                 "it shows the commands of every namespace, as a stream no rueidis client can read (the registry's clients refuse it too); use redis-cli MONITOR",
	"SYNC":                    "it is the replication protocol, which no rueidis client can read (the registry's clients refuse it too)",
	"PSYNC":                   "it is the replication protocol, which no rueidis client can read (the registry's clients refuse it too)",
	"REPLCONF":                "it is the replication protocol, which no rueidis client can read (the registry's clients refuse it too)",
	"AUTH":                    "it would change the user of the connection the parts share; set REDIS_<PART>_USERNAME and REDIS_<PART>_PASSWORD",
	"HELLO":                   "it would renegotiate the connection the parts share; set REDIS_PROTOCOL",
	"RESET":                   "it would reset the connection the parts share",
	"QUIT":                    "it would close the connection the parts share; release the part instead",
	"CLIENT TRACKING":         "client-side caching is run by rueidis; use DoCache",
	"CLIENT CACHING":          "client-side caching is run by rueidis; use DoCache",
	"CLIENT REPLY":            "it would silence the replies of the connection the parts share",
	"CLIENT SETNAME":          "it would rename the connection the parts share; set REDIS_CLIENT_NAME",
	"CLIENT NO-EVICT":         "it would change the connection the parts share" + useAdmin,
	"CLIENT NO-TOUCH":         "it would change the connection the parts share" + useAdmin,
	"CLIENT CAPA":             "it would change the connection the parts share" + useAdmin,
	"CLIENT SETINFO":          "it would rename the library of the connection the parts share (rueidis sets it when it connects)",
	"READONLY":                "the cluster state of a connection is run by rueidis",
	"READWRITE":               "the cluster state of a connection is run by rueidis",
	"ASKING":                  "the cluster state of a connection is run by rueidis",
	"CLUSTER GETKEYSINSLOT":   "it lists the keys of every namespace; use SCAN (scoped to the namespace)",
	"CLUSTER COUNTKEYSINSLOT": "it counts the keys of every namespace; use SCAN (scoped to the namespace)",
	"RESTORE":                 "a crafted payload can stop the whole server (Redis checks payloads in full only with sanitize-dump-payload yes, not the default)" + useAdmin,
	"HOST:":                   "Redis 6.2 lists it only to close the connection of an HTTP client (a cross-protocol attack): it would close the connection the parts share",
	"POST":                    "Redis 6.2 lists it only to close the connection of an HTTP client (a cross-protocol attack): it would close the connection the parts share",
	"STRALGO":                 "only Redis 6.2 has it, and its COMMAND entry does not say where the keys are (STRALGO LCS KEYS k1 k2 finds them by keyword); LCS replaces it from Redis 7.0",
	"RESTORE-ASKING":          "a crafted payload can stop the whole server (Redis checks payloads in full only with sanitize-dump-payload yes, not the default)" + useAdmin,
}

// tenantKeyless are the commands without keys that a part may send: they
// neither change nor reveal anything beyond the part's own request. Every
// subcommand named HELP is one too.
var tenantKeyless = map[string]bool{
	"PING":                    true,
	"ECHO":                    true,
	"TIME":                    true,
	"COMMAND":                 true, // bare: the server's commands
	"COMMAND COUNT":           true,
	"COMMAND DOCS":            true,
	"COMMAND GETKEYS":         true,
	"COMMAND GETKEYSANDFLAGS": true,
	"COMMAND INFO":            true,
	"COMMAND LIST":            true,
	"CLIENT ID":               true,
	"CLIENT GETNAME":          true,
	"ACL CAT":                 true,
	"ACL WHOAMI":              true,
	"ACL GENPASS":             true,
	"CLUSTER KEYSLOT":         true,
}

// transactions run on the connection: sent alone on a shared connection,
// they would take in other parts' commands. A part sends them only inside
// one DoMulti, or on a dedicated connection.
var transactions = map[string]bool{
	"MULTI":   true,
	"EXEC":    true,
	"DISCARD": true,
	"WATCH":   true,
	"UNWATCH": true,
}

// Why each kind of server-wide command is refused.
const (
	whyConfig        = "it reads or changes the server's configuration, which every namespace shares" + useAdmin
	whyReplication   = "it reads or changes the server's replication, which every namespace shares" + useAdmin
	whyPersistence   = "it saves, rewrites or stops the server, for every namespace" + useAdmin
	whyACL           = "it reads or changes the server's users and their permissions, which every namespace shares" + useAdmin
	whyFunctions     = "function libraries are shared by every namespace on the server; load them with the administrative client (registry.Admin), and call them from a part with FCALL"
	whyScripts       = "the script cache is shared by every namespace on the server; EVAL and EVALSHA work from a part (rueidis's Lua helper falls back to EVAL)" + useAdmin
	whyClients       = "it reads or acts on other clients of the server (other parts, other services)" + useAdmin
	whyConnection    = "it shows the state of the connection the parts share" + useAdmin
	whyCluster       = "it reads or changes the cluster, whose topology rueidis runs and every namespace shares" + useAdmin
	whyIntrospection = "it shows or resets state of the whole server, which reveals other namespaces" + useAdmin
	whyModules       = "it loads or lists the server's modules, which every namespace shares" + useAdmin
)

// admin are the keyless commands that reach the whole server, by
// subcommand, command or container: a part refuses them, with the reason
// of their kind.
var admin = map[string]string{
	"ACL":                 whyACL,
	"BGREWRITEAOF":        whyPersistence,
	"BGSAVE":              whyPersistence,
	"SAVE":                whyPersistence,
	"LASTSAVE":            whyPersistence,
	"SHUTDOWN":            whyPersistence,
	"CLIENT":              whyClients,
	"CLIENT GETREDIR":     whyConnection,
	"CLIENT INFO":         whyConnection,
	"CLIENT TRACKINGINFO": whyConnection,
	"CLUSTER":             whyCluster,
	"CONFIG":              whyConfig,
	"FAILOVER":            whyReplication,
	"REPLICAOF":           whyReplication,
	"SLAVEOF":             whyReplication,
	"FUNCTION":            whyFunctions,
	"SCRIPT":              whyScripts,
	"INFO":                whyIntrospection,
	"LATENCY":             whyIntrospection,
	"MEMORY":              whyIntrospection,
	"SLOWLOG":             whyIntrospection,
	"MODULE":              whyModules,
	"PUBSUB NUMPAT":       "it counts the pattern subscriptions of every namespace" + useAdmin,
	"PFSELFTEST":          "it occupies the server for a long while (a cluster may take the node for down)" + useAdmin,
	"WAIT":                "it reads the server's replication (how many replicas acknowledged), and holds the connection the parts share while it waits" + useAdmin,
	"LOLWUT":              "it shows the server's version, which INFO is refused for" + useAdmin,
	"WAITAOF":             "it reads the server's persistence and replication (how many replicas fsynced), and holds the connection the parts share while it waits" + useAdmin,
}

// scoped commands are rewritten to see only the namespace.
var scoped = map[string]bool{
	"KEYS":                 true,
	"SCAN":                 true,
	"PUBSUB CHANNELS":      true,
	"PUBSUB SHARDCHANNELS": true,
	"ROLE":                 true, // the role only: what rueidiscompat asks each node before KEYS, SCAN, ...
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
// key specs the rule replaces: those marked unknown or incomplete, and
// those the server does not follow. GEORADIUS writes to the last STORE or
// STOREDIST, not to the first its key specs name; XREAD and XREADGROUP
// take their streams after the first STREAMS the server reaches walking
// the options, which need not be the first the key specs find (a group
// named STREAMS). COPY's rule refuses its DB option.
var rules = map[string]struct {
	fn       string
	replaces []int
}{
	"SORT":              {"SortRule", []int{1, 2}},
	"SORT_RO":           {"SortRule", []int{1}},
	"GEORADIUS":         {"GeoRadiusRule", []int{1, 2}},
	"GEORADIUSBYMEMBER": {"GeoRadiusRule", []int{1, 2}},
	"XREAD":             {"XreadRule", []int{0}},
	"XREADGROUP":        {"XreadRule", []int{0}},
	"COPY":              {"CopyRule", nil},
}

// replies name where a command's reply carries key or channel names (see
// keyspec.Reply). TestRepliesCarryNoPrefix (feature) sends every command
// through a part and fails on a reply with the prefix in it: a command
// missing here shows there.
var replies = map[string]string{
	"KEYS":                 "AllNames",
	"PUBSUB CHANNELS":      "AllNames",
	"PUBSUB SHARDCHANNELS": "AllNames",
	"SCAN":                 "ScanNames",
	"BLPOP":                "FirstName",
	"BRPOP":                "FirstName",
	"BLMPOP":               "FirstName",
	"LMPOP":                "FirstName",
	"BZPOPMIN":             "FirstName",
	"BZPOPMAX":             "FirstName",
	"BZMPOP":               "FirstName",
	"ZMPOP":                "FirstName",
	"XREAD":                "StreamNames",
	"XREADGROUP":           "StreamNames",
	"PUBSUB NUMSUB":        "PairNames",
	"PUBSUB SHARDNUMSUB":   "PairNames",
	"ROLE":                 "RoleOnly",
}
