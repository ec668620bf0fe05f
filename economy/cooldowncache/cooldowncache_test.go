package cooldowncache_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/economy/cooldowncache"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

func TestMain(m *testing.M) { servertest.Main(m) }

func TestRememberAndNotYet(t *testing.T) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	c := cooldowncache.New(rdb)
	if _, ok := c.NotYet(ctx, 1, "daily"); ok {
		t.Fatal("hit on an empty cache")
	}
	until := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	c.Remember(ctx, 1, "daily", until)
	got, ok := c.NotYet(ctx, 1, "daily")
	if !ok || !got.Equal(until) {
		t.Fatalf("NotYet = %v %v, want %v", got, ok, until)
	}
	if _, ok := c.NotYet(ctx, 2, "daily"); ok {
		t.Fatal("another user's cooldown leaked")
	}
	if _, ok := c.NotYet(ctx, 1, "gather"); ok {
		t.Fatal("another action's cooldown leaked")
	}
	c.Remember(ctx, 3, "daily", time.Now().Add(-time.Second))
	if _, ok := c.NotYet(ctx, 3, "daily"); ok {
		t.Fatal("a past time was remembered")
	}
	ttl, err := rdb.PTTL(ctx, "chopsticks:economy:cooldown:1:daily").Result()
	if err != nil || ttl <= 0 || ttl > time.Hour {
		t.Fatalf("ttl %v %v", ttl, err)
	}
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestServiceUsesCacheAndSurvivesRedisDown(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, servertest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := economy.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	server := servertest.RedisServer(t)
	rdb := redis.NewClient(&redis.Options{Addr: server.Addr(), MaxRetries: -1})
	t.Cleanup(func() { rdb.Close() })
	clk := &clock{t: time.Now()}
	svc, err := economy.New(pool, economy.Config{Rand: rand.NewPCG(1, 1), Now: clk.now, Cooldowns: cooldowncache.New(rdb)})
	if err != nil {
		t.Fatal(err)
	}
	ops := func() int {
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM economy.transactions WHERE kind = 'daily'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := svc.Daily(ctx, "d1", 1); err != nil {
		t.Fatal(err)
	}
	_, err = svc.Daily(ctx, "d2", 1)
	if !errors.Is(err, economy.ErrCooldown) {
		t.Fatalf("second daily: %v", err)
	}
	if n := ops(); n != 1 {
		t.Fatalf("%d daily operations in Postgres; the cached refusal should not reach it", n)
	}
	// Redis down: the next day's claim goes to Postgres and works.
	if err := server.Kill(); err != nil {
		t.Fatal(err)
	}
	clk.add(24 * time.Hour)
	r, err := svc.Daily(ctx, "d3", 1)
	if err != nil || r.Streak != 2 {
		t.Fatalf("daily with Redis down: %+v %v", r, err)
	}
	// And Postgres still refuses a second claim on its own.
	if _, err := svc.Daily(ctx, "d4", 1); !errors.Is(err, economy.ErrCooldown) {
		t.Fatalf("second claim with Redis down: %v", err)
	}
}
