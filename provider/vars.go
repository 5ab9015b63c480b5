package provider

import (
	"cmp"
	"reflect"
	"slices"
	"strings"
	"sync"
)

// settings lists every setting a REDIS_ or REDIS_<PART>_ variable may
// name (PORT, TLS_CA_FILE, URL_FILE, ...), longest first, so that when a
// name is split the longest setting wins: REDIS_X_SENTINEL_PASSWORD is
// part X's SENTINEL_PASSWORD, not part X_SENTINEL's PASSWORD.
var settings = sync.OnceValue(func() []string {
	var out []string
	t := reflect.TypeFor[Options]()
	for i := range t.NumField() {
		if tag := t.Field(i).Tag.Get("env"); tag != "" {
			out = append(out, tag)
		}
	}
	out = append(out, varURL)
	for _, v := range fileVars {
		out = append(out, v+fileSuffix)
	}
	slices.SortFunc(out, func(a, b string) int { return cmp.Or(len(b)-len(a), strings.Compare(a, b)) })
	return out
})

// Variables returns the base variables the loader understands (REDIS_PORT,
// REDIS_TLS_CA_FILE, ...), sorted. Each may also be given for one part as
// REDIS_<PART>_<NAME>.
func Variables() []string {
	out := make([]string, 0, len(settings()))
	for _, s := range settings() {
		out = append(out, basePrefix+s)
	}
	slices.Sort(out)
	return out
}

func isSetting(s string) bool { return slices.Contains(settings(), s) }

// splitVar returns the part token of a variable ("" for the base); ok is
// false when it names no setting. A base reading wins:
// REDIS_SENTINEL_PASSWORD is the base's, whatever the parts are called
// (CheckPartNames refuses a part whose variables could be read both ways).
func splitVar(name string) (token string, ok bool) {
	rest, ok := strings.CutPrefix(name, basePrefix)
	if !ok {
		return "", false
	}
	if isSetting(rest) {
		return "", true
	}
	for _, s := range settings() { // the longest setting first
		if t, found := strings.CutSuffix(rest, "_"+s); found && t != "" {
			return t, true
		}
	}
	return "", false
}

// PartName names a part of the program: Namespace is what its keys and
// variables follow (rl: keys rl:*, variables REDIS_RL_*); Name is its Go
// name (RateLimit, from wireredis gen -part RateLimit=rl), "" when not
// known. A part's variables follow its namespace, so a user who knows the
// Go name may write REDIS_RATELIMIT_DB: the checks of the variables know
// both and point to the variable meant.
type PartName struct {
	Name      string
	Namespace string
}

// UnknownVariables reports the REDIS_ variables of the environment that
// the loader does not understand (REDIS_PROT, REDIS_CART_DBB), each as a
// ConfigError that names the nearest known variable when one is close. When
// parts are given (the part names of the service), a variable of a part
// that is not among them is reported too (REDIS_CARTT_DB). The values are
// never shown: a misspelt REDIS_PASSWROD holds a password.
func (o Options) UnknownVariables(parts ...string) []*ConfigError {
	if len(parts) == 0 {
		return o.unknown
	}
	names := make([]PartName, len(parts))
	for i, p := range parts {
		names[i] = PartName{Namespace: p}
	}
	return unknownVariables(o.environ, names)
}

// UnknownVariablesOf is UnknownVariables for parts known with their Go
// names: a variable named after a part's Go name rather than its namespace
// (REDIS_RATELIMIT_DB, REDIS_RATELIMIT_DBB for the part RateLimit=rl) is
// reported with the part's own variable (REDIS_RL_DB). With no parts it
// is UnknownVariables().
func (o Options) UnknownVariablesOf(parts []PartName) []*ConfigError {
	if len(parts) == 0 {
		return o.unknown
	}
	return unknownVariables(o.environ, parts)
}

// harnessVariables are the test harness's (redistest, make test-matrix,
// cmd/keytablegen), not a connection's: a developer's environment may
// hold them, and they are not misspelt settings.
var harnessVariables = []string{"REDIS_TEST_ADDR", "REDIS_SERVER_BIN", "REDIS_SERVERS_DIR"}

func unknownVariables(environ map[string]string, parts []PartName) []*ConfigError {
	var tokens, namespaces []string
	for _, p := range parts {
		if t := EnvToken(p.Namespace); t != "" {
			tokens = append(tokens, t)
			namespaces = append(namespaces, p.Namespace)
		}
	}
	var out []*ConfigError
	for name, value := range environ {
		if !strings.HasPrefix(name, basePrefix) || value == "" || slices.Contains(harnessVariables, name) {
			continue
		}
		token, ok := splitVar(name)
		switch {
		case !ok:
			out = append(out, &ConfigError{Var: name, Reason: "is not a wireredis variable" + suggest(name, parts, len(tokens) == 0)})
		case token != "" && len(tokens) > 0 && !slices.Contains(tokens, token):
			hint := suggest(name, parts, false)
			if hint == "" {
				hint = "; a part that hand-written code opens later is known from the start once declared (feature.Declare)"
			}
			out = append(out, &ConfigError{Var: name, Reason: "names no part of this service (" + strings.Join(namespaces, ", ") + ")" + hint})
		}
	}
	slices.SortFunc(out, func(a, b *ConfigError) int { return strings.Compare(a.Var, b.Var) })
	return out
}

// suggestion is a variable name may have been meant for: real, whose
// spelling (alias) name is close to. alias differs from real when the
// name follows a part's Go name (RATELIMIT_DB for the part RateLimit,
// whose variables are RL_*); part is that part.
type suggestion struct {
	alias, real string
	part        *PartName
}

// suggest returns "; did you mean X?" for the variable nearest to name, or
// "" when none is close: a base variable, or a variable of one of parts
// (spelt with its namespace or its Go name). Only variables that are read
// are suggested. With guess (no parts known), a variable of a part that
// name seems to be about is a candidate too (REDIS_CART_DBB: REDIS_CART_DB).
func suggest(name string, parts []PartName, guess bool) string {
	rest := strings.TrimPrefix(name, basePrefix)
	var candidates []suggestion
	for _, s := range settings() {
		candidates = append(candidates, suggestion{s, s, nil})
	}
	for i := range parts {
		p := &parts[i]
		token := EnvToken(p.Namespace)
		if token == "" {
			continue
		}
		for _, s := range settings() {
			candidates = append(candidates, suggestion{token + "_" + s, token + "_" + s, nil})
			if alias := EnvToken(p.Name); alias != "" && alias != token {
				candidates = append(candidates, suggestion{alias + "_" + s, token + "_" + s, p})
			}
		}
	}
	// REDIS_CART_DBB: perhaps part CART's DB. A token that begins a
	// setting (TLS in REDIS_TLS_CA) is not taken for a part.
	for i := range len(rest) {
		if !guess || rest[i] != '_' || i == 0 {
			continue
		}
		t := rest[:i]
		if !slices.ContainsFunc(settings(), func(s string) bool { return strings.HasPrefix(s, t+"_") }) {
			for _, s := range settings() {
				candidates = append(candidates, suggestion{t + "_" + s, t + "_" + s, nil})
			}
		}
	}
	var best suggestion
	bestDist := 3 // at most two edits away
	for _, c := range candidates {
		if c.real == rest {
			continue
		}
		if d := editDistance(rest, c.alias); d < bestDist || d == bestDist && best.real != "" && c.real < best.real {
			best, bestDist = c, d
		}
	}
	if best.real == "" {
		// REDIS_TLS_CA for REDIS_TLS_CA_FILE: the start of a known name.
		for _, s := range settings() {
			if strings.HasPrefix(s, rest) && len(rest) >= 3 && (best.real == "" || len(s) < len(best.real)) {
				best.real = s
			}
		}
	}
	if best.real == "" {
		return ""
	}
	out := "; did you mean " + basePrefix + best.real + "?"
	if best.part != nil {
		out += " (the part " + best.part.Name + " has the namespace " + best.part.Namespace + ": its variables are " + basePrefix + EnvToken(best.part.Namespace) + "_*, not " + basePrefix + EnvToken(best.part.Name) + "_*)"
	}
	return out
}

// editDistance counts the insertions, deletions, substitutions and swaps
// of neighbours that turn a into b (optimal string alignment), so that
// PROT is one edit from PORT.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// CheckPartNames reports part names whose variables collide: two names
// with one token (rate-limit and rate_limit both read REDIS_RATE_LIMIT_*),
// a name whose variables are also base variables (a part "sentinel" would
// read REDIS_SENTINEL_PASSWORD as its password), and two names where a
// variable of one is also a variable of the other (x and x_sentinel share
// REDIS_X_SENTINEL_PASSWORD). The errors name both.
func CheckPartNames(names ...string) error {
	var errs []error
	for i, a := range names {
		ta := EnvToken(a)
		if ta == "" {
			errs = append(errs, &ConfigError{Var: "part name", Value: a, Reason: "must contain a letter or digit"})
			continue
		}
		if v, ok := collision(ta, ""); ok {
			errs = append(errs, &ConfigError{Var: "part name", Value: a, Reason: "its variable " + basePrefix + ta + "_" + v + " is also a base variable; choose another name"})
		}
		for _, b := range names[i+1:] {
			tb := EnvToken(b)
			if tb == "" {
				continue
			}
			if ta == tb {
				errs = append(errs, &ConfigError{Var: "part name", Value: a, Reason: "reads the same variables (" + basePrefix + ta + "_*) as part " + b + "; choose names that differ in letters or digits"})
				continue
			}
			for _, pair := range [][2]string{{ta, tb}, {tb, ta}} {
				if v, ok := collision(pair[0], pair[1]); ok {
					errs = append(errs, &ConfigError{Var: "part name", Value: a, Reason: "shares the variable " + basePrefix + pair[0] + "_" + v + " with part " + b + "; choose another name"})
					break
				}
			}
		}
	}
	return joinErrors(errs)
}

// collision finds a setting v such that REDIS_<short>_<v> is also a
// variable of the longer token long ("" for the base); it returns v.
func collision(short, long string) (string, bool) {
	for _, v := range settings() {
		full := short + "_" + v
		if long == "" {
			if isSetting(full) {
				return v, true
			}
			continue
		}
		if s, ok := strings.CutPrefix(full, long+"_"); ok && isSetting(s) {
			return v, true
		}
	}
	return "", false
}
