package rueidisx

import (
	"reflect"
	"unsafe"

	"github.com/redis/rueidis"
)

// completed and commandSlice mirror rueidis's internal/cmds.Completed and
// CommandSlice (rueidis v1.0.80, as v1.0.79); verify checks the mirror against the
// real types before any read goes through it.
type completed struct {
	cs *commandSlice
	cf uint16
	ks uint16
}

type commandSlice struct {
	s []string
	l int32 // the length when built
	r int32 // 1 once pinned
}

// pinVerified is computed once, at package initialisation, and never
// changes.
var pinVerified = verifyPin()

// PinVerified reports whether the layout check passed, i.e. whether
// Unpinned can ever answer true.
func PinVerified() bool { return pinVerified }

// Unpinned reports whether cmd is known not to be pinned: rueidis will
// recycle it after sending it, so nobody else reads its arguments. A
// caller of Do hands such a command over for good, and a namespaced client
// may prefix its keys in place instead of copying the whole command. A
// pinned command (Completed.Pin, used by rueidis's helpers and by callers
// who send one command many times) stays its caller's.
func Unpinned(cmd *rueidis.Completed) bool {
	if !pinVerified {
		return false
	}
	cs := (*completed)(unsafe.Pointer(cmd)).cs
	return cs != nil && cs.r == 0
}

func verifyPin() bool {
	return sameLayout(reflect.TypeFor[rueidis.Completed](), reflect.TypeFor[completed]()) &&
		reflect.TypeFor[rueidis.Cacheable]().ConvertibleTo(reflect.TypeFor[rueidis.Completed]()) &&
		pinIsTheField()
}

// sameLayout compares the field names, types, offsets and sizes of real
// and mirror, following pointers to structs.
func sameLayout(real, mirror reflect.Type) bool {
	if real == mirror {
		return true // a field that points back at the real type itself
	}
	if real.Kind() != mirror.Kind() || real.Size() != mirror.Size() {
		return false
	}
	switch real.Kind() {
	case reflect.Pointer:
		return sameLayout(real.Elem(), mirror.Elem())
	case reflect.Slice:
		return real.Elem() == mirror.Elem()
	case reflect.Struct:
		if real.NumField() != mirror.NumField() {
			return false
		}
		for i := range real.NumField() {
			rf, mf := real.Field(i), mirror.Field(i)
			if rf.Name != mf.Name || rf.Offset != mf.Offset || !sameLayout(rf.Type, mf.Type) {
				return false
			}
		}
		return true
	default:
		return real == mirror
	}
}

// pinIsTheField checks the behaviour behind the layout: a fresh command
// reads as unpinned, its arguments are the slice the mirror sees, with the
// built length next to it, and Pin flips the field Unpinned reads.
func pinIsTheField() bool {
	cmd := rueidis.Builder{}.Ping().Build()
	view := (*completed)(unsafe.Pointer(&cmd))
	args := cmd.Commands()
	if view.cs == nil || len(view.cs.s) != 1 || &view.cs.s[0] != &args[0] || view.cs.l != 1 || view.cs.r != 0 {
		return false
	}
	_ = cmd.Pin()
	return view.cs.r == 1
}
