package commands

import (
	"context"
	"fmt"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/redis/go-redis/v9"
)

// ClaimTTL is how long a claim is kept: an interaction token lives 15
// minutes, after which no replay of it can be answered anyway.
const ClaimTTL = 15 * time.Minute

// RedisClaimer claims interactions with SET NX in Redis, shared by every node.
type RedisClaimer struct {
	rdb redis.UniversalClient
}

// NewRedisClaimer returns a Claimer backed by rdb.
func NewRedisClaimer(rdb redis.UniversalClient) *RedisClaimer { return &RedisClaimer{rdb: rdb} }

// ClaimKey is the Redis key of an interaction's claim; its value names the
// node and shard that handled it.
func ClaimKey(id discord.InteractionID) string { return "chopsticks:interaction:" + id.String() }

// Claim implements Claimer.
func (c *RedisClaimer) Claim(ctx context.Context, id discord.InteractionID, holder string) (bool, error) {
	ok, err := c.rdb.SetNX(ctx, ClaimKey(id), holder, ClaimTTL).Result()
	if err != nil {
		return false, fmt.Errorf("claim interaction: %w", err)
	}
	return ok, nil
}
