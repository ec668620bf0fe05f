package node

import (
	"time"

	"github.com/redis/go-redis/v9"
)

// interactionRedisTimeout bounds every Redis call on an interaction's path
// (the claim, the cooldown cache, the Discord REST limiter), well inside
// Discord's 3-second deadline: a hung Redis (alive but not answering, as
// after SIGSTOP, a full disk or a network black hole) then fails these
// calls as fast as a refused connection does, and each falls back as it
// does on any Redis error.
const interactionRedisTimeout = 300 * time.Millisecond

// interactionRedisOptions returns base with the interaction path's
// deadlines: short socket and pool timeouts, no retries (of commands or of
// dials), and the caller's
// context deadline honoured (go-redis ignores it unless told).
func interactionRedisOptions(base *redis.UniversalOptions) *redis.UniversalOptions {
	o := *base
	o.DialTimeout = interactionRedisTimeout
	o.ReadTimeout = interactionRedisTimeout
	o.WriteTimeout = interactionRedisTimeout
	o.PoolTimeout = interactionRedisTimeout
	o.MaxRetries = -1   // 0 would mean go-redis's default of 3
	o.DialerRetries = 1 // a refused dial fails at once, not after 5 tries 100 ms apart
	o.ContextTimeoutEnabled = true
	return &o
}
