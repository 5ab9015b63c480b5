package feature

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"github.com/wireredis/wireredis/internal/seam"
)

// A cached read under its caller's deadline hands rueidis a view of the
// caller's context without its deadline (withoutDeadline). Made afresh,
// that view is 16 bytes on the heap: a cache hit under a deadline spent
// about a fifth of its time allocating it and collecting it again
// (BenchmarkCacheHitPaired, deadline-part/raw 0.59 against 0.72 with a
// recycled view). So DoCache recycles its views, where it can tell that
// nothing keeps the view once the call has returned.
//
// That holds for rueidis's own clients and the registry's connections
// over them: rueidis v1.0.80 uses a cached read's context only within the
// call (every goroutine it starts for one is waited for). A client of the
// caller's own may keep it, and a recycled view would then show one
// caller's context to another: such a client gets a view of its own.
// TestViewsAreNotUsedAfterTheirCall fails when rueidis starts keeping it.

// views holds the views between calls.
var views = sync.Pool{New: func() any { return new(withoutDeadline) }}

// lendView returns a view of ctx for one call.
func lendView(ctx context.Context) *withoutDeadline {
	v := views.Get().(*withoutDeadline)
	v.Context = ctx
	return v
}

// giveBack ends the loan of v: it holds an ended context until its next
// loan, so that the caller's context is not kept, and a late use (which
// rueidis must not make) sees its call as over. keep leaves v out of the
// pool, for the test that looks for late uses.
func giveBack(v *withoutDeadline, keep bool) {
	v.Context = returned{}
	if !keep {
		views.Put(v)
	}
}

// lendsViews reports whether DoCache may recycle the views it hands
// shared: the registry's connections (seam.Deferred, and the counted
// clients of their nodes) and rueidis's own clients.
func lendsViews(shared rueidis.Client) bool {
	if _, ok := shared.(seam.Deferred); ok {
		return true
	}
	t := reflect.TypeOf(shared)
	if t == nil || t.Kind() != reflect.Pointer {
		return false
	}
	switch t.Elem().PkgPath() {
	case "github.com/redis/rueidis", "github.com/wireredis/wireredis/internal/counted":
		return true
	}
	return false
}

// lateUses counts the uses of a view after its call returned.
var lateUses atomic.Int64

// returned is the context a view holds between its loans: done, and
// counting each use.
type returned struct{}

func (returned) Deadline() (time.Time, bool) { lateUses.Add(1); return time.Time{}, false }
func (returned) Done() <-chan struct{}       { lateUses.Add(1); return closedDone }
func (returned) Err() error                  { lateUses.Add(1); return context.Canceled }
func (returned) Value(any) any               { lateUses.Add(1); return nil }

var closedDone = func() chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}()
