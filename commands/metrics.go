package commands

import (
	"errors"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the router's Prometheus collectors. Command labels are the
// catalog's top-level names, so their number is bounded.
type metrics struct {
	known       map[string]bool
	total       *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	duplicates  prometheus.Counter
	claimErrors prometheus.Counter
	takeovers   prometheus.Counter
	replyErrors prometheus.Counter
	deferred    prometheus.Counter
	expired     *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, names []string) (*metrics, error) {
	m := &metrics{
		known: map[string]bool{},
		total: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chopsticks_commands_total",
			Help: "Interactions handled, by top-level command and outcome (ok, rejected, invalid, rate_limited, expired, error).",
		}, []string{"command", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "chopsticks_command_duration_seconds",
			Help:    "Time from claiming an interaction to sending its reply.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2, 2.5, 3, 5, 10},
		}, []string{"command"}),
		duplicates: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chopsticks_interactions_duplicate_total",
			Help: "Interactions dropped because they were already claimed (replays, overlaps).",
		}),
		claimErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chopsticks_interaction_claim_errors_total",
			Help: "Interactions handled without a claim because the claim store failed.",
		}),
		takeovers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chopsticks_interaction_claims_taken_over_total",
			Help: "Replayed interactions handled by taking over the unanswered claim of a node whose etcd lease is gone.",
		}),
		replyErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chopsticks_interaction_reply_errors_total",
			Help: "Replies that Discord did not accept.",
		}),
		deferred: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chopsticks_interactions_deferred_total",
			Help: "Interactions answered with a deferred response first.",
		}),
		expired: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chopsticks_interactions_expired_total",
			Help: "Commands that change state dropped unrun because their interaction could no longer be answered, by reason (deadline, defer_refused).",
		}, []string{"reason"}),
	}
	for _, reason := range expiredReasons {
		m.expired.WithLabelValues(reason)
	}
	for _, n := range names {
		m.known[n] = true
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{m.total, m.duration, m.duplicates, m.claimErrors, m.takeovers, m.replyErrors, m.deferred, m.expired} {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if !errors.As(err, &are) {
					return nil, err
				}
			}
		}
	}
	return m, nil
}

// label maps a command path to a bounded label value.
func (m *metrics) label(path string) string {
	name, _, _ := strings.Cut(path, " ")
	if m.known[name] {
		return name
	}
	return "other"
}
