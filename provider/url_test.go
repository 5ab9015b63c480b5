package provider

import (
	"errors"
	"strings"
	"testing"
)

// TestURLPasswordNotEncoded: a URL whose password has a reserved
// character that is not percent-encoded either parses to that very
// password (: and @ are unambiguous) or fails with an error that says to
// percent-encode it and repeats no piece of it. It never parses into
// something else (a host "admin", no password).
func TestURLPasswordNotEncoded(t *testing.T) {
	for _, tc := range []struct {
		url, password string // password "": must fail
	}{
		{"redis://admin:2024/Summer-Secret@db.internal:6379/0", ""},
		{"redis://admin:2024?Summer-Secret@db.internal:6379", ""},
		{"redis://admin:2024#Summer-Secret@db.internal:6379", ""},
		{"redis://admin:pa?ss@db.internal:6379", ""},
		{"redis://:Winter#2025@db.internal", ""},
		{"rediss://app:Zebra/Quill@db.internal:6380/2", ""},
		{"redis://app:Zebra Quill@db.internal", ""},
		{"redis://app:Zebra%Quill@db.internal", ""},
		{"redis://app:Zebra@Quill@db.internal:6379/1", "Zebra@Quill"},
		{"redis://app:Zebra:Quill@db.internal", "Zebra:Quill"},
		{"redis://app:Zebra%2FQuill@db.internal", "Zebra/Quill"},
	} {
		o, err := LoadFrom([]string{"REDIS_URL=" + tc.url})
		if tc.password != "" {
			if err != nil || o.Password.Value() != tc.password || o.Host != "db.internal" {
				t.Errorf("%s: %v, password %v host %q; want the password %q", tc.url, err, o.Password.Value() == tc.password, o.Host, tc.password)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: parsed as %s", tc.url, o)
			continue
		}
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != "REDIS_URL" || !strings.Contains(err.Error(), "percent-encode") {
			t.Errorf("%s: %v, want an error naming REDIS_URL that says to percent-encode", tc.url, err)
		}
		for _, piece := range []string{"Summer", "Secret", "2024", "Winter", "2025", "Zebra", "Quill", "pa?ss", "admin"} {
			if strings.Contains(tc.url, piece) && strings.Contains(err.Error(), piece) {
				t.Errorf("%s: error %q repeats %q", tc.url, err, piece)
			}
		}
	}
}

// TestURLErrorsSayWhatIsWrong: the percent-encoding hint is for the
// credentials only; a bad port says it is the port.
func TestURLErrorsSayWhatIsWrong(t *testing.T) {
	for _, tc := range []struct{ url, want, not string }{
		{"redis://h:abc", "invalid port", "percent-encode"},
		{"redis://u:pw@h:abc/0", "invalid port", "percent-encode"},
		{"redis://u:pw@h:99999", "invalid port", "percent-encode"},
		{"redis://h/x", "invalid database", `"x"`},
		{"redis://h#frag", "fragment", "frag\""},
		{"unix:///run/redis.sock?db=2#x", "fragment", ""},
		{"h:6379", "no scheme", "6379"},
	} {
		_, err := LoadFrom([]string{"REDIS_URL=" + tc.url})
		if err == nil || !strings.Contains(err.Error(), tc.want) || tc.not != "" && strings.Contains(err.Error(), tc.not) {
			t.Errorf("%s: %v, want %q and not %q", tc.url, err, tc.want, tc.not)
		}
	}
}
