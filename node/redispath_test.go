package node

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestInteractionRedisOptions: the interaction path's client gives up on a
// hung Redis within interactionRedisTimeout, without retrying, and honours
// its callers' context deadlines; the base options are left alone.
func TestInteractionRedisOptions(t *testing.T) {
	base, err := redis.ParseURL("redis://127.0.0.1:6379/0")
	if err != nil {
		t.Fatal(err)
	}
	o := interactionRedisOptions(base)
	for name, d := range map[string]int64{
		"DialTimeout": int64(o.DialTimeout), "ReadTimeout": int64(o.ReadTimeout),
		"WriteTimeout": int64(o.WriteTimeout), "PoolTimeout": int64(o.PoolTimeout),
	} {
		if d <= 0 || d > int64(interactionRedisTimeout) {
			t.Errorf("%s = %d, want (0, %v]", name, d, interactionRedisTimeout)
		}
	}
	if o.MaxRetries != -1 || o.DialerRetries != 1 || !o.ContextTimeoutEnabled {
		t.Errorf("MaxRetries %d, DialerRetries %d, ContextTimeoutEnabled %v; want -1, 1 and true", o.MaxRetries, o.DialerRetries, o.ContextTimeoutEnabled)
	}
	if o.Addr != base.Addr || base.ReadTimeout == o.ReadTimeout || base.ContextTimeoutEnabled {
		t.Error("the base options were changed, or the address lost")
	}
}
