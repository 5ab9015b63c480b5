package keyspec

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// The server's own answers for these are checked against a live server
// in feature's TestServerReadsArgumentsAsThePartDoes; here, the cases of
// issue 21 and a second, independent reading of the same rules for the
// fuzzers.

func TestKeyword(t *testing.T) {
	for _, c := range []struct {
		arg, kw string
		want    bool
	}{
		{"STORE", "STORE", true},
		{"store", "STORE", true},
		{"StOrE", "store", true},
		{"STORE\x00", "STORE", true},
		{"streams\x00junk", "STREAMS", true},
		{"STORE\x00\x00STORE", "STORE", true},
		{"\x00STORE", "STORE", false},
		{"STOR", "STORE", false},
		{"STOREX", "STORE", false},
		{"STORE ", "STORE", false},
		{" STORE", "STORE", false},
		{"ſtreams", "STREAMS", false}, // U+017F folds to s in Go, not in C
		{"\u212aEYS", "KEYS", false},  // Kelvin sign
		{"\xd3TORE", "STORE", false},  // 'S' with the high bit
		{"\x13TORE", "STORE", false},  // 'S' ^ 0x40
		{"STOR\x00E", "STORE", false}, // the server reads "STOR"
		{"", "STORE", false},
	} {
		if got := Keyword(c.arg, c.kw); got != c.want {
			t.Errorf("Keyword(%q, %q) = %t, want %t", c.arg, c.kw, got, c.want)
		}
		if got := CaseCompare(c.arg, c.kw) == 0; got != c.want {
			t.Errorf("CaseCompare(%q, %q) == 0 is %t, want %t", c.arg, c.kw, got, c.want)
		}
	}
}

func TestParseInt(t *testing.T) {
	for _, c := range []struct {
		s  string
		n  int64
		ok bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"-1", -1, true}, {"12", 12, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true},
		{"+1", 0, false}, {"01", 0, false}, {"00", 0, false}, {"-0", 0, false},
		{" 1", 0, false}, {"1 ", 0, false}, {"1\x00", 0, false}, {"1e0", 0, false},
		{"1.0", 0, false}, {"0x1", 0, false}, {"", 0, false}, {"-", 0, false},
		{"٣", 0, false}, {"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"18446744073709551617", 0, false}, {"000000000000000000001", 0, false},
	} {
		n, ok := ParseInt(c.s)
		if ok != c.ok || ok && n != c.n {
			t.Errorf("ParseInt(%q) = %d, %t; want %d, %t", c.s, n, ok, c.n, c.ok)
		}
	}
}

// string2llForm is string2ll's grammar written another way.
var string2llForm = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)

func FuzzParseInt(f *testing.F) {
	for _, s := range []string{"0", "-1", "+1", "01", " 1", "1e0", "9223372036854775808", "-9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, ok := ParseInt(s)
		want, err := strconv.ParseInt(s, 10, 64)
		wantOK := err == nil && string2llForm.MatchString(s) && len(s) < 21
		if ok != wantOK || ok && n != want {
			t.Fatalf("ParseInt(%q) = %d, %t; the grammar says %d, %t", s, n, ok, want, wantOK)
		}
	})
}

func FuzzKeyword(f *testing.F) {
	f.Add("STORE\x00x", "STORE")
	f.Add("ſtore", "STORE")
	f.Fuzz(func(t *testing.T, arg, kw string) {
		if strings.IndexByte(kw, 0) >= 0 {
			return // keywords of the server's source have none
		}
		head, _, _ := strings.Cut(arg, "\x00")
		ascii := func(s string) string { // ASCII letters folded, bytes kept
			b := []byte(s)
			for i, c := range b {
				if 'A' <= c && c <= 'Z' {
					b[i] = c + 'a' - 'A'
				}
			}
			return string(b)
		}
		want := ascii(head) == ascii(kw)
		if got := Keyword(arg, kw); got != want {
			t.Fatalf("Keyword(%q, %q) = %t, want %t", arg, kw, got, want)
		}
		if got := CaseCompare(arg, kw) == 0; got != want {
			t.Fatalf("CaseCompare(%q, %q) == 0 is %t, want %t", arg, kw, got, want)
		}
	})
}
