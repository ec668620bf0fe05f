package redisinfo_test

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/bench/redisinfo"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

func TestMain(m *testing.M) { servertest.Main(m) }

func TestAccounting(t *testing.T) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { _ = rdb.Close() })
	if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if us, err := redisinfo.ScriptMicroseconds(ctx, rdb); err != nil || us != 0 {
		t.Fatalf("after RESETSTAT: %v µs, %v; want 0", us, err)
	}
	cpu0, err := redisinfo.CPUSeconds(ctx, rdb)
	if err != nil || cpu0 <= 0 {
		t.Fatalf("CPU %v s, %v", cpu0, err)
	}
	// A script busy for a while, run both ways the benchmarks run scripts.
	s := redis.NewScript("local n = 0 for i = 1, 200000 do n = n + i end return n")
	for range 3 {
		if err := s.Eval(ctx, rdb, nil).Err(); err != nil {
			t.Fatal(err)
		}
		if err := s.Run(ctx, rdb, nil).Err(); err != nil {
			t.Fatal(err)
		}
	}
	us, err := redisinfo.ScriptMicroseconds(ctx, rdb)
	if err != nil || us <= 0 {
		t.Fatalf("after 6 scripts: %v µs, %v; want > 0", us, err)
	}
	if cpu, err := redisinfo.CPUSeconds(ctx, rdb); err != nil || cpu <= cpu0 {
		t.Fatalf("CPU %v s after the scripts, %v; was %v s", cpu, err, cpu0)
	}
}
