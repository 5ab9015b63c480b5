package provider

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
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
	// Addrs, when set, replaces Host and Port with several addresses:
	// cluster seeds (rueidis discovers the rest), or the sentinels when
	// SentinelMaster is set.
	Addrs []string `env:"ADDRS"`
	// SentinelMaster names the primary that the sentinels at Addrs watch.
	SentinelMaster   string `env:"SENTINEL_MASTER"`
	SentinelUsername string `env:"SENTINEL_USERNAME"`
	SentinelPassword Secret `env:"SENTINEL_PASSWORD"`
	// ReadFromReplicas sends read-only commands to replicas.
	ReadFromReplicas bool   `env:"READ_FROM_REPLICAS"`
	DB               int    `env:"DB"`
	Username         string `env:"USERNAME"`
	Password         Secret `env:"PASSWORD"`
	TLS              bool   `env:"TLS"`
	// TLSCAFile, TLSCertFile and TLSKeyFile name PEM files: the CAs to
	// trust (default: the system's), and a client certificate for mutual
	// TLS. TLSServerName overrides the name checked in the server's
	// certificate (default: the host). Setting any of them turns TLS on.
	TLSCAFile     string `env:"TLS_CA_FILE"`
	TLSCertFile   string `env:"TLS_CERT_FILE"`
	TLSKeyFile    string `env:"TLS_KEY_FILE"`
	TLSServerName string `env:"TLS_SERVER_NAME"`
	ClientName    string `env:"CLIENT_NAME"`
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
	// Startup is the part's start-up policy: fail-fast (dial and PING
	// before the provider returns), lazy (dial on the first command) or
	// background (start without Redis; commands fail with ErrNotReady
	// until a background dial succeeds). Not identity: parts with other
	// policies still share a connection.
	Startup Startup `env:"STARTUP"`
	// ShutdownTimeout bounds how long the last release waits for the
	// commands in flight before it closes the connection. Not identity.
	ShutdownTimeout time.Duration `env:"SHUTDOWN_TIMEOUT"`
	// Batch is how the shared connection sends the parts' single commands:
	// adaptive (default) joins the Do calls that meet while others are in
	// flight into one pipeline; off sends each as rueidis does.
	Batch Batch `env:"BATCH"`
	// MaxFlushDelay is rueidis's ClientOption.MaxFlushDelay: how long its
	// writer may pause after a flush to collect more commands (0: none).
	MaxFlushDelay time.Duration `env:"MAX_FLUSH_DELAY"`
	// PipelineMultiplex is rueidis's ClientOption.PipelineMultiplex: 2^n
	// pipelined connections to each node; 0 is rueidis's default, -1 one.
	PipelineMultiplex int `env:"PIPELINE_MULTIPLEX"`

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
		Startup:     StartupFailFast,

		ShutdownTimeout: 10 * time.Second,
		Batch:           BatchAdaptive,
	}
}

// Batch is a batching policy; see Options.Batch.
type Batch string

// The batching policies.
const (
	BatchAdaptive Batch = "adaptive"
	BatchOff      Batch = "off"
)

// Startup is a start-up policy; see Options.Startup.
type Startup string

// The start-up policies.
const (
	StartupFailFast   Startup = "fail-fast"
	StartupLazy       Startup = "lazy"
	StartupBackground Startup = "background"
)

// Feature returns the part name given to ForFeature, or "".
func (o Options) Feature() string { return o.feature }

// Addr is the server address without credentials: "host:port" or
// "unix:/path". It is safe to log.
func (o Options) Addr() string {
	switch {
	case o.UnixSocket != "":
		return "unix:" + o.UnixSocket
	case o.SentinelMaster != "":
		return "sentinel:" + o.SentinelMaster + "@" + strings.Join(o.Addrs, ",")
	case len(o.Addrs) > 0:
		return strings.Join(o.Addrs, ",")
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
	fmt.Fprintf(&b, " tls=%t", o.TLS)
	for _, f := range [][2]string{{"tls_ca", o.TLSCAFile}, {"tls_cert", o.TLSCertFile}, {"tls_key", o.TLSKeyFile}, {"tls_server_name", o.TLSServerName}} {
		if f[1] != "" {
			fmt.Fprintf(&b, " %s=%s", f[0], f[1])
		}
	}
	fmt.Fprintf(&b, " resp=%d", o.Protocol)
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
	if o.SentinelUsername != "" {
		fmt.Fprintf(&b, " sentinel_user=%s", o.SentinelUsername)
	}
	if o.SentinelPassword != "" {
		b.WriteString(" sentinel_password=" + redacted)
	}
	if o.ReadFromReplicas {
		b.WriteString(" read_from_replicas=true")
	}
	fmt.Fprintf(&b, " dial_timeout=%s ping_timeout=%s", o.DialTimeout, o.PingTimeout)
	if o.Startup != StartupFailFast && o.Startup != "" {
		fmt.Fprintf(&b, " startup=%s", o.Startup)
	}
	if o.Batch != BatchAdaptive {
		fmt.Fprintf(&b, " batch=%s", o.Batch)
	}
	if o.MaxFlushDelay != 0 {
		fmt.Fprintf(&b, " max_flush_delay=%s", o.MaxFlushDelay)
	}
	if o.PipelineMultiplex != 0 {
		fmt.Fprintf(&b, " pipeline_multiplex=%d", o.PipelineMultiplex)
	}
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
// that changes the rueidis.ClientOption is part of it, and Batch, which
// changes how the connection sends; the feature name,
// PingTimeout, LearnCommands, Startup and ShutdownTimeout are not. It is a
// keyed hash, stable within one process.
func (o Options) Fingerprint() string {
	h := hmac.New(sha256.New, fingerprintKey)
	// Length-prefixed fields: no value can be confused with a separator.
	for _, f := range []string{
		o.Host, strconv.Itoa(o.Port), o.UnixSocket, strconv.Itoa(o.DB),
		o.Username, o.Password.Value(), strconv.FormatBool(o.TLS), o.ClientName,
		o.TLSCAFile, o.TLSCertFile, o.TLSKeyFile, o.TLSServerName,
		strings.Join(o.Addrs, ","), o.SentinelMaster, o.SentinelUsername, o.SentinelPassword.Value(),
		strconv.FormatBool(o.ReadFromReplicas),
		o.DialTimeout.String(), strconv.FormatBool(o.DisableCache),
		strconv.Itoa(o.Protocol), strconv.FormatBool(o.ForceSingleClient),
		string(o.Batch), o.MaxFlushDelay.String(), strconv.Itoa(o.PipelineMultiplex),
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
		MaxFlushDelay:     o.MaxFlushDelay,
		PipelineMultiplex: o.PipelineMultiplex,
	}
	switch {
	case o.UnixSocket != "":
		co.InitAddress = []string{o.UnixSocket}
		co.DialCtxFn = dialUnix
	case len(o.Addrs) > 0:
		co.InitAddress = append([]string(nil), o.Addrs...)
	}
	if o.SentinelMaster != "" {
		co.Sentinel = rueidis.SentinelOption{MasterSet: o.SentinelMaster, Username: o.SentinelUsername, Password: o.SentinelPassword.Value()}
	}
	if o.ReadFromReplicas {
		co.SendToReplicas = func(cmd rueidis.Completed) bool { return cmd.IsReadOnly() }
	}
	if o.tlsOn() {
		cfg, err := o.tlsConfig()
		if err != nil {
			return rueidis.ClientOption{}, err
		}
		co.TLSConfig = cfg
	}
	return co, nil
}

func (o Options) tlsOn() bool {
	return o.TLS || o.TLSCAFile != "" || o.TLSCertFile != "" || o.TLSKeyFile != "" || o.TLSServerName != ""
}

// tlsConfig reads the TLS files; errors name the variable.
func (o Options) tlsConfig() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: o.Host, MinVersion: tls.VersionTLS12}
	if o.TLSServerName != "" {
		cfg.ServerName = o.TLSServerName
	}
	if o.TLSCAFile != "" {
		pem, err := os.ReadFile(o.TLSCAFile)
		if err != nil {
			return nil, &ConfigError{Var: o.varName("TLS_CA_FILE"), Value: o.TLSCAFile, Reason: "cannot read the file: " + fileErrReason(err)}
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, &ConfigError{Var: o.varName("TLS_CA_FILE"), Value: o.TLSCAFile, Reason: "holds no PEM certificate"}
		}
	}
	if o.TLSCertFile != "" || o.TLSKeyFile != "" {
		if o.TLSCertFile == "" || o.TLSKeyFile == "" {
			return nil, &ConfigError{Var: o.varName("TLS_CERT_FILE"), Reason: "mutual TLS needs both " + o.varName("TLS_CERT_FILE") + " and " + o.varName("TLS_KEY_FILE")}
		}
		pair, err := tls.LoadX509KeyPair(o.TLSCertFile, o.TLSKeyFile)
		if err != nil {
			return nil, &ConfigError{Var: o.varName("TLS_CERT_FILE"), Value: o.TLSCertFile, Reason: "cannot load the certificate and key (" + o.varName("TLS_KEY_FILE") + "): " + fileErrReason(err)}
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// varName names the variable of suffix for this part ("REDIS_CACHE_X"), or
// the base one.
func (o Options) varName(suffix string) string {
	if o.feature != "" {
		if v := basePrefix + EnvToken(o.feature) + "_" + suffix; o.environ[v] != "" {
			return v
		}
	}
	return basePrefix + suffix
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
	for _, a := range o.Addrs {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
			ps = append(ps, problem{"ADDRS", a, "each address must be host:port"})
		} else if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			ps = append(ps, problem{"ADDRS", a, "has an invalid port"})
		}
	}
	if o.SentinelMaster != "" && len(o.Addrs) == 0 {
		ps = append(ps, problem{"SENTINEL_MASTER", o.SentinelMaster, "needs the sentinels' addresses in REDIS_ADDRS"})
	}
	if o.UnixSocket == "" && len(o.Addrs) == 0 {
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
	switch o.Startup {
	case StartupFailFast, StartupLazy, StartupBackground:
	default:
		ps = append(ps, problem{"STARTUP", string(o.Startup), "must be fail-fast, lazy or background"})
	}
	if o.ShutdownTimeout <= 0 {
		ps = append(ps, problem{"SHUTDOWN_TIMEOUT", o.ShutdownTimeout.String(), "must be more than 0"})
	}
	if o.Batch != BatchAdaptive && o.Batch != BatchOff {
		ps = append(ps, problem{"BATCH", string(o.Batch), "must be adaptive or off"})
	}
	if o.MaxFlushDelay < 0 {
		ps = append(ps, problem{"MAX_FLUSH_DELAY", o.MaxFlushDelay.String(), "must be 0 or more"})
	}
	if o.PipelineMultiplex < -1 || o.PipelineMultiplex > rueidis.MaxPipelineMultiplex {
		ps = append(ps, problem{"PIPELINE_MULTIPLEX", strconv.Itoa(o.PipelineMultiplex), fmt.Sprintf("must be from -1 (one connection) to %d", rueidis.MaxPipelineMultiplex)})
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
