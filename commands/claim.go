package commands

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/redis/go-redis/v9"
)

// ClaimTTL is how long a claim is kept: an interaction token lives 15
// minutes, after which no replay of it can be answered anyway.
const ClaimTTL = 15 * time.Minute

// Defaults of RedisClaimer's Timeout and Cooldown.
const (
	DefaultClaimTimeout  = 300 * time.Millisecond
	DefaultClaimCooldown = time.Second
)

// ErrClaimsUnavailable is returned, without calling Redis, while a
// RedisClaimer waits out its cooldown after a failed claim.
var ErrClaimsUnavailable = errors.New("claim store unavailable")

// RedisClaimer claims interactions with SET NX in Redis, shared by every node.
type RedisClaimer struct {
	rdb redis.UniversalClient
	// Timeout bounds one claim, well inside Discord's deadline: the claim
	// is made on the shard's event loop, before any handling.
	Timeout time.Duration
	// Cooldown is how long after a failed claim the claimer fails at once
	// rather than calling Redis, so that a hung Redis costs a burst of
	// interactions one Timeout, not one each.
	Cooldown time.Duration
	// Epochs, when set, tags each claim with the node's etcd lease, so
	// that a replay of an interaction whose holder died unanswered may
	// take it over (TakeOver, claim_takeover.go).
	Epochs ClaimEpochs

	failedAt atomic.Int64 // unix nanos of the last failure, 0 if none
	leases   leaseCache
}

// NewRedisClaimer returns a Claimer backed by rdb, with the default
// Timeout and Cooldown.
func NewRedisClaimer(rdb redis.UniversalClient) *RedisClaimer {
	return &RedisClaimer{rdb: rdb, Timeout: DefaultClaimTimeout, Cooldown: DefaultClaimCooldown}
}

// ClaimKey is the Redis key of an interaction's claim; its value names the
// node and shard that handled it.
func ClaimKey(id discord.InteractionID) string { return "chopsticks:interaction:" + id.String() }

// Claim implements Claimer. It fails like Redis refusing the connection
// when Redis does not answer within Timeout, and during the Cooldown after.
func (c *RedisClaimer) Claim(ctx context.Context, id discord.InteractionID, holder string) (bool, error) {
	return c.setNX(ctx, ClaimKey(id), c.claimValue(holder), "claim interaction")
}

// failed starts the Cooldown after a call that failed with ctx, unless
// the caller gave up first (ctx cancelled): that says nothing of Redis, and
// a cooldown would make the next claims fail without asking it.
func (c *RedisClaimer) failed(ctx context.Context) {
	if errors.Is(context.Cause(ctx), context.Canceled) {
		return
	}
	c.failedAt.Store(time.Now().UnixNano())
}

// setNX sets key to holder unless it exists, within Timeout and outside
// the Cooldown after a failure; what names the operation in errors.
func (c *RedisClaimer) setNX(ctx context.Context, key, holder, what string) (bool, error) {
	now := time.Now()
	if last := c.failedAt.Load(); last != 0 && now.Sub(time.Unix(0, last)) < c.Cooldown {
		return false, fmt.Errorf("%s: %w", what, ErrClaimsUnavailable)
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	ok, err := c.rdb.SetNX(ctx, key, holder, ClaimTTL).Result()
	if err != nil {
		c.failed(ctx)
		return false, fmt.Errorf("%s: %w", what, err)
	}
	c.failedAt.Store(0)
	return ok, nil
}
