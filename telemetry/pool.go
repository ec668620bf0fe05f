package telemetry

import (
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// PoolStater is what PoolCollector reads; *pgxpool.Pool is one.
type PoolStater interface {
	Stat() *pgxpool.Stat
}

// PoolCollector is a prometheus.Collector exporting a PostgreSQL pool's
// connection counts, read from Stat at scrape time:
// chopsticks_db_pool_acquired_conns, _idle_conns, _total_conns and
// _max_conns. The pool-saturation alert divides acquired by max.
type PoolCollector struct {
	pool                          PoolStater
	acquired, idle, total, maxc   *prometheus.Desc
	acquires, emptyWaits, waitDur *prometheus.Desc
}

var _ prometheus.Collector = (*PoolCollector)(nil)

// NewPoolCollector returns a collector of pool's statistics; register it
// once per pool.
func NewPoolCollector(pool PoolStater) *PoolCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("chopsticks_db_pool_"+name, help, nil, nil)
	}
	return &PoolCollector{
		pool:       pool,
		acquired:   d("acquired_conns", "PostgreSQL connections currently acquired from this node's pool."),
		idle:       d("idle_conns", "Idle PostgreSQL connections in this node's pool."),
		total:      d("total_conns", "PostgreSQL connections in this node's pool (acquired, idle and being opened)."),
		maxc:       d("max_conns", "Size limit of this node's PostgreSQL pool."),
		acquires:   d("acquires_total", "Connections acquired from this node's pool."),
		emptyWaits: d("empty_acquires_total", "Acquires that had to wait because the pool had no idle connection."),
		waitDur:    d("acquire_wait_seconds_total", "Total time spent waiting for a connection of this node's pool."),
	}
}

// Describe sends the descriptors of the pool's metrics.
func (c *PoolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.maxc, c.acquires, c.emptyWaits, c.waitDur} {
		ch <- d
	}
}

// Collect reads the pool's statistics now.
func (c *PoolCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.pool.Stat()
	ch <- prometheus.MustNewConstMetric(c.acquired, prometheus.GaugeValue, float64(st.AcquiredConns()))
	ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(st.IdleConns()))
	ch <- prometheus.MustNewConstMetric(c.total, prometheus.GaugeValue, float64(st.TotalConns()))
	ch <- prometheus.MustNewConstMetric(c.maxc, prometheus.GaugeValue, float64(st.MaxConns()))
	ch <- prometheus.MustNewConstMetric(c.acquires, prometheus.CounterValue, float64(st.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.emptyWaits, prometheus.CounterValue, float64(st.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(c.waitDur, prometheus.CounterValue, st.AcquireDuration().Seconds())
}
