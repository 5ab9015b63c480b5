package demo

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"
)

// Handler serves the application over HTTP:
//
//	POST /login?user=ann          → {"token": "..."}
//	GET  /session?token=...       → {"user": "ann"}
//	POST /touch?token=...         → 204
//	POST /logout?token=...        → 204
//	GET  /products/{id}[?delay=]  → {"id": "...", "value": "..."} (cache-aside; delay slows the source)
//	GET  /stats                   → connections and cache counts
func (a *App) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		user := r.URL.Query().Get("user")
		if user == "" {
			http.Error(w, "user is required", http.StatusBadRequest)
			return
		}
		token, err := a.Sessions.Login(r.Context(), user)
		if err == nil {
			_, err = a.Analytics.Count(r.Context(), "login")
		}
		reply(w, map[string]string{"token": token}, err)
	})
	mux.HandleFunc("GET /session", func(w http.ResponseWriter, r *http.Request) {
		user, err := a.Sessions.Read(r.Context(), r.URL.Query().Get("token"))
		reply(w, map[string]string{"user": user}, err)
	})
	mux.HandleFunc("POST /touch", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, a.Sessions.Touch(r.Context(), r.URL.Query().Get("token")))
	})
	mux.HandleFunc("POST /logout", func(w http.ResponseWriter, r *http.Request) {
		reply(w, nil, a.Sessions.Logout(r.Context(), r.URL.Query().Get("token")))
	})
	mux.HandleFunc("GET /products/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		delay, _ := time.ParseDuration(r.URL.Query().Get("delay"))
		v, err := a.Cache.Get(r.Context(), "product:"+id, func(ctx context.Context) (string, error) {
			select { // the slow source of truth
			case <-time.After(delay):
			case <-ctx.Done():
				return "", ctx.Err()
			}
			return "product " + id + " from the source", nil
		})
		reply(w, map[string]string{"id": id, "value": v}, err)
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		reply(w, map[string]any{"connections": a.Registry.Stats(), "cache": a.Cache.Stats()}, nil)
	})
	return mux
}

func reply(w http.ResponseWriter, body any, err error) {
	switch {
	case errors.Is(err, ErrNoSession):
		http.Error(w, err.Error(), http.StatusNotFound)
	case err != nil:
		http.Error(w, err.Error(), http.StatusInternalServerError)
	case body == nil:
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	}
}
