package telemetry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a Prometheus registry with the Go runtime and process
// collectors registered.
func NewRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}

// Check reports whether one dependency is ready; nil means ready.
type Check func(ctx context.Context) error

// Server is a node's HTTP server: /metrics, /health (the process is alive),
// /ready (every check passes) and whatever else is mounted on Mux.
type Server struct {
	// Mux is where other packages mount their handlers.
	Mux *http.ServeMux

	srv    *http.Server
	ln     net.Listener
	log    *slog.Logger
	mu     sync.Mutex
	checks map[string]Check
	done   chan error
}

// NewServer listens on addr and returns a server ready to Serve.
func NewServer(addr string, reg *prometheus.Registry, log *slog.Logger) (*Server, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", addr, err)
	}
	s := &Server{Mux: http.NewServeMux(), ln: ln, log: log, checks: map[string]Check{}, done: make(chan error, 1)}
	s.Mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	s.Mux.HandleFunc("GET /health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "alive"})
	})
	s.Mux.HandleFunc("GET /ready", s.ready)
	s.srv = &http.Server{Handler: s.Mux, ReadHeaderTimeout: 10 * time.Second}
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// AddCheck adds a readiness check under name.
func (s *Server) AddCheck(name string, c Check) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.checks[name] = c
}

// ReadyBudget bounds /ready: a check that has not answered by then counts
// as failed, so that a hung dependency (a stopped Redis, a black-holed etcd)
// turns the probe into a prompt 503 instead of a probe timeout.
const ReadyBudget = 800 * time.Millisecond

func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), ReadyBudget)
	defer cancel()
	s.mu.Lock()
	checks := make(map[string]Check, len(s.checks))
	for n, c := range s.checks {
		checks[n] = c
	}
	s.mu.Unlock()
	type result struct{ name, res string }
	// Buffered for every check, so a check that ignores its context and
	// answers after the budget does not block on the send.
	out := make(chan result, len(checks))
	for n, c := range checks {
		go func() {
			res := "ok"
			if err := c(ctx); err != nil {
				res = err.Error()
			}
			out <- result{n, res}
		}()
	}
	results := make(map[string]string, len(checks))
	ok := true
wait:
	for len(results) < len(checks) {
		select {
		case res := <-out:
			results[res.name] = res.res
			ok = ok && res.res == "ok"
		case <-ctx.Done():
			break wait
		}
	}
	for n := range checks {
		if _, done := results[n]; !done {
			results[n] = fmt.Sprintf("no answer within %s", ReadyBudget)
			ok = false
		}
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ready": ok, "checks": results})
}

// Start serves in a goroutine owned by the server until Shutdown.
func (s *Server) Start() {
	go func() {
		err := s.srv.Serve(s.ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		s.done <- err
	}()
}

// Shutdown stops accepting requests and waits for those in flight.
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if serveErr := <-s.done; serveErr != nil && err == nil {
		err = serveErr
	}
	return err
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
