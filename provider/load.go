package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/caarlos0/env/v11"
)

// Variables read besides the tagged fields of Options, as suffixes of REDIS_
// or REDIS_<PART>_.
const (
	varURL              = "URL"
	varHost             = "HOST"
	varPort             = "PORT"
	varDB               = "DB"
	varUsername         = "USERNAME"
	varPassword         = "PASSWORD"
	varAddrs            = "ADDRS"
	varTLS              = "TLS"
	varTLSCAFile        = "TLS_CA_FILE"
	varTLSCertFile      = "TLS_CERT_FILE"
	varTLSKeyFile       = "TLS_KEY_FILE"
	varTLSServerName    = "TLS_SERVER_NAME"
	varSentinelMaster   = "SENTINEL_MASTER"
	varSentinelPassword = "SENTINEL_PASSWORD"
	varDisableCache     = "DISABLE_CACHE"
	varProtocol         = "PROTOCOL"
	// varUnix is the socket of a unix:// URL; no variable of its own.
	varUnix         = "UNIX"
	fileSuffix      = "_FILE"
	basePrefix      = "REDIS_"
	defaultRedisTCP = 6379
)

// fileVars may be given as X or as X_FILE (the name of a file holding the
// value, as Docker and Kubernetes secrets provide), never both.
var fileVars = []string{varURL, varUsername, varPassword, varSentinelPassword}

// level orders the sources of a setting, least specific first. A more
// specific source replaces what it inherits; two sources specific to one
// part (two of its variables, or a variable and code) must agree.
type level int8

const (
	levelDefault level = iota
	levelBase          // REDIS_*
	levelPart          // REDIS_<PART>_*, and the part's url_env variable
	levelCode          // a part's Overrides (wireredis gen's db=N)
)

// source is where a setting's value came from: a variable, or an Options
// field set in code.
type source struct {
	name  string
	level level
}

// Load reads the settings from the process environment.
func Load() (Options, error) { return LoadFrom(os.Environ()) }

// LoadFrom reads the settings from environ, given as "KEY=value" entries like
// os.Environ. The returned Options remember environ so that ForPart and
// WithURLVar can read a part's variables later. Every part's variables are
// checked here too, before any connection is opened: a bad REDIS_RL_DB
// fails the load, not the opening of part rl after others have connected.
func LoadFrom(environ []string) (Options, error) {
	o := Defaults()
	o.environ = env.ToMap(environ)
	if err := o.applyLayer(basePrefix, levelBase); err != nil {
		return Options{}, err
	}
	if err := o.checkPartVariables(); err != nil {
		return Options{}, err
	}
	o.unknown = unknownVariables(o.environ, nil)
	return o, nil
}

// checkPartVariables resolves each part that has variables of its own,
// for their errors.
func (o Options) checkPartVariables() error {
	var tokens []string
	for name, value := range o.environ {
		token, ok := splitVar(name)
		if _, clash := collision(token, ""); ok && token != "" && !clash && value != "" && !slices.Contains(tokens, token) {
			tokens = append(tokens, token) // a name no part can have is left out
		}
	}
	slices.Sort(tokens)
	var errs []error
	for _, t := range tokens {
		if _, err := o.ForPart(t); err != nil {
			errs = append(errs, err)
		}
	}
	return joinErrors(errs)
}

// ForPart returns the settings of the part called name: every
// REDIS_<NAME>_<VAR> it finds replaces what o has for <VAR>; the rest is
// inherited. <NAME> is name upper-cased with every character other than a
// letter or digit turned into "_" ("rate-limit" reads REDIS_RATE_LIMIT_DB).
// A part's own URL replaces the inherited address as a whole. A name whose
// variables would also be base variables ("sentinel") is refused.
func (o Options) ForPart(name string) (Options, error) {
	token := EnvToken(name)
	if token == "" {
		return Options{}, &ConfigError{Var: "part name", Value: name, Reason: "must contain a letter or digit"}
	}
	if v, clash := collision(token, ""); clash {
		return Options{}, &ConfigError{Var: "part name", Value: name, Reason: "its variable " + basePrefix + token + "_" + v + " is also a base variable; choose another name"}
	}
	o.part = name
	if err := o.applyLayer(basePrefix+token+"_", levelPart); err != nil {
		return Options{}, err
	}
	return o, nil
}

// WithURLVar returns o with its address taken from the URL in the
// variable name (of the environment o was loaded from), when it is set: a
// part whose server is named by a variable of another convention, such as
// BILLING_REDIS_URL. It speaks for the part as REDIS_<PART>_URL does: it
// replaces the inherited address as a whole, and what it states (address,
// database, user, password) must not also be stated by the part's own
// variables. Errors name both variables.
func (o Options) WithURLVar(name string) (Options, error) {
	if err := CheckURLVar(o.part, name); err != nil {
		return Options{}, err
	}
	raw := o.environ[name]
	if raw == "" {
		return o, nil
	}
	o.src = maps.Clone(o.src)
	both := func(setting, what string) error {
		return &ConfigError{Var: name, Reason: "states " + what + ", and so does " + o.src[setting].name + "; set only one of them"}
	}
	for _, s := range []string{varHost, varPort, varAddrs, varUnix} {
		if o.src[s].level == levelPart {
			return Options{}, both(s, "the part's address")
		}
	}
	u, err := parseURL(raw)
	if err != nil {
		err.Var = name
		return Options{}, err
	}
	for _, c := range []struct {
		setting, what string
		stated        bool
	}{{varDB, "a database", u.db != nil}, {varUsername, "a user name", u.username != ""}, {varPassword, "a password", u.password != ""}} {
		if c.stated && o.src[c.setting].level == levelPart {
			return Options{}, both(c.setting, c.what)
		}
	}
	ownTLS, ownTLSSrc := o.TLS, o.src[varTLS]
	o.applyURL(u, source{name, levelPart})
	if ownTLSSrc.level == levelPart && !u.tls && u.socket == "" && ownTLS {
		// REDIS_<PART>_TLS=true upgrades a redis:// URL, as at the base.
		o.TLS, o.src[varTLS] = true, ownTLSSrc
	}
	if ownTLSSrc.level == levelPart && u.tls && !ownTLS {
		o.TLS, o.src[varTLS] = false, ownTLSSrc // checkTLS reports it
	}
	if err := o.settleTLS(levelPart); err != nil {
		return Options{}, err
	}
	return o, o.validate(o.nameOf)
}

// CheckURLVar checks the name of a part's url_env variable: a variable
// name (letters, digits and _, not starting with a digit) that is not one
// of the REDIS_ variables the part reads anyway.
func CheckURLVar(part, name string) error {
	valid := name != "" && (name[0] < '0' || name[0] > '9')
	for _, c := range name {
		valid = valid && (c == '_' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9')
	}
	if !valid {
		return &ConfigError{Var: "url_env", Value: name, Reason: "is not a variable name (letters, digits and _, not starting with a digit)"}
	}
	if token, ok := splitVar(name); ok && (token == "" || token == EnvToken(part)) {
		return &ConfigError{Var: "url_env", Value: name, Reason: "is a variable the part reads anyway; url_env is for a variable of another convention (BILLING_REDIS_URL)"}
	}
	return nil
}

// WithOverrides applies code's changes to the settings (a part's
// Overrides; wireredis gen's db=N is one), the most specific source. A
// setting that code changes must not also be set by one of the part's own
// variables: that is an error naming the variable and the field. What code
// changes over the base variables is simply replaced.
func (o Options) WithOverrides(overrides ...func(*Options)) (Options, error) {
	if len(overrides) == 0 {
		return o, nil
	}
	before := o
	for _, f := range overrides {
		f(&o)
	}
	o.src = maps.Clone(before.src)
	if o.src == nil {
		o.src = map[string]source{}
	}
	var errs []error
	bv, av := reflect.ValueOf(before), reflect.ValueOf(o)
	for _, f := range reflect.VisibleFields(reflect.TypeFor[Options]()) {
		setting := f.Tag.Get("env")
		if f.Name == "UnixSocket" {
			setting = varUnix
		}
		if setting == "" { // unexported: not a setting
			continue
		}
		was, now := bv.FieldByIndex(f.Index).Interface(), av.FieldByIndex(f.Index).Interface()
		if reflect.DeepEqual(was, now) {
			continue
		}
		if s := before.src[setting]; s.level == levelPart {
			shown := ""
			if _, secret := now.(Secret); !secret {
				shown = fmt.Sprintf(" to %v", now)
			}
			errs = append(errs, &ConfigError{Var: s.name, Reason: "is overridden by the part's code, which sets Options." + f.Name + shown + " (wireredis gen's db=, or an Override); remove one of them"})
		}
		o.src[setting] = source{"Options." + f.Name, levelCode}
		switch setting {
		case varHost, varPort, varAddrs, varUnix:
			o.rediss = "" // the address is code's now
		}
	}
	if len(errs) > 0 {
		return Options{}, joinErrors(errs)
	}
	if err := o.settleTLS(levelCode); err != nil {
		return Options{}, err
	}
	if err := o.validate(o.nameOf); err != nil {
		return Options{}, err
	}
	return o, o.checkCache()
}

// applyURL sets what a URL states: the address as a whole (host, port or
// socket, cluster seeds, TLS; a Sentinel address too), and the database
// and credentials when it has them. from is the variable that held it.
func (o *Options) applyURL(u urlParts, from source) {
	o.Host, o.Port, o.UnixSocket, o.TLS, o.Addrs = u.host, u.port, u.socket, u.tls, u.addrs
	o.SentinelMaster = ""
	for _, s := range []string{varHost, varPort, varUnix, varTLS, varAddrs, varSentinelMaster} {
		o.setSource(s, from)
	}
	o.rediss = ""
	if u.tls {
		o.rediss = from.name
	}
	if u.db != nil {
		o.DB = *u.db
		o.setSource(varDB, from)
	}
	if u.username != "" {
		o.Username = u.username
		o.setSource(varUsername, from)
	}
	if u.password != "" {
		o.Password = Secret(u.password)
		o.setSource(varPassword, from)
	}
}

func (o *Options) setSource(setting string, s source) {
	if o.src == nil {
		o.src = map[string]source{}
	}
	o.src[setting] = s
}

// nameOf names what set a setting: a variable (REDIS_CACHE_DB, or the URL
// variable that stated it), or an Options field set in code. A setting
// still at its default is named by the variable that would change it.
func (o Options) nameOf(setting string) string {
	if s, ok := o.src[setting]; ok {
		return s.name
	}
	if setting == varUnix {
		setting = varURL
	}
	if o.part != "" {
		return basePrefix + EnvToken(o.part) + "_" + setting
	}
	return basePrefix + setting
}

// Sources tells where each setting that is not at its default came from:
// setting (as its variable suffix: DB, TLS_CA_FILE) → the variable that set
// it, or the Options field that code set ("Options.DB").
func (o Options) Sources() map[string]string {
	out := make(map[string]string, len(o.src))
	for k, s := range o.src {
		if k == varUnix {
			k = "UNIX_SOCKET"
		}
		out[k] = s.name
	}
	return out
}

// settleTLS makes the TLS state single after a step at lvl: when TLS is
// off, TLS settings inherited from a less specific level are dropped (a
// part that points at a plain server does not keep the base's CA), and
// what is left that contradicts it is an error.
func (o *Options) settleTLS(lvl level) error {
	if !o.TLS {
		for _, s := range tlsSettings {
			if o.src[s].level < lvl {
				o.setTLSSetting(s, "")
				delete(o.src, s)
			}
		}
	}
	return o.checkTLS(o.nameOf)
}

// tlsSettings are the settings that only mean something with TLS on.
var tlsSettings = []string{varTLSCAFile, varTLSCertFile, varTLSKeyFile, varTLSServerName}

func (o *Options) setTLSSetting(s, v string) {
	switch s {
	case varTLSCAFile:
		o.TLSCAFile = v
	case varTLSCertFile:
		o.TLSCertFile = v
	case varTLSKeyFile:
		o.TLSKeyFile = v
	case varTLSServerName:
		o.TLSServerName = v
	}
}

// checkTLS reports the TLS contradictions: TLS on a unix socket, a
// rediss:// address with TLS turned off, TLS settings with TLS off.
func (o Options) checkTLS(name func(setting string) string) error {
	var errs []error
	if o.TLS && o.UnixSocket != "" {
		errs = append(errs, &ConfigError{Var: name(varTLS), Reason: "TLS over a unix socket is not supported, and " + name(varUnix) + " is a unix:// URL; use a rediss:// URL over TCP, or turn TLS off"})
	}
	if !o.TLS && o.rediss != "" {
		errs = append(errs, &ConfigError{Var: name(varTLS), Value: "false", Reason: "turns TLS off, but " + o.rediss + " is a rediss:// URL; use redis:// for a plain connection"})
	}
	if !o.TLS {
		for _, s := range tlsSettings {
			if v := o.tlsSetting(s); v != "" {
				errs = append(errs, &ConfigError{Var: name(s), Reason: "is set but TLS is off; turn it on with " + tlsSwitch(name(s)) + " or a rediss:// URL"})
			}
		}
	}
	return joinErrors(errs)
}

func (o Options) tlsSetting(s string) string {
	switch s {
	case varTLSCAFile:
		return o.TLSCAFile
	case varTLSCertFile:
		return o.TLSCertFile
	case varTLSKeyFile:
		return o.TLSKeyFile
	}
	return o.TLSServerName
}

// tlsSwitch names the TLS variable next to a TLS setting's variable
// (REDIS_CACHE_TLS_CA_FILE: REDIS_CACHE_TLS=true).
func tlsSwitch(settingVar string) string {
	for _, s := range tlsSettings {
		if p, ok := strings.CutSuffix(settingVar, "_"+s); ok && strings.HasPrefix(p, "REDIS") {
			return p + "_" + varTLS + "=true"
		}
	}
	return "Options.TLS = true"
}

// EnvToken is the part of a variable name that stands for a part:
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
func (o *Options) applyLayer(prefix string, lvl level) error {
	o.src = maps.Clone(o.src)
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
			ctx, cancel := context.WithTimeout(context.Background(), o.PingTimeout)
			content, err := readSettingFile(ctx, name(suffix+fileSuffix), path)
			cancel()
			if err != nil {
				return err
			}
			vals[suffix] = strings.TrimRight(string(content), "\r\n")
			from[suffix] = name(suffix + fileSuffix)
		case hasV:
			vals[suffix] = v
			from[suffix] = name(suffix)
		}
	}

	_, hostSet := get(varHost)
	_, portSet := get(varPort)
	_, addrsSet := get(varAddrs)
	if rawURL, ok := vals[varURL]; ok {
		for _, s := range []string{varHost, varPort, varAddrs} {
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
		o.applyURL(u, source{from[varURL], lvl})
	}

	// Everything else goes through the env tags. Options has no envDefault
	// tags, so fields without a variable in this layer keep their value.
	m := make(map[string]string, len(o.environ))
	for k, v := range o.environ {
		if strings.HasPrefix(k, prefix) {
			m[k] = v
		}
	}
	for _, s := range []string{varUsername, varPassword, varSentinelPassword} {
		if v, ok := vals[s]; ok {
			m[name(s)] = v
		}
	}
	if !addrsSet && (hostSet || portSet) {
		// A layer's own host or port replaces the inherited address:
		// cluster seeds, a socket, a Sentinel.
		o.Addrs, o.UnixSocket, o.SentinelMaster, o.rediss = nil, "", "", ""
	}
	if addrsSet {
		// A part's own ADDRS replaces the inherited address as a whole.
		for _, s := range []string{varHost, varPort} {
			if _, set := get(s); set {
				return both(s, varAddrs)
			}
		}
		o.UnixSocket, o.rediss = "", "" // Addrs takes precedence over Host and Port
	}
	if err := env.ParseWithOptions(o, env.Options{Prefix: prefix, Environment: m}); err != nil {
		return envError(err, prefix)
	}
	for _, s := range settings() {
		if _, set := get(s); set && !slices.Contains(fileVars, strings.TrimSuffix(s, fileSuffix)) {
			o.setSource(s, source{name(s), lvl})
		}
	}
	for _, s := range []string{varUsername, varPassword, varSentinelPassword} {
		if f, ok := from[s]; ok {
			o.setSource(s, source{f, lvl})
		}
	}
	if err := o.settleTLS(lvl); err != nil {
		return err
	}
	if err := o.validate(o.nameOf); err != nil {
		return err
	}
	return o.checkCache()
}

// checkCache refuses client-side caching asked for over RESP2, which
// rueidis cannot connect with: DISABLE_CACHE=false stated at least as
// specifically as PROTOCOL=2. Otherwise RESP2 turns caching off by
// itself (ClientCache), and the more specific setting wins: a part's
// REDIS_<PART>_PROTOCOL=2 beats a base REDIS_DISABLE_CACHE=false.
func (o Options) checkCache() error {
	cache, ok := o.src[varDisableCache]
	if o.Protocol != 2 || o.DisableCache || !ok || cache.level < o.src[varProtocol].level {
		return nil
	}
	return &ConfigError{Var: cache.name, Value: "false", Reason: "asks for client-side caching, which needs RESP3, but " + o.nameOf(varProtocol) + " is 2; set one of them only (RESP2 turns client-side caching off by itself)"}
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

type urlParts struct {
	addrs              []string // with repeated addr= parameters: all of them
	host, socket       string
	port               int
	tls                bool
	db                 *int
	username, password string
}

// parseURL reads redis://, rediss:// and unix:// URLs. The credentials are
// cut off first, and no error is built from them or from anything that
// could hold them: the tail of a password that is not percent-encoded
// reads as a path or query, and must not show in an error about them (as
// it would in rueidis.ParseURL's "invalid database number").
func parseURL(raw string) (urlParts, *ConfigError) {
	fail := func(reason string) (urlParts, *ConfigError) { return urlParts{}, &ConfigError{Reason: reason} }
	scheme, rest, hasSlashes := strings.Cut(raw, "://")
	if !hasSlashes {
		if strings.HasPrefix(raw, "unix:/") {
			scheme, rest = "unix", raw[len("unix:"):]
		} else {
			return fail("has no scheme; write it as redis://host:port, rediss://host:port or unix:///path")
		}
	}
	var userinfo string
	if at := strings.LastIndexByte(rest, '@'); at >= 0 {
		// The host never holds an @: the last one ends the credentials.
		// A / ? or # before it would end the address there, and the URL
		// would parse with the password taken for a host, path or query.
		if end := strings.IndexAny(rest, "/?#"); end >= 0 && end < at {
			return fail("has a user name or password with an unencoded / ? or #; percent-encode them (/ as %2F, ? as %3F, # as %23)")
		}
		userinfo, rest = rest[:at], rest[at+1:]
	}
	u, err := url.Parse(scheme + "://" + rest) // no credentials left in it
	if err != nil {
		if strings.Contains(err.Error(), "invalid port") {
			return fail("has an invalid port; it must be a number from 1 to 65535")
		}
		return fail("is not a valid URL")
	}
	var p urlParts
	if userinfo != "" {
		cred, err := url.Parse("redis://" + userinfo + "@host")
		if err != nil || cred.User == nil || cred.Host != "host" {
			return fail("has a user name or password that is not valid in a URL; percent-encode its reserved characters (such as % and spaces)")
		}
		p.username = cred.User.Username()
		p.password, _ = cred.User.Password()
	}
	if u.Fragment != "" || strings.HasSuffix(raw, "#") {
		return fail("has a # fragment, which means nothing here (a # in a password is written %23)")
	}
	switch u.Scheme {
	case "redis":
	case "rediss":
		p.tls = true
	case "unix":
		p.socket = u.Path
		if u.Host != "" || p.socket == "" {
			return fail("unix:// URL has no socket path; write it as unix:///path/to.sock")
		}
	default:
		return fail("has scheme " + strconv.Quote(u.Scheme) + "; use redis://, rediss:// or unix://")
	}
	q := u.Query()
	for k := range q {
		if k != "db" && k != "addr" {
			return fail("has the query parameter " + strconv.Quote(k) + ", which is not supported; use the REDIS_* variables")
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
			return fail("has an invalid database; it must be a number, 0 or more")
		}
		p.db = &n
	}
	return p, nil
}
