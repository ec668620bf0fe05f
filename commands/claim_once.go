package commands

import (
	"context"
	"fmt"
)

// OnceKey is the Redis key of a Once component's operation claim.
func OnceKey(key string) string { return "chopsticks:once:" + key }

// ClaimOnce implements OnceClaimer with SET NX, kept ClaimTTL (a rendering's
// buttons are pressed within minutes; older operations are also refused by
// their handlers' own expiry). It fails like Claim while Redis is down.
func (c *RedisClaimer) ClaimOnce(ctx context.Context, key, holder string) (bool, error) {
	return c.setNX(ctx, OnceKey(key), holder, "claim operation")
}

// ReleaseOnce implements OnceClaimer.
func (c *RedisClaimer) ReleaseOnce(ctx context.Context, key string) error {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	if err := c.rdb.Del(ctx, OnceKey(key)).Err(); err != nil {
		return fmt.Errorf("release operation: %w", err)
	}
	return nil
}
