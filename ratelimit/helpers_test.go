package ratelimit

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

func TestMain(m *testing.M) { servertest.Main(m) }

// countHook counts commands and pipelines sent to Redis.
type countHook struct{ n atomic.Int64 }

func (h *countHook) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmds)
	}
}

// node is one limiter with its own Redis client, as one cluster node has.
type node struct {
	lim   *Limiter
	rdb   redis.UniversalClient
	calls *countHook
	reg   *prometheus.Registry
}

func newClient(t testing.TB, addr string) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// target is the Redis a test's limiters share: one server, or, when the
// tests run with CHOPSTICKS_TEST_REDIS=cluster, a Redis Cluster of three
// masters of the test's own, so that the behaviours the limiter promises
// are checked on both layouts.
type target struct {
	addr  string   // one server
	addrs []string // a cluster's seeds
}

// testRedis starts the test's Redis, of the topology CHOPSTICKS_TEST_REDIS
// names ("" or "cluster").
func testRedis(t testing.TB) target {
	t.Helper()
	switch topo := os.Getenv("CHOPSTICKS_TEST_REDIS"); topo {
	case "":
		return target{addr: servertest.Redis(t)}
	case "cluster":
		ctx, cancel := context.WithCancel(context.Background())
		rc, err := localserver.StartRedisCluster(ctx, t.TempDir(), 3, 0)
		if err != nil {
			cancel()
			t.Fatalf("Redis Cluster: %v", err)
		}
		t.Cleanup(func() { rc.Kill(); cancel() })
		return target{addrs: rc.Addrs()}
	default:
		t.Fatalf("CHOPSTICKS_TEST_REDIS=%q: want empty or cluster", topo)
		return target{}
	}
}

// client is a new client of tg, with the short timeouts of newClient.
func (tg target) client(t testing.TB) redis.UniversalClient {
	t.Helper()
	if tg.addrs == nil {
		return newClient(t, tg.addr)
	}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: tg.addrs, DialTimeout: 200 * time.Millisecond,
		ReadTimeout: 500 * time.Millisecond, WriteTimeout: 500 * time.Millisecond})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// startOn is startNode on tg.
func startOn(t testing.TB, tg target, cfg Config) *node {
	t.Helper()
	return startNodeOn(t, tg.client(t), cfg)
}

// startNode starts a limiter with cfg, its metrics on a registry of its
// own and its log discarded unless cfg sets them.
func startNode(t testing.TB, addr string, cfg Config) *node {
	t.Helper()
	return startNodeOn(t, newClient(t, addr), cfg)
}

// startNodeOn is startNode on the Redis of rdb, such as a cluster's.
func startNodeOn(t testing.TB, rdb redis.UniversalClient, cfg Config) *node {
	t.Helper()
	h := &countHook{}
	rdb.AddHook(h)
	reg := prometheus.NewRegistry()
	if cfg.Registerer == nil {
		cfg.Registerer = reg
	}
	if cfg.Logger == nil {
		cfg.Logger = discardLogger()
	}
	lim, err := New(rdb, cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := lim.Start(ctx); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		<-lim.Done()
	})
	return &node{lim: lim, rdb: rdb, calls: h, reg: reg}
}

// stateExists tells whether any generation hash holds a rule's field, on
// every master when rdb is a cluster's.
func stateExists(t testing.TB, rdb redis.UniversalClient, field string) bool {
	t.Helper()
	ctx := context.Background()
	found := false
	var mu sync.Mutex
	look := func(ctx context.Context, c redis.Cmdable) error {
		keys, err := c.Keys(ctx, "rlh:*").Result()
		if err != nil {
			return err
		}
		for _, k := range keys {
			if c.HExists(ctx, k, field).Val() {
				mu.Lock()
				found = true
				mu.Unlock()
			}
		}
		return nil
	}
	var err error
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return look(ctx, c) })
	} else {
		err = look(ctx, rdb)
	}
	if err != nil {
		t.Fatal(err)
	}
	return found
}

func mustCommand(t testing.TB, l *Limiter, user uint64, cmd string) Decision {
	t.Helper()
	d, err := l.AllowCommand(context.Background(), user, cmd)
	if err != nil {
		t.Fatalf("AllowCommand(%d, %q): %v", user, cmd, err)
	}
	return d
}

func counterValue(t testing.TB, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if v, ok := labels[lp.GetName()]; ok && v != lp.GetValue() {
					continue next
				}
			}
			switch {
			case m.Counter != nil:
				sum += m.GetCounter().GetValue()
			case m.Gauge != nil:
				sum += m.GetGauge().GetValue()
			}
		}
	}
	return sum
}

func discardLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
