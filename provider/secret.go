package provider

import "log/slog"

// redacted is what a Secret prints in place of its value.
const redacted = "[redacted]"

// Secret holds a credential. Every way of printing it (fmt verbs, %#v,
// slog, JSON, text encoding) shows "[redacted]"; Value returns the secret.
type Secret string

// Value returns the secret itself, for handing to the Redis client.
func (s Secret) Value() string { return string(s) }

// String returns "[redacted]", or "" when the secret is empty.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return `provider.Secret("` + s.String() + `")` }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps encoders (JSON, YAML, ...) from printing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
