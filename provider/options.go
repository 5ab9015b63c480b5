package provider

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/redis/rueidis"
)

// Options are the settings of one Redis connection. The env tags name the
// variable (after the REDIS_ or REDIS_<PART>_ prefix) that sets each field;
// REDIS_URL, REDIS_URL_FILE, REDIS_USERNAME_FILE and REDIS_PASSWORD_FILE are
// read by the loader and land in these fields too.
//
// Options print redacted (String, GoString, LogValue), so logging a value
// never shows the password.
type Options struct {
	Host string `env:"HOST"`
	Port int    `env:"PORT"`
	// UnixSocket, when set (from a unix:// URL), replaces Host and Port.
	UnixSocket string
	DB         int    `env:"DB"`
	Username   string `env:"USERNAME"`
	Password   Secret `env:"PASSWORD"`
	TLS        bool   `env:"TLS"`
	ClientName string `env:"CLIENT_NAME"`
	// DialTimeout bounds each TCP connect.
	DialTimeout time.Duration `env:"DIAL_TIMEOUT"`
	// PingTimeout bounds the start-up check: dial, handshake and PING.
	PingTimeout time.Duration `env:"PING_TIMEOUT"`
	// DisableCache turns off server-assisted client-side caching
	// (needed for servers without CLIENT TRACKING).
	DisableCache bool `env:"DISABLE_CACHE"`
	// Protocol is the RESP version: 3 (default) or 2.
	Protocol int `env:"PROTOCOL"`
	// ForceSingleClient skips rueidis's cluster detection.
	ForceSingleClient bool `env:"FORCE_SINGLE_CLIENT"`
	// LearnCommands lets a part ask the server (COMMAND INFO) where the
	// keys are of commands missing from its key table, instead of refusing
	// them. It does not change the connection, so it is not identity.
	LearnCommands bool `env:"LEARN_COMMANDS"`

	feature string
	// environ holds the variables the value was loaded from, so that
	// ForFeature and WithURLVar can read a part's variables later.
	environ map[string]string
}

// Defaults returns the settings used for every variable that is not set.
func Defaults() Options {
	return Options{
		Host:        "localhost",
		Port:        6379,
		DialTimeout: 5 * time.Second,
		PingTimeout: 5 * time.Second,
		Protocol:    3,
	}
}

// Feature returns the part name given to ForFeature, or "".
func (o Options) Feature() string { return o.feature }

// Addr is the server address without credentials: "host:port" or
// "unix:/path". It is safe to log.
func (o Options) Addr() string {
	if o.UnixSocket != "" {
		return "unix:" + o.UnixSocket
	}
	return net.JoinHostPort(o.Host, strconv.Itoa(o.Port))
}

// String describes the settings with the password redacted.
func (o Options) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "addr=%s db=%d", o.Addr(), o.DB)
	if o.Username != "" {
		fmt.Fprintf(&b, " user=%s", o.Username)
	}
	if o.Password != "" {
		b.WriteString(" password=" + redacted)
	}
	fmt.Fprintf(&b, " tls=%t resp=%d", o.TLS, o.Protocol)
	if o.ClientName != "" {
		fmt.Fprintf(&b, " client_name=%s", o.ClientName)
	}
	if o.DisableCache {
		b.WriteString(" client_cache=off")
	}
	if o.ForceSingleClient {
		b.WriteString(" single_client=true")
	}
	if o.LearnCommands {
		b.WriteString(" learn_commands=true")
	}
	fmt.Fprintf(&b, " dial_timeout=%s ping_timeout=%s", o.DialTimeout, o.PingTimeout)
	if o.feature != "" {
		fmt.Fprintf(&b, " feature=%s", o.feature)
	}
	return b.String()
}

// GoString keeps %#v redacted.
func (o Options) GoString() string { return "provider.Options{" + o.String() + "}" }

// LogValue keeps slog redacted.
func (o Options) LogValue() slog.Value { return slog.StringValue(o.String()) }

// fingerprintKey keys the fingerprint hash. It is drawn once per process so
// that a fingerprint, which may be logged, reveals nothing about the password
// it covers; fingerprints are only compared within one process.
var fingerprintKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails on supported platforms.
	return k
}()

// Fingerprint identifies the connection these settings open: every field
// that changes the rueidis.ClientOption is part of it; the feature name,
// PingTimeout and LearnCommands are not. It is a keyed hash, stable within
// one process.
func (o Options) Fingerprint() string {
	h := hmac.New(sha256.New, fingerprintKey)
	// Length-prefixed fields: no value can be confused with a separator.
	for _, f := range []string{
		o.Host, strconv.Itoa(o.Port), o.UnixSocket, strconv.Itoa(o.DB),
		o.Username, o.Password.Value(), strconv.FormatBool(o.TLS), o.ClientName,
		o.DialTimeout.String(), strconv.FormatBool(o.DisableCache),
		strconv.Itoa(o.Protocol), strconv.FormatBool(o.ForceSingleClient),
	} {
		fmt.Fprintf(h, "%d:%s;", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// ClientOption converts the settings for rueidis.NewClient. It fails when a
// field holds an invalid value (after code overrides, say), naming the field.
func (o Options) ClientOption() (rueidis.ClientOption, error) {
	if err := o.validate(fieldNames); err != nil {
		return rueidis.ClientOption{}, err
	}
	co := rueidis.ClientOption{
		InitAddress:       []string{net.JoinHostPort(o.Host, strconv.Itoa(o.Port))},
		Username:          o.Username,
		Password:          o.Password.Value(),
		SelectDB:          o.DB,
		ClientName:        o.ClientName,
		Dialer:            net.Dialer{Timeout: o.DialTimeout},
		DisableCache:      o.DisableCache,
		AlwaysRESP2:       o.Protocol == 2,
		ForceSingleClient: o.ForceSingleClient,
	}
	if o.UnixSocket != "" {
		co.InitAddress = []string{o.UnixSocket}
		co.DialCtxFn = dialUnix
	}
	if o.TLS {
		co.TLSConfig = &tls.Config{ServerName: o.Host, MinVersion: tls.VersionTLS12}
	}
	return co, nil
}

func dialUnix(ctx context.Context, path string, d *net.Dialer, _ *tls.Config) (net.Conn, error) {
	return d.DialContext(ctx, "unix", path)
}

// problem is one invalid field, named by its env suffix ("PORT").
type problem struct{ suffix, value, reason string }

// validate checks the fields; name turns an env suffix into what the user
// should fix (a variable, or an Options field).
func (o Options) validate(name func(suffix string) string) error {
	var ps []problem
	if o.UnixSocket == "" {
		if o.Host == "" {
			ps = append(ps, problem{"HOST", "", "must not be empty"})
		}
		if o.Port < 1 || o.Port > 65535 {
			ps = append(ps, problem{"PORT", strconv.Itoa(o.Port), "must be a port number from 1 to 65535"})
		}
	}
	if o.DB < 0 {
		ps = append(ps, problem{"DB", strconv.Itoa(o.DB), "must be 0 or more"})
	}
	if o.DialTimeout <= 0 {
		ps = append(ps, problem{"DIAL_TIMEOUT", o.DialTimeout.String(), "must be more than 0"})
	}
	if o.PingTimeout <= 0 {
		ps = append(ps, problem{"PING_TIMEOUT", o.PingTimeout.String(), "must be more than 0"})
	}
	if o.Protocol != 2 && o.Protocol != 3 {
		ps = append(ps, problem{"PROTOCOL", strconv.Itoa(o.Protocol), "must be 2 or 3"})
	}
	if len(ps) == 0 {
		return nil
	}
	errs := make([]error, len(ps))
	for i, p := range ps {
		errs[i] = &ConfigError{Var: name(p.suffix), Value: p.value, Reason: p.reason}
	}
	return joinErrors(errs)
}

// fieldNames names Options fields, for values that may come from code.
func fieldNames(suffix string) string {
	t := reflect.TypeFor[Options]()
	for i := range t.NumField() {
		if f := t.Field(i); f.Tag.Get("env") == suffix {
			return "Options." + f.Name
		}
	}
	return "Options." + suffix
}

func joinErrors(errs []error) error {
	if len(errs) == 1 {
		return errs[0]
	}
	return errors.Join(errs...)
}
