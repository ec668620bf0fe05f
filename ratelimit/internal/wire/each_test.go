package wire

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// gate holds the first pipeline its client sends until released, and
// counts the pipelines.
type gate struct {
	mu      sync.Mutex
	n       int
	held    chan struct{}
	release chan struct{}
}

func (g *gate) DialHook(next redis.DialHook) redis.DialHook          { return next }
func (g *gate) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }
func (g *gate) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		g.mu.Lock()
		g.n++
		first := g.n == 1
		g.mu.Unlock()
		if first && g.release != nil {
			close(g.held)
			<-g.release
		}
		return next(ctx, cmds)
	}
}

func (g *gate) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.n
}

// perMinute is the profile of limit uses a minute with a burst of limit.
func perMinute(limit int64) Profile {
	T := int64(time.Minute/time.Microsecond) / limit
	return Profile{T: T, Tau: (limit - 1) * T, G: T * limit}
}

// userCalls is one decision of the split layout: user's own rule (one use
// a minute) and the command's ceiling (ceiling uses a minute).
func userCalls(user int, ceiling int64) []Call {
	tag := fmt.Sprintf("{u%d}", user)
	return []Call{
		{Base: HashBase(true, tag), Rules: []Rule{{Profile: perMinute(1), Field: tag + ":work"}}},
		{Base: HashBase(true, "{c:work}"), Rules: []Rule{{Profile: perMinute(ceiling), Field: "{c:work}:g"}}},
	}
}

// TestEachBatcherOnRedisCluster: decisions queued behind a round trip all
// go in the next one, the command's ceiling admits exactly its limit
// among them, and every user's own rule is decided once.
func TestEachBatcherOnRedisCluster(t *testing.T) {
	rc := servertest.RedisCluster(t)
	g := &gate{held: make(chan struct{}), release: make(chan struct{})}
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()})
	t.Cleanup(func() { c.Close() })
	loadScripts(t, c)
	c.AddHook(g)
	var b EachBatcher
	const users, ceiling = 64, 40
	ctx := context.Background()
	results := make([][]Outcome, users)
	var wg sync.WaitGroup
	decide := func(u int) {
		defer wg.Done()
		out, err := b.Decide(ctx, c, userCalls(u, ceiling), time.Now())
		if err != nil {
			t.Errorf("user %d: %v", u, err)
		}
		results[u] = out
	}
	wg.Add(1)
	go decide(0)
	<-g.held
	wg.Add(users - 1)
	for u := 1; u < users; u++ {
		go decide(u)
	}
	poll.Eventually(t, 10*time.Second, func() bool {
		_, queued := b.InFlight()
		return queued == users-1
	}, "63 decisions queued behind the first round trip")
	close(g.release)
	wg.Wait()
	if n := g.count(); n != 2 {
		t.Errorf("%d round trips for %d decisions queued behind one, want 2", n, users)
	}
	admitted := 0
	for u, out := range results {
		if len(out) != 2 {
			t.Fatalf("user %d: %d outcomes, want 2", u, len(out))
		}
		if out[0].Verdict != Admitted {
			t.Errorf("user %d: own rule %+v on its first use, want admitted", u, out[0])
		}
		if out[1].Verdict == Admitted {
			admitted++
		}
	}
	if admitted != ceiling {
		t.Errorf("the ceiling admitted %d of %d decisions, want %d", admitted, users, ceiling)
	}
}

// TestPipelineResendsOnlyNoScript: a master that lost its scripts (a
// promoted replica, a restart) refuses its calls with NOSCRIPT while the
// others run theirs; only the refused calls are sent again, so no decision
// is made twice.
func TestPipelineResendsOnlyNoScript(t *testing.T) {
	rc := servertest.RedisCluster(t)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()})
	t.Cleanup(func() { c.Close() })
	ctx := context.Background()
	var b EachBatcher
	// Load the script everywhere, then flush it on one master.
	loadScripts(t, c)
	flushed := false
	var mu sync.Mutex
	if err := c.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		if flushed {
			return nil
		}
		flushed = true
		return m.ScriptFlush(ctx).Err()
	}); err != nil {
		t.Fatal(err)
	}
	// Users on every master, in one round trip: each own rule admits once.
	var calls []Call
	for u := range 30 {
		calls = append(calls, userCalls(u, 1000)[0])
	}
	out, err := b.Decide(ctx, c, calls, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for u, o := range out {
		if o.Verdict != Admitted {
			t.Errorf("user %d: %+v on its first use, want admitted (decided twice?)", u, o)
		}
	}
	out, err = b.Decide(ctx, c, calls, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	for u, o := range out {
		if o.Verdict == Admitted {
			t.Errorf("user %d: admitted on its second use within a minute", u)
		}
	}
}

// loadScripts loads the decide script on every master of c.
func loadScripts(t *testing.T, c *redis.ClusterClient) {
	t.Helper()
	if err := c.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
		return m.ScriptLoad(ctx, decideSource).Err()
	}); err != nil {
		t.Fatal(err)
	}
}
