package rueidisx

import (
	"errors"
	"reflect"
	"strings"
	"unsafe"

	"github.com/redis/rueidis"
)

// message mirrors rueidis.RedisMessage (rueidis v1.0.80, message.go, as
// in v1.0.79): a string's bytes, or an array's elements (a map's keys and values, in
// turn), with their count in intlen; typ is the RESP type byte.
type message struct {
	attrs  *rueidis.RedisMessage
	bytes  *byte
	array  *rueidis.RedisMessage
	intlen int64
	typ    byte
	ttl    [7]byte
}

// The RESP types the mirror reads.
const (
	typeBlobString   = '$'
	typeSimpleString = '+'
	typeSimpleErr    = '-'
	typeBlobErr      = '!'
	typeArray        = '*'
	typeSet          = '~'
	typePush         = '>'
	typeMap          = '%'
	typeNull         = '_'
)

// messageVerified is computed once, at package initialisation.
var messageVerified = verifyMessage()

// MessageVerified reports whether rueidis's RedisMessage has the layout and
// the meaning the mirror expects; the functions below change nothing when
// it is false.
func MessageVerified() bool { return messageVerified }

func view(m *rueidis.RedisMessage) *message { return (*message)(unsafe.Pointer(m)) }

// result mirrors rueidis.RedisResult: an error of the client's own (a
// network error, say), or the reply.
type result struct {
	err error
	val message
}

// resultVerified is computed once, at package initialisation.
var resultVerified = messageVerified && verifyResult()

// ResultVerified reports whether rueidis's RedisResult has the layout and
// meaning Plain expects; without it Plain asks rueidis (slower, the same
// answer).
func ResultVerified() bool { return resultVerified }

// Plain reports whether r.Error() is nil: r is a reply, neither an error
// nor nil. It reads the type byte where rueidis's Error copies r and makes
// a call, which cost a part's cache hit about 4 % of its time
// (BenchmarkCacheHitPaired).
func Plain(r *rueidis.RedisResult) bool {
	if v := (*result)(unsafe.Pointer(r)); resultVerified {
		return v.err == nil && !notPlain[v.val.typ]
	}
	return plainAsked(r)
}

// notPlain holds the types rueidis's Error answers for: nil and errors.
var notPlain = [256]bool{typeNull: true, typeSimpleErr: true, typeBlobErr: true}

// plainAsked is Plain without the mirror; apart, so that Plain inlines.
//
//go:noinline
func plainAsked(r *rueidis.RedisResult) bool { return r.Error() == nil }

// verifyResult checks the layout of RedisResult and that Plain agrees with
// rueidis's Error for every type byte and for a client error.
func verifyResult() bool {
	if !sameLayout(reflect.TypeFor[rueidis.RedisResult](), reflect.TypeFor[result]()) {
		return false
	}
	for typ := range 256 {
		m := message{typ: byte(typ), bytes: unsafe.StringData("x"), intlen: 1}
		r := rueidis.NewResult(*(*rueidis.RedisMessage)(unsafe.Pointer(&m)), nil)
		v := (*result)(unsafe.Pointer(&r))
		plain := v.err == nil && !notPlain[v.val.typ]
		if plain != (r.Error() == nil) {
			return false
		}
	}
	r := rueidis.NewErrorResult(errors.New("x"))
	return (*result)(unsafe.Pointer(&r)).err != nil
}

// TrimPrefix takes prefix off m when m is a string that starts with it,
// and reports whether it did. The string is not copied: m then views the
// rest of the same bytes.
func TrimPrefix(m *rueidis.RedisMessage, prefix string) bool {
	v := view(m)
	if !messageVerified || (v.typ != typeBlobString && v.typ != typeSimpleString) || v.bytes == nil {
		return false
	}
	s := unsafe.String(v.bytes, v.intlen)
	if len(s) < len(prefix) || s[:len(prefix)] != prefix {
		return false
	}
	rest := s[len(prefix):]
	v.bytes, v.intlen = unsafe.StringData(rest), int64(len(rest))
	if len(rest) == 0 {
		v.bytes = unsafe.StringData(s) // a nil bytes reads as no string at all
	}
	return true
}

// Elements returns the elements of an array, set or push message, or the
// keys and values (in turn) of a map, in place: changing one changes m.
// nil for anything else.
func Elements(m *rueidis.RedisMessage) []rueidis.RedisMessage {
	v := view(m)
	if !messageVerified || v.array == nil {
		return nil
	}
	switch v.typ {
	case typeArray, typeSet, typePush, typeMap:
		return unsafe.Slice(v.array, v.intlen)
	}
	return nil
}

// Truncate keeps the first n elements of an array message, in place, and
// reports whether it did.
func Truncate(m *rueidis.RedisMessage, n int) bool {
	v := view(m)
	if !messageVerified || v.typ != typeArray || int64(n) > v.intlen || n < 0 {
		return false
	}
	v.intlen = int64(n)
	return true
}

// IsMap reports whether m is a RESP3 map (its Elements are keys and
// values in turn).
func IsMap(m *rueidis.RedisMessage) bool { return messageVerified && view(m).typ == typeMap }

// Clone returns a copy of m whose arrays are its own, so that changing an
// element of the copy leaves m, which may be shared (a client-side cache
// entry), as it was. Strings are shared: nothing changes their bytes.
func Clone(m rueidis.RedisMessage) rueidis.RedisMessage {
	elems := Elements(&m)
	if elems == nil {
		return m
	}
	cp := make([]rueidis.RedisMessage, len(elems))
	for i := range elems {
		cp[i] = Clone(elems[i])
	}
	view(&m).array = unsafe.SliceData(cp)
	return m
}

// ReplaceInError replaces every old in the text of an error message m
// with new, and reports whether it did (a server error that quotes a key
// name, such as NOGROUP's).
func ReplaceInError(m *rueidis.RedisMessage, old, new string) bool {
	v := view(m)
	if !messageVerified || (v.typ != typeSimpleErr && v.typ != typeBlobErr) || v.bytes == nil {
		return false
	}
	s := unsafe.String(v.bytes, v.intlen)
	if !strings.Contains(s, old) {
		return false
	}
	s = strings.ReplaceAll(s, old, new)
	v.bytes, v.intlen = unsafe.StringData(s), int64(len(s))
	return true
}

func verifyMessage() bool {
	if !sameLayout(reflect.TypeFor[rueidis.RedisMessage](), reflect.TypeFor[message]()) {
		return false
	}
	// The meaning behind the layout: messages made through the mirror
	// read back through rueidis's own accessors as what they were made.
	str := func(typ byte, s string) rueidis.RedisMessage {
		m := message{typ: typ, bytes: unsafe.StringData(s), intlen: int64(len(s))}
		return *(*rueidis.RedisMessage)(unsafe.Pointer(&m))
	}
	list := func(typ byte, elems ...rueidis.RedisMessage) rueidis.RedisMessage {
		m := message{typ: typ, array: unsafe.SliceData(elems), intlen: int64(len(elems))}
		return *(*rueidis.RedisMessage)(unsafe.Pointer(&m))
	}
	blob := str(typeBlobString, "abc")
	if s, err := blob.ToString(); err != nil || s != "abc" || !blob.IsString() {
		return false
	}
	arr := list(typeArray, str(typeBlobString, "k1"), str(typeSimpleString, "k2"))
	if s, err := arr.AsStrSlice(); err != nil || len(s) != 2 || s[0] != "k1" || s[1] != "k2" || !arr.IsArray() {
		return false
	}
	kv := list(typeMap, str(typeBlobString, "k"), str(typeBlobString, "v"))
	if mm, err := kv.AsStrMap(); err != nil || len(mm) != 1 || mm["k"] != "v" || !kv.IsMap() {
		return false
	}
	e := str(typeSimpleErr, "NOGROUP x")
	if err := e.Error(); err == nil || err.Error() != "NOGROUP x" {
		return false
	}
	return true
}
