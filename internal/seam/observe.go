package seam

import (
	"context"
	"time"
)

// Hooks make the observers of the parts opened from one registry.
type Hooks interface {
	// Part returns the observer of the part named part, which sends on
	// the connection conn describes; nil: the part is not observed.
	Part(part string, conn Conn) Part
}

// Conn describes the connection a part sends on, as its logs do: no
// credentials.
type Conn struct {
	// Addr is provider.Options.Addr: host:port, unix:path, the cluster
	// seeds or sentinel:master@... .
	Addr string
	DB   int
}

// Part observes the operations of one part: a command, or a batch of
// commands sent together.
type Part interface {
	// Begin starts an operation and returns the context to send it with.
	// name is the command's name as the key table spells it (GET, CLIENT
	// SETNAME); batch is 0 for one command, else the number of commands
	// of a batch, and name is then their common name, or "" when they
	// differ.
	Begin(ctx context.Context, name string, batch int) (context.Context, Op)
	// End ends the operation Begin started, with ctx as Begin returned it.
	End(ctx context.Context, op Op, out Outcome)
}

// Op is an operation under way: what Begin returns, given back to End.
type Op struct {
	Start time.Time
	// Name and Batch are as given to Begin.
	Name  string
	Batch int
	// Span and Kind are the implementation's: the span, and what Begin
	// looked up for End.
	Span, Kind any
}

// Outcome is how an operation ended.
type Outcome struct {
	// Err is the error of the command, or the first error of a batch;
	// nil when all succeeded (a nil reply is a success).
	Err error
	// Failed counts the commands that failed.
	Failed int
	// Cached is true for reads through the client-side cache (DoCache,
	// DoMultiCache); CacheHits counts those the cache answered.
	Cached    bool
	CacheHits int
}
