// Package readreplica sends the reads that tolerate lag to a PostgreSQL
// streaming replica while it is up and at most a bounded time behind its
// primary, and to the primary otherwise.
//
// The lag is measured without comparing the two servers' clocks and
// without being fooled by an idle primary: every check samples the
// primary's WAL position (pg_current_wal_lsn) with this process's clock,
// then reads the replica's replayed position (pg_last_wal_replay_lsn). The
// replica holds at least the primary's state at the newest sample it has
// replayed past, so its staleness is at most the time since that sample.
// A replica that has replayed everything of an idle primary is 0 behind;
// now() - pg_last_xact_replay_timestamp() would call it as old as the
// primary's last commit.
package readreplica

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// DefaultMaxLag is the staleness bound when Config.MaxLag is 0: a replica
// further behind is bypassed.
const DefaultMaxLag = 5 * time.Second

// Config tunes a Router; the zero value is usable.
type Config struct {
	// MaxLag bounds how stale a read on the replica may be; default
	// DefaultMaxLag.
	MaxLag time.Duration
	// CheckEvery is how often the lag is measured; default MaxLag/4,
	// at most one second.
	CheckEvery time.Duration
	// Registerer receives the router's metrics; nil registers none.
	Registerer prometheus.Registerer
	// Logger is told when the replica is bypassed or used again; nil
	// discards.
	Logger *slog.Logger
}

// Router runs lag-tolerant reads on a replica pool when the replica is up
// and within the bound, else on the primary pool. Its methods are safe for
// concurrent use; Run measures the lag.
type Router struct {
	primary, replica *pgxpool.Pool
	maxLag, every    time.Duration
	log              *slog.Logger

	mu      sync.Mutex
	lag     time.Duration // at checked; +Inf (math.MaxInt64) when unknown or down
	checked time.Time
	using   bool // for logging changes only

	samples []sample // owned by the check loop

	reads  *prometheus.CounterVec
	lagSec prometheus.GaugeFunc
	usable prometheus.GaugeFunc
}

type sample struct {
	lsn int64
	at  time.Time
}

const unknownLag = time.Duration(math.MaxInt64)

// New returns a Router over the two pools; it bypasses the replica until
// Run has measured it.
func New(primary, replica *pgxpool.Pool, cfg Config) (*Router, error) {
	if cfg.MaxLag <= 0 {
		cfg.MaxLag = DefaultMaxLag
	}
	if cfg.CheckEvery <= 0 {
		cfg.CheckEvery = min(cfg.MaxLag/4, time.Second)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Router{primary: primary, replica: replica, maxLag: cfg.MaxLag, every: cfg.CheckEvery,
		log: cfg.Logger, lag: unknownLag}
	r.reads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chopsticks_db_lag_tolerant_reads_total",
		Help: "Reads that tolerate lag, by the pool that served them (replica or primary).",
	}, []string{"pool"})
	r.lagSec = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chopsticks_db_replica_lag_seconds",
		Help: "How stale a read on the replica could be now: the lag at the last check plus the time since; +Inf when down or unknown.",
	}, func() float64 {
		if lag := r.staleness(time.Now()); lag != unknownLag {
			return lag.Seconds()
		}
		return math.Inf(1)
	})
	r.usable = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chopsticks_db_replica_usable",
		Help: "1 while lag-tolerant reads go to the read replica, 0 while they go to the primary.",
	}, func() float64 {
		if r.Usable() {
			return 1
		}
		return 0
	})
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{r.reads, r.lagSec, r.usable} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("read replica metrics: %w", err)
			}
		}
	}
	return r, nil
}

// Run measures the replica's lag every CheckEvery until ctx ends.
func (r *Router) Run(ctx context.Context) {
	t := time.NewTicker(r.every)
	defer t.Stop()
	for {
		r.check(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Usable reports whether a read now would go to the replica: the lag at the
// last check plus the time since stays within the bound.
func (r *Router) Usable() bool {
	return r.staleness(time.Now()) <= r.maxLag
}

// staleness bounds how old the replica's data is at now, or is unknownLag.
func (r *Router) staleness(now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stalenessLocked(now)
}

func (r *Router) stalenessLocked(now time.Time) time.Duration {
	if r.lag == unknownLag {
		return unknownLag
	}
	return r.lag + now.Sub(r.checked)
}

// Read runs read on the replica when it is usable, else on the primary. A
// replica that cannot be reached is bypassed at once (until the next check
// finds it) and read runs again on the primary.
func (r *Router) Read(ctx context.Context, read func(ctx context.Context, pool *pgxpool.Pool) error) error {
	if r.Usable() {
		err := read(ctx, r.replica)
		if err == nil || !unreachable(ctx, err) {
			r.reads.WithLabelValues("replica").Inc()
			return err
		}
		r.set(unknownLag, time.Now(), err)
	}
	r.reads.WithLabelValues("primary").Inc()
	return read(ctx, r.primary)
}

// unreachable reports whether err is the replica failing to answer rather
// than the read's own error (a PostgreSQL error) or the caller giving up. A
// server shutting down or refusing connections (SQLSTATE classes 08 and 57:
// an open pooled connection gets 57P01 when the replica stops) counts as
// unreachable.
func unreachable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return true
	}
	return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57")
}

// check measures the lag once and records it.
func (r *Router) check(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, max(r.every, time.Second))
	defer cancel()
	var p int64
	at := time.Now()
	// Without a primary sample the lag bound grows with time since the last
	// one, which is the truth: nothing newer is known.
	if err := r.primary.QueryRow(ctx, `SELECT (pg_current_wal_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&p); err == nil {
		r.samples = append(r.samples, sample{lsn: p, at: at})
	}
	var recovering bool
	var replayed *int64
	err := r.replica.QueryRow(ctx, `SELECT pg_is_in_recovery(), (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint`).Scan(&recovering, &replayed)
	now := time.Now()
	switch {
	case err != nil:
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return
		}
		r.set(unknownLag, now, err)
	case !recovering || replayed == nil:
		// Not a standby (promoted, or a primary given as the read URL):
		// its data is its own and current.
		r.set(0, now, nil)
	default:
		r.set(r.lagAt(*replayed, now), now, nil)
	}
}

// lagAt returns how stale a replica that replayed up to lsn is at now: the
// time since the newest primary sample it has replayed past, or unknownLag
// when it is behind every sample kept. Samples older than that one are
// dropped; the replica's position only grows.
func (r *Router) lagAt(lsn int64, now time.Time) time.Duration {
	k := -1
	for i, s := range r.samples {
		if s.lsn <= lsn {
			k = i
		}
	}
	if k < 0 {
		// Bound the memory of a replica that stays behind.
		if len(r.samples) > 4096 {
			r.samples = r.samples[len(r.samples)-4096:]
		}
		return unknownLag
	}
	lag := now.Sub(r.samples[k].at)
	r.samples = r.samples[k:]
	return lag
}

// set records the lag measured at now; cause is why it is unknown.
func (r *Router) set(lag time.Duration, now time.Time, cause error) {
	r.mu.Lock()
	r.lag, r.checked = lag, now
	use := r.stalenessLocked(now) <= r.maxLag
	changed := use != r.using
	r.using = use
	r.mu.Unlock()
	if !changed {
		return
	}
	if use {
		r.log.Info("read replica in use", "lag", lag)
	} else if cause != nil {
		r.log.Warn("read replica bypassed: unreachable", "err", cause)
	} else {
		r.log.Warn("read replica bypassed: too far behind", "lag", lag, "max_lag", r.maxLag)
	}
}
