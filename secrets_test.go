package wireredis_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wireredis/wireredis/feature"
	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/provider"
	"github.com/wireredis/wireredis/redistest"
	"github.com/wireredis/wireredis/registry"
)

func TestMain(m *testing.M) { testsupport.VerifyTestMain(m) }

// sweepPassword must never be shown; it has characters that URL encoding
// changes, so that the encoded forms are checked too.
const sweepPassword = "Sw33p s3cret/P@ss:word"

// TestSecretsNeverShow runs the error paths and log lines of the library
// with a known password and looks for it everywhere they print.
func TestSecretsNeverShow(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t, "--requirepass", "the-right-one")
	enc := url.UserPassword("app", sweepPassword).String() // app:Sw33p%20s3cret%2FP%40ss%3Aword
	var seen []string
	show := func(what string, v ...any) {
		for _, x := range v {
			seen = append(seen, what+": "+fmt.Sprint(x), fmt.Sprintf("%s: %v %+v %#v %s", what, x, x, x, x))
		}
	}
	var logs testsupport.Buffer
	logger := slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	// Configuration errors that involve the password.
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(sweepPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, environ := range [][]string{
		{"REDIS_URL=redis://app:" + sweepPassword + "@h:1/0"},                // not a valid URL
		{"REDIS_URL=http://" + enc + "@h"},                                   // unknown scheme
		{"REDIS_URL=redis://" + enc + "@h:99999"},                            // bad port
		{"REDIS_URL=redis://" + enc + "@h", "REDIS_PASSWORD=x"},              // two passwords
		{"REDIS_PASSWORD=" + sweepPassword, "REDIS_PASSWORD_FILE=" + pwFile}, // both sources
		{"REDIS_URL=redis://" + enc + "@h?protocol=2"},                       // unknown parameter
		{"REDIS_PASSWORD=" + sweepPassword, "REDIS_PORT=x"},
		{"REDIS_PASSWORD=" + sweepPassword, "REDIS_CACHE_URL=redis://" + enc + "@h:0"},
	} {
		o, err := provider.LoadFrom(environ)
		if err == nil {
			_, err = o.ForPart("cache")
		}
		if err == nil {
			t.Errorf("%d: no error", len(seen))
		}
		show("config error", err)
	}

	// Options, and the connection errors of a wrong password, an
	// unreachable server and a TLS failure.
	reg, closeAll := registry.New(logger)
	defer closeAll()
	for _, environ := range [][]string{
		{"REDIS_URL=redis://" + enc + "@" + srv.Addr},
		{"REDIS_URL=redis://" + srv.Addr, "REDIS_PASSWORD_FILE=" + pwFile},
		{"REDIS_URL=redis://" + enc + "@127.0.0.1:1", "REDIS_PING_TIMEOUT=500ms"},
		{"REDIS_URL=rediss://" + enc + "@" + srv.Addr, "REDIS_PING_TIMEOUT=500ms"},
		{"REDIS_URL=redis://" + enc + "@" + srv.Addr, "REDIS_STARTUP=background", "REDIS_PING_TIMEOUT=200ms"},
	} {
		base, err := provider.LoadFrom(environ)
		if err != nil {
			t.Fatal(err)
		}
		show("options", base)
		slog.New(slog.NewTextHandler(&logs, nil)).Info("options", "opts", base, "password", base.Password)
		part, release, err := feature.Open(ctx, reg, base, "session")
		show("open error", err)
		if err == nil {
			show("command error", part.Do(ctx, part.B().Get().Key("k").Build()).Error())
			show("refused", part.Do(ctx, part.B().Flushall().Build()).Error())
			show("stats", reg.Stats())
			show("check", reg.Check(ctx))
			rec := httptest.NewRecorder()
			reg.HealthHandler(registry.HealthConfig{Timeout: time.Second}).ServeHTTP(rec, httptest.NewRequest("GET", "/healthz", nil))
			seen = append(seen, "health: "+rec.Body.String())
			release()
		}
	}
	closeAll()
	seen = append(seen, "logs: "+logs.String())

	forms := []string{sweepPassword, url.PathEscape(sweepPassword), url.QueryEscape(sweepPassword), strings.Split(enc, ":")[1], "Sw33p"}
	for _, s := range seen {
		for _, f := range forms {
			if strings.Contains(s, f) {
				t.Errorf("the password (as %q) shows in\n%s", f, s)
			}
		}
	}
	if !strings.Contains(logs.String(), "WRONGPASS") && !strings.Contains(strings.Join(seen, "\n"), "WRONGPASS") {
		t.Error("the wrong-password path did not run")
	}
	t.Logf("checked %d outputs and %d bytes of logs", len(seen), logs.Len())
}

// TestUnencodedPasswordsNeverShow sweeps realistic passwords that hold
// URL-reserved characters, written into URLs without percent-encoding, as
// people do. Each URL either reaches the server with that very password
// (the server's ACL is the judge) or fails with an error that says to
// percent-encode it and repeats no five characters of it, whichever
// variable holds the URL.
func TestUnencodedPasswordsNeverShow(t *testing.T) {
	ctx := context.Background()
	srv := redistest.Start(t)
	passwords := []string{
		"2024/Summer-Secret", "Tr0ub4dor?Horse", "Winter#2025!", "p@ssw0rd@home",
		"admin:root:Secret9", "a/b?c#d@e:f-Zq9", "Sp@ce Bar/Key", "%41lready%zz", "Quill@Zebra/Mint",
		"?Leading-Quest", "trailing-slash/", "#Hash-First",
	}
	for i, pw := range passwords {
		user := fmt.Sprintf("sweep%d", i)
		if err := srv.Client.Do(ctx, srv.Client.B().AclSetuser().Username(user).Rule("on", ">"+pw, "~*", "+@all").Build()).Error(); err != nil {
			t.Fatal(err)
		}
		url := "redis://" + user + ":" + pw + "@" + srv.Addr + "/0"
		urlFile := filepath.Join(t.TempDir(), "url")
		if err := os.WriteFile(urlFile, []byte(url+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		for _, how := range []struct {
			environ []string
			urlVar  string
		}{
			{environ: []string{"REDIS_URL=" + url}},
			{environ: []string{"REDIS_URL_FILE=" + urlFile}},
			{environ: []string{"REDIS_CACHE_URL=" + url}},
			{environ: []string{"CACHE_REDIS_URL=" + url}, urlVar: "CACHE_REDIS_URL"},
		} {
			var logs testsupport.Buffer
			reg, closeAll := registry.New(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})))
			var part *feature.Client
			release := func() {}
			base, err := provider.LoadFrom(append(how.environ, "REDIS_PING_TIMEOUT=2s"))
			if err == nil {
				var r func()
				if part, r, err = (feature.Part{Namespace: "cache", URLVar: how.urlVar}).Open(ctx, reg, base); err == nil {
					release = r
				}
			}
			var seen string
			if err != nil {
				seen = err.Error()
				if !strings.Contains(seen, "percent-encode") {
					t.Errorf("%q in %v: %v, want an error that says to percent-encode", pw, how.environ[0][:strings.IndexByte(how.environ[0], '=')], err)
				}
			} else {
				// It parsed: then to this password, as the server says.
				who, werr := part.Do(ctx, part.B().AclWhoami().Build()).ToString()
				if werr != nil || who != user {
					t.Errorf("%q: parsed, but the server says %q, %v", pw, who, werr)
				}
				seen = fmt.Sprintf("%v %+v %#v", base, base, base) + fmt.Sprint(reg.Stats())
			}
			release()
			closeAll()
			seen += logs.String()
			for j := 0; j+5 <= len(pw); j++ {
				if frag := pw[j : j+5]; strings.Contains(seen, frag) {
					t.Errorf("%q: %q shows in %s", pw, frag, seen)
					break
				}
			}
		}
	}
}
