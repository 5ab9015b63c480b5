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

// HealthConfig configures a health handler (HealthHandler); its zero
// value checks every part, with the defaults.
type HealthConfig struct {
	// Timeout bounds one check: the PINGs of every connection. 0 means
	// DefaultHealthTimeout.
	Timeout time.Duration
	// Optional names parts whose connections do not fail the probe.
	Optional []string
	// CacheFor is how long one check's result answers the probes that
	// follow; probes that come while a check runs wait for it. 0 means
	// DefaultHealthCache; a negative value checks on every probe.
	CacheFor time.Duration
	// Details adds each connection's address, database, latency and error
	// to the body. Off by default: a probe endpoint is often reachable by
	// more than the operators, and internal addresses and raw dial errors
	// are worth something to an attacker.
	Details bool
}

// DefaultHealthCache is how long a health handler reuses a check's result
// unless HealthConfig.CacheFor says otherwise: probes from several load
// balancers then cost one PING per connection a second, not one each.
const DefaultHealthCache = time.Second

// DefaultHealthTimeout bounds a check when HealthConfig.Timeout is 0.
const DefaultHealthTimeout = 2 * time.Second

// HealthHandler serves /healthz-style probes, GET or HEAD (other
// methods get 405): 200 when every connection of a required part answers
// PING within the timeout, 503 otherwise. The JSON body says each part is
// "up" or "down" and lists the failing required parts:
//
//	{"status":"unavailable","parts":{"analytics":"down","session":"up"},"failing":["analytics"]}
//
// With Details it adds "connections", each with its address, database,
// latency and error.
func (r *Registry) HealthHandler(c HealthConfig) http.Handler {
	if c.CacheFor == 0 {
		c.CacheFor = DefaultHealthCache
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultHealthTimeout
	}
	cache := &healthCache{r: r, cfg: c}
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet && req.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		checks, ok := cache.get(req.Context())
		if !ok { // the probe gave up before the first check ended
			http.Error(w, "unavailable: no check has finished", http.StatusServiceUnavailable)
			return
		}
		body := healthBody{Parts: map[string]string{}}
		for _, h := range checks {
			for _, p := range h.Parts {
				state := "up"
				if !h.Healthy() {
					state = "down"
					if !slices.Contains(c.Optional, p) && !slices.Contains(body.Failing, p) {
						body.Failing = append(body.Failing, p)
					}
				}
				if body.Parts[p] != "down" { // a part on two connections is down if either is
					body.Parts[p] = state
				}
			}
		}
		slices.Sort(body.Failing)
		body.Status = "ok"
		status := http.StatusOK
		if len(body.Failing) > 0 {
			body.Status, status = "unavailable", http.StatusServiceUnavailable
		}
		if c.Details {
			body.Connections = checks
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(body)
	})
}

type healthBody struct {
	Status      string            `json:"status"`
	Parts       map[string]string `json:"parts"`
	Failing     []string          `json:"failing,omitempty"`
	Connections []Health          `json:"connections,omitempty"`
}

// healthCache runs one check at a time and keeps its result for a while.
type healthCache struct {
	r   *Registry
	cfg HealthConfig

	mu      sync.Mutex
	checks  []Health
	at      time.Time
	running chan struct{} // closed when the check under way is over
}

// get returns the cached result or a new one; false when ctx ended
// before any check did.
func (h *healthCache) get(ctx context.Context) ([]Health, bool) {
	h.mu.Lock()
	if h.checks != nil && time.Since(h.at) < h.cfg.CacheFor {
		defer h.mu.Unlock()
		return h.checks, true
	}
	if ch := h.running; ch != nil {
		h.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.checks, h.checks != nil
	}
	ch := make(chan struct{})
	h.running = ch
	h.mu.Unlock()
	// Not the request's context: one client going away must not fail the
	// check that others wait for.
	checkCtx, cancel := context.WithTimeout(context.Background(), h.cfg.Timeout)
	checks := h.r.Check(checkCtx)
	cancel()
	h.mu.Lock()
	h.checks, h.at, h.running = checks, time.Now(), nil
	close(ch)
	h.mu.Unlock()
	return checks, true
}
