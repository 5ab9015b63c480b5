package keyspec

// How the server reads an argument, byte for byte. A part must read every
// argument that decides where the keys are exactly as the server does, or
// a caller can write an argument the part reads as data and the server as
// a keyword ("STORE\x00" is STORE to the server), and a key goes out
// unprefixed. These functions are ports of the server's own code; every
// keyword, count and command name the key table and its rules read goes
// through them, and nothing else.
//
// - Keywords: strcasecmp (libc, in the "C" locale the server runs in):
//   ASCII letters fold, nothing else does ("ſ" is no "s"), and the
//   comparison stops at the first NUL byte ("streams\x00junk" is STREAMS).
// - Numbers: string2ll (util.c): an optional '-', then digits with no
//   leading zero ("0" alone excepted), nothing else (no '+', no space, no
//   exponent), shorter than 21 bytes, within int64.
// - Command and subcommand names: a dict of the server's commands, hashed
//   case-insensitively over the whole name but compared with strcasecmp.
//   A name holding a NUL byte can therefore land on a real command (some
//   "DBSIZE\x00..." run DBSIZE): such names are never sent (HasNUL).

import "strings"

// Upper returns s with its ASCII letters in upper case, and nothing else
// changed; s itself when it has no lower-case letter (no allocation).
func Upper(s string) string {
	i := 0
	for i < len(s) && (s[i] < 'a' || s[i] > 'z') {
		i++
	}
	if i == len(s) {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if 'a' <= b[i] && b[i] <= 'z' {
			b[i] -= 'a' - 'A'
		}
	}
	return string(b)
}

// lower is tolower in the "C" locale.
func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// CaseCompare is the server's strcasecmp(a, b): the two read as C strings
// (each ends at its first NUL byte, or at its end), compared byte by byte
// with ASCII letters folded. It returns <0, 0 or >0.
func CaseCompare(a, b string) int {
	for i := 0; ; i++ {
		var x, y byte
		if i < len(a) {
			x = lower(a[i])
		}
		if i < len(b) {
			y = lower(b[i])
		}
		if x != y {
			return int(x) - int(y)
		}
		if x == 0 {
			return 0
		}
	}
}

// Keyword reports whether the server takes arg as the option keyword kw
// (!strcasecmp(arg, kw)). kw is a keyword of the server's source: ASCII,
// no NUL.
func Keyword(arg, kw string) bool {
	if len(arg) < len(kw) {
		return false
	}
	for i := 0; i < len(kw); i++ {
		if lower(arg[i]) != lower(kw[i]) {
			return false
		}
	}
	return len(arg) == len(kw) || arg[len(kw)] == 0
}

// CString is arg as the server's C code reads it where it looks at the
// bytes without the length (strcmp, strchr): up to its first NUL byte.
func CString(arg string) string {
	if i := strings.IndexByte(arg, 0); i >= 0 {
		return arg[:i]
	}
	return arg
}

// HasNUL reports whether name holds a NUL byte. The server looks command
// names up in a way that lets such a name run a real command, so a part
// never sends a command or subcommand name with one.
func HasNUL(name string) bool { return strings.IndexByte(name, 0) >= 0 }

// longStrSize is the server's LONG_STR_SIZE: string2ll refuses anything
// this long or longer.
const longStrSize = 21

// ParseInt is the server's string2ll: ok is false for anything the server
// does not take as a 64-bit integer ("+1", "01", " 1", "1 ", "1e0", "",
// "-0", out of range).
func ParseInt(s string) (n int64, ok bool) {
	if len(s) == 0 || len(s) >= longStrSize {
		return 0, false
	}
	if s == "0" {
		return 0, true
	}
	i, negative := 0, false
	if s[0] == '-' {
		negative = true
		i++
		if i == len(s) {
			return 0, false
		}
	}
	if s[i] < '1' || s[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < len(s); i++ {
		d := s[i]
		if d < '0' || d > '9' {
			return 0, false
		}
		if v > (^uint64(0))/10 {
			return 0, false
		}
		v *= 10
		if v > ^uint64(0)-uint64(d-'0') {
			return 0, false
		}
		v += uint64(d - '0')
	}
	if negative {
		if v > 1<<63 {
			return 0, false
		}
		return int64(-v), true //nolint:gosec // v <= 1<<63: -v is within int64 (the minimum included)
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}
