package rueidisx

import (
	"sync/atomic"
	"unsafe"

	"github.com/redis/rueidis"
)

// rueidis v1.0.80 retries a read whose connection broke on a new
// connection, and recycles the command when the retry succeeds. The
// broken connection's writer goroutine may still be reading it then: it
// goes on through the commands it took even after its connection closed.
// The caller builds its next command in the recycled memory, and the
// writer can read a torn argument: a data race, reported under load by
// -race in TestChaos, which could end the process. So a command rueidis
// retries is never recycled (MarkRetried, from the client's RetryDelay),
// and a batch, of which rueidis passes RetryDelay one command only, is
// held from rueidis's recycling and given back by the caller (HoldAll,
// RecycleAll) unless rueidis may have retried it.

// The values of a command's pin field (commandSlice.r): rueidis reads
// any value but 0 as pinned.
const (
	unpinned int32 = 0
	retried  int32 = 2 // MarkRetried
	held     int32 = 3 // Hold
)

// MarkRetried keeps cmd from being recycled, ever: rueidis is retrying it,
// and the connection it was first written to may still read it. A pinned
// command is left as it is: rueidis never recycles it, and its caller may
// be sending it from other goroutines, which read the field (writing it
// would race with them). Without the layout check (PinVerified false) it
// does nothing, and rueidis behaves as it does on its own.
func MarkRetried(cmd rueidis.Completed) {
	retries.Add(1)
	if !pinVerified {
		return
	}
	if cs := (*completed)(unsafe.Pointer(&cmd)).cs; cs != nil && (cs.r == unpinned || cs.r == held) {
		cs.r = retried
	}
}

// Hold keeps rueidis from recycling cmd when the call it is handed to
// returns, so that its caller decides, with Recycle. It holds only an
// unpinned command (a pinned one stays its caller's) and does nothing
// when the layout check failed (PinVerified false).
func Hold(cmd *rueidis.Completed) {
	if !pinVerified {
		return
	}
	if cs := (*completed)(unsafe.Pointer(cmd)).cs; cs != nil && cs.r == unpinned {
		cs.r = held
	}
}

// Recycle gives a held command back to rueidis's pool, as rueidis would
// have, when the server answered it (r is a reply, nil, or a Redis
// error): the writer wrote it before. It leaves any other command alone:
// one not held, retried (MarkRetried), or whose call failed, which the
// writer may still read and the garbage collector frees.
func Recycle(cmd rueidis.Completed, r *rueidis.RedisResult) {
	if !pinVerified {
		return
	}
	if cs := (*completed)(unsafe.Pointer(&cmd)).cs; cs != nil && cs.r == held && (Plain(r) || r.NonRedisError() == nil) {
		putCompletedForce(cmd)
	}
}

// putCompletedForce is rueidis's own recycling of a command, pinned or
// not (internal/cmds.PutCompletedForce), which resets the pin field.
// TestHoldAndRecycle fails if it stops putting commands back.
//
//go:linkname putCompletedForce github.com/redis/rueidis/internal/cmds.PutCompletedForce
func putCompletedForce(c rueidis.Completed)

// retries counts the calls of MarkRetried. rueidis passes RetryDelay one
// command of a batch it retries, and that one may be pinned, which
// MarkRetried cannot mark (TestAttackRetrySharedPinnedCommand once caught
// a batch recycled so). A batch whose call saw the count change may have
// been retried, and is not recycled: that costs allocations only while
// connections break.
var retries atomic.Uint64

// HoldAll holds each command of a batch (Hold), and returns what
// RecycleAll needs to tell whether the batch may have been retried.
func HoldAll(multi []rueidis.Completed) (since uint64) {
	since = retries.Load()
	for i := range multi {
		Hold(&multi[i])
	}
	return since
}

// RecycleAll ends HoldAll(multi), which returned since, once the batch's
// call answered rs: each held command goes back as Recycle says, unless
// rueidis may have retried the batch (it resends all of it).
func RecycleAll(multi []rueidis.Completed, rs []rueidis.RedisResult, since uint64) {
	if retries.Load() != since {
		return
	}
	for i := range multi {
		Recycle(multi[i], &rs[i])
	}
}

// HoldAllCacheable is HoldAll for DoMultiCache.
func HoldAllCacheable(multi []rueidis.CacheableTTL) (since uint64) {
	since = retries.Load()
	for i := range multi {
		Hold((*rueidis.Completed)(&multi[i].Cmd))
	}
	return since
}

// RecycleAllCacheable is RecycleAll for DoMultiCache.
func RecycleAllCacheable(multi []rueidis.CacheableTTL, rs []rueidis.RedisResult, since uint64) {
	if retries.Load() != since {
		return
	}
	for i := range multi {
		Recycle(rueidis.Completed(multi[i].Cmd), &rs[i])
	}
}
