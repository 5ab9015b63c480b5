package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/wireredis/wireredis/internal/testsupport"
	"github.com/wireredis/wireredis/redistest"
)

func TestDemoServe(t *testing.T) {
	srv := redistest.Start(t)
	clearRedisEnv(t)
	t.Setenv("REDIS_URL", srv.URL())
	ctx, stop := context.WithCancel(context.Background()) // stands for SIGINT
	var out testsupport.Buffer
	exited := make(chan int, 1)
	go func() { exited <- run(ctx, []string{"--serve", "127.0.0.1:0"}, &out, io.Discard) }()

	var base string
	testsupport.WaitFor(t, 10*time.Second, "the demo to serve (its output says where)", func() bool {
		if m := regexp.MustCompile(`serving on (http://\S+)`).FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		}
		return base != ""
	})
	call := func(method, path string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer func() { _ = resp.Body.Close() }()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	code, body := call("POST", "/login?user=ann")
	token, _ := body["token"].(string)
	if code != 200 || token == "" {
		t.Fatalf("login = %d %v", code, body)
	}
	if code, body = call("GET", "/session?token="+token); code != 200 || body["user"] != "ann" {
		t.Errorf("session = %d %v", code, body)
	}
	if code, _ = call("POST", "/touch?token="+token); code != 204 {
		t.Errorf("touch = %d", code)
	}
	if code, _ = call("POST", "/logout?token="+token); code != 204 {
		t.Errorf("logout = %d", code)
	}
	if code, _ = call("GET", "/session?token="+token); code != 404 {
		t.Errorf("session after logout = %d, want 404", code)
	}
	for range 3 {
		if code, body = call("GET", "/products/7"); code != 200 || body["value"] != "product 7 from the source" {
			t.Errorf("product = %d %v", code, body)
		}
	}
	if code, body = call("GET", "/stats"); code != 200 || body["cache"] == nil {
		t.Errorf("stats = %d %v", code, body)
	}

	// A slow request is in flight when the signal comes: it must finish.
	// The signal comes once the demo handles it: it has then asked Redis
	// for the product (the server counts GETs), and waits for its slow
	// source.
	gets := func() string {
		info, err := srv.Client.Do(context.Background(), srv.Client.B().Info().Section("commandstats").Build()).ToString()
		if err != nil {
			t.Fatal(err)
		}
		return regexp.MustCompile(`cmdstat_get:calls=\d+`).FindString(info)
	}
	before := gets()
	slow := make(chan int, 1)
	go func() {
		c, _ := call("GET", "/products/slow?delay=500ms")
		slow <- c
	}()
	testsupport.WaitFor(t, 10*time.Second, "the demo to handle the slow request", func() bool { return gets() != before })
	stop()
	if c := <-slow; c != 200 {
		t.Errorf("the request in flight at shutdown got %d, want 200", c)
	}
	select {
	case code := <-exited:
		if code != 0 {
			t.Errorf("exit %d:\n%s", code, out.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("the demo did not stop after the signal")
	}
	report := out.String()
	for _, want := range []string{"stopping: waiting for the requests in flight", "connections open: 0"} {
		if !strings.Contains(report, want) {
			t.Errorf("output lacks %q:\n%s", want, report)
		}
	}
}
