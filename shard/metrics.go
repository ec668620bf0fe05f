package shard

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the shard collectors shared by every shard of a node. The
// shard label is bounded by the shard count.
type Metrics struct {
	Identifies prometheus.Counter
	Resumes    *prometheus.CounterVec
	Up         *prometheus.GaugeVec
}

// NewMetrics registers the shard metrics on reg.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		Identifies: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chopsticks_identify_total", Help: "IDENTIFY commands sent by this node.",
		}),
		Resumes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chopsticks_resume_total", Help: "RESUME attempts by result (ok, invalid, failed).",
		}, []string{"result"}),
		Up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "chopsticks_shard_up", Help: "1 while this node has the shard connected and ready.",
		}, []string{"shard"}),
	}
	for _, result := range []string{"ok", "invalid", "failed"} {
		m.Resumes.WithLabelValues(result)
	}
	for _, c := range []prometheus.Collector{m.Identifies, m.Resumes, m.Up} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *Metrics) up(shard int, v float64) { m.Up.WithLabelValues(strconv.Itoa(shard)).Set(v) }
