package provider

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testPassword = "s3cr3t p@ss/word"

func TestLoadFrom(t *testing.T) {
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "pw")
	if err := os.WriteFile(pwFile, []byte(testPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	urlFile := filepath.Join(dir, "url")
	if err := os.WriteFile(urlFile, []byte("redis://u:"+url.PathEscape(testPassword)+"@file-host:7000/4\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		environ []string
		part    string
		want    func(*Options)
	}{
		{name: "defaults", want: func(*Options) {}},
		{
			name:    "discrete variables",
			environ: []string{"REDIS_HOST=db.internal", "REDIS_PORT=6380", "REDIS_DB=3", "REDIS_USERNAME=app", "REDIS_PASSWORD=" + testPassword, "REDIS_TLS=true", "REDIS_CLIENT_NAME=svc", "REDIS_DIAL_TIMEOUT=250ms", "REDIS_PING_TIMEOUT=2s", "REDIS_DISABLE_CACHE=true", "REDIS_PROTOCOL=2", "REDIS_FORCE_SINGLE_CLIENT=true"},
			want: func(o *Options) {
				o.Host, o.Port, o.DB, o.Username, o.Password, o.TLS = "db.internal", 6380, 3, "app", testPassword, true
				o.ClientName, o.DialTimeout, o.PingTimeout, o.DisableCache, o.Protocol, o.ForceSingleClient = "svc", 250*time.Millisecond, 2*time.Second, true, 2, true
			},
		},
		{
			name:    "URL",
			environ: []string{"REDIS_URL=redis://app:" + url.PathEscape(testPassword) + "@r.example:6390/5"},
			want: func(o *Options) {
				o.Host, o.Port, o.DB, o.Username, o.Password = "r.example", 6390, 5, "app", testPassword
			},
		},
		{
			name:    "rediss URL without port",
			environ: []string{"REDIS_URL=rediss://r.example"},
			want:    func(o *Options) { o.Host, o.TLS = "r.example", true },
		},
		{
			name:    "unix URL with db",
			environ: []string{"REDIS_URL=unix:///run/redis.sock?db=2"},
			want:    func(o *Options) { o.UnixSocket, o.DB, o.Host, o.Port = "/run/redis.sock", 2, "", 0 },
		},
		{
			name:    "URL plus password file and DB variable",
			environ: []string{"REDIS_URL=redis://r.example", "REDIS_PASSWORD_FILE=" + pwFile, "REDIS_DB=7"},
			want:    func(o *Options) { o.Host, o.Password, o.DB = "r.example", testPassword, 7 },
		},
		{
			name:    "URL file",
			environ: []string{"REDIS_URL_FILE=" + urlFile},
			want: func(o *Options) {
				o.Host, o.Port, o.DB, o.Username, o.Password = "file-host", 7000, 4, "u", testPassword
			},
		},
		{
			name:    "feature override inherits the rest",
			environ: []string{"REDIS_HOST=db.internal", "REDIS_PASSWORD=" + testPassword, "REDIS_ANALYTICS_DB=1", "REDIS_SESSION_DB=9"},
			part:    "analytics",
			want:    func(o *Options) { o.Host, o.Password, o.DB, o.part = "db.internal", testPassword, 1, "analytics" },
		},
		{
			name:    "feature URL replaces the inherited address without conflict",
			environ: []string{"REDIS_HOST=db.internal", "REDIS_PORT=6380", "REDIS_DB=2", "REDIS_CACHE_URL=redis://cache.internal"},
			part:    "cache",
			want:    func(o *Options) { o.Host, o.Port, o.DB, o.part = "cache.internal", 6379, 2, "cache" },
		},
		{
			name:    "feature URL database beats the base DB",
			environ: []string{"REDIS_DB=2", "REDIS_CACHE_URL=redis://cache.internal/4"},
			part:    "cache",
			want:    func(o *Options) { o.Host, o.DB, o.part = "cache.internal", 4, "cache" },
		},
		{
			name:    "feature DB beats the base URL database",
			environ: []string{"REDIS_URL=redis://r.example/3", "REDIS_ANALYTICS_DB=1"},
			part:    "analytics",
			want:    func(o *Options) { o.Host, o.DB, o.part = "r.example", 1, "analytics" },
		},
		{
			name:    "feature password file replaces the base password",
			environ: []string{"REDIS_PASSWORD=base", "REDIS_RATE_LIMIT_PASSWORD_FILE=" + pwFile},
			part:    "rate-limit",
			want:    func(o *Options) { o.Password, o.part = testPassword, "rate-limit" },
		},
		{
			name:    "cluster seeds",
			environ: []string{"REDIS_ADDRS=10.0.0.1:7000,10.0.0.2:7000", "REDIS_READ_FROM_REPLICAS=true"},
			want:    func(o *Options) { o.Addrs, o.ReadFromReplicas = []string{"10.0.0.1:7000", "10.0.0.2:7000"}, true },
		},
		{
			name:    "URL with addr parameters",
			environ: []string{"REDIS_URL=redis://a:7000?addr=b:7001&addr=c:7002"},
			want:    func(o *Options) { o.Host, o.Port, o.Addrs = "a", 7000, []string{"a:7000", "b:7001", "c:7002"} },
		},
		{
			name:    "sentinel",
			environ: []string{"REDIS_ADDRS=s1:26379,s2:26379", "REDIS_SENTINEL_MASTER=mymaster", "REDIS_SENTINEL_PASSWORD_FILE=" + pwFile},
			want: func(o *Options) {
				o.Addrs, o.SentinelMaster, o.SentinelPassword = []string{"s1:26379", "s2:26379"}, "mymaster", testPassword
			},
		},
		{
			name:    "feature host replaces inherited ADDRS",
			environ: []string{"REDIS_ADDRS=a:1,b:2", "REDIS_CACHE_HOST=single"},
			part:    "cache",
			want:    func(o *Options) { o.Host, o.part = "single", "cache" },
		},
		{
			name:    "batching and rueidis's pipeline settings",
			environ: []string{"REDIS_BATCH=off", "REDIS_MAX_FLUSH_DELAY=20us", "REDIS_PIPELINE_MULTIPLEX=-1"},
			want: func(o *Options) {
				o.Batch, o.MaxFlushDelay, o.PipelineMultiplex = BatchOff, 20*time.Microsecond, -1
			},
		},
		{
			name:    "a part's own batching settings",
			environ: []string{"REDIS_MAX_FLUSH_DELAY=20us", "REDIS_ANALYTICS_BATCH=off", "REDIS_ANALYTICS_PIPELINE_MULTIPLEX=3"},
			part:    "analytics",
			want: func(o *Options) {
				o.Batch, o.MaxFlushDelay, o.PipelineMultiplex, o.part = BatchOff, 20*time.Microsecond, 3, "analytics"
			},
		},
		{
			name:    "feature port alone keeps the base host",
			environ: []string{"REDIS_HOST=db.internal", "REDIS_QUEUE_PORT=7001"},
			part:    "queue",
			want:    func(o *Options) { o.Host, o.Port, o.part = "db.internal", 7001, "queue" },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := LoadFrom(tt.environ)
			if err != nil {
				t.Fatalf("LoadFrom: %v", err)
			}
			if tt.part != "" {
				if o, err = o.ForPart(tt.part); err != nil {
					t.Fatalf("ForPart: %v", err)
				}
			}
			want := Defaults()
			tt.want(&want)
			if !equalOptions(o, want) {
				t.Errorf("got  %#v\nwant %#v", o, want)
			}
			if o.Password != want.Password {
				t.Errorf("password differs")
			}
		})
	}
}

func equalOptions(a, b Options) bool { return a.Password == b.Password && a.String() == b.String() }

func TestLoadFromErrors(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	tests := []struct {
		name    string
		environ []string
		part    string
		wantVar string
		want    string // also in the message
	}{
		{"port not a number", []string{"REDIS_PORT=abc"}, "", "REDIS_PORT", `"abc": is not a whole number`},
		{"port out of range", []string{"REDIS_PORT=70000"}, "", "REDIS_PORT", "1 to 65535"},
		{"port zero", []string{"REDIS_PORT=0"}, "", "REDIS_PORT", "1 to 65535"},
		{"negative DB", []string{"REDIS_DB=-1"}, "", "REDIS_DB", "0 or more"},
		{"bad duration", []string{"REDIS_DIAL_TIMEOUT=5 parsecs"}, "", "REDIS_DIAL_TIMEOUT", "a duration"},
		{"zero ping timeout", []string{"REDIS_PING_TIMEOUT=0s"}, "", "REDIS_PING_TIMEOUT", "more than 0"},
		{"bad bool", []string{"REDIS_TLS=yesplease"}, "", "REDIS_TLS", "a boolean"},
		{"bad protocol", []string{"REDIS_PROTOCOL=4"}, "", "REDIS_PROTOCOL", "2 or 3"},
		{"bad URL", []string{"REDIS_URL=redis://u:" + testPassword + "@h:1/0"}, "", "REDIS_URL", "percent-encode"},
		{"unknown scheme", []string{"REDIS_URL=http://u:" + url.PathEscape(testPassword) + "@h"}, "", "REDIS_URL", `scheme "http"`},
		{"URL without scheme", []string{"REDIS_URL=localhost:6379"}, "", "REDIS_URL", "no scheme"},
		{"URL bad port", []string{"REDIS_URL=redis://h:99999"}, "", "REDIS_URL", "invalid port"},
		{"URL bad db", []string{"REDIS_URL=redis://h/x"}, "", "REDIS_URL", "invalid database"},
		{"URL unknown parameter", []string{"REDIS_URL=redis://h?protocol=2"}, "", "REDIS_URL", `"protocol", which is not supported`},
		{"URL and host", []string{"REDIS_URL=redis://h", "REDIS_HOST=x"}, "", "REDIS_HOST", "REDIS_URL"},
		{"URL and port", []string{"REDIS_URL=redis://h", "REDIS_PORT=1"}, "", "REDIS_PORT", "REDIS_URL"},
		{"URL db and DB", []string{"REDIS_URL=redis://h/1", "REDIS_DB=2"}, "", "REDIS_DB", "REDIS_URL"},
		{"URL password and PASSWORD", []string{"REDIS_URL=redis://:" + url.PathEscape(testPassword) + "@h", "REDIS_PASSWORD=" + testPassword}, "", "REDIS_PASSWORD", "REDIS_URL"},
		{"password and password file", []string{"REDIS_PASSWORD=" + testPassword, "REDIS_PASSWORD_FILE=/x"}, "", "REDIS_PASSWORD", "REDIS_PASSWORD_FILE"},
		{"missing password file", []string{"REDIS_PASSWORD_FILE=" + missing}, "", "REDIS_PASSWORD_FILE", "no such file"},
		{"feature bad DB names the feature variable", []string{"REDIS_DB=1", "REDIS_ANALYTICS_DB=one"}, "analytics", "REDIS_ANALYTICS_DB", "whole number"},
		{"feature URL and feature host", []string{"REDIS_CACHE_URL=redis://h", "REDIS_CACHE_HOST=x"}, "cache", "REDIS_CACHE_HOST", "REDIS_CACHE_URL"},
		{"part name without letters", nil, "--", "part name", "letter or digit"},
		{"ADDRS without ports", []string{"REDIS_ADDRS=a,b"}, "", "REDIS_ADDRS", "host:port"},
		{"ADDRS and HOST", []string{"REDIS_ADDRS=a:1", "REDIS_HOST=x"}, "", "REDIS_HOST", "REDIS_ADDRS"},
		{"URL and ADDRS", []string{"REDIS_URL=redis://h", "REDIS_ADDRS=a:1"}, "", "REDIS_ADDRS", "REDIS_URL"},
		{"sentinel without ADDRS", []string{"REDIS_SENTINEL_MASTER=m"}, "", "REDIS_SENTINEL_MASTER", "REDIS_ADDRS"},
		{"bad addr parameter", []string{"REDIS_URL=redis://h?addr=x"}, "", "REDIS_URL", "addr parameter"},
		{"unknown batching", []string{"REDIS_BATCH=always"}, "", "REDIS_BATCH", "adaptive or off"},
		{"feature's unknown batching", []string{"REDIS_CACHE_BATCH=on"}, "cache", "REDIS_CACHE_BATCH", "adaptive or off"},
		{"negative flush delay", []string{"REDIS_MAX_FLUSH_DELAY=-1ms"}, "", "REDIS_MAX_FLUSH_DELAY", "0 or more"},
		{"flush delay without unit", []string{"REDIS_MAX_FLUSH_DELAY=20"}, "", "REDIS_MAX_FLUSH_DELAY", "a duration"},
		{"multiplex too large", []string{"REDIS_PIPELINE_MULTIPLEX=9"}, "", "REDIS_PIPELINE_MULTIPLEX", "from -1 (one connection) to 8"},
		{"multiplex too small", []string{"REDIS_PIPELINE_MULTIPLEX=-2"}, "", "REDIS_PIPELINE_MULTIPLEX", "from -1"},
		{"bad otel switch", []string{"REDIS_OTEL=false"}, "", "REDIS_OTEL", `"false": must be on or off`},
		{"bad part otel switch", []string{"REDIS_CACHE_OTEL=disabled"}, "cache", "REDIS_CACHE_OTEL", "on or off"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o, err := LoadFrom(append(tt.environ, "REDIS_CLIENT_NAME=x"))
			if err == nil && tt.part != "" {
				_, err = o.ForPart(tt.part)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalidConfig) {
				t.Errorf("errors.Is(err, ErrInvalidConfig) = false for %v", err)
			}
			var ce *ConfigError
			if !errors.As(err, &ce) || ce.Var != tt.wantVar {
				t.Errorf("error %q: want variable %s", err, tt.wantVar)
			}
			msg := err.Error()
			if !strings.Contains(msg, tt.want) {
				t.Errorf("error %q does not contain %q", msg, tt.want)
			}
			assertNoSecret(t, msg)
			if strings.Contains(msg, "field") || strings.Contains(msg, "strconv") {
				t.Errorf("error %q speaks of Go internals", msg)
			}
		})
	}
}

// assertNoSecret fails when s holds the test password in any usual form.
func assertNoSecret(t *testing.T, s string) {
	t.Helper()
	for _, form := range []string{testPassword, url.PathEscape(testPassword), url.QueryEscape(testPassword), "s3cr3t"} {
		if strings.Contains(s, form) {
			t.Errorf("%q reveals the password", s)
		}
	}
}

func TestOptionsNeverPrintThePassword(t *testing.T) {
	o, err := LoadFrom([]string{"REDIS_PASSWORD=" + testPassword, "REDIS_USERNAME=app"})
	if err != nil {
		t.Fatal(err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("opts", "options", o, "password", o.Password)
	slog.New(slog.NewTextHandler(&logged, nil)).Info("opts", "options", o, "password", o.Password)
	for _, s := range []string{
		fmt.Sprint(o), fmt.Sprintf("%v %+v %#v %s %q", o, o, o, o, o),
		fmt.Sprintf("%v %+v %#v %s %q %x", o.Password, o.Password, o.Password, o.Password, o.Password, o.Password),
		o.Fingerprint(), logged.String(),
	} {
		assertNoSecret(t, s)
	}
	if !strings.Contains(o.String(), "password=[redacted]") {
		t.Errorf("String() = %q: should say a password is set", o)
	}
	if o.Password.Value() != testPassword {
		t.Errorf("Value() does not return the password")
	}
}

// TestOTelSwitch: REDIS_OTEL is on unless set off, at the base or for one
// part, and shows in the settings only when off.
func TestOTelSwitch(t *testing.T) {
	base, err := LoadFrom([]string{"REDIS_CACHE_OTEL=off"})
	if err != nil {
		t.Fatal(err)
	}
	session, _ := base.ForPart("session")
	cache, _ := base.ForPart("cache")
	if !base.OTelEnabled() || !session.OTelEnabled() || cache.OTelEnabled() {
		t.Errorf("base %v, session %v, cache %v: want on, on, off", base.OTelEnabled(), session.OTelEnabled(), cache.OTelEnabled())
	}
	if strings.Contains(session.String(), "otel") || !strings.Contains(cache.String(), "otel=off") {
		t.Errorf("String: %q, %q", session, cache)
	}
	off, err := LoadFrom([]string{"REDIS_OTEL=off"})
	if err != nil {
		t.Fatal(err)
	}
	analytics, _ := off.ForPart("analytics")
	if off.OTelEnabled() || analytics.OTelEnabled() {
		t.Error("REDIS_OTEL=off: a part inherits it")
	}
}

func TestFingerprint(t *testing.T) {
	base, err := LoadFrom([]string{"REDIS_HOST=h", "REDIS_PASSWORD=a", "REDIS_ANALYTICS_DB=1", "REDIS_CACHE_PING_TIMEOUT=9s"})
	if err != nil {
		t.Fatal(err)
	}
	session, _ := base.ForPart("session")
	cache, _ := base.ForPart("cache")
	analytics, _ := base.ForPart("analytics")
	if session.Fingerprint() != cache.Fingerprint() {
		t.Error("the feature name or the ping timeout changed the fingerprint")
	}
	learning := session
	learning.LearnCommands = true
	if learning.Fingerprint() != session.Fingerprint() {
		t.Error("LearnCommands changed the fingerprint")
	}
	quiet := session
	quiet.OTel = Off
	if quiet.ConnectionKey() != session.ConnectionKey() {
		t.Error("OTel changed the connection key: parts with telemetry on and off would not share")
	}
	if session.Fingerprint() == analytics.Fingerprint() {
		t.Error("another DB kept the fingerprint")
	}
	other := base
	other.Password = "b"
	if other.ConnectionKey() == base.ConnectionKey() {
		t.Error("another password kept the connection key")
	}
	if other.Fingerprint() != base.Fingerprint() {
		t.Error("the password entered the fingerprint, which is the same in every process")
	}
	for _, mutate := range []func(*Options){
		func(o *Options) { o.Host = "x" }, func(o *Options) { o.Port++ }, func(o *Options) { o.UnixSocket = "/s" },
		func(o *Options) { o.Username = "u" }, func(o *Options) { o.TLS = true }, func(o *Options) { o.ClientName = "c" },
		func(o *Options) { o.DialTimeout++ }, func(o *Options) { o.DisableCache = true }, func(o *Options) { o.Protocol = 2 },
		func(o *Options) { o.ForceSingleClient = true }, func(o *Options) { o.Batch = BatchOff },
		func(o *Options) { o.MaxFlushDelay = 20 * time.Microsecond }, func(o *Options) { o.PipelineMultiplex = -1 },
	} {
		o := base
		mutate(&o)
		if o.Fingerprint() == base.Fingerprint() {
			t.Errorf("changing %s kept the fingerprint", o)
		}
	}
}

func TestClientOption(t *testing.T) {
	o, err := LoadFrom([]string{"REDIS_URL=rediss://app:pw@r.example:6390/5", "REDIS_PROTOCOL=2", "REDIS_CLIENT_NAME=svc"})
	if err != nil {
		t.Fatal(err)
	}
	co, err := o.ClientOption()
	if err != nil {
		t.Fatal(err)
	}
	if got := co.InitAddress; len(got) != 1 || got[0] != "r.example:6390" {
		t.Errorf("InitAddress = %v", got)
	}
	if co.SelectDB != 5 || co.Username != "app" || co.Password != "pw" || !co.AlwaysRESP2 || co.ClientName != "svc" {
		t.Errorf("ClientOption = %+v", co)
	}
	// No fixed name: crypto/tls checks each address dialled against its
	// own host (r.example here).
	if co.TLSConfig == nil || co.TLSConfig.ServerName != "" {
		t.Errorf("TLSConfig = %+v", co.TLSConfig)
	}
	if co.MaxFlushDelay != 0 || co.PipelineMultiplex != 0 {
		t.Errorf("by default MaxFlushDelay = %s, PipelineMultiplex = %d; want rueidis's defaults (0, 0)", co.MaxFlushDelay, co.PipelineMultiplex)
	}
	tuned, err := LoadFrom([]string{"REDIS_MAX_FLUSH_DELAY=20us", "REDIS_PIPELINE_MULTIPLEX=-1"})
	if err != nil {
		t.Fatal(err)
	}
	if co, err := tuned.ClientOption(); err != nil || co.MaxFlushDelay != 20*time.Microsecond || co.PipelineMultiplex != -1 {
		t.Errorf("ClientOption of REDIS_MAX_FLUSH_DELAY=20us REDIS_PIPELINE_MULTIPLEX=-1: MaxFlushDelay %s, PipelineMultiplex %d, %v", co.MaxFlushDelay, co.PipelineMultiplex, err)
	}
	if s := tuned.String(); !strings.Contains(s, "max_flush_delay=20µs") || !strings.Contains(s, "pipeline_multiplex=-1") {
		t.Errorf("String() = %q: want the flush delay and the multiplex", s)
	}
	if s := Defaults().String(); strings.Contains(s, "batch=") {
		t.Errorf("Defaults().String() = %q: the default batching is not a setting to show", s)
	}
	off := Defaults()
	off.Batch = BatchOff
	if s := off.String(); !strings.Contains(s, "batch=off") {
		t.Errorf("String() = %q: want batch=off", s)
	}
	o.DB = -2 // as a code override might
	_, err = o.ClientOption()
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Var != "Options.DB" {
		t.Errorf("ClientOption with DB -2: %v, want an error naming Options.DB", err)
	}
}
