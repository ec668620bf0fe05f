package economytest_test

import (
	"context"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/economy/economytest"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

func TestMain(m *testing.M) { servertest.Main(m) }

// TestThreeNodesConserve runs the same workload on three services with
// their own pools (three "nodes") against one database, so every
// operation is delivered up to three times concurrently, then audits.
func TestThreeNodesConserve(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dsn := servertest.Postgres(t)
	const users = 20
	cfg := economytest.Config{Prefix: "run1", Seed: 42, Workers: 6, Ops: 60, Users: users, Hot: 3}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		stats []economytest.Stats
		pools []*pgxpool.Pool
	)
	for node := 0; node < 3; node++ {
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(pool.Close)
		pools = append(pools, pool)
	}
	// Every node migrates and funds at start-up, as nodes would.
	for _, pool := range pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := economy.Migrate(ctx, pool); err != nil {
				t.Error(err)
				return
			}
			if err := economytest.Fund(ctx, pool, users, 3000); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	for node, pool := range pools {
		svc, err := economy.New(pool, economy.Config{Rand: rand.NewPCG(uint64(node), 1)})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := economytest.Run(ctx, svc, cfg)
			if err != nil {
				t.Errorf("node %d: %v", node, err)
			}
			mu.Lock()
			stats = append(stats, st)
			mu.Unlock()
		}()
	}
	wg.Wait()
	rep, err := economy.Audit(ctx, pools[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatalf("%v (%+v)", err, rep)
	}
	if int(rep.Transactions) != users+stats[0].Operations {
		t.Fatalf("%d operations stored, want %d funding + %d distinct", rep.Transactions, users, stats[0].Operations)
	}
	t.Logf("stats per node %+v; audit %+v", stats, rep)
}
