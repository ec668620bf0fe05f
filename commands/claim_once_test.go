package commands

import (
	"context"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

func TestRedisClaimOnce(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	c := NewRedisClaimer(rdb)
	ctx := context.Background()
	steps := []struct {
		do   func() (bool, error)
		want bool
	}{
		{func() (bool, error) { return c.ClaimOnce(ctx, "payconfirm:77", "n1/1") }, true},
		{func() (bool, error) { return c.ClaimOnce(ctx, "payconfirm:77", "n2/2") }, false},
		{func() (bool, error) { return true, c.ReleaseOnce(ctx, "payconfirm:77") }, true},
		{func() (bool, error) { return c.ClaimOnce(ctx, "payconfirm:77", "n2/3") }, true},
	}
	for k, s := range steps {
		if got, err := s.do(); err != nil || got != s.want {
			t.Fatalf("step %d = %v, %v; want %v", k, got, err, s.want)
		}
	}
	if ttl := rdb.TTL(ctx, OnceKey("payconfirm:77")).Val(); ttl <= 0 || ttl > ClaimTTL {
		t.Fatalf("ttl = %v, want (0, %v]", ttl, ClaimTTL)
	}
}
