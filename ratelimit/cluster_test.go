package ratelimit

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

func TestBlockPropagatesWithoutRedisCalls(t *testing.T) {
	t.Parallel()
	addr := testRedis(t)
	cfg := Config{Command: Rule{Limit: 2, Period: time.Minute}}
	a := startOn(t, addr, cfg)
	b := startOn(t, addr, cfg)
	for i := 0; i < 2; i++ {
		mustCommand(t, a.lim, 42, "rob")
	}
	if d := mustCommand(t, a.lim, 42, "rob"); d.Allowed || !d.Notify || d.Rule != RuleCommandBlock {
		t.Fatalf("violation on a: %+v", d)
	}
	poll.Eventually(t, 2*time.Second, func() bool {
		_, _, ok := b.lim.cache.get("{u:42}:c:rob", time.Now())
		return ok
	}, "block announcement on b")
	before := b.calls.n.Load()
	for i := 0; i < 100; i++ {
		d := mustCommand(t, b.lim, 42, "rob")
		if d.Allowed || d.Notify || !d.Local || d.Rule != RuleCommandBlock || d.RetryAfter < 59*time.Second {
			t.Fatalf("attempt on b: %+v", d)
		}
	}
	if got := b.calls.n.Load() - before; got != 0 {
		t.Fatalf("b made %d Redis calls for a blocked user", got)
	}
	// A node started later loads the running block at start.
	c := startOn(t, addr, cfg)
	before = c.calls.n.Load()
	if d := mustCommand(t, c.lim, 42, "rob"); d.Allowed || !d.Local {
		t.Fatalf("late node: %+v", d)
	}
	if c.calls.n.Load() != before {
		t.Fatal("late node made a Redis call for a loaded block")
	}
}

func TestLayoutSplitSharesBudget(t *testing.T) {
	t.Parallel()
	addr := testRedis(t)
	// Both nodes send one script per subject (the Redis Cluster path), in
	// one round trip.
	cfg := Config{Command: Rule{Limit: 5, Period: time.Minute}, CommandGlobal: Rule{Limit: 8, Period: time.Minute}, Layout: LayoutSplit}
	a := startOn(t, addr, cfg)
	b := startOn(t, addr, cfg)
	allowed, i := 0, 0
	pick := func(i int) *node {
		if i%2 == 1 {
			return b
		}
		return a
	}
	for ; i < 20; i++ {
		if !mustCommand(t, pick(i).lim, 1, "fish").Allowed {
			break
		}
		allowed++
	}
	if allowed != 5 || i != 5 {
		t.Fatalf("admitted %d of user 1's attempts across two nodes, want 5", allowed)
	}
	// Split calls are atomic per subject only: until the block reaches a,
	// a's attempts would still spend the global budget. Wait for it.
	poll.Eventually(t, 2*time.Second, func() bool {
		_, _, ok := a.lim.cache.get("{u:1}:c:fish", time.Now())
		return ok
	}, "block on a")
	for ; i < 20; i++ {
		if d := mustCommand(t, pick(i).lim, 1, "fish"); d.Allowed || d.Rule != RuleCommandBlock {
			t.Fatalf("blocked user attempt %d: %+v", i, d)
		}
	}
	for u := uint64(2); u < 10; u++ {
		if mustCommand(t, a.lim, u, "fish").Allowed {
			allowed++
		}
	}
	// The refused sixth attempt was refused by user 1's script only: the
	// global script, a separate call, spent one of the 8.
	if allowed != 7 {
		t.Fatalf("admitted %d in all, want 7: the global ceiling 8 minus the split refusal's share", allowed)
	}
}

// TestSplitKeepsEachSubjectUnderItsTag sends concurrent decisions for many
// subjects through a node in split (Redis Cluster) mode: each subject's
// state must land under its own hash tag, never in a call batched with
// another subject's, or Redis Cluster would scatter it across slots.
func TestSplitKeepsEachSubjectUnderItsTag(t *testing.T) {
	t.Parallel()
	addr := servertest.Redis(t)
	n := startNode(t, addr, Config{Layout: LayoutSplit})
	var wg sync.WaitGroup
	for w := range 16 {
		wg.Go(func() {
			for i := range 20 {
				ip := fmt.Sprintf("192.0.2.%d", 1+(w*20+i)%40) // one rule per decision: the batcher's case
				if _, err := n.lim.AllowHTTP(context.Background(), ip); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	ctx := context.Background()
	keys := n.rdb.Keys(ctx, "rlh:*").Val()
	if len(keys) < 40 {
		t.Fatalf("%d generation hashes for 40 clients: %v", len(keys), keys)
	}
	for _, k := range keys {
		tag := k[strings.Index(k, "{") : strings.Index(k, "}")+1]
		for _, f := range n.rdb.HKeys(ctx, k).Val() {
			if f != "" && !strings.HasPrefix(f, tag) {
				t.Errorf("hash %s holds field %s of another subject", k, f)
			}
		}
	}
}

const childEnv = "RATELIMIT_TEST_CHILD_REDIS"

// TestTwoProcessesShareOneBudget runs a second OS process (this test binary,
// re-executed) that spends the same user's budget at the same time.
func TestTwoProcessesShareOneBudget(t *testing.T) {
	t.Parallel()
	if addr := os.Getenv(childEnv); addr != "" {
		runChild(t, addr)
		return
	}
	addr := servertest.Redis(t)
	cfg := childConfig()
	n := startNode(t, addr, cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^TestTwoProcessesShareOneBudget$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+addr)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	childAllowed := make(chan int, 1)
	go func() {
		s := bufio.NewScanner(out)
		v := -1
		for s.Scan() {
			if rest, ok := strings.CutPrefix(s.Text(), "CHILD_ALLOWED="); ok {
				v, _ = strconv.Atoi(rest)
			}
		}
		childAllowed <- v
	}()
	// Wait for the child to begin spending, then spend concurrently.
	poll.Eventually(t, 10*time.Second, func() bool {
		return stateExists(t, n.rdb, "{u:77}:c:trade")
	}, "child start")
	mine := 0
	for i := 0; i < 300; i++ {
		if mustCommand(t, n.lim, 77, "trade").Allowed {
			mine++
		}
	}
	theirs := <-childAllowed
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	if theirs < 0 {
		t.Fatal("child reported nothing")
	}
	if mine+theirs != cfg.Command.Limit {
		t.Fatalf("admitted %d here + %d in the child = %d, want the shared budget %d",
			mine, theirs, mine+theirs, cfg.Command.Limit)
	}
	t.Logf("budget %d shared: %d here, %d in the other process", cfg.Command.Limit, mine, theirs)
}

func childConfig() Config {
	return Config{Command: Rule{Limit: 200, Period: time.Hour},
		CommandBlock: Backoff{Base: time.Millisecond, Max: time.Millisecond, Memory: time.Millisecond}}
}

func runChild(t *testing.T, addr string) {
	n := startNode(t, addr, childConfig())
	allowed := 0
	for i := 0; i < 300; i++ {
		if mustCommand(t, n.lim, 77, "trade").Allowed {
			allowed++
		}
	}
	fmt.Printf("CHILD_ALLOWED=%d\n", allowed)
}

// TestRedisOutage kills Redis under load, checks the fallback, then starts
// an empty Redis on the same port and checks recovery.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	srv := servertest.OwnRedis(t)
	cfg := Config{
		Command:       Rule{Limit: 20, Period: time.Second},
		CommandBlock:  Backoff{Base: time.Hour, Max: time.Hour, Memory: time.Hour},
		FallbackProbe: 50 * time.Millisecond,
		LiveNodes:     func() int { return 2 },
	}
	n := startNode(t, srv.Addr(), cfg)
	// A block set before the outage.
	for i := 0; i < 21; i++ {
		mustCommand(t, n.lim, 13, "steal")
	}
	if d := mustCommand(t, n.lim, 13, "steal"); d.Allowed || d.Rule != RuleCommandBlock {
		t.Fatalf("no block before outage: %+v", d)
	}

	// Load: one user hammering one command.
	var (
		admitted  atomic.Int64
		fallbackN atomic.Int64
		stop      = make(chan struct{})
		wg        sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			d, err := n.lim.AllowCommand(context.Background(), 7, "work")
			if err != nil {
				t.Errorf("AllowCommand under load: %v", err)
				return
			}
			if d.Allowed && n.lim.InFallback() {
				fallbackN.Add(1)
			}
			if d.Allowed {
				admitted.Add(1)
			}
			time.Sleep(time.Millisecond)
		}
	}()
	poll.Eventually(t, 2*time.Second, func() bool { return admitted.Load() > 0 }, "load")

	srv.Kill()
	poll.Eventually(t, 3*time.Second, n.lim.InFallback, "fallback")
	outageStart := time.Now()
	fallbackN.Store(0)
	if d, err := n.lim.AllowSensitive(context.Background(), "admin", 1, "10.0.0.1"); err != nil || d.Allowed || d.Rule != RuleUnavailable {
		t.Fatalf("sensitive during outage: %+v %v", d, err)
	}
	if d := mustCommand(t, n.lim, 13, "steal"); d.Allowed {
		t.Fatal("block lost during outage")
	}
	time.Sleep(600 * time.Millisecond) // the outage's length is the point
	srv.Restart()
	poll.Eventually(t, 5*time.Second, func() bool { return !n.lim.InFallback() }, "recovery")
	outage := time.Since(outageStart)
	close(stop)
	wg.Wait()

	// Each node applies the whole limit (2 live nodes notwithstanding):
	// 20 per second, burst 20.
	bound := int64(20 + outage.Seconds()*20 + 1)
	if got := fallbackN.Load(); got > bound || got == 0 {
		t.Fatalf("admitted %d in fallback over %v, want 1..%d", got, outage, bound)
	}
	t.Logf("fallback admitted %d over %v (bound %d)", fallbackN.Load(), outage, bound)
	// The new, empty Redis got the block back from the node.
	rdb := newClient(t, srv.Addr())
	if ttl := rdb.PTTL(context.Background(), "rlb:{u:13}:c:steal").Val(); ttl < 59*time.Minute {
		t.Fatalf("block TTL after restart %v, want about 1h", ttl)
	}
	// Decisions go through Redis again.
	if d := mustCommand(t, n.lim, 8, "work"); !d.Allowed || d.Local {
		t.Fatalf("after recovery: %+v", d)
	}
	if !stateExists(t, rdb, "{u:8}:c:work") {
		t.Fatal("decision after recovery did not reach Redis")
	}
	for to, want := range map[string]float64{"fallback": 1, "redis": 1} {
		if got := counterValue(t, n.reg, "chopsticks_rate_limit_fallback_switches_total", map[string]string{"to": to}); got != want {
			t.Fatalf("switches{to=%s} = %v, want %v", to, got, want)
		}
	}
	if got := counterValue(t, n.reg, "chopsticks_rate_limit_fallback", nil); got != 0 {
		t.Fatalf("fallback gauge %v after recovery", got)
	}
}

// TestConcurrentDecisionsExact sends many concurrent decisions through two
// nodes (so the batcher coalesces them into shared script calls) and checks
// that every user got exactly its budget.
func TestConcurrentDecisionsExact(t *testing.T) {
	t.Parallel()
	addr := testRedis(t)
	cfg := Config{Command: Rule{Limit: 7, Period: time.Hour}, CommandBlock: Backoff{Base: time.Millisecond, Max: time.Millisecond, Memory: time.Millisecond}}
	nodes := []*node{startOn(t, addr, cfg), startOn(t, addr, cfg)}
	const users, workers, attempts = 20, 16, 40
	var admitted [users + 1]atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := nodes[w%2]
			for i := 0; i < attempts; i++ {
				u := uint64(1 + (w*attempts+i)%users)
				d, err := n.lim.AllowCommand(context.Background(), u, "mine")
				if err != nil {
					t.Error(err)
					return
				}
				if d.Allowed {
					admitted[u].Add(1)
				}
			}
		}()
	}
	wg.Wait()
	for u := 1; u <= users; u++ {
		if got := admitted[u].Load(); got != int64(cfg.Command.Limit) {
			t.Errorf("user %d admitted %d times, want %d", u, got, cfg.Command.Limit)
		}
	}
	calls := nodes[0].calls.n.Load() + nodes[1].calls.n.Load()
	t.Logf("%d decisions with %d Redis calls in all", workers*attempts, calls)
}

// TestRecoversWithoutStart: a limiter whose Start is not running still
// returns to Redis after an outage (decisions probe).
func TestRecoversWithoutStart(t *testing.T) {
	t.Parallel()
	srv := servertest.OwnRedis(t)
	rdb := newClient(t, srv.Addr())
	lim, err := New(rdb, Config{FallbackProbe: 20 * time.Millisecond, Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	if d := mustCommand(t, lim, 1, "work"); !d.Allowed {
		t.Fatalf("%+v", d)
	}
	srv.Kill()
	if d := mustCommand(t, lim, 1, "work"); !d.Allowed || !lim.InFallback() {
		t.Fatalf("after kill: %+v fallback=%v", d, lim.InFallback())
	}
	srv.Restart()
	poll.Eventually(t, 5*time.Second, func() bool {
		mustCommand(t, lim, 2, "work")
		return !lim.InFallback()
	}, "recovery")
}
