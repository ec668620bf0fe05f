package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/poll"
)

func TestCommandBlockBackoff(t *testing.T) {
	t.Parallel()
	addr := testRedis(t)
	cfg := Config{
		Command:      Rule{Limit: 3, Period: 300 * time.Millisecond},
		CommandBlock: Backoff{Base: 100 * time.Millisecond, Max: 500 * time.Millisecond, Memory: 10 * time.Second},
	}
	n := startOn(t, addr, cfg)
	for i := 0; i < 3; i++ {
		if d := mustCommand(t, n.lim, 1, "work"); !d.Allowed {
			t.Fatalf("attempt %d refused: %+v", i+1, d)
		}
	}
	// Other users and commands are untouched.
	if d := mustCommand(t, n.lim, 2, "work"); !d.Allowed {
		t.Fatalf("other user refused: %+v", d)
	}
	if d := mustCommand(t, n.lim, 1, "daily"); !d.Allowed {
		t.Fatalf("other command refused: %+v", d)
	}
	// Violations double the block: 100, 200, 400, then capped at 500 ms.
	for _, want := range []time.Duration{100, 200, 400, 500, 500} {
		want *= time.Millisecond
		var d Decision
		poll.Eventually(t, 3*time.Second, func() bool {
			d = mustCommand(t, n.lim, 1, "work")
			return !d.Allowed
		}, "a refusal")
		if d.Rule != RuleCommandBlock || !d.Notify || d.RetryAfter != want || d.Local {
			t.Fatalf("violation: got %+v, want new %s block of %v with Notify", d, RuleCommandBlock, want)
		}
		// Later attempts during the block are silent and local.
		before := n.calls.n.Load()
		again := mustCommand(t, n.lim, 1, "work")
		if again.Allowed || again.Notify || again.Rule != RuleCommandBlock || !again.Local ||
			again.RetryAfter <= 0 || again.RetryAfter > want {
			t.Fatalf("attempt during block: %+v", again)
		}
		if n.calls.n.Load() != before {
			t.Fatalf("blocked attempt made a Redis call")
		}
		poll.Eventually(t, 2*time.Second, func() bool { return mustCommand(t, n.lim, 1, "work").Allowed }, "block end")
	}
	if got := counterValue(t, n.reg, "chopsticks_rate_limit_hits_total", map[string]string{"rule": RuleCommandBlock}); got < 10 {
		t.Fatalf("hits{rule=command_block} = %v, want >= 10", got)
	}
}

func TestBackoffResetsAfterQuietPeriod(t *testing.T) {
	t.Parallel()
	addr := testRedis(t)
	cfg := Config{
		Command:      Rule{Limit: 1, Period: 50 * time.Millisecond},
		CommandBlock: Backoff{Base: 60 * time.Millisecond, Max: time.Second, Memory: 300 * time.Millisecond},
	}
	n := startOn(t, addr, cfg)
	violate := func() Decision {
		var d Decision
		poll.Eventually(t, 3*time.Second, func() bool {
			d = mustCommand(t, n.lim, 5, "beg")
			return !d.Allowed && d.Notify
		}, "a refusal")
		return d
	}
	if d := violate(); d.RetryAfter != 60*time.Millisecond {
		t.Fatalf("first block %v, want 60ms", d.RetryAfter)
	}
	if d := violate(); d.RetryAfter != 120*time.Millisecond {
		t.Fatalf("second block %v, want 120ms", d.RetryAfter)
	}
	time.Sleep(450 * time.Millisecond) // the quiet period itself is what is tested
	if d := violate(); d.RetryAfter != 60*time.Millisecond {
		t.Fatalf("block after quiet period %v, want 60ms again", d.RetryAfter)
	}
}

func TestGlobalCeiling(t *testing.T) {
	t.Parallel()
	addr := testRedis(t)
	cfg := Config{
		Command:         Rule{Limit: 100, Period: time.Second},
		CommandGlobal:   Rule{Limit: 4, Period: time.Minute},
		GlobalOverrides: map[string]Rule{"play": {Limit: 2, Period: time.Minute}, "balance": NoCeiling},
	}
	n := startOn(t, addr, cfg)
	for u := uint64(1); u <= 4; u++ {
		if d := mustCommand(t, n.lim, u, "work"); !d.Allowed {
			t.Fatalf("user %d refused: %+v", u, d)
		}
	}
	// The 4th admission showed the global subject exhausted: the 5th is
	// refused locally, and reported once.
	before := n.calls.n.Load()
	d := mustCommand(t, n.lim, 5, "work")
	if d.Allowed || d.Rule != RuleGlobal || !d.Notify || !d.Local || d.RetryAfter <= 0 {
		t.Fatalf("5th user: %+v, want first global refusal", d)
	}
	if d := mustCommand(t, n.lim, 6, "work"); d.Allowed || !d.Local || d.Notify {
		t.Fatalf("hot global: %+v, want local silent refusal", d)
	}
	if n.calls.n.Load() != before {
		t.Fatal("hot global refusal made a Redis call")
	}
	// Through Redis (a second node knows nothing), a refusal consumes
	// nothing of the user's own budget: all or nothing, in the shared
	// layout (split, each subject decides alone: see LayoutSplit).
	other := startOn(t, addr, cfg)
	if d := mustCommand(t, other.lim, 7, "work"); d.Allowed || d.Local || !d.Notify || d.Rule != RuleGlobal {
		t.Fatalf("global refusal via Redis: %+v", d)
	}
	if !n.lim.split && stateExists(t, n.rdb, "{u:7}:c:work") {
		t.Fatal("refused decision consumed the user's budget")
	}
	for u := uint64(1); u <= 2; u++ {
		if d := mustCommand(t, n.lim, u, "play"); !d.Allowed {
			t.Fatalf("play user %d refused", u)
		}
	}
	if d := mustCommand(t, n.lim, 3, "play"); d.Allowed || d.Rule != RuleGlobal {
		t.Fatalf("override ignored: %+v", d)
	}
	// With NoCeiling a command has no global subject: twice the default
	// ceiling's users all pass, and the user's own limit still holds.
	for u := uint64(1); u <= 8; u++ {
		if d := mustCommand(t, n.lim, u, "balance"); !d.Allowed {
			t.Fatalf("balance user %d refused: %+v", u, d)
		}
	}
	if stateExists(t, n.rdb, "{g:balance}") {
		t.Fatal("NoCeiling command wrote a global subject")
	}
	if !stateExists(t, n.rdb, "{u:8}:c:balance") {
		t.Fatal("NoCeiling command skipped the user's rule")
	}
}

func TestNoCeilingOnlyForCeilings(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // New makes no call
	t.Cleanup(func() { _ = rdb.Close() })
	for _, c := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"CommandGlobal", Config{CommandGlobal: NoCeiling}, true},
		{"override", Config{GlobalOverrides: map[string]Rule{"work": NoCeiling}}, true},
		{"Command", Config{Command: NoCeiling}, false},
		{"Sensitive", Config{Sensitive: NoCeiling}, false},
		{"HTTP", Config{HTTP: NoCeiling}, false},
		{"other negative limit", Config{CommandGlobal: Rule{Limit: -2, Period: time.Second}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(rdb, c.cfg)
			if (err == nil) != c.ok {
				t.Fatalf("New: %v, want ok=%v", err, c.ok)
			}
		})
	}
}

func TestSensitive(t *testing.T) {
	t.Parallel()
	addr := testRedis(t)
	cfg := Config{Sensitive: Rule{Limit: 3, Period: 600 * time.Millisecond}, SensitiveBlock: time.Hour}
	n := startOn(t, addr, cfg)
	ctx := context.Background()
	allow := func(user uint64, ip string) Decision {
		t.Helper()
		d, err := n.lim.AllowSensitive(ctx, "agent_token", user, ip)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for i := 0; i < 3; i++ {
		if d := allow(1, "10.0.0.1"); !d.Allowed {
			t.Fatalf("attempt %d refused: %+v", i+1, d)
		}
	}
	// The window refills at one per 200 ms (GCRA); wait for one slot.
	// Polling would spend attempts, so wait one emission interval (200 ms).
	time.Sleep(220 * time.Millisecond)
	if d := allow(1, "10.0.0.1"); !d.Allowed {
		t.Fatalf("attempt after refill refused: %+v", d)
	}
	d := allow(1, "10.0.0.1")
	if d.Allowed || d.Rule != RuleSensitiveBlock || !d.Notify || d.RetryAfter != time.Hour {
		t.Fatalf("exceeding: %+v, want 1h block with Notify", d)
	}
	// The user is blocked from any IP, the IP for any user; others go on.
	if d := allow(1, "10.0.0.2"); d.Allowed || d.Notify || d.Rule != RuleSensitiveBlock {
		t.Fatalf("blocked user from new IP: %+v", d)
	}
	if d := allow(2, "10.0.0.1"); d.Allowed || d.Rule != RuleSensitiveBlock {
		t.Fatalf("new user from blocked IP: %+v", d)
	}
	if d := allow(2, "10.0.0.2"); !d.Allowed {
		t.Fatalf("unrelated user and IP: %+v", d)
	}
	// OAuth login has only an IP; another action is not blocked.
	if d, err := n.lim.AllowSensitive(ctx, "oauth_login", 0, "10.0.0.1"); err != nil || !d.Allowed {
		t.Fatalf("other action from IP: %+v %v", d, err)
	}
	if _, err := n.lim.AllowSensitive(ctx, "oauth_login", 0, ""); !errors.Is(err, ErrBadInput) {
		t.Fatalf("no subject: err %v, want ErrBadInput", err)
	}
	if ttl := n.rdb.PTTL(ctx, "rlb:{u:1}:s:agent_token").Val(); ttl < 59*time.Minute {
		t.Fatalf("user block TTL %v in Redis", ttl)
	}
	if ttl := n.rdb.PTTL(ctx, "rlb:{ip:10.0.0.1}:s:agent_token").Val(); ttl < 59*time.Minute {
		t.Fatalf("IP block TTL %v in Redis", ttl)
	}
}

func TestHTTP(t *testing.T) {
	t.Parallel()
	addr := testRedis(t)
	n := startOn(t, addr, Config{HTTP: Rule{Limit: 3, Period: 300 * time.Millisecond}})
	ctx := context.Background()
	for i, ip := range []string{"2001:db8::1", "2001:db8::2", "[2001:db8::3]:443"} {
		if d, err := n.lim.AllowHTTP(ctx, ip); err != nil || !d.Allowed {
			t.Fatalf("request %d: %+v %v", i, d, err)
		}
	}
	d, err := n.lim.AllowHTTP(ctx, "2001:db8:0:0:ffff::9") // same /64
	if err != nil || d.Allowed || d.Rule != RuleHTTP || !d.Notify || !d.Local || d.RetryAfter <= 0 || d.RetryAfter > 100*time.Millisecond {
		t.Fatalf("4th in /64: %+v %v", d, err)
	}
	before := n.calls.n.Load()
	if d, _ := n.lim.AllowHTTP(ctx, "2001:db8::1"); d.Allowed || !d.Local || d.Notify {
		t.Fatalf("hot IP: %+v", d)
	}
	if n.calls.n.Load() != before {
		t.Fatal("hot IP made a Redis call")
	}
	if d, _ := n.lim.AllowHTTP(ctx, "192.0.2.1:8080"); !d.Allowed {
		t.Fatalf("other IP: %+v", d)
	}
	poll.Eventually(t, time.Second, func() bool {
		d, _ := n.lim.AllowHTTP(ctx, "2001:db8::1")
		return d.Allowed
	}, "refill")
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	addr := testRedis(t)
	n := startOn(t, addr, Config{})
	ctx := context.Background()
	cases := []struct {
		name string
		call func() error
	}{
		{"zero user", func() error { _, err := n.lim.AllowCommand(ctx, 0, "work"); return err }},
		{"empty command", func() error { _, err := n.lim.AllowCommand(ctx, 1, ""); return err }},
		{"brace in command", func() error { _, err := n.lim.AllowCommand(ctx, 1, "a}b"); return err }},
		{"space in action", func() error { _, err := n.lim.AllowSensitive(ctx, "a b", 1, ""); return err }},
		{"bad IP", func() error { _, err := n.lim.AllowHTTP(ctx, "not-an-ip"); return err }},
		{"bad sensitive IP", func() error { _, err := n.lim.AllowSensitive(ctx, "login", 0, "1.2.3"); return err }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := c.call(); !errors.Is(err, ErrBadInput) {
				t.Fatalf("err = %v, want ErrBadInput", err)
			}
		})
	}
	if keys := n.rdb.Keys(ctx, "rl*").Val(); len(keys) != 0 {
		t.Fatalf("bad input wrote keys %v", keys)
	}
	if _, err := New(n.rdb, Config{Command: Rule{Limit: -1, Period: time.Second}}); err == nil {
		t.Fatal("negative limit accepted")
	}
}
