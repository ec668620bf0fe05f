package discordrest

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chopsticks-bot/chopsticks/telemetry"
)

func (t *Transport) initMetrics() error {
	t.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chopsticks_discord_rest_requests_total",
		Help: "Discord REST requests sent, by route template (method and path with IDs replaced) and status code.",
	}, []string{"route", "status"})
	t.tooMany = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chopsticks_discord_rest_429_total",
		Help: "Discord REST 429 responses, by scope (global, user, shared, other).",
	}, []string{"scope"})
	t.invalid = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "chopsticks_discord_rest_invalid_requests",
		Help: "Invalid Discord REST requests (401, 403, non-shared 429) in the last window, cluster-wide; Discord bans at 10,000 per 10 minutes.",
	})
	t.waits = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "chopsticks_discord_rest_wait_seconds",
		Help:    "Time a REST request waited for its bucket and the global limit.",
		Buckets: []float64{1e-4, 1e-3, 5e-3, 0.02, 0.05, 0.1, 0.5, 1, 5, 30},
	})
	t.fbGauge = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "chopsticks_discord_rest_fallback",
		Help: "1 while this node paces REST alone because Redis is unreachable.",
	})
	// Every scope exists from the start, so dashboards and alerts see 0
	// rather than no data before the first 429.
	for _, scope := range []string{"global", "user", "shared", "other"} {
		t.tooMany.WithLabelValues(scope)
	}
	if t.cfg.Registerer == nil {
		return nil
	}
	var err error
	if t.requests, err = telemetry.Register(t.cfg.Registerer, t.requests); err != nil {
		return err
	}
	if t.tooMany, err = telemetry.Register(t.cfg.Registerer, t.tooMany); err != nil {
		return err
	}
	if t.invalid, err = telemetry.Register(t.cfg.Registerer, t.invalid); err != nil {
		return err
	}
	if t.waits, err = telemetry.Register(t.cfg.Registerer, t.waits); err != nil {
		return err
	}
	t.fbGauge, err = telemetry.Register(t.cfg.Registerer, t.fbGauge)
	return err
}
