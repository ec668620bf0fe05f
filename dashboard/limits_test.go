package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/dashboard"

	"github.com/chopsticks-bot/chopsticks/ratelimit"
)

// seedLimits is the seed's sensitive rule (3 per 5 minutes, then a 1-hour
// block) and the default admin rate, with a generous per-IP request limit.
func seedLimits() ratelimit.Config {
	return ratelimit.Config{HTTP: ratelimit.Rule{Limit: 10000, Period: time.Minute},
		Sensitive: ratelimit.Rule{Limit: 3, Period: 5 * time.Minute}, SensitiveBlock: time.Hour,
		Admin: ratelimit.Rule{Limit: 30, Period: time.Minute}}
}

func jsonBody(v any) (io.Reader, error) {
	b, err := json.Marshal(v)
	return bytes.NewReader(b), err
}

// TestSuccessesDoNotLockOut: successful grants and logins at the seed's
// limits never block: four grants in five minutes, and many logins from
// one IP (behind a proxy, everyone's).
func TestSuccessesDoNotLockOut(t *testing.T) {
	e := newEnv(t, envOptions{limits: seedLimits()})
	for i := range 10 {
		c := e.anon(t)
		if resp := c.do("GET", "/auth/login", nil, nil); resp.StatusCode != 302 {
			t.Fatalf("login visit %d from one IP: %d %s", i+1, resp.StatusCode, body(resp))
		}
	}
	for range 6 {
		e.login(t, e.alice)
	}
	admin := e.login(t, e.admin)
	for i := range 6 {
		code, body := admin.send("POST", "/api/admin/economy/credits",
			map[string]any{"user_id": id(e.alice), "amount": 100 + i, "reason": "weekly prize"}, nil)
		if code != 200 {
			t.Fatalf("grant %d within a minute: %d %+v", i+1, code, body)
		}
	}
}

// TestFailuresLockOut: three refused admin actions block the admin (and
// IP) from admin actions for an hour, even a correct one, and so do three
// bad CSRF tokens or three agent tokens Discord refuses; three failed
// log-in callbacks block the IP from logging in.
func TestFailuresLockOut(t *testing.T) {
	t.Run("refused admin actions", func(t *testing.T) {
		e := newEnv(t, envOptions{limits: seedLimits()})
		admin := e.login(t, e.admin)
		for i := range 3 {
			code, body := admin.send("POST", "/api/admin/economy/credits",
				map[string]any{"user_id": id(e.alice), "amount": 0, "reason": "typo"}, nil)
			if code != 400 || body.Error.Code != "bad_amount" {
				t.Fatalf("refused action %d: %d %+v, want 400 bad_amount", i+1, code, body)
			}
		}
		b, _ := jsonBody(map[string]any{"user_id": id(e.alice), "amount": 100, "reason": "weekly prize"})
		resp := admin.do("POST", "/api/admin/economy/credits", b, map[string]string{"Content-Type": "application/json", "X-CSRF-Token": admin.csrf})
		code, body := decodeAnswer(t, resp, nil)
		secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		if code != 429 || body.Error.Code != "blocked" || secs < 3500 || secs > 3600 || !strings.Contains(body.Error.Message, "min") {
			t.Errorf("correct grant after three refusals: %d %+v, Retry-After %q; want 429 blocked for an hour",
				code, body, resp.Header.Get("Retry-After"))
		}
		rows := e.auditRows(t)
		if a := rows[len(rows)-1]; a.Outcome != "refused" || a.Detail != "blocked" || a.ActorID != int64(e.admin.ID) {
			t.Errorf("last audit entry = %+v, want the refused blocked attempt", a)
		}
		var bal struct{ Wallet int64 }
		if e.login(t, e.alice).get("/api/balance", &bal); bal.Wallet != 0 {
			t.Errorf("alice's wallet = %d after a blocked grant", bal.Wallet)
		}
	})
	t.Run("bad CSRF tokens", func(t *testing.T) {
		e := newEnv(t, envOptions{limits: seedLimits()})
		admin := e.login(t, e.admin)
		for range 3 {
			resp := admin.do("POST", "/api/admin/economy/credits", strings.NewReader(`{"user_id":"`+id(e.alice)+`","amount":5,"reason":"csrf"}`),
				map[string]string{"Content-Type": "application/json", "X-CSRF-Token": "wrong"})
			if code, body := decodeAnswer(t, resp, nil); code != 403 || body.Error.Code != "csrf" {
				t.Fatalf("bad CSRF token: %d %+v", code, body)
			}
		}
		if code, body := admin.send("POST", "/api/admin/economy/credits",
			map[string]any{"user_id": id(e.alice), "amount": 5, "reason": "weekly prize"}, nil); code != 429 || body.Error.Code != "blocked" {
			t.Errorf("grant after three bad CSRF tokens: %d %+v, want 429 blocked", code, body)
		}
	})
	t.Run("bad agent tokens", func(t *testing.T) {
		e := newEnv(t, envOptions{limits: seedLimits()})
		admin := e.login(t, e.admin)
		for i := range 3 {
			// Well formed, so that Discord (discordsim) is asked, and refuses it.
			code, body := admin.send("POST", "/api/admin/agents",
				map[string]string{"name": "agent-" + strconv.Itoa(i), "token": "MTAxMDEwMTAxMDEw.not-a-token." + strconv.Itoa(i)}, nil)
			if code != 400 || body.Error.Code != "bad_token" {
				t.Fatalf("bad agent token %d: %d %+v, want 400 bad_token", i+1, code, body)
			}
		}
		if code, body := admin.send("POST", "/api/admin/economy/credits",
			map[string]any{"user_id": id(e.alice), "amount": 5, "reason": "weekly prize"}, nil); code != 429 || body.Error.Code != "blocked" {
			t.Errorf("grant after three bad agent tokens: %d %+v, want 429 blocked", code, body)
		}
	})
	t.Run("failed logins", func(t *testing.T) {
		e := newEnv(t, envOptions{limits: seedLimits()})
		c := e.anon(t)
		for i := range 3 {
			if resp := c.do("GET", "/auth/callback?code=x&state="+strings.Repeat("A", 43), nil, nil); resp.StatusCode != 400 {
				t.Fatalf("failed callback %d: %d", i+1, resp.StatusCode)
			}
		}
		for _, path := range []string{"/auth/login", "/auth/callback?code=x&state=y"} {
			resp := e.anon(t).do("GET", path, nil, nil)
			secs, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
			if resp.StatusCode != 429 || secs < 3500 || !strings.Contains(body(resp), "failed log-ins") {
				t.Errorf("%s after three failed logins from the IP: %d, Retry-After %q", path, resp.StatusCode, resp.Header.Get("Retry-After"))
			}
		}
		// Cancelling on Discord's consent page is not a failure.
		e2 := newEnv(t, envOptions{limits: seedLimits()})
		for range 4 {
			e2.anon(t).do("GET", "/auth/callback?error=access_denied", nil, nil)
		}
		e2.login(t, e2.alice)
	})
}

// TestAdminRate: the ordinary admin rate (30 per minute) refuses the 31st
// action in a minute with a 429 saying so, and blocks nothing.
func TestAdminRate(t *testing.T) {
	e := newEnv(t, envOptions{limits: seedLimits()})
	admin := e.login(t, e.admin)
	grant := func(i int) (int, apiErr, string) {
		b, _ := jsonBody(map[string]any{"user_id": id(e.alice), "amount": 1 + i, "reason": "rate test"})
		resp := admin.do("POST", "/api/admin/economy/credits", b, map[string]string{"Content-Type": "application/json", "X-CSRF-Token": admin.csrf})
		code, body := decodeAnswer(t, resp, nil)
		return code, body, resp.Header.Get("Retry-After")
	}
	for i := range 30 {
		if code, body, _ := grant(i); code != 200 {
			t.Fatalf("admin action %d in a minute: %d %+v", i+1, code, body)
		}
	}
	code, body, after := grant(30)
	if code != 429 || body.Error.Code != "rate_limited" || !strings.Contains(body.Error.Message, "30/1m") || after == "" {
		t.Fatalf("31st admin action in a minute: %d %+v Retry-After %q; want 429 rate_limited naming 30/1m", code, body, after)
	}
	if secs, _ := strconv.Atoi(after); secs > 2 {
		t.Errorf("Retry-After %s s; the rate frees one action every 2 s", after)
	}
	rows := e.auditRows(t)
	if a := rows[len(rows)-1]; a.Outcome != "refused" || a.Detail != "rate_limited" {
		t.Errorf("last audit entry = %+v", a)
	}
	// Being refused by the rate is no failure: it starts no block.
	for range 3 {
		grant(31)
	}
	if code, body := admin.send("POST", "/api/admin/economy/credits",
		map[string]any{"user_id": id(e.alice), "amount": 0, "reason": "typo"}, nil); code == 429 && body.Error.Code == "blocked" {
		t.Errorf("rate refusals started a failure block: %+v", body)
	}
}

// outageLimiter answers sensitive checks as the limiter does while Redis
// is unreachable, when down is set.
type outageLimiter struct {
	dashboard.Limiter
	down *atomic.Bool
}

func (l outageLimiter) SensitiveBlocked(ctx context.Context, action string, user uint64, ip string) (ratelimit.Decision, error) {
	if l.down.Load() {
		return ratelimit.Decision{RetryAfter: 30 * time.Second, Notify: true, Rule: ratelimit.RuleUnavailable}, nil
	}
	return l.Limiter.SensitiveBlocked(ctx, action, user, ip)
}

// TestSensitiveUnavailable: when the failure count cannot be read, logins
// and admin actions are refused as unavailable (503), not as blocked.
func TestSensitiveUnavailable(t *testing.T) {
	var down atomic.Bool
	e := newEnv(t, envOptions{limits: seedLimits(), wrap: func(l dashboard.Limiter) dashboard.Limiter {
		return outageLimiter{Limiter: l, down: &down}
	}})
	admin := e.login(t, e.admin)
	down.Store(true)
	if code, body := admin.send("POST", "/api/admin/economy/credits",
		map[string]any{"user_id": id(e.alice), "amount": 5, "reason": "weekly prize"}, nil); code != 503 || body.Error.Code != "unavailable" {
		t.Errorf("admin action with the limiter unavailable: %d %+v, want 503 unavailable", code, body)
	}
	if resp := e.anon(t).do("GET", "/auth/login", nil, nil); resp.StatusCode != 503 || strings.Contains(body(resp), "failed log-ins") {
		t.Errorf("login with the limiter unavailable: %d, want 503", resp.StatusCode)
	}
}
