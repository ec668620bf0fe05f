package wire

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/bench/redisinfo"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// floorScript does the Redis work decideScript cannot avoid for a batch in
// the simple form, and nothing else: Redis's clock, one HMGET of the
// batch's fields and one HSET of a value per field, on a hash of its own.
// Any limiter that keeps one field per subject in a script pays this much.
var floorScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local m = string.byte(ARGV[1], 2)
local c = redis.call('HMGET', KEYS[1] .. ':floor', '', unpack(ARGV, 3, 2 + m))
local w = {}
for i = 1, m do w[2 * i - 1], w[2 * i] = ARGV[2 + i], '\1\2\3\4\5\6\7' end
redis.call('HSET', KEYS[1] .. ':floor', unpack(w, 1, 2 * m))
return {now}
`)

// BenchmarkScriptCost measures Redis's time in scripts per decision (INFO
// commandstats) for decideScript at several batch sizes, beside
// floorScript and redis_rate v10 (with the decision's two limits, and with
// the user's alone), on the same 100k users by 5 commands,
// one call in flight as a node's batcher sends them. It shows how the
// script's cost per decision falls as batches grow, which bench/ratelimit's
// closed loop of callers cannot vary, and how much of it is the floor that
// any script keeping one field per subject pays.
//
//	go test -run '^$' -bench ScriptCost ./ratelimit/internal/wire/
func BenchmarkScriptCost(b *testing.B) {
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(b)})
	b.Cleanup(func() { _ = rdb.Close() })
	const base = "rlh:{rl}"
	cmds := []string{"work", "daily", "fish", "rob", "play"}
	// The user's rule (10 per second, blocking) and the command's global
	// ceiling (a million per second), as ratelimit's defaults profile them.
	user := Profile{T: 100_000, Tau: 900_000, G: 1_000_000, Blocks: true}
	global := Profile{T: 1, Tau: 999_999, G: 1_000_000}
	rng := rand.New(rand.NewPCG(1, 2))
	// batch returns n decisions of distinct users' commands, as AllowCommand
	// makes them: the user's rule and the command's global ceiling.
	batch := func(n int) [][]Rule {
		d := make([][]Rule, 0, n)
		seen := make(map[string]bool, n)
		for len(d) < n {
			c := cmds[rng.IntN(len(cmds))]
			u := fmt.Sprintf("{u:%d}:c:%s", 1+rng.IntN(100_000), c)
			if seen[u] {
				continue
			}
			seen[u] = true
			d = append(d, []Rule{{user, u}, {global, "{g:" + c + "}"}})
		}
		return d
	}
	args := func(d [][]Rule) []any {
		a, err := encodeArgs(d)
		if err != nil {
			b.Fatal(err)
		}
		return a
	}
	cost := map[string]float64{} // µs per decision, by sub-benchmark
	measure := func(name string, n int, call func(d [][]Rule, a []any) error) {
		b.Run(name, func(b *testing.B) {
			// Each run starts from nothing, as bench/ratelimit's do: the
			// subjects' state is created as the run goes, as at the start
			// of a generation.
			if err := rdb.FlushAll(ctx).Err(); err != nil {
				b.Fatal(err)
			}
			// Every call draws new subjects, so that Redis's working set
			// grows as under real load rather than staying in its caches.
			next := func() error {
				d := batch(n)
				return call(d, args(d))
			}
			// A few calls load the script and warm Redis's code paths.
			for range 32 {
				if err := next(); err != nil {
					b.Fatal(err)
				}
			}
			if err := rdb.ConfigResetStat(ctx).Err(); err != nil {
				b.Fatal(err)
			}
			calls := 0
			for b.Loop() {
				if err := next(); err != nil {
					b.Fatal(err)
				}
				calls++
			}
			us, err := redisinfo.ScriptMicroseconds(ctx, rdb)
			if err != nil {
				b.Fatal(err)
			}
			cost[name] = us / float64(calls*n)
			b.ReportMetric(cost[name], "script-µs/decision")
			b.ReportMetric(us/float64(calls), "script-µs/call")
		})
	}
	sizes := []int{1, 8, 26, 64}
	for _, n := range sizes {
		measure(fmt.Sprintf("decide/batch=%d", n), n, func(_ [][]Rule, a []any) error {
			return decideScript.Run(ctx, rdb, []string{base}, a...).Err()
		})
		measure(fmt.Sprintf("floor/batch=%d", n), n, func(_ [][]Rule, a []any) error {
			return floorScript.Run(ctx, rdb, []string{base}, a...).Err()
		})
	}
	// redis_rate checks the decision's two limits with two Allow calls, as
	// AllowCommand does in one decision; "1 rule" checks the user's alone.
	rr := redis_rate.NewLimiter(rdb)
	measure("redis_rate/rules=2", 1, func(d [][]Rule, _ []any) error {
		if _, err := rr.Allow(ctx, d[0][0].Field, redis_rate.PerSecond(10)); err != nil {
			return err
		}
		_, err := rr.Allow(ctx, d[0][1].Field, redis_rate.PerSecond(1_000_000))
		return err
	})
	measure("redis_rate/rules=1", 1, func(d [][]Rule, _ []any) error {
		_, err := rr.Allow(ctx, d[0][0].Field, redis_rate.PerSecond(10))
		return err
	})
	if two, one := cost["redis_rate/rules=2"], cost["redis_rate/rules=1"]; two > 0 && one > 0 {
		for _, n := range sizes {
			ours, floor := cost[fmt.Sprintf("decide/batch=%d", n)], cost[fmt.Sprintf("floor/batch=%d", n)]
			if ours == 0 || floor == 0 {
				continue // filtered out by -bench
			}
			fmt.Printf("batch %2d: decide %.2f µs/decision = %.2fx redis_rate's %.2f for the same 2 rules (%.2fx its %.2f for 1); floor %.2f = %.2fx of 1 rule\n",
				n, ours, ours/two, two, ours/one, one, floor, floor/one)
		}
	}
}
