package seam

import "context"

// Honest returns ctx with an Err that is not nil once its Done is closed,
// as the context package requires of every context. A context derived
// from one whose Err stays nil panics when its parent ends, in a
// goroutine of the context package where no caller can recover it: the
// registry and the parts derive from their callers' contexts through
// Honest.
func Honest(ctx context.Context) context.Context { return honest{ctx} }

type honest struct{ context.Context }

func (h honest) Err() error { return ContextErr(h.Context) }

// ContextErr is ctx.Err(), or context.Canceled when ctx's Done is closed
// and its Err still nil.
func ContextErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		return context.Canceled
	default:
		return nil
	}
}
