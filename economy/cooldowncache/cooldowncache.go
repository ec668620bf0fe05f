// Package cooldowncache is the Redis fast path for economy cooldowns: it
// remembers when a user's daily, work or gather is ready again so that a
// "not yet" is answered without touching PostgreSQL. Postgres remains the
// authority; when Redis is down every call falls through to it.
package cooldowncache

import (
	"context"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is an economy.CooldownCache on a Redis client.
type Redis struct {
	rdb redis.UniversalClient
	// Timeout bounds each Redis call so that a slow Redis never delays a
	// command by more than this (default 50 ms).
	Timeout time.Duration
}

// New returns a cache on rdb.
func New(rdb redis.UniversalClient) *Redis { return &Redis{rdb: rdb, Timeout: 50 * time.Millisecond} }

func key(user int64, action string) string {
	return "chopsticks:economy:cooldown:" + strconv.FormatInt(user, 10) + ":" + action
}

// NotYet returns the remembered ready time of user's action; any Redis
// failure is a miss.
func (c *Redis) NotYet(ctx context.Context, user int64, action string) (time.Time, bool) {
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	v, err := c.rdb.Get(ctx, key(user, action)).Int64()
	if err != nil {
		return time.Time{}, false
	}
	return time.UnixMilli(v), true
}

// Remember stores until for user's action, expiring at until.
func (c *Redis) Remember(ctx context.Context, user int64, action string, until time.Time) {
	ttl := time.Until(until)
	if ttl <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.Timeout)
	defer cancel()
	_ = c.rdb.Set(ctx, key(user, action), until.UnixMilli(), ttl).Err()
}
