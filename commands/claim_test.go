package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// TestMain stops the servers the tests started and removes their data;
// it serves the package's external tests (economy_test.go) too.
func TestMain(m *testing.M) { servertest.Main(m) }

func TestRedisClaimer(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	c := NewRedisClaimer(rdb)
	ctx := context.Background()
	first, err := c.Claim(ctx, 1, "n1/0")
	if err != nil || !first {
		t.Fatalf("first claim = %v, %v", first, err)
	}
	again, err := c.Claim(ctx, 1, "n2/0")
	if err != nil || again {
		t.Fatalf("second claim = %v, %v; want false", again, err)
	}
	if holder := rdb.Get(ctx, ClaimKey(1)).Val(); holder != "n1/0" {
		t.Fatalf("holder = %q, want the first claimant", holder)
	}
	if ttl := rdb.TTL(ctx, ClaimKey(1)).Val(); ttl <= 0 || ttl > ClaimTTL {
		t.Fatalf("ttl = %v, want (0, %v]", ttl, ClaimTTL)
	}
}

// TestRedisClaimerHungRedis is issue 27's hung Redis: with Redis alive but
// not answering (SIGSTOP), a claim fails within its Timeout, as a refused
// connection would, and claims during the Cooldown fail at once without
// calling Redis; once Redis answers, claiming works again.
func TestRedisClaimerHungRedis(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := servertest.RedisServer(t) // killed at the end, frozen or not
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, ContextTimeoutEnabled: true})
	t.Cleanup(func() { rdb.Close() })
	calls := &countCalls{}
	rdb.AddHook(calls)
	c := NewRedisClaimer(rdb)
	c.Timeout, c.Cooldown = 200*time.Millisecond, time.Hour
	if ok, err := c.Claim(ctx, 1, "n1/0"); err != nil || !ok {
		t.Fatalf("claim with Redis up = %v, %v", ok, err)
	}

	if err := srv.Freeze(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := c.Claim(ctx, 2, "n1/0"); err == nil {
		t.Fatal("claim with Redis frozen succeeded")
	}
	// Far inside Discord's 3 s deadline (go-redis's defaults take 3 s per try).
	if took := time.Since(start); took > time.Second {
		t.Fatalf("claim with Redis frozen took %v", took)
	}
	before := calls.n.Load()
	if _, err := c.Claim(ctx, 3, "n1/0"); !errors.Is(err, ErrClaimsUnavailable) {
		t.Fatalf("claim during the cooldown = %v, want ErrClaimsUnavailable", err)
	}
	if calls.n.Load() != before {
		t.Fatal("a claim during the cooldown called Redis")
	}

	if err := srv.Thaw(); err != nil {
		t.Fatal(err)
	}
	c.Cooldown = 0
	poll.Eventually(t, 5*time.Second, func() (bool, string) {
		ok, err := c.Claim(ctx, 4, "n1/0")
		return err == nil && ok, fmt.Sprintf("claims after Redis woke = %v, %v", ok, err)
	}, "a claim after Redis woke")
}

// countCalls counts the commands sent to Redis.
type countCalls struct{ n atomic.Int64 }

func (h *countCalls) DialHook(next redis.DialHook) redis.DialHook { return next }
func (h *countCalls) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.n.Add(1)
		return next(ctx, cmd)
	}
}
func (h *countCalls) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// TestRouterClaimsWhenShardStops: an interaction dispatched by a shard
// whose context is cancelled meanwhile (it is handed off, or retired at
// the end of a reshard, while the other generation delivers the same
// interaction) is still claimed in Redis, so the second delivery is
// dropped; and the caller's cancellation starts no cooldown that would
// have later claims handled unclaimed.
func TestRouterClaimsWhenShardStops(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	claims := NewRedisClaimer(rdb)
	claims.Cooldown = time.Hour
	oldGen, oldRec, _ := newTestRouter(t, Config{Claimer: claims})
	newGen, newRec, _ := newTestRouter(t, Config{Claimer: claims})
	stopped, cancel := context.WithCancel(context.Background())
	cancel()
	for i, n := range []uint64{7001, 7002} {
		ev := commandEvent(n, "ping")
		id := ev.ID
		oldGen.Handle(stopped, ev, 0)
		newGen.Handle(context.Background(), ev, 1)
		if n := len(oldRec.responses) + len(newRec.responses); n != i+1 {
			t.Fatalf("interaction %d: %d responses in all after %d interactions, want one each", id, n, i+1)
		}
		if holder := rdb.Get(context.Background(), ClaimKey(id)).Val(); !strings.HasPrefix(holder, "n1/0") {
			t.Fatalf("interaction %d: claim holder %q, want the stopping shard's n1/0", id, holder)
		}
	}
	// A claim whose own caller gives up is no Redis failure either.
	if _, err := claims.Claim(stopped, 7003, "n1/0"); err == nil {
		t.Fatal("a claim with a cancelled context succeeded")
	}
	if ok, err := claims.Claim(context.Background(), 7004, "n1/0"); err != nil || !ok {
		t.Fatalf("claim after a cancelled one = %v, %v; want claimed", ok, err)
	}
}
