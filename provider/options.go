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
	"io"
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
	// TLS turns TLS on (a rediss:// URL does too). It is the one TLS
	// switch: the settings below need it on, and it cannot be on for a
	// unix socket.
	TLS bool `env:"TLS"`
	// TLSCAFile, TLSCertFile and TLSKeyFile name PEM files: the CAs to
	// trust (default: the system's), and a client certificate for mutual
	// TLS. TLSServerName overrides the name checked in the server's
	// certificate; by default each address is checked against its own
	// host (a cluster seed, a sentinel's primary).
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
	// (needed for servers without CLIENT TRACKING). RESP2 turns it off
	// too: see ClientCache.
	DisableCache bool `env:"DISABLE_CACHE"`
	// Protocol is the RESP version: 3 (default) or 2. Client-side caching
	// needs RESP3, so with 2 it is off whatever DisableCache says (and
	// DisableCache=false stated as specifically as Protocol=2 is an error).
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
	// CommandTimeout bounds each command of a part whose caller's context
	// has no deadline (a caller's deadline replaces it); a blocking
	// command gets it plus its own timeout. 0: no bound. Not identity:
	// parts with other timeouts share a connection, and one part's
	// timeout ends its own call, never the connection (see
	// feature.DeadlineError).
	CommandTimeout time.Duration `env:"COMMAND_TIMEOUT"`
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
	// OTel off keeps commands out of telemetry (the telemetry package):
	// at the base (REDIS_OTEL), everything; for a part, its commands.
	// Not identity.
	OTel Switch `env:"OTEL"`

	part string
	// environ holds the variables the value was loaded from, so that
	// ForPart and WithURLVar can read a part's variables later.
	environ map[string]string
	// src tells where each setting not at its default came from (by its
	// env suffix; a unix:// socket under "UNIX"). Copied before a change:
	// Options values share it.
	src map[string]source
	// rediss names the rediss:// URL variable the address came from, so
	// that turning TLS off for it is caught.
	rediss string
	// unknown: the REDIS_ variables of environ that mean nothing here.
	unknown []*ConfigError
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
		OTel:            On,
	}
}

// Batch is a batching policy; see Options.Batch.
type Batch string

// The batching policies.
const (
	BatchAdaptive Batch = "adaptive"
	BatchOff      Batch = "off"
)

// Switch is a setting that is on or off.
type Switch string

// The positions of a Switch.
const (
	On  Switch = "on"
	Off Switch = "off"
)

// OTelEnabled reports whether telemetry records what these settings
// connect (see OTel).
func (o Options) OTelEnabled() bool { return o.OTel != Off }

// Startup is a start-up policy; see Options.Startup.
type Startup string

// The start-up policies.
const (
	StartupFailFast   Startup = "fail-fast"
	StartupLazy       Startup = "lazy"
	StartupBackground Startup = "background"
)

// ClientCache reports whether the connection uses server-assisted
// client-side caching: DisableCache is off and the protocol is RESP3
// (rueidis refuses to connect with caching over RESP2).
func (o Options) ClientCache() bool { return !o.DisableCache && o.Protocol != 2 }

// Part returns the part name given to ForPart, or "".
func (o Options) Part() string { return o.part }

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
	switch {
	case o.DisableCache:
		b.WriteString(" client_cache=off")
	case !o.ClientCache():
		b.WriteString(" client_cache=off(resp2)")
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
	if o.CommandTimeout != 0 {
		fmt.Fprintf(&b, " command_timeout=%s", o.CommandTimeout)
	}
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
	if o.OTel == Off {
		b.WriteString(" otel=off")
	}
	if o.part != "" {
		fmt.Fprintf(&b, " part=%s", o.part)
	}
	return b.String()
}

// GoString keeps %#v redacted.
func (o Options) GoString() string { return "provider.Options{" + o.String() + "}" }

// LogValue keeps slog redacted.
func (o Options) LogValue() slog.Value { return slog.StringValue(o.String()) }

// Fingerprint names the connection these settings open, and is the same
// in every process, so that wireredis config and the application's logs
// can be matched. It covers every setting that changes the
// rueidis.ClientOption, and Batch (which changes how it sends), except the
// secrets: a hash that a password entered
// could be attacked offline (every other input is known), so the passwords
// are left out. Two connections that differ only in a password therefore
// share a fingerprint; ConnectionKey tells them apart. The part name,
// PingTimeout, LearnCommands, Startup, CommandTimeout, ShutdownTimeout and
// OTel are not part of it.
func (o Options) Fingerprint() string {
	h := sha256.New()
	h.Write([]byte("wireredis fingerprint v2;"))
	writeFields(h, o.identity())
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// identity lists the settings that make a connection what it is, the
// secrets aside.
func (o Options) identity() []string {
	return []string{
		o.Host, strconv.Itoa(o.Port), o.UnixSocket, strconv.Itoa(o.DB),
		o.Username, strconv.FormatBool(o.TLS), o.ClientName,
		o.TLSCAFile, o.TLSCertFile, o.TLSKeyFile, o.TLSServerName,
		strings.Join(o.Addrs, ","), o.SentinelMaster, o.SentinelUsername,
		strconv.FormatBool(o.ReadFromReplicas),
		o.DialTimeout.String(), strconv.FormatBool(!o.ClientCache()),
		strconv.Itoa(o.Protocol), strconv.FormatBool(o.ForceSingleClient),
		string(o.Batch), o.MaxFlushDelay.String(), strconv.Itoa(o.PipelineMultiplex),
	}
}

// writeFields writes length-prefixed fields: no value can be confused with
// a separator.
func writeFields(w io.Writer, fields []string) {
	for _, f := range fields {
		fmt.Fprintf(w, "%d:%s;", len(f), f)
	}
}

// secretsKey keys the hash of the secrets in ConnectionKey. It is drawn
// once per process, so that a key, which may be logged, reveals nothing
// about the passwords: without the key a guess cannot be checked.
var secretsKey = func() []byte {
	k := make([]byte, 32)
	_, _ = rand.Read(k) // crypto/rand.Read never fails on supported platforms.
	return k
}()

// ConnectionKey identifies the connection within this process: the
// Fingerprint, and a hash of the passwords keyed per process. Parts whose
// settings have equal keys share one connection (the registry). Unlike the
// fingerprint it differs from one process to the next.
func (o Options) ConnectionKey() string {
	h := hmac.New(sha256.New, secretsKey)
	writeFields(h, []string{o.Password.Value(), o.SentinelPassword.Value()})
	return o.Fingerprint() + "/" + hex.EncodeToString(h.Sum(nil)[:8])
}

// ClientOption converts the settings for rueidis.NewClient. It fails when a
// field holds an invalid value (after code overrides, say), naming the
// field, and reads the TLS files within PingTimeout.
func (o Options) ClientOption() (rueidis.ClientOption, error) {
	return o.ClientOptionContext(context.Background())
}

// ClientOptionContext is ClientOption with the TLS files read within ctx
// (and PingTimeout): the registry reads them within the dial's deadline.
func (o Options) ClientOptionContext(ctx context.Context) (rueidis.ClientOption, error) {
	// What the loader checked cannot fail here unless code changed it
	// since: name the fields.
	if err := o.validate(fieldNames); err != nil {
		return rueidis.ClientOption{}, err
	}
	if err := o.checkTLS(fieldNames); err != nil {
		return rueidis.ClientOption{}, err
	}
	co := rueidis.ClientOption{
		InitAddress:       []string{net.JoinHostPort(o.Host, strconv.Itoa(o.Port))},
		Username:          o.Username,
		Password:          o.Password.Value(),
		SelectDB:          o.DB,
		ClientName:        o.ClientName,
		Dialer:            net.Dialer{Timeout: o.DialTimeout},
		DisableCache:      !o.ClientCache(),
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
	if o.TLS {
		ctx, cancel := context.WithTimeout(ctx, o.PingTimeout)
		defer cancel()
		name := fieldNames
		if o.environ != nil {
			name = o.nameOf // the files were named by variables
		}
		cfg, err := o.tlsConfig(ctx, name)
		if err != nil {
			return rueidis.ClientOption{}, err
		}
		co.TLSConfig = cfg
	}
	return co, nil
}

// tlsConfig reads the TLS files; errors name the variable. ServerName is
// left empty unless TLSServerName is set: crypto/tls then checks each
// address rueidis dials against its own host (a seed of REDIS_ADDRS, a
// node of a cluster, the primary a sentinel names).
func (o Options) tlsConfig(ctx context.Context, name func(string) string) (*tls.Config, error) {
	cfg := &tls.Config{ServerName: o.TLSServerName, MinVersion: tls.VersionTLS12}
	if o.TLSCAFile != "" {
		pem, err := readSettingFile(ctx, name(varTLSCAFile), o.TLSCAFile)
		if err != nil {
			return nil, err
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, &ConfigError{Var: name(varTLSCAFile), Value: o.TLSCAFile, Reason: "holds no PEM certificate"}
		}
	}
	if o.TLSCertFile != "" || o.TLSKeyFile != "" {
		if o.TLSCertFile == "" || o.TLSKeyFile == "" {
			set, missing := varTLSCertFile, varTLSKeyFile
			if o.TLSCertFile == "" {
				set, missing = missing, set
			}
			// The missing one is named beside the one that is set.
			setVar := name(set)
			missingVar := strings.TrimSuffix(setVar, set) + missing
			if !strings.HasSuffix(setVar, set) {
				missingVar = name(missing)
			}
			return nil, &ConfigError{Var: setVar, Reason: "mutual TLS needs " + missingVar + " too"}
		}
		certPEM, err := readSettingFile(ctx, name(varTLSCertFile), o.TLSCertFile)
		if err != nil {
			return nil, err
		}
		keyPEM, err := readSettingFile(ctx, name(varTLSKeyFile), o.TLSKeyFile)
		if err != nil {
			return nil, err
		}
		pair, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return nil, &ConfigError{Var: name(varTLSCertFile), Value: o.TLSCertFile, Reason: "does not hold a certificate that matches the key in " + name(varTLSKeyFile) + " (both PEM)"}
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
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
	if o.CommandTimeout < 0 {
		ps = append(ps, problem{"COMMAND_TIMEOUT", o.CommandTimeout.String(), "must be 0 (no bound) or more"})
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
	if o.OTel != On && o.OTel != Off {
		ps = append(ps, problem{"OTEL", string(o.OTel), "must be on or off"})
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
	if suffix == varUnix {
		return "Options.UnixSocket"
	}
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
