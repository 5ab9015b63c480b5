package registry

import (
	"cmp"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"time"
)

// Health is the state of one connection, from Check.
type Health struct {
	Addr    string        `json:"addr"`
	DB      int           `json:"db"`
	Parts   []string      `json:"parts"`
	Latency time.Duration `json:"latency_ns"`
	// Error is empty when the connection answered PING.
	Error string `json:"error,omitempty"`
}

// Healthy reports whether the connection answered.
func (h Health) Healthy() bool { return h.Error == "" }

// Check sends one PING over each connection, concurrently, and reports
// each with the parts that use it. A lazy or background connection not
// made yet reports ErrNotReady without dialling.
func (r *Registry) Check(ctx context.Context) []Health {
	r.mu.Lock()
	var conns []*conn
	for _, c := range r.conns {
		if c.refs > 0 {
			conns = append(conns, c)
		}
	}
	out := make([]Health, len(conns))
	for i, c := range conns {
		out[i] = Health{Addr: c.addr, DB: c.db}
		for name := range c.users {
			out[i].Parts = append(out[i].Parts, name)
		}
		slices.Sort(out[i].Parts)
	}
	r.mu.Unlock()

	var wg sync.WaitGroup
	for i, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := c.client.Load()
			if t == nil {
				out[i].Error = ErrNotReady.Error()
				return
			}
			start := time.Now()
			err := t.Client.Do(ctx, t.Client.B().Ping().Build()).Error()
			out[i].Latency = time.Since(start)
			if err != nil {
				out[i].Error = err.Error()
			}
		}()
	}
	wg.Wait()
	slices.SortFunc(out, func(a, b Health) int { return cmp.Or(cmp.Compare(a.Addr, b.Addr), cmp.Compare(a.DB, b.DB)) })
	return out
}

// HealthHandler serves /healthz-style probes: 200 when every connection
// of a required part answers PING within timeout, 503 otherwise; the JSON
// body lists each connection, and failing names the failing required
// parts. Parts named in optional do not fail the probe.
func (r *Registry) HealthHandler(timeout time.Duration, optional ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		ctx, cancel := context.WithTimeout(req.Context(), timeout)
		defer cancel()
		checks := r.Check(ctx)
		var failing []string
		for _, h := range checks {
			if h.Healthy() {
				continue
			}
			for _, p := range h.Parts {
				if !slices.Contains(optional, p) {
					failing = append(failing, p)
				}
			}
		}
		slices.Sort(failing)
		status := http.StatusOK
		if len(failing) > 0 {
			status = http.StatusServiceUnavailable
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(struct {
			Status      string   `json:"status"`
			Failing     []string `json:"failing,omitempty"`
			Connections []Health `json:"connections"`
		}{map[bool]string{true: "ok", false: "unavailable"}[len(failing) == 0], failing, checks})
	})
}
