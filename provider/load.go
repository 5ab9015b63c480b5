package provider

import (
	"errors"
	"net"
	"net/url"
	"os"
	"reflect"
	"strconv"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Variables read besides the tagged fields of Options, as suffixes of REDIS_
// or REDIS_<PART>_.
const (
	varURL          = "URL"
	varHost         = "HOST"
	varPort         = "PORT"
	varDB           = "DB"
	varUsername     = "USERNAME"
	varPassword     = "PASSWORD"
	fileSuffix      = "_FILE"
	basePrefix      = "REDIS_"
	defaultRedisTCP = 6379
)

// fileVars may be given as X or as X_FILE (the name of a file holding the
// value, as Docker and Kubernetes secrets provide), never both.
var fileVars = []string{varURL, varUsername, varPassword, "SENTINEL_PASSWORD"}

// Load reads the settings from the process environment.
func Load() (Options, error) { return LoadFrom(os.Environ()) }

// LoadFrom reads the settings from environ, given as "KEY=value" entries like
// os.Environ. The returned Options remember environ so that ForFeature and
// WithURLVar can read a part's variables later.
func LoadFrom(environ []string) (Options, error) {
	o := Defaults()
	o.environ = env.ToMap(environ)
	if err := o.applyLayer(basePrefix); err != nil {
		return Options{}, err
	}
	return o, nil
}

// ForFeature returns the settings of the part called name: every
// REDIS_<NAME>_<VAR> it finds replaces what o has for <VAR>; the rest is
// inherited. <NAME> is name upper-cased with every character other than a
// letter or digit turned into "_" ("rate-limit" reads REDIS_RATE_LIMIT_DB).
// A part's own URL replaces the inherited address as a whole.
func (o Options) ForFeature(name string) (Options, error) {
	token := EnvToken(name)
	if token == "" {
		return Options{}, &ConfigError{Var: "feature name", Value: name, Reason: "must contain a letter or digit"}
	}
	o.feature = name
	if err := o.applyLayer(basePrefix + token + "_"); err != nil {
		return Options{}, err
	}
	return o, nil
}

// WithURLVar returns o with its address taken from the URL in the
// variable name (of the environment o was loaded from), when it is set: a
// part whose server is named by a variable of another convention, such as
// BILLING_REDIS_URL. Like a part's own REDIS_<PART>_URL it replaces the
// address as a whole; errors name the variable.
func (o Options) WithURLVar(name string) (Options, error) {
	raw := o.environ[name]
	if raw == "" {
		return o, nil
	}
	u, err := parseURL(raw)
	if err != nil {
		err.Var = name
		return Options{}, err
	}
	o.applyURL(u)
	return o, o.validate(func(suffix string) string { return name + " (" + suffix + ")" })
}

// applyURL sets what a URL states: the address as a whole, and the
// database and credentials when it has them.
func (o *Options) applyURL(u urlParts) {
	o.Host, o.Port, o.UnixSocket, o.TLS, o.Addrs = u.host, u.port, u.socket, u.tls, u.addrs
	if u.db != nil {
		o.DB = *u.db
	}
	if u.username != "" {
		o.Username = u.username
	}
	if u.password != "" {
		o.Password = Secret(u.password)
	}
}

// EnvToken is the part of a variable name that stands for a feature:
// EnvToken("rate-limit") == "RATE_LIMIT".
func EnvToken(name string) string {
	b := []byte(strings.ToUpper(name))
	meaningful := false
	for i, c := range b {
		if c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			meaningful = true
			continue
		}
		b[i] = '_'
	}
	if !meaningful {
		return ""
	}
	return string(b)
}

// applyLayer sets every field for which o.environ has a variable under
// prefix. Two variables of one layer that set the same thing are an error;
// across layers the more specific one (the part's) wins.
func (o *Options) applyLayer(prefix string) error {
	get := func(suffix string) (string, bool) {
		v, ok := o.environ[prefix+suffix]
		return v, ok && v != ""
	}
	name := func(suffix string) string { return prefix + suffix }
	both := func(a, b string) error {
		return &ConfigError{Var: name(a), Reason: "set together with " + name(b) + "; set only one of them"}
	}

	// Resolve X / X_FILE pairs into plain values.
	vals := make(map[string]string)
	from := make(map[string]string) // suffix → the variable that supplied it
	for _, suffix := range fileVars {
		v, hasV := get(suffix)
		path, hasFile := get(suffix + fileSuffix)
		switch {
		case hasV && hasFile:
			return both(suffix, suffix+fileSuffix)
		case hasFile:
			content, err := os.ReadFile(path)
			if err != nil {
				return &ConfigError{Var: name(suffix + fileSuffix), Value: path, Reason: "cannot read the file: " + fileErrReason(err)}
			}
			vals[suffix] = strings.TrimRight(string(content), "\r\n")
			from[suffix] = name(suffix + fileSuffix)
		case hasV:
			vals[suffix] = v
			from[suffix] = name(suffix)
		}
	}

	if rawURL, ok := vals[varURL]; ok {
		for _, s := range []string{varHost, varPort, "ADDRS"} {
			if _, set := get(s); set {
				return both(s, strings.TrimPrefix(from[varURL], prefix))
			}
		}
		u, err := parseURL(rawURL)
		if err != nil {
			err.Var = from[varURL]
			return err
		}
		// The URL replaces the address as a whole; what it states besides
		// must not also be set by a variable of the same layer.
		if _, set := get(varDB); set && u.db != nil {
			return &ConfigError{Var: name(varDB), Reason: "set together with a database in " + from[varURL] + "; set only one of them"}
		}
		if _, set := vals[varUsername]; set && u.username != "" {
			return &ConfigError{Var: from[varUsername], Reason: "set together with a user name in " + from[varURL] + "; set only one of them"}
		}
		if _, set := vals[varPassword]; set && u.password != "" {
			return &ConfigError{Var: from[varPassword], Reason: "set together with a password in " + from[varURL] + "; set only one of them"}
		}
		o.applyURL(u)
	}

	// Everything else goes through the env tags. Options has no envDefault
	// tags, so fields without a variable in this layer keep their value.
	m := make(map[string]string, len(o.environ))
	for k, v := range o.environ {
		if strings.HasPrefix(k, prefix) {
			m[k] = v
		}
	}
	if v, ok := vals[varUsername]; ok {
		m[name(varUsername)] = v
	}
	if v, ok := vals[varPassword]; ok {
		m[name(varPassword)] = v
	}
	if v, ok := vals["SENTINEL_PASSWORD"]; ok {
		m[name("SENTINEL_PASSWORD")] = v
	}
	_, hostSet := get(varHost)
	_, portSet := get(varPort)
	if _, addrsSet := get("ADDRS"); !addrsSet && (hostSet || portSet) {
		o.Addrs = nil // a layer's own host or port replaces inherited ADDRS
	}
	if _, set := get("ADDRS"); set {
		// A part's own ADDRS replaces the inherited address as a whole.
		for _, s := range []string{varHost, varPort} {
			if _, set := get(s); set {
				return both(s, "ADDRS")
			}
		}
		o.UnixSocket = "" // Addrs takes precedence over Host and Port
	}
	if err := env.ParseWithOptions(o, env.Options{Prefix: prefix, Environment: m}); err != nil {
		return envError(err, prefix)
	}
	return o.validate(name)
}

// envError rewrites caarlos0/env's errors, which name Go fields and quote
// values, into ConfigErrors that name the variable.
func envError(err error, prefix string) error {
	var agg env.AggregateError
	if !errors.As(err, &agg) {
		return &ConfigError{Var: prefix + "*", Reason: "cannot be read"}
	}
	errs := make([]error, 0, len(agg.Errors))
	for _, e := range agg.Errors {
		var pe env.ParseError
		if !errors.As(e, &pe) {
			errs = append(errs, &ConfigError{Var: prefix + "*", Reason: "cannot be read"})
			continue
		}
		f, _ := reflect.TypeFor[Options]().FieldByName(pe.Name)
		suffix := f.Tag.Get("env")
		ce := &ConfigError{Var: prefix + suffix, Reason: "is not " + kindName(pe.Type)}
		if _, isSecret := pe.Type.MethodByName("Value"); !isSecret {
			ce.Value = valueOf(pe.Err)
		}
		errs = append(errs, ce)
	}
	return joinErrors(errs)
}

func kindName(t reflect.Type) string {
	switch {
	case t.String() == "time.Duration":
		return "a duration (such as 500ms, 2s or 1m)"
	case t.Kind() == reflect.Bool:
		return "a boolean (true or false)"
	case t.Kind() == reflect.Int:
		return "a whole number"
	}
	return "a valid " + t.String()
}

// valueOf recovers the offending text from a strconv or time error.
func valueOf(err error) string {
	var ne *strconv.NumError
	if errors.As(err, &ne) {
		return ne.Num
	}
	msg := err.Error() // time: invalid duration "x"
	if i := strings.IndexByte(msg, '"'); i >= 0 {
		if s, uerr := strconv.Unquote(msg[i:]); uerr == nil {
			return s
		}
	}
	return ""
}

func fileErrReason(err error) string {
	switch {
	case errors.Is(err, os.ErrNotExist):
		return "no such file"
	case errors.Is(err, os.ErrPermission):
		return "permission denied"
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return "read failed"
}

type urlParts struct {
	addrs              []string // with repeated addr= parameters: all of them
	host, socket       string
	port               int
	tls                bool
	db                 *int
	username, password string
}

// parseURL reads redis://, rediss:// and unix:// URLs. Its errors never
// quote the URL, which may hold a password.
func parseURL(raw string) (urlParts, *ConfigError) {
	fail := func(reason string) (urlParts, *ConfigError) { return urlParts{}, &ConfigError{Reason: reason} }
	u, err := url.Parse(raw)
	if err != nil {
		return fail("is not a valid URL (a password with reserved characters such as @ : / # must be percent-encoded)")
	}
	var p urlParts
	if u.Opaque != "" { // "host:6379" parses as scheme "host"
		return fail("has no scheme; write it as redis://host:port")
	}
	switch u.Scheme {
	case "redis":
	case "rediss":
		p.tls = true
	case "unix":
		p.socket = u.Path
		if p.socket == "" {
			return fail("unix:// URL has no socket path")
		}
	case "":
		return fail("has no scheme; use redis://, rediss:// or unix://")
	default:
		return fail("has scheme " + strconv.Quote(u.Scheme) + "; use redis://, rediss:// or unix://")
	}
	if u.User != nil {
		p.username = u.User.Username()
		p.password, _ = u.User.Password()
	}
	q := u.Query()
	for k := range q {
		if k != "db" && k != "addr" {
			return fail("query parameter " + strconv.Quote(k) + " is not supported; use the REDIS_* variables")
		}
	}
	dbText := q.Get("db")
	if p.socket == "" {
		p.host, p.port = u.Hostname(), defaultRedisTCP
		if p.host == "" {
			return fail("has no host")
		}
		if ps := u.Port(); ps != "" {
			n, err := strconv.Atoi(ps)
			if err != nil || n < 1 || n > 65535 {
				return fail("has an invalid port; it must be a number from 1 to 65535")
			}
			p.port = n
		}
		if extra := q["addr"]; len(extra) > 0 {
			// redis://h1:p1/?addr=h2:p2&addr=h3:p3: cluster seeds.
			p.addrs = []string{net.JoinHostPort(p.host, strconv.Itoa(p.port))}
			for _, a := range extra {
				if _, port, err := net.SplitHostPort(a); err != nil || port == "" {
					return fail("has an addr parameter that is not host:port")
				}
				p.addrs = append(p.addrs, a)
			}
		}
		if path := strings.TrimPrefix(u.Path, "/"); path != "" {
			if dbText != "" {
				return fail("states the database twice (path and db parameter)")
			}
			dbText = path
		}
	}
	if dbText != "" {
		n, err := strconv.Atoi(dbText)
		if err != nil || n < 0 {
			return fail("has an invalid database " + strconv.Quote(dbText) + "; it must be a number, 0 or more")
		}
		p.db = &n
	}
	return p, nil
}
