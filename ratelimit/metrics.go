package ratelimit

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chopsticks-bot/chopsticks/telemetry"
)

// metrics are the limiter's Prometheus series. Labels are bounded: rule
// names and decision paths, never users, IPs or commands.
type metrics struct {
	hits      *prometheus.CounterVec
	decisions *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	fallback  prometheus.Gauge
	switches  *prometheus.CounterVec

	// Children resolved once: a decision's metrics cost no label lookup.
	paths    map[string]pathMetrics
	ruleHits map[string]prometheus.Counter
}

// pathMetrics are one decision path's series.
type pathMetrics struct {
	decisions prometheus.Counter
	latency   prometheus.Observer
}

// Decision paths, the values of the path label.
const (
	pathRedis    = "redis"
	pathLocal    = "local"
	pathFallback = "fallback"
)

// decided records one decision answered on path in seconds, refused by
// rule ("" when allowed).
func (m *metrics) decided(path string, seconds float64, rule string) {
	p := m.paths[path]
	p.decisions.Inc()
	p.latency.Observe(seconds)
	if rule != "" {
		c, ok := m.ruleHits[rule]
		if !ok {
			c = m.hits.WithLabelValues(rule)
		}
		c.Inc()
	}
}

func newMetrics(reg prometheus.Registerer, cachedFn func() float64) (*metrics, error) {
	m := &metrics{
		hits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chopsticks_rate_limit_hits_total",
			Help: "Refused decisions by the rule that refused them.",
		}, []string{"rule"}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chopsticks_rate_limit_decisions_total",
			Help: "Decisions by how they were answered: redis, local (cached refusal, no Redis call) or fallback (Redis down).",
		}, []string{"path"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chopsticks_rate_limit_decision_seconds",
			Help:    "Time to reach a rate-limit decision.",
			Buckets: []float64{1e-6, 1e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2, 5e-2, 0.25},
		}, []string{"path"}),
		fallback: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chopsticks_rate_limit_fallback",
			Help: "1 while this node limits locally because Redis is unreachable.",
		}),
		switches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chopsticks_rate_limit_fallback_switches_total",
			Help: "Switches between Redis and the local fallback, by the mode switched to.",
		}, []string{"to"}),
	}
	cached := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chopsticks_rate_limit_local_cache_entries",
		Help: "Blocks and hot subjects this node answers without Redis.",
	}, cachedFn)
	if reg != nil {
		if err := m.register(reg, cached); err != nil {
			return nil, err
		}
	}
	// Every rule exists from the start, so alerts and dashboards read 0,
	// not "no data", before the first refusal.
	m.ruleHits = make(map[string]prometheus.Counter)
	for _, rule := range []string{RuleCommand, RuleCommandBlock, RuleGlobal, RuleSensitive, RuleSensitiveBlock, RuleHTTP, RuleUnavailable} {
		m.ruleHits[rule] = m.hits.WithLabelValues(rule)
	}
	m.paths = make(map[string]pathMetrics)
	for _, p := range []string{pathRedis, pathLocal, pathFallback} {
		m.paths[p] = pathMetrics{decisions: m.decisions.WithLabelValues(p), latency: m.latency.WithLabelValues(p)}
	}
	for _, to := range []string{"fallback", "redis"} {
		m.switches.WithLabelValues(to)
	}
	return m, nil
}

// register registers m's collectors with reg, adopting those another
// limiter in the process registered first.
func (m *metrics) register(reg prometheus.Registerer, cached prometheus.Collector) error {
	var err error
	if m.hits, err = telemetry.Register(reg, m.hits); err != nil {
		return err
	}
	if m.decisions, err = telemetry.Register(reg, m.decisions); err != nil {
		return err
	}
	if m.latency, err = telemetry.Register(reg, m.latency); err != nil {
		return err
	}
	if m.fallback, err = telemetry.Register(reg, m.fallback); err != nil {
		return err
	}
	if m.switches, err = telemetry.Register(reg, m.switches); err != nil {
		return err
	}
	_, err = telemetry.Register(reg, cached)
	return err
}
