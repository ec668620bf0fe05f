package servertest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// TestRedisClusterFailsOver: the harness's cluster serves every slot on
// three masters, and a killed master's slots move to its replica.
func TestRedisClusterFailsOver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	rc := servertest.RedisCluster(t)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()})
	t.Cleanup(func() { cc.Close() })
	masters := map[string]bool{}
	for i := 0; i < 64; i++ {
		key := fmt.Sprintf("k%d", i)
		if err := cc.Set(ctx, key, i, 0).Err(); err != nil {
			t.Fatal(err)
		}
		m, err := cc.MasterForKey(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		masters[m.Options().Addr] = true
	}
	for _, key := range []string{"foo", "k0", "{user1000}.following", "a{}b", "{}{x}", "x{y}z{w}", "chopsticks:music:{42}:queue"} {
		want, err := cc.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			t.Fatal(err)
		}
		if got := localserver.KeySlot(key); int64(got) != want {
			t.Errorf("KeySlot(%q) = %d, CLUSTER KEYSLOT says %d", key, got, want)
		}
	}
	if len(masters) != 3 {
		t.Fatalf("64 keys landed on %d masters, want 3", len(masters))
	}
	m, err := cc.MasterForKey(ctx, "k0")
	if err != nil {
		t.Fatal(err)
	}
	victim := rc.Node(m.Options().Addr)
	if err := victim.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	poll.Eventually(t, 45*time.Second, func() (bool, string) {
		err := cc.Set(ctx, "k0", "after", 0).Err()
		if err != nil {
			cc.ReloadState(ctx) // go-redis reloads the slots on MOVED, not on a refused dial
			return false, err.Error()
		}
		return true, ""
	}, "the killed master's slots to take writes again")
	t.Logf("writes to the killed master's slots resumed after %v (cluster-node-timeout %v)", time.Since(killed).Round(time.Millisecond), localserver.ClusterNodeTimeout)
}

// TestRedisSentinelFailsOver: the sentinels promote the replica when the
// master dies, and a failover client follows it.
func TestRedisSentinelFailsOver(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	rs := servertest.RedisSentinel(t)
	var sentinels []string
	for _, s := range rs.Sentinels {
		sentinels = append(sentinels, s.Addr())
	}
	c := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: localserver.SentinelMaster, SentinelAddrs: sentinels})
	t.Cleanup(func() { c.Close() })
	if err := c.Set(ctx, "k", "before", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if a, err := rs.MasterAddr(ctx); err != nil || a != rs.Master.Addr() {
		t.Fatalf("master %q (%v), want %s", a, err, rs.Master.Addr())
	}
	if err := rs.Master.Kill(); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	poll.Eventually(t, 45*time.Second, func() (bool, string) {
		if a, err := rs.MasterAddr(ctx); err != nil || a != rs.Replica.Addr() {
			return false, fmt.Sprintf("master %q (%v), not the replica", a, err)
		}
		if err := c.Set(ctx, "k", "after", 0).Err(); err != nil {
			return false, "the client's write: " + err.Error()
		}
		return true, ""
	}, "the replica to be promoted and the client to follow it")
	t.Logf("writes resumed on the promoted replica after %v", time.Since(killed).Round(time.Millisecond))
}
