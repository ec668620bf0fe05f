package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// TestLimiterOnRedisCluster: on a real Redis Cluster (three masters, each
// with a replica) the limiter picks the split layout, two nodes share one
// budget per subject exactly, subjects' state spreads over the masters,
// and a block reaches the other node through the cluster's pub/sub.
func TestLimiterOnRedisCluster(t *testing.T) {
	rc := servertest.RedisCluster(t)
	client := func() *redis.ClusterClient {
		c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs(), DialTimeout: 200 * time.Millisecond,
			ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	cfg := Config{Command: Rule{Limit: 5, Period: time.Minute}, CommandGlobal: Rule{Limit: 1000, Period: time.Minute}}
	a := startNodeOn(t, client(), cfg)
	b := startNodeOn(t, client(), cfg)
	if !a.lim.split {
		t.Fatal("the limiter kept the shared layout on a Redis Cluster")
	}
	// Each user's budget is shared by both nodes, exactly.
	for user := uint64(1); user <= 12; user++ {
		allowed := 0
		for i := 0; i < 10; i++ {
			n := a
			if i%2 == 1 {
				n = b
			}
			if d := mustCommand(t, n.lim, user, "work"); d.Allowed {
				allowed++
			}
		}
		if allowed != 5 {
			t.Errorf("user %d: %d of 10 allowed across two nodes, want 5", user, allowed)
		}
	}
	// Twelve subjects' state is on more than one master.
	ctx := context.Background()
	masters := 0
	if err := a.rdb.(*redis.ClusterClient).ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		n, err := c.DBSize(ctx).Result()
		if n > 0 {
			masters++
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if masters < 2 {
		t.Errorf("state on %d masters, want it spread", masters)
	}
	// A block a earns reaches b through the cluster's pub/sub.
	if d := mustCommand(t, a.lim, 99, "rob"); !d.Allowed {
		t.Fatalf("first /rob: %+v", d)
	}
	for i := 0; i < 5; i++ {
		mustCommand(t, a.lim, 99, "rob")
	}
	poll.Eventually(t, 3*time.Second, func() bool {
		_, _, ok := b.lim.cache.get("{u:99}:c:rob", time.Now())
		return ok
	}, "block announcement on b")
}
