// Command ratelimit compares the project's limiter (package ratelimit) with
// github.com/go-redis/redis_rate/v10 on one Redis in the same run: decisions
// per second, p50/p99 latency, Redis CPU per decision (INFO commandstats and
// process CPU from INFO cpu), and the share of decisions for blocked or hot
// subjects answered with no Redis call.
//
// Each library runs twice: with the two limits AllowCommand checks, the
// user's on the command and the command's global ceiling (redis_rate needs
// two Allow calls for them), and with the user's limit alone (ours with
// ratelimit.NoCeiling). The ratios compare like with like; the unequal one,
// ours with two rules against redis_rate with one, is printed too.
//
//	go run ./bench/ratelimit [-addr 127.0.0.1:6379] [-duration 5s] [-workers 32] [-nodes 1] [-pin=false]
//
// Without -addr it starts a private redis-server on a free loopback port.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/bench/cpuprofile"
	"github.com/chopsticks-bot/chopsticks/bench/redisinfo"
	"github.com/chopsticks-bot/chopsticks/localserver"
	"github.com/chopsticks-bot/chopsticks/ratelimit"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench ratelimit:", err)
		os.Exit(1)
	}
}

// callCounter counts commands and pipelines sent by a client.
type callCounter struct{ n atomic.Int64 }

func (h *callCounter) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *callCounter) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}
func (h *callCounter) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// result is one measured run.
type result struct {
	name       string
	decisions  int64
	elapsed    time.Duration
	lat        []time.Duration
	cmdUsec    float64 // script usec from INFO commandstats
	cpuSec     float64 // redis process CPU seconds from INFO cpu
	redisCalls int64
	hotTotal   int64 // decisions for subjects already blocked or over their limit
	hotLocal   int64 // of those, answered without a Redis call
}

func (r result) rate() float64 { return float64(r.decisions) / r.elapsed.Seconds() }
func (r result) pct(p float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	return r.lat[min(len(r.lat)-1, int(float64(len(r.lat))*p))]
}
func (r result) usecPerDecision() float64 { return r.cmdUsec / float64(r.decisions) }
func (r result) cpuPerDecision() float64  { return r.cpuSec * 1e6 / float64(r.decisions) }

func run() error {
	addr := flag.String("addr", "", "Redis address (default: start a private redis-server)")
	duration := flag.Duration("duration", 4*time.Second, "measured time per run")
	workers := flag.Int("workers", 32, "concurrent callers")
	nodes := flag.Int("nodes", 1, "cluster nodes sharing the workers, each with its own limiter and Redis client")
	users := flag.Int("users", 100000, "distinct well-behaved users")
	abusers := flag.Int("abusers", 200, "users who hammer one command")
	mixShare := flag.Float64("mix", 0.2, "share of decisions from abusers in the mixed workload")
	rounds := flag.Int("rounds", 3, "alternating rounds per library and workload")
	cpuProfile := flag.String("cpuprofile", "", "write the bench process's CPU profile to this file")
	only := flag.String("only", "", `run one library alone, "chopsticks" or "redis_rate", to profile Redis under it (no ratios)`)
	pin := flag.Bool("pin", true, "give a local Redis's main thread a CPU of its own and the bench the others")
	flag.Parse()
	if *nodes < 1 || *nodes > *workers {
		fmt.Fprintf(os.Stderr, "bench ratelimit: -nodes %d: want 1 to -workers (%d)\n", *nodes, *workers)
		os.Exit(2)
	}
	if *only != "" && *only != "chopsticks" && *only != "redis_rate" {
		fmt.Fprintf(os.Stderr, "bench ratelimit: -only %q: want chopsticks or redis_rate\n", *only)
		os.Exit(2)
	}
	stopProfile, err := cpuprofile.Start(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *addr == "" {
		dir, err := os.MkdirTemp("", "bench-ratelimit-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		srvCtx, cancel := context.WithCancel(ctx)
		defer cancel()
		srv, err := localserver.StartRedis(srvCtx, dir, 0, false)
		if err != nil {
			return err
		}
		defer srv.Stop()
		*addr = srv.Addr()
	}
	// newClient returns a client whose commands and pipelines count in h.
	newClient := func(h *callCounter) *redis.Client {
		c := redis.NewClient(&redis.Options{Addr: *addr, PoolSize: *workers + 4})
		c.AddHook(h)
		return c
	}
	admin := redis.NewClient(&redis.Options{Addr: *addr})
	defer admin.Close()
	if err := admin.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis at %s: %w", *addr, err)
	}
	placement := "not pinned (-pin=false)"
	if *pin {
		var err error
		if placement, err = pinApart(ctx, admin); err != nil {
			return err
		}
	}
	fmt.Printf("redis %s, %d CPUs, %s; %d workers on %d node(s), %d rounds of %v per library, %d users, %d abusers\n\n",
		*addr, runtime.NumCPU(), placement, *workers, *nodes, *rounds, *duration, *users, *abusers)

	cmds := []string{"work", "daily", "fish", "rob", "play"}
	cfg := ratelimit.Config{
		Command:       ratelimit.Rule{Limit: 10, Period: time.Second},
		CommandGlobal: ratelimit.Rule{Limit: 1_000_000, Period: time.Second}, // checked, never binding here
	}
	oneRule := cfg
	oneRule.CommandGlobal = ratelimit.NoCeiling
	// redis_rate enforces AllowCommand's two limits with two Allow calls:
	// the user's first, the command's ceiling only if the user's admits.
	rrUser, rrGlobal := redis_rate.PerSecond(10), redis_rate.PerSecond(1_000_000)
	// Four contenders: each library with both limits and with the user's
	// limit alone. -only runs the first of its library alone.
	type contender struct {
		lib string
		run func(picker) (result, error)
	}
	contenders := []contender{
		{"chopsticks", func(p picker) (result, error) {
			return runOurs(ctx, admin, newClient, "chopsticks, 2 rules", cfg, p, *nodes, *workers, *duration)
		}},
		{"redis_rate", func(p picker) (result, error) {
			return runRedisRate(ctx, admin, newClient, rrUser, nil, p, *nodes, *workers, *duration)
		}},
		{"chopsticks", func(p picker) (result, error) {
			return runOurs(ctx, admin, newClient, "chopsticks, 1 rule", oneRule, p, *nodes, *workers, *duration)
		}},
		{"redis_rate", func(p picker) (result, error) {
			return runRedisRate(ctx, admin, newClient, rrUser, &rrGlobal, p, *nodes, *workers, *duration)
		}},
	}

	alone := -1
	if *only != "" {
		alone = slices.IndexFunc(contenders, func(c contender) bool { return c.lib == *only })
	}

	type workload struct {
		name  string
		abuse float64 // share of decisions from abusers
	}
	for _, w := range []workload{
		{"well-behaved users (admitted)", 0},
		{fmt.Sprintf("mixed (%.0f%% of decisions from abusers)", 100**mixShare), *mixShare},
		{"abusers only (blocked/hot)", 1},
	} {
		fmt.Printf("== %s ==\n", w.name)
		var pick picker = func(rng *rand.Rand) (uint64, string) {
			if w.abuse > 0 && rng.Float64() < w.abuse {
				return uint64(1_000_000 + rng.IntN(*abusers)), "work"
			}
			return uint64(1 + rng.IntN(*users)), cmds[rng.IntN(len(cmds))]
		}
		// The contenders run in alternating rounds so that load from
		// other processes on the machine falls on all alike.
		res := make([]result, len(contenders))
		for round := 0; round < *rounds; round++ {
			for i, c := range contenders {
				if alone >= 0 && i != alone {
					continue
				}
				r, err := c.run(pick)
				if err != nil {
					return err
				}
				res[i] = res[i].add(r)
			}
		}
		for i := range res {
			slices.Sort(res[i].lat)
		}
		if *only != "" {
			for _, r := range res {
				if r.decisions > 0 {
					printResult(r)
				}
			}
			fmt.Println()
			continue
		}
		report(res[0], res[1], res[2], res[3])
	}
	return nil
}

// add sums two runs of the same library.
func (r result) add(o result) result {
	r.name = o.name
	r.decisions += o.decisions
	r.elapsed += o.elapsed
	r.lat = append(r.lat, o.lat...)
	r.cmdUsec += o.cmdUsec
	r.cpuSec += o.cpuSec
	r.redisCalls += o.redisCalls
	r.hotTotal += o.hotTotal
	r.hotLocal += o.hotLocal
	return r
}

type picker func(*rand.Rand) (uint64, string)

// runOurs measures package ratelimit on a flushed Redis, with one limiter
// and client per node; worker w decides on node w mod nodes.
func runOurs(ctx context.Context, admin *redis.Client, newClient func(*callCounter) *redis.Client,
	name string, cfg ratelimit.Config, pick picker, nodes, workers int, d time.Duration) (result, error) {
	if err := admin.FlushAll(ctx).Err(); err != nil {
		return result{}, err
	}
	var calls callCounter
	lims := make([]*ratelimit.Limiter, nodes)
	limCtx, limStop := context.WithCancel(ctx)
	defer limStop()
	for i := range lims {
		rdb := newClient(&calls)
		defer rdb.Close()
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		lim, err := ratelimit.New(rdb, cfg)
		if err != nil {
			return result{}, err
		}
		if err := lim.Start(limCtx); err != nil {
			return result{}, err
		}
		defer func() {
			limStop()
			<-lim.Done()
		}()
		lims[i] = lim
	}
	return measure(ctx, admin, name, workers, d, &calls, func(w int, rng *rand.Rand) (bool, bool, error) {
		u, c := pick(rng)
		dec, err := lims[w%nodes].AllowCommand(ctx, u, c)
		return !dec.Allowed, dec.Local, err
	})
}

// runRedisRate measures redis_rate on a flushed Redis with the same subjects
// and per-user limit, and with global the same per-command ceiling.
func runRedisRate(ctx context.Context, admin *redis.Client, newClient func(*callCounter) *redis.Client,
	user redis_rate.Limit, global *redis_rate.Limit, pick picker, nodes, workers int, d time.Duration) (result, error) {
	if err := admin.FlushAll(ctx).Err(); err != nil {
		return result{}, err
	}
	var calls callCounter
	rrs := make([]*redis_rate.Limiter, nodes)
	for i := range rrs {
		rdb := newClient(&calls)
		defer rdb.Close()
		rrs[i] = redis_rate.NewLimiter(rdb)
	}
	name := "redis_rate v10, 1 rule"
	if global != nil {
		name = "redis_rate v10, 2 rules"
	}
	return measure(ctx, admin, name, workers, d, &calls, func(w int, rng *rand.Rand) (bool, bool, error) {
		u, c := pick(rng)
		rr := rrs[w%nodes]
		res, err := rr.Allow(ctx, "rr:"+strconv.FormatUint(u, 10)+":"+c, user)
		if err != nil || res.Allowed == 0 || global == nil {
			return err == nil && res.Allowed == 0, false, err
		}
		res, err = rr.Allow(ctx, "rr:g:"+c, *global)
		if err != nil {
			return false, false, err
		}
		return res.Allowed == 0, false, nil
	})
}

// measure runs decide from workers goroutines for d after a short warm-up
// and reads Redis's own accounting around the measured part.
func measure(ctx context.Context, admin *redis.Client, name string, workers int, d time.Duration,
	calls *callCounter, decide func(w int, rng *rand.Rand) (refused, local bool, err error)) (result, error) {
	res := result{name: name}
	var (
		phase    atomic.Int32 // 0 warm-up, 1 measured, 2 stop
		mu       sync.Mutex
		firstErr error
		wg       sync.WaitGroup
		counts   = make([]struct{ n, hot, hotLocal int64 }, workers)
		lats     = make([][]time.Duration, workers)
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for {
				p := phase.Load()
				if p == 2 {
					return
				}
				start := time.Now()
				refused, local, err := decide(w, rng)
				el := time.Since(start)
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				if p == 1 {
					counts[w].n++
					lats[w] = append(lats[w], el)
					if refused {
						counts[w].hot++
						if local {
							counts[w].hotLocal++
						}
					}
				}
			}
		}(w)
	}
	time.Sleep(d / 4) // warm-up: connections, script cache, blocks
	if err := admin.ConfigResetStat(ctx).Err(); err != nil {
		return res, err
	}
	cpu0, err := redisinfo.CPUSeconds(ctx, admin)
	if err != nil {
		return res, err
	}
	calls0 := calls.n.Load()
	start := time.Now()
	phase.Store(1)
	time.Sleep(d)
	phase.Store(2)
	res.elapsed = time.Since(start)
	res.redisCalls = calls.n.Load() - calls0
	wg.Wait()
	if firstErr != nil {
		return res, firstErr
	}
	cpu1, err := redisinfo.CPUSeconds(ctx, admin)
	if err != nil {
		return res, err
	}
	res.cpuSec = cpu1 - cpu0
	if res.cmdUsec, err = redisinfo.ScriptMicroseconds(ctx, admin); err != nil {
		return res, err
	}
	for w := range counts {
		res.decisions += counts[w].n
		res.hotTotal += counts[w].hot
		res.hotLocal += counts[w].hotLocal
		res.lat = append(res.lat, lats[w]...)
	}
	slices.Sort(res.lat)
	if res.decisions == 0 {
		return res, errors.New("no decisions measured")
	}
	return res, nil
}

// report prints the four runs, the ratios of each of ours to redis_rate
// enforcing the same rules, and, for comparison with earlier figures, of
// ours with two rules to redis_rate with one, which checks less.
func report(ours2, theirs1, ours1, theirs2 result) {
	for _, r := range []result{ours2, theirs2, ours1, theirs1} {
		printResult(r)
	}
	for _, c := range []struct {
		label        string
		ours, theirs result
	}{
		{"same 2 rules", ours2, theirs2},
		{"same 1 rule", ours1, theirs1},
		{"ours 2 rules, theirs 1 (unequal)", ours2, theirs1},
	} {
		speed := c.ours.rate() / c.theirs.rate()
		cmdRatio := c.ours.usecPerDecision() / c.theirs.usecPerDecision()
		cpuRatio := c.ours.cpuPerDecision() / c.theirs.cpuPerDecision()
		fmt.Printf("ratios, %s: decisions/s %.2fx (target >= 1.0x) %s; script usec/decision %.2f (target <= 0.33) %s; redis cpu/decision %.2f\n",
			c.label, speed, verdict(speed >= 1.0), cmdRatio, verdict(cmdRatio <= 1.0/3), cpuRatio)
	}
	if ours2.hotTotal > 0 {
		share := float64(ours2.hotLocal) / float64(ours2.hotTotal)
		fmt.Printf("blocked/hot decisions with no Redis call: %.1f%% (target >= 80%%) %s\n", 100*share, verdict(share >= 0.8))
	}
	fmt.Println()
}

// printResult prints one library's figures.
func printResult(r result) {
	hot := "n/a"
	if r.hotTotal > 0 {
		hot = fmt.Sprintf("%.1f%% of %d", 100*float64(r.hotLocal)/float64(r.hotTotal), r.hotTotal)
	}
	perCall := "n/a"
	if r.redisCalls > 0 {
		perCall = fmt.Sprintf("%.1f", float64(r.decisions)/float64(r.redisCalls))
	}
	fmt.Printf("%-23s %9.0f decisions/s  p50 %8v  p99 %8v  script %5.2f us/decision  redis-cpu %5.2f us/decision  decisions per redis call %s  refused-local %s\n",
		r.name, r.rate(), r.pct(0.50).Round(time.Microsecond/10), r.pct(0.99).Round(time.Microsecond/10),
		r.usecPerDecision(), r.cpuPerDecision(), perCall, hot)
}

func verdict(ok bool) string {
	if ok {
		return "MET"
	}
	return "MISSED"
}
