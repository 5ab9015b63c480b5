package keyspec

// Redis folds the case of command names and keywords in ASCII only
// (strcasecmp): "DIſCARD" is no DISCARD to it, whereas Go's Unicode case
// folding makes it one. A part must read a command as the server does, or
// the two disagree on what was sent (a transaction the part thinks closed
// stays open on the server).

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

// EqualFold reports whether a and b are equal with ASCII letters folded,
// as the server compares keywords.
func EqualFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'a' <= x && x <= 'z' {
			x -= 'a' - 'A'
		}
		if 'a' <= y && y <= 'z' {
			y -= 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}
