package commands

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// TestMain (servertest.Main) is in economy_test.go.

func TestRedisClaimer(t *testing.T) {
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
