package economy_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

func TestMain(m *testing.M) { servertest.Main(m) }

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type env struct {
	pool  *pgxpool.Pool
	svc   *economy.Service
	clock *clock
	reg   *prometheus.Registry
}

var opSeq atomic.Int64

// op returns a fresh operation ID.
func op() economy.Op { return economy.Op(fmt.Sprintf("op-%d", opSeq.Add(1))) }

func newEnv(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(servertest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 40
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := economy.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	c := &clock{t: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	reg := prometheus.NewRegistry()
	svc, err := economy.New(pool, economy.Config{Registerer: reg, Rand: rand.NewPCG(1, 2), Now: c.Now})
	if err != nil {
		t.Fatal(err)
	}
	return &env{pool: pool, svc: svc, clock: c, reg: reg}
}

// fund gives user credits from the Mint through the ledger (a daily-like
// grant written the way the service writes, so audits stay exact).
func (e *env) fund(t testing.TB, user, amount int64) {
	t.Helper()
	ctx := context.Background()
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO economy.transactions (op_id, user_id, kind, result) VALUES ($1, $2, 'grant', '{}') RETURNING id`,
		string(op()), user).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO economy.accounts (user_id, wallet) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET wallet = economy.accounts.wallet + EXCLUDED.wallet`, user, amount); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO economy.ledger_legs (account_id, tx_id, amount) VALUES ($1, $2, $3), (-1, $2, -$3)`,
		user, id, amount); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// audit fails the test when an invariant is broken.
func (e *env) audit(t testing.TB) economy.Report {
	t.Helper()
	r, err := economy.Audit(context.Background(), e.pool)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Err(); err != nil {
		t.Fatalf("%v (%+v)", err, r)
	}
	return r
}

func (e *env) balance(t testing.TB, user int64) economy.Account {
	t.Helper()
	a, err := e.svc.Balance(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
