package ratelimit

import (
	"context"
	"math/rand/v2"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// BenchmarkAllowByTopology measures AllowCommand at the default settings
// (the user's limit and the command's ceiling) on one Redis, the baseline,
// and on a Redis Cluster of three masters with a replica each, in the same
// run, with 32 callers among 100,000 users. Each sub-benchmark reports
// decisions/s; the cluster's line also reports its ratio to the single
// server's.
func BenchmarkAllowByTopology(b *testing.B) {
	single := servertest.Redis(b)
	rc := servertest.RedisCluster(b)
	cfg := Config{Command: Rule{Limit: 10, Period: time.Second}, CommandGlobal: Rule{Limit: 1_000_000, Period: time.Second}}
	var baseline float64
	for _, tt := range []struct {
		name   string
		client func() redis.UniversalClient
	}{
		{"single", func() redis.UniversalClient { return redis.NewClient(&redis.Options{Addr: single, PoolSize: 36}) }},
		{"cluster", func() redis.UniversalClient {
			return redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs(), PoolSize: 36})
		}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			c := tt.client()
			b.Cleanup(func() { c.Close() })
			lim, err := New(c, cfg)
			if err != nil {
				b.Fatal(err)
			}
			cmds := []string{"work", "daily", "fish", "rob", "play"}
			var failed atomic.Int64
			b.SetParallelism(16) // 32 callers on 2 CPUs
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				r := rand.New(rand.NewPCG(rand.Uint64(), 0))
				for pb.Next() {
					if _, err := lim.AllowCommand(context.Background(), 1+r.Uint64N(100_000), cmds[r.IntN(len(cmds))]); err != nil {
						failed.Add(1)
					}
				}
			})
			rate := float64(b.N) / time.Since(start).Seconds()
			if n := failed.Load(); n > 0 {
				b.Fatalf("%d of %d decisions failed", n, b.N)
			}
			if lim.InFallback() {
				b.Fatal("the limiter fell back to local limits")
			}
			b.ReportMetric(rate, "decisions/s")
			if tt.name == "single" {
				baseline = rate
			} else if baseline > 0 {
				b.ReportMetric(rate/baseline, "x_single")
			}
		})
	}
}
