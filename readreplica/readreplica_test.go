package readreplica_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/chopsticks-bot/chopsticks/readreplica"
)

func TestMain(m *testing.M) { servertest.Main(m) }

func pool(t *testing.T, dsn string) *pgxpool.Pool {
	t.Helper()
	p, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

// await polls cond until it holds or 20 s pass.
func await(t *testing.T, what string, cond func() bool) {
	t.Helper()
	poll.Eventually(t, 20*time.Second, cond, "%s", what)
}

// routed is an economy service whose lag-tolerant reads go through a
// Router of its own.
type routed struct {
	r   *readreplica.Router
	svc *economy.Service
	reg *prometheus.Registry
}

func newRouted(t *testing.T, primary, replica *pgxpool.Pool, maxLag time.Duration) routed {
	t.Helper()
	reg := prometheus.NewRegistry()
	r, err := readreplica.New(primary, replica, readreplica.Config{MaxLag: maxLag, CheckEvery: 50 * time.Millisecond, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); r.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	svc, err := economy.New(primary, economy.Config{Reads: r})
	if err != nil {
		t.Fatal(err)
	}
	return routed{r: r, svc: svc, reg: reg}
}

func (x routed) reads(t *testing.T, pool string) float64 {
	t.Helper()
	return value(t, x.reg, "chopsticks_db_lag_tolerant_reads_total", pool)
}

// value is the value of metric name (of label value label, when given).
func value(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if label != "" && m.GetLabel()[0].GetValue() != label {
				continue
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// wealth is what the leaderboard says user holds (wallet + bank), or -1.
func (x routed) wealth(t *testing.T, user int64) int64 {
	t.Helper()
	accts, err := x.svc.Leaderboard(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range accts {
		if a.UserID == user {
			return a.Wallet + a.Bank
		}
	}
	return -1
}

// TestLagTolerantReadsUseAStreamingReplica runs the economy on a real
// primary and its pg_basebackup streaming replica: the leaderboard and the
// currency log read the replica (seen by reading data the paused replica
// has not replayed yet), writes and balances stay on the primary, a
// replica further behind than the bound is bypassed, an idle primary does
// not make a caught-up replica look behind, and a stopped replica falls
// back to the primary at once.
func TestLagTolerantReadsUseAStreamingReplica(t *testing.T) {
	ctx := context.Background()
	primarySrv := servertest.PostgresServer(t)
	primary := pool(t, primarySrv.DSN("chopsticks"))
	if err := economy.Migrate(ctx, primary); err != nil {
		t.Fatal(err)
	}
	replicaSrv := servertest.ReplicaServer(t, primarySrv)
	replica := pool(t, replicaSrv.DSN("chopsticks"))

	const maxLag = 400 * time.Millisecond
	loose := newRouted(t, primary, replica, time.Hour)
	tight := newRouted(t, primary, replica, maxLag)
	writer, err := economy.New(primary, economy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	const user = 42
	if _, err := writer.AdjustCredits(ctx, "op-1", 1, user, 100, "test"); err != nil {
		t.Fatal(err)
	}
	await(t, "the replica to replay the first credit", func() bool { return tight.r.Usable() && tight.wealth(t, user) == 100 })
	if got := tight.reads(t, "replica"); got == 0 {
		t.Fatalf("a caught-up replica served no read (primary served %v)", tight.reads(t, "primary"))
	}

	// Pause replay: the replica stays at 100 while the primary moves on.
	if _, err := replica.Exec(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	if _, err := loose.svc.AdjustCredits(ctx, "op-2", 1, user, 50, "test"); err != nil {
		t.Fatalf("a write of a service with a replica: %v", err)
	}
	if a, err := loose.svc.Balance(ctx, user); err != nil || a.Wallet != 150 {
		t.Fatalf("balance after the write = %+v, %v; want 150 read from the primary", a, err)
	}
	await(t, "the loose router to use the replica", loose.r.Usable)
	before := loose.reads(t, "replica")
	if got := loose.wealth(t, user); got != 100 {
		t.Fatalf("leaderboard within a 1h bound = %d, want the replica's 100", got)
	}
	log, err := loose.svc.CurrencyLog(ctx, user, 0)
	if err != nil {
		t.Fatal(err)
	}
	if log.Total != 1 {
		t.Fatalf("currency log within a 1h bound has %d entries, want the replica's 1", log.Total)
	}
	if got := loose.reads(t, "replica") - before; got != 2 {
		t.Fatalf("replica served %v of 2 reads", got)
	}

	// The tight router sees the paused replica fall behind and reads the primary.
	await(t, "the tight router to bypass the paused replica", func() bool { return !tight.r.Usable() })
	before = tight.reads(t, "primary")
	if got := tight.wealth(t, user); got != 150 {
		t.Fatalf("leaderboard with a lagging replica = %d, want the primary's 150", got)
	}
	if got := tight.reads(t, "primary") - before; got != 1 {
		t.Fatalf("primary served %v of 1 read", got)
	}
	if v := value(t, tight.reg, "chopsticks_db_replica_usable", ""); v != 0 {
		t.Fatalf("chopsticks_db_replica_usable = %v, want 0 (lag %v)", v, value(t, tight.reg, "chopsticks_db_replica_lag_seconds", ""))
	}
	if v := value(t, tight.reg, "chopsticks_db_replica_lag_seconds", ""); v <= maxLag.Seconds() {
		t.Fatalf("chopsticks_db_replica_lag_seconds = %v, want over %v", v, maxLag.Seconds())
	}

	// Resume: the replica catches up and is used again; an idle primary
	// keeps it within the bound for longer than the bound.
	if _, err := replica.Exec(ctx, `SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	await(t, "the tight router to use the replica again", tight.r.Usable)
	idleSince := time.Now()
	for time.Since(idleSince) < 3*maxLag {
		if !tight.r.Usable() {
			t.Fatalf("a caught-up replica of an idle primary was bypassed after %v", time.Since(idleSince))
		}
		time.Sleep(20 * time.Millisecond)
	}
	before = tight.reads(t, "replica")
	if got := tight.wealth(t, user); got != 150 {
		t.Fatalf("leaderboard on the caught-up replica = %d, want 150", got)
	}
	if got := tight.reads(t, "replica") - before; got != 1 {
		t.Fatalf("replica served %v of 1 read", got)
	}

	// A stopped replica: the next read falls back to the primary at once.
	if err := replicaSrv.Stop(); err != nil {
		t.Fatal(err)
	}
	before = loose.reads(t, "primary")
	if got := loose.wealth(t, user); got != 150 {
		t.Fatalf("leaderboard with the replica stopped = %d, want the primary's 150", got)
	}
	if got := loose.reads(t, "primary") - before; got != 1 {
		t.Fatalf("primary served %v of 1 read after the replica stopped", got)
	}
	if loose.r.Usable() {
		t.Fatal("a stopped replica is still in use")
	}
}
