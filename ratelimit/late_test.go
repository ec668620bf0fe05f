package ratelimit

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// burst returns n times, gap apart, the last one now: the snowflake times
// of events a user sent, arriving together (a RESUME replay, or a backlog
// behind a stalled Redis).
func burst(n int, gap time.Duration, now time.Time) []time.Time {
	out := make([]time.Time, n)
	for i := range out {
		out[i] = now.Add(-time.Duration(n-1-i) * gap)
	}
	return out
}

// deadAddr is a loopback address nothing listens on: Redis refuses.
func deadAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestLateBurstJudgedByEventTime is issue 17's "honest users blocked": 30
// commands a user sent at 7 per second (the limit is 10), arriving at once,
// are all admitted, through Redis and through the Redis-down fallback on
// one node of three; the same 30 sent in one instant are limited.
func TestLateBurstJudgedByEventTime(t *testing.T) {
	t.Parallel()
	cfg := Config{Command: Rule{Limit: 10, Period: time.Second}}
	noCeiling := cfg
	noCeiling.CommandGlobal = NoCeiling
	// A ceiling as tight as the user's limit takes the script's general
	// path once the ceiling has no room to spare.
	tight := cfg
	tight.CommandGlobal = Rule{Limit: 10, Period: time.Second}
	redisAddr := servertest.Redis(t)
	tests := []struct {
		name    string
		cfg     Config
		addr    string
		gap     time.Duration
		wantMin int
		wantMax int
	}{
		{"redis: spread at 7/s", cfg, redisAddr, time.Second / 7, 30, 30},
		{"redis, no ceiling: spread at 7/s", noCeiling, redisAddr, time.Second / 7, 30, 30},
		{"redis, tight ceiling: spread at 7/s", tight, redisAddr, time.Second / 7, 30, 30},
		{"redis: one instant", cfg, redisAddr, 0, 10, 11},
		{"redis, tight ceiling: one instant", tight, redisAddr, 0, 10, 11},
		{"fallback, 1 node of 3: spread at 7/s", cfg, "", time.Second / 7, 30, 30},
		{"fallback, 1 node of 3: one instant", cfg, "", 0, 10, 11},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := tt.addr
			if addr == "" {
				addr = deadAddr(t)
			}
			cfg := tt.cfg
			cfg.LiveNodes = func() int { return 3 }
			n := startNode(t, addr, cfg)
			user := uint64(7000 + i)
			admitted := 0
			var last Decision
			for _, at := range burst(30, tt.gap, time.Now()) {
				d, err := n.lim.AllowCommandAt(context.Background(), user, "pay"+strconv.Itoa(i), at)
				if err != nil {
					t.Fatal(err)
				}
				if d.Allowed {
					admitted++
				}
				last = d
			}
			if admitted < tt.wantMin || admitted > tt.wantMax {
				t.Fatalf("admitted %d of 30, want %d..%d (last decision %+v)", admitted, tt.wantMin, tt.wantMax, last)
			}
			if tt.addr == "" && !n.lim.InFallback() {
				t.Fatal("the limiter did not fall back")
			}
			if tt.wantMax < 30 && last.Allowed {
				t.Fatalf("after a burst in one instant: %+v, want a refusal", last)
			}
		})
	}
}

// TestDecisionWaitingOnHungRedisJudgedByItsTime: a decision queued behind
// a call to a hung Redis (alive, not answering) falls back when that call
// fails, and is judged by when the user acted, not by when it was asked
// for. Here the user sends 11 commands within 0.4 s, under the limit of
// 10 per second with a burst of 10; the second waits for Redis while the
// others are decided, and is admitted like them.
func TestDecisionWaitingOnHungRedisJudgedByItsTime(t *testing.T) {
	t.Parallel()
	srv := servertest.RedisServer(t) // killed at the end, frozen or not
	n := startNode(t, srv.Addr(), Config{Command: Rule{Limit: 10, Period: time.Second}, CommandGlobal: NoCeiling})
	if d := mustCommand(t, n.lim, 1, "warm"); !d.Allowed {
		t.Fatalf("with Redis up: %+v", d)
	}
	if err := srv.Freeze(); err != nil {
		t.Fatal(err)
	}
	const user = 42
	decide := func() <-chan Decision {
		ch := make(chan Decision, 1)
		at := time.Now()
		go func() {
			d, err := n.lim.AllowCommandAt(context.Background(), user, "pay", at)
			if err != nil {
				t.Errorf("decision: %v", err)
			}
			ch <- d
		}()
		return ch
	}
	running := func(queued int) func() bool {
		return func() bool {
			running, n := n.lim.batch.InFlight()
			return running && n >= queued
		}
	}
	first := decide()
	poll.Eventually(t, 2*time.Second, running(0), "the first decision to reach Redis")
	second := decide()
	poll.Eventually(t, 2*time.Second, running(1), "the second decision to queue")
	// The first call fails and the second, now leading, waits for Redis
	// in turn; meanwhile nine more are decided on this node.
	poll.Eventually(t, 3*time.Second, n.lim.InFallback, "fallback")
	for i := range 9 {
		if d := <-decide(); !d.Allowed {
			t.Fatalf("decision %d during the outage: %+v", i+3, d)
		}
	}
	for i, ch := range []<-chan Decision{first, second} {
		if d := <-ch; !d.Allowed {
			t.Fatalf("decision %d, which waited on the hung Redis: %+v", i+1, d)
		}
	}
}
