package provider

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// resolvePart resolves a part as feature.Part.Options does.
func resolvePart(environ []string, part, urlVar string, overrides ...func(*Options)) (Options, error) {
	o, err := LoadFrom(environ)
	if err != nil {
		return Options{}, err
	}
	if o, err = o.ForPart(part); err != nil {
		return Options{}, err
	}
	if urlVar != "" {
		if o, err = o.WithURLVar(urlVar); err != nil {
			return Options{}, err
		}
	}
	return o.WithOverrides(overrides...)
}

// dbIs3 is what wireredis gen's db=3 puts in code.
func dbIs3(o *Options) { o.DB = 3 }

// TestPrecedence: defaults < REDIS_* < the part's own (REDIS_<PART>_*
// and its url_env variable) < code. A more specific source replaces what
// it inherits; two sources of the part's own level, or one of them and
// code, that state one setting are an error naming both.
func TestPrecedence(t *testing.T) {
	reportsURL := "REPORTS_REDIS_URL"
	for _, tc := range []struct {
		name      string
		environ   []string
		urlVar    string
		overrides []func(*Options)
		wantDB    int
		wantAddr  string
		wantErr   []string // every one in the error
	}{
		{name: "code beats the base", environ: []string{"REDIS_DB=5"}, overrides: []func(*Options){dbIs3}, wantDB: 3, wantAddr: "localhost:6379"},
		{name: "code beats the base URL", environ: []string{"REDIS_URL=redis://h/5"}, overrides: []func(*Options){dbIs3}, wantDB: 3, wantAddr: "h:6379"},
		{name: "part beats the base", environ: []string{"REDIS_DB=5", "REDIS_REPORTS_DB=4"}, wantDB: 4, wantAddr: "localhost:6379"},
		{name: "url_env beats the base", environ: []string{"REDIS_URL=redis://base/1", reportsURL + "=redis://rep:7000/4"}, urlVar: reportsURL, wantDB: 4, wantAddr: "rep:7000"},
		{name: "url_env without a db keeps the part's DB", environ: []string{reportsURL + "=redis://rep", "REDIS_REPORTS_DB=2"}, urlVar: reportsURL, wantDB: 2, wantAddr: "rep:6379"},
		{name: "code equal to the part's variable", environ: []string{"REDIS_REPORTS_DB=3"}, overrides: []func(*Options){dbIs3}, wantDB: 3, wantAddr: "localhost:6379"},
		{name: "url_env db and the part's DB", environ: []string{reportsURL + "=redis://rep/4", "REDIS_REPORTS_DB=5"}, urlVar: reportsURL, wantErr: []string{reportsURL, "REDIS_REPORTS_DB"}},
		{name: "url_env and the part's URL", environ: []string{reportsURL + "=redis://rep", "REDIS_REPORTS_URL=redis://other"}, urlVar: reportsURL, wantErr: []string{reportsURL, "REDIS_REPORTS_URL"}},
		{name: "url_env and the part's host", environ: []string{reportsURL + "=redis://rep", "REDIS_REPORTS_HOST=other"}, urlVar: reportsURL, wantErr: []string{reportsURL, "REDIS_REPORTS_HOST"}},
		{name: "url_env password and the part's password", environ: []string{reportsURL + "=redis://:pw@rep", "REDIS_REPORTS_PASSWORD=pw2"}, urlVar: reportsURL, wantErr: []string{reportsURL, "REDIS_REPORTS_PASSWORD"}},
		{name: "code and the part's DB", environ: []string{"REDIS_REPORTS_DB=5"}, overrides: []func(*Options){dbIs3}, wantErr: []string{"REDIS_REPORTS_DB", "Options.DB to 3"}},
		{name: "code and the url_env db", environ: []string{reportsURL + "=redis://rep/4"}, urlVar: reportsURL, overrides: []func(*Options){dbIs3}, wantErr: []string{reportsURL, "Options.DB"}},
		{name: "code and the part URL's db", environ: []string{"REDIS_REPORTS_URL=redis://rep/4"}, overrides: []func(*Options){dbIs3}, wantErr: []string{"REDIS_REPORTS_URL", "Options.DB"}},
		{name: "the part's URL db and its DB", environ: []string{"REDIS_REPORTS_URL=redis://rep/4", "REDIS_REPORTS_DB=5"}, wantErr: []string{"REDIS_REPORTS_DB", "REDIS_REPORTS_URL"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := resolvePart(tc.environ, "reports", tc.urlVar, tc.overrides...)
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("no error; resolved %s", o)
				}
				if !errors.Is(err, ErrInvalidConfig) {
					t.Errorf("%v is not ErrInvalidConfig", err)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %s", err, w)
					}
				}
				assertNoSecret(t, err.Error())
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if o.DB != tc.wantDB || o.Addr() != tc.wantAddr {
				t.Errorf("db=%d addr=%s, want db=%d addr=%s", o.DB, o.Addr(), tc.wantDB, tc.wantAddr)
			}
		})
	}
}

func TestSourcesNameWhereEachSettingCameFrom(t *testing.T) {
	o, err := resolvePart([]string{"REDIS_URL=redis://h:7000/1", "REDIS_REPORTS_CLIENT_NAME=r"}, "reports", "", dbIs3)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprint(o.Sources())
	want := "map[ADDRS:REDIS_URL CLIENT_NAME:REDIS_REPORTS_CLIENT_NAME DB:Options.DB HOST:REDIS_URL PORT:REDIS_URL SENTINEL_MASTER:REDIS_URL TLS:REDIS_URL UNIX_SOCKET:REDIS_URL]"
	if got != want {
		t.Errorf("Sources = %s\nwant      %s", got, want)
	}
}

// TestTLSIsOneVisibleState: TLS is on or off, and every setting that
// contradicts that is an error at load naming both sides.
func TestTLSIsOneVisibleState(t *testing.T) {
	for _, tc := range []struct {
		name    string
		environ []string
		part    string
		wantErr []string // nil: must load
		wantTLS bool
	}{
		{name: "rediss and REDIS_TLS=false", environ: []string{"REDIS_URL=rediss://h", "REDIS_TLS=false"}, wantErr: []string{"REDIS_TLS", "REDIS_URL", "rediss://"}},
		{name: "rediss base and the part's TLS=false", environ: []string{"REDIS_URL=rediss://h", "REDIS_CACHE_TLS=false"}, part: "cache", wantErr: []string{"REDIS_CACHE_TLS", "REDIS_URL"}},
		{name: "unix socket and REDIS_TLS", environ: []string{"REDIS_URL=unix:///run/r.sock", "REDIS_TLS=true"}, wantErr: []string{"REDIS_TLS", "unix socket", "REDIS_URL"}},
		{name: "the part's unix socket and its TLS", environ: []string{"REDIS_CACHE_URL=unix:///run/r.sock", "REDIS_CACHE_TLS=true"}, part: "cache", wantErr: []string{"REDIS_CACHE_TLS", "REDIS_CACHE_URL"}},
		{name: "CA file without TLS", environ: []string{"REDIS_TLS_CA_FILE=/etc/ca.pem"}, wantErr: []string{"REDIS_TLS_CA_FILE", "TLS is off", "REDIS_TLS=true"}},
		{name: "server name with a redis:// URL", environ: []string{"REDIS_URL=redis://h", "REDIS_TLS_SERVER_NAME=h"}, wantErr: []string{"REDIS_TLS_SERVER_NAME", "TLS is off"}},
		{name: "the part's CA file without TLS", environ: []string{"REDIS_CACHE_TLS_CA_FILE=/etc/ca.pem"}, part: "cache", wantErr: []string{"REDIS_CACHE_TLS_CA_FILE", "REDIS_CACHE_TLS=true"}},
		{name: "CA file with TLS", environ: []string{"REDIS_TLS=true", "REDIS_TLS_CA_FILE=/etc/ca.pem"}, wantTLS: true},
		{name: "REDIS_TLS=true upgrades redis://", environ: []string{"REDIS_URL=redis://h", "REDIS_TLS=true"}, wantTLS: true},
		{name: "a plain part URL drops the base's TLS files", environ: []string{"REDIS_URL=rediss://h", "REDIS_TLS_CA_FILE=/etc/ca.pem", "REDIS_CACHE_URL=redis://plain"}, part: "cache", wantTLS: false},
		{name: "a part host keeps the base's TLS", environ: []string{"REDIS_URL=rediss://h", "REDIS_CACHE_HOST=other", "REDIS_CACHE_TLS=false"}, part: "cache", wantTLS: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := LoadFrom(tc.environ)
			if err == nil && tc.part != "" {
				o, err = o.ForPart(tc.part)
			}
			if tc.wantErr != nil {
				if err == nil {
					t.Fatalf("no error: %s", o)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// What config shows is what the client gets.
			shown := strings.Contains(o.String(), "tls=true")
			co, err := o.ClientOption()
			if err != nil && !strings.Contains(err.Error(), "/etc/ca.pem") {
				t.Fatal(err)
			}
			if o.TLS != tc.wantTLS || shown != tc.wantTLS || err == nil && (co.TLSConfig != nil) != tc.wantTLS {
				t.Errorf("TLS %v, shown %v, client %v; want %v (%s)", o.TLS, shown, co.TLSConfig != nil, tc.wantTLS, o)
			}
			if !tc.wantTLS && strings.Contains(o.String(), "tls_ca") {
				t.Errorf("TLS off but %s", o)
			}
		})
	}
}

// TestUnknownVariables: every REDIS_ variable the loader does not
// understand is reported with the nearest known name, and never with its
// value.
func TestUnknownVariables(t *testing.T) {
	environ := []string{
		"REDIS_PROT=6380", "REDIS_CART_DBB=2", "REDIS_PASWORD=" + testPassword, "REDIS_TLS_CA=/x",
		"REDIS_CARTT_DB=1", "REDIS_CART_DB=1", "REDIS_ZZZZZZZZ=1", "REDIS_URL=redis://h",
		"OTHER_PROT=1", "REDIS_EMPTY_TYPO=",
		// The test harness's settings are not misspelt ones.
		"REDIS_SERVER_BIN=/opt/redis/redis-server", "REDIS_SERVERS_DIR=../servers", "REDIS_TEST_ADDR=127.0.0.1:6379",
	}
	o, err := LoadFrom(environ)
	if err != nil {
		t.Fatal(err)
	}
	render := func(errs []*ConfigError) string {
		var b strings.Builder
		for _, e := range errs {
			fmt.Fprintf(&b, "%s\n", e)
		}
		return b.String()
	}
	got := render(o.UnknownVariables())
	want := `wireredis: REDIS_CART_DBB: is not a wireredis variable; did you mean REDIS_CART_DB?
wireredis: REDIS_PASWORD: is not a wireredis variable; did you mean REDIS_PASSWORD?
wireredis: REDIS_PROT: is not a wireredis variable; did you mean REDIS_PORT?
wireredis: REDIS_TLS_CA: is not a wireredis variable; did you mean REDIS_TLS_CA_FILE?
wireredis: REDIS_ZZZZZZZZ: is not a wireredis variable
`
	if got != want {
		t.Errorf("UnknownVariables() =\n%s\nwant\n%s", got, want)
	}
	withParts := render(o.UnknownVariables("cart", "rl"))
	if !strings.Contains(withParts, "REDIS_CARTT_DB: names no part of this service (cart, rl); did you mean REDIS_CART_DB?") || strings.Contains(withParts, "REDIS_CART_DB:") {
		t.Errorf("with the parts cart and rl:\n%s", withParts)
	}
	assertNoSecret(t, got+withParts)
}

func TestCheckPartNames(t *testing.T) {
	for _, tc := range []struct {
		names []string
		want  string // "" for no error
	}{
		{[]string{"rate-limit", "rate_limit"}, "REDIS_RATE_LIMIT_*"},
		{[]string{"sentinel"}, "REDIS_SENTINEL_PASSWORD"},
		{[]string{"x", "x_sentinel"}, "REDIS_X_SENTINEL_"},
		{[]string{"cart", "cart_items", "tls", "rl"}, ""},
	} {
		err := CheckPartNames(tc.names...)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("CheckPartNames(%q) = %v, want %q", tc.names, err, tc.want)
		}
	}
	if _, err := Defaults().ForPart("sentinel"); err == nil {
		t.Error(`ForPart("sentinel"): no error`)
	}
}

// TestPartVariablesCheckedAtLoad: a bad value for any part is found when
// the base loads, before any part opens a connection.
func TestPartVariablesCheckedAtLoad(t *testing.T) {
	_, err := LoadFrom([]string{"REDIS_URL=redis://h", "REDIS_RL_DB=two", "REDIS_CART_PORT=0"})
	for _, v := range []string{"REDIS_RL_DB", "REDIS_CART_PORT"} {
		if err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("LoadFrom: %v, want an error naming %s", err, v)
		}
	}
}

// TestPartURLOverSentinel: a part's URL replaces a Sentinel address as a
// whole; nothing blames a variable that was never set.
func TestPartURLOverSentinel(t *testing.T) {
	o, err := resolvePart([]string{"REDIS_ADDRS=s1:26379,s2:26379", "REDIS_SENTINEL_MASTER=mymaster", "REDIS_CACHE_URL=redis://cache.internal"}, "cache", "")
	if err != nil {
		t.Fatal(err)
	}
	if o.Addr() != "cache.internal:6379" {
		t.Errorf("Addr = %s", o.Addr())
	}
	_, err = resolvePart([]string{"REDIS_SENTINEL_MASTER=mymaster"}, "cache", "")
	if err == nil || !strings.Contains(err.Error(), "REDIS_SENTINEL_MASTER") || strings.Contains(err.Error(), "REDIS_CACHE_SENTINEL_MASTER") {
		t.Errorf("a master without sentinels: %v, want it to name REDIS_SENTINEL_MASTER", err)
	}
}

// TestFingerprintIsTheSameInEveryProcess runs this test binary again and
// compares: wireredis config and the application are two processes.
func TestFingerprintIsTheSameInEveryProcess(t *testing.T) {
	environ := []string{"REDIS_URL=redis://app:" + "pw@h:7000/2", "REDIS_TLS=true"}
	if os.Getenv("WIREREDIS_FINGERPRINT_CHILD") != "" {
		o, _ := LoadFrom(environ)
		fmt.Printf("fingerprint=%s\n", o.Fingerprint())
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestFingerprintIsTheSameInEveryProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), "WIREREDIS_FINGERPRINT_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	o, _ := LoadFrom(environ)
	if !strings.Contains(string(out), "fingerprint="+o.Fingerprint()+"\n") {
		t.Errorf("here %s; the other process printed\n%s", o.Fingerprint(), out)
	}
	// Same settings, another password: another connection, one
	// fingerprint (the password is not in it).
	p, _ := LoadFrom([]string{"REDIS_URL=redis://app:" + "other@h:7000/2", "REDIS_TLS=true"})
	if p.Fingerprint() != o.Fingerprint() || p.ConnectionKey() == o.ConnectionKey() {
		t.Error("the password changed the fingerprint, or not the connection key")
	}
}

// TestURLVarIsChecked: a part's url_env variable must be a variable name,
// and not one the part reads anyway, in code written by hand too.
func TestURLVarIsChecked(t *testing.T) {
	for _, name := range []string{"1BILLING", "BILLING-URL", "BILLING URL", "REDIS_URL", "REDIS_BILLING_URL"} {
		if _, err := resolvePart(nil, "billing", name); err == nil || !strings.Contains(err.Error(), "url_env") {
			t.Errorf("url_env %q: %v", name, err)
		}
	}
	if o, err := resolvePart([]string{"BILLING_REDIS_URL=redis://b"}, "billing", "BILLING_REDIS_URL"); err != nil || o.Host != "b" {
		t.Errorf("url_env BILLING_REDIS_URL: %v %s", err, o)
	}
}

// TestRESP2TurnsClientCachingOff: client-side caching needs RESP3, so
// REDIS_PROTOCOL=2 turns it off by itself (rueidis cannot connect
// otherwise); what `wireredis config` prints says so. Asking for caching
// as specifically as for RESP2 is an error naming both variables; a more
// specific setting wins over a less specific one, as everywhere.
func TestRESP2TurnsClientCachingOff(t *testing.T) {
	for _, tc := range []struct {
		name      string
		environ   []string
		overrides []func(*Options)
		wantCache bool
		wantErr   []string
	}{
		{name: "default", wantCache: true},
		{name: "RESP2 alone", environ: []string{"REDIS_PROTOCOL=2"}},
		{name: "RESP2 and caching off", environ: []string{"REDIS_PROTOCOL=2", "REDIS_DISABLE_CACHE=true"}},
		{name: "the part's RESP2", environ: []string{"REDIS_REPORTS_PROTOCOL=2"}},
		{name: "the part's RESP2 beats the base's caching", environ: []string{"REDIS_DISABLE_CACHE=false", "REDIS_REPORTS_PROTOCOL=2"}},
		{name: "the part's RESP3 beats the base's RESP2", environ: []string{"REDIS_PROTOCOL=2", "REDIS_REPORTS_PROTOCOL=3"}, wantCache: true},
		{name: "RESP2 and caching on", environ: []string{"REDIS_PROTOCOL=2", "REDIS_DISABLE_CACHE=false"}, wantErr: []string{"REDIS_DISABLE_CACHE", "REDIS_PROTOCOL is 2", "needs RESP3"}},
		{name: "the part's caching over the base's RESP2", environ: []string{"REDIS_PROTOCOL=2", "REDIS_REPORTS_DISABLE_CACHE=false"}, wantErr: []string{"REDIS_REPORTS_DISABLE_CACHE", "REDIS_PROTOCOL is 2"}},
		{name: "code's RESP2", overrides: []func(*Options){func(o *Options) { o.Protocol = 2 }}},
		{name: "code's caching over RESP2", environ: []string{"REDIS_PROTOCOL=2", "REDIS_DISABLE_CACHE=true"}, overrides: []func(*Options){func(o *Options) { o.DisableCache = false }}, wantErr: []string{"Options.DisableCache", "REDIS_PROTOCOL is 2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := resolvePart(tc.environ, "reports", "", tc.overrides...)
			if len(tc.wantErr) > 0 {
				if err == nil || !errors.Is(err, ErrInvalidConfig) {
					t.Fatalf("error %v, want a ConfigError", err)
				}
				for _, w := range tc.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q lacks %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			co, err := o.ClientOption()
			if err != nil {
				t.Fatal(err)
			}
			if o.ClientCache() != tc.wantCache || co.DisableCache == tc.wantCache || strings.Contains(o.String(), "client_cache=off") == tc.wantCache {
				t.Errorf("ClientCache %t, rueidis DisableCache %t, %s; want caching %t", o.ClientCache(), co.DisableCache, o, tc.wantCache)
			}
		})
	}
	// RESP2 alone opens the connection RESP2 with caching off opens.
	a, _ := resolvePart([]string{"REDIS_PROTOCOL=2"}, "reports", "")
	b, _ := resolvePart([]string{"REDIS_PROTOCOL=2", "REDIS_DISABLE_CACHE=true"}, "reports", "")
	if a.Fingerprint() != b.Fingerprint() {
		t.Error("REDIS_PROTOCOL=2 with and without REDIS_DISABLE_CACHE=true should be one connection")
	}
}
