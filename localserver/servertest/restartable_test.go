package servertest_test

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// TestOwnRedisKillRestartFreeze: a killed RestartableRedis refuses
// connections, comes back empty at the same address, and while frozen
// answers nothing until thawed.
func TestOwnRedisKillRestartFreeze(t *testing.T) {
	r := servertest.OwnRedis(t)
	addr := r.Addr()
	c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 300 * time.Millisecond,
		ReadTimeout: 300 * time.Millisecond, WriteTimeout: 300 * time.Millisecond})
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	r.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("a killed Redis answered")
	}
	r.Restart()
	if r.Addr() != addr {
		t.Fatalf("restarted at %s, want %s", r.Addr(), addr)
	}
	if err := c.Get(ctx, "k").Err(); err != redis.Nil {
		t.Fatalf("after the restart, GET k = %v, want an empty server (redis.Nil)", err)
	}
	r.Freeze()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("a frozen Redis answered")
	}
	r.Thaw()
	c2 := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { c2.Close() })
	if err := c2.Ping(ctx).Err(); err != nil {
		t.Fatalf("after the thaw: %v", err)
	}
}
