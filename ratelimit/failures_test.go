package ratelimit

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// TestFailSensitiveBlocksOnFailuresOnly: checking whether a subject is
// blocked counts nothing, however often; the third failure within the
// sensitive period blocks that subject (user or IP) for SensitiveBlock, on
// every node, and nobody else.
func TestFailSensitiveBlocksOnFailuresOnly(t *testing.T) {
	t.Parallel()
	addr := testRedis(t)
	cfg := Config{Sensitive: Rule{Limit: 3, Period: 5 * time.Minute}, SensitiveBlock: time.Hour}
	a, b := startOn(t, addr, cfg), startOn(t, addr, cfg)
	ctx := context.Background()
	blocked := func(n *node, user uint64, ip string) Decision {
		t.Helper()
		d, err := n.lim.SensitiveBlocked(ctx, "dashboard_admin", user, ip)
		if err != nil {
			t.Fatalf("SensitiveBlocked(%d, %q): %v", user, ip, err)
		}
		return d
	}
	fail := func(user uint64, ip string) Decision {
		t.Helper()
		d, err := a.lim.FailSensitive(ctx, "dashboard_admin", user, ip)
		if err != nil {
			t.Fatalf("FailSensitive(%d, %q): %v", user, ip, err)
		}
		return d
	}

	// Many successful attempts: only checked, never counted.
	for i := range 100 {
		if d := blocked(a, 1, "10.0.0.1"); !d.Allowed {
			t.Fatalf("check %d without failures refused: %+v", i+1, d)
		}
	}
	for i := range 2 {
		if d := fail(1, "10.0.0.1"); !d.Allowed {
			t.Fatalf("failure %d blocked already: %+v", i+1, d)
		}
		if d := blocked(b, 1, "10.0.0.1"); !d.Allowed {
			t.Fatalf("after %d failures the subject is blocked: %+v", i+1, d)
		}
	}
	d := fail(1, "10.0.0.1")
	if d.Allowed || d.Rule != RuleSensitiveBlock || !d.Notify || d.RetryAfter < 59*time.Minute || d.RetryAfter > time.Hour {
		t.Fatalf("third failure = %+v, want a new one-hour block", d)
	}
	for _, tt := range []struct {
		name    string
		n       *node
		user    uint64
		ip      string
		blocked bool
	}{
		{"the user, here", a, 1, "", true},
		{"the user, on another node", b, 1, "", true},
		{"the user from another IP", b, 1, "10.0.0.9", true},
		{"the IP, for another user", b, 2, "10.0.0.1", true},
		{"the IP alone", b, 0, "10.0.0.1", true},
		{"another user from another IP", b, 2, "10.0.0.2", false},
	} {
		d := blocked(tt.n, tt.user, tt.ip)
		if d.Allowed == tt.blocked {
			t.Errorf("%s: %+v, blocked want %v", tt.name, d, tt.blocked)
		}
		if tt.blocked && (d.Rule != RuleSensitiveBlock || d.RetryAfter < 59*time.Minute) {
			t.Errorf("%s: %+v, want the one-hour block", tt.name, d)
		}
	}
	// Another action is not blocked.
	if d, err := b.lim.SensitiveBlocked(ctx, "dashboard_login", 1, "10.0.0.1"); err != nil || !d.Allowed {
		t.Errorf("another action: %+v %v", d, err)
	}
	// A failure during the block keeps the block and reports it.
	if d := fail(1, ""); d.Allowed || d.RetryAfter < 59*time.Minute {
		t.Errorf("failure while blocked = %+v", d)
	}
}

// TestFailSensitiveSpacedFailures: failures spaced at the sustained rate
// never block; the schedule is GCRA's, as for every other rule.
func TestFailSensitiveSpacedFailures(t *testing.T) {
	t.Parallel()
	addr := testRedis(t)
	// 3 per 300 ms: one failure every 100 ms is the sustained rate.
	n := startOn(t, addr, Config{Sensitive: Rule{Limit: 3, Period: 300 * time.Millisecond}, SensitiveBlock: time.Hour})
	ctx := context.Background()
	for i := range 5 {
		d, err := n.lim.FailSensitive(ctx, "dashboard_login", 0, "10.1.0.1")
		if err != nil || !d.Allowed {
			t.Fatalf("failure %d spaced 150 ms apart: %+v %v", i+1, d, err)
		}
		time.Sleep(150 * time.Millisecond) // the spacing is the point
	}
}

// TestAllowAdmin: the ordinary admin rate refuses the action past the
// limit with the wait, and blocks nothing: the refusal is not a block.
func TestAllowAdmin(t *testing.T) {
	t.Parallel()
	addr := testRedis(t)
	n := startOn(t, addr, Config{Admin: Rule{Limit: 30, Period: time.Minute}})
	ctx := context.Background()
	for i := range 30 {
		if d, err := n.lim.AllowAdmin(ctx, 5); err != nil || !d.Allowed {
			t.Fatalf("admin action %d: %+v %v", i+1, d, err)
		}
	}
	d, err := n.lim.AllowAdmin(ctx, 5)
	if err != nil || d.Allowed || d.Rule != RuleAdmin || d.RetryAfter <= 0 || d.RetryAfter > 2*time.Second {
		t.Fatalf("31st admin action in a minute = %+v %v, want refused by %q for at most 2 s", d, err, RuleAdmin)
	}
	if d, err := n.lim.AllowAdmin(ctx, 6); err != nil || !d.Allowed {
		t.Errorf("another admin: %+v %v", d, err)
	}
	if d, err := n.lim.SensitiveBlocked(ctx, "dashboard_admin", 5, ""); err != nil || !d.Allowed {
		t.Errorf("the rate refusal blocked the admin: %+v %v", d, err)
	}
}

func TestFailuresBadInputAndOutage(t *testing.T) {
	t.Parallel()
	addr := testRedis(t)
	n := startOn(t, addr, Config{})
	ctx := context.Background()
	for _, tt := range []struct {
		name string
		f    func() error
	}{
		{"no subject", func() error { _, err := n.lim.FailSensitive(ctx, "login", 0, ""); return err }},
		{"bad action", func() error { _, err := n.lim.SensitiveBlocked(ctx, "a:b", 1, ""); return err }},
		{"bad IP", func() error { _, err := n.lim.SensitiveBlocked(ctx, "login", 0, "1.2.3"); return err }},
		{"zero admin", func() error { _, err := n.lim.AllowAdmin(ctx, 0); return err }},
	} {
		if err := tt.f(); !errors.Is(err, ErrBadInput) {
			t.Errorf("%s: %v, want ErrBadInput", tt.name, err)
		}
	}

	// Redis unreachable: sensitive checks refuse, as every sensitive action.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().String()
	ln.Close()
	l, err := New(newClient(t, dead), Config{Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	for name, f := range map[string]func() (Decision, error){
		"SensitiveBlocked": func() (Decision, error) { return l.SensitiveBlocked(ctx, "login", 0, "10.0.0.1") },
		"FailSensitive":    func() (Decision, error) { return l.FailSensitive(ctx, "login", 0, "10.0.0.1") },
	} {
		if d, err := f(); err != nil || d.Allowed || d.Rule != RuleUnavailable {
			t.Errorf("%s with Redis down = %+v %v, want refused as %q", name, d, err, RuleUnavailable)
		}
	}
}
