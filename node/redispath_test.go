package node

import (
	"slices"
	"testing"
)

// TestInteractionRedisOptions: the interaction path's client gives up on a
// hung Redis within interactionRedisTimeout, without retrying, and honours
// its callers' context deadlines, whatever the topology; the base options
// are left alone.
func TestInteractionRedisOptions(t *testing.T) {
	for _, raw := range []string{
		"redis://127.0.0.1:6379/0",
		"redis-sentinel://127.0.0.1:26379,127.0.0.1:26380/main",
		"rediss-cluster://127.0.0.1:7000,127.0.0.1:7001",
	} {
		t.Run(raw, func(t *testing.T) {
			base, err := ParseRedisURL(raw)
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
			if !slices.Equal(o.Addrs, base.Addrs) || o.MasterName != base.MasterName || o.IsClusterMode != base.IsClusterMode ||
				base.ReadTimeout == o.ReadTimeout || base.ContextTimeoutEnabled {
				t.Error("the base options were changed, or the topology lost")
			}
		})
	}
}
