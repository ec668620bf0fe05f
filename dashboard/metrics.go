package dashboard

import (
	"fmt"
	"net/http"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics count requests by route pattern and status, and refused admin
// attempts by reason. Labels are bounded: patterns come from the route
// table, never from the URL.
type metrics struct {
	requests     *prometheus.CounterVec
	adminRefused *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chopsticks_dashboard_requests_total",
			Help: "Dashboard HTTP requests, by route pattern and status code.",
		}, []string{"route", "code"}),
		adminRefused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chopsticks_dashboard_admin_refused_total",
			Help: "Refused dashboard admin attempts, by reason (unauthenticated, forbidden, csrf, rate_limited, unavailable).",
		}, []string{"reason"}),
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.requests, m.adminRefused} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("dashboard metrics: %w", err)
			}
		}
	}
	return m, nil
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// count records each request once it is answered. The mux sets r.Pattern;
// requests refused before routing count as "unrouted".
func (s *Server) count(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := r.Pattern
		if route == "" {
			route = "unrouted"
		}
		if sw.code == 0 {
			sw.code = http.StatusOK
		}
		s.met.requests.WithLabelValues(route, strconv.Itoa(sw.code)).Inc()
	})
}
