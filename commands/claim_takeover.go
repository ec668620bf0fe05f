package commands

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/redis/go-redis/v9"
)

// Taking over the claim of a dead holder.
//
// A node claims an interaction before it handles it. If it dies before
// answering, the RESUME of its shard on another node replays the
// interaction, and without more the claim would drop the replay: the user
// would see "The application did not respond". So a claim records the
// etcd lease (epoch) its holder served under, and an answered claim is
// marked as such. A replay may take a claim over when it is unanswered and
// etcd no longer holds the holder's lease.
//
// Why that is sound:
//   - A gone lease means the holder is dead, or is past its watchdog
//     deadline and has stopped every shard (coordinator/doc.go); the
//     taker owns the shard by then. The holder cannot be a live node
//     answering the same interaction in the normal course.
//   - A holder that was frozen and thaws mid-interaction is the one case
//     where both may still act. The router fences it with Discord's rule
//     that an interaction takes one initial response: a taken-over
//     interaction is acknowledged (deferred) before anything runs, and is
//     dropped when Discord refuses that (the holder answered); the thawed
//     holder's own answer is refused if the taker's came first.
//   - Money never moves twice: every economy change is idempotent on the
//     interaction ID (its op_id), whichever node runs it.
//
// Left open: a command whose effect is neither in the economy nor
// idempotent (a track queued, say) applied by the holder just before it
// died unanswered is applied again by the taker, which then answers; the
// alternative was no answer at all.

// ClaimEpochs tells a RedisClaimer which etcd lease its node serves under
// and whether another node's lease is gone; *coordinator.Member is one.
type ClaimEpochs interface {
	// Epoch returns the lease this node serves under, ok false when none.
	Epoch() (lease int64, ok bool)
	// LeaseGone reports whether etcd no longer holds lease.
	LeaseGone(ctx context.Context, lease int64) (bool, error)
}

// ClaimTaker is a Claimer that can take over an unanswered claim whose
// holder is proven dead, and learns when an interaction was answered.
type ClaimTaker interface {
	// TakeOver makes holder the holder of id's claim when the claim is
	// unanswered and its holder's epoch is gone; true when it did.
	TakeOver(ctx context.Context, id discord.InteractionID, holder string) (bool, error)
	// Answered records that Discord accepted an initial response to id.
	Answered(ctx context.Context, id discord.InteractionID) error
}

var _ ClaimTaker = (*RedisClaimer)(nil)

// A claim's value: "<node>/<shard>" then "@<lease, hex>" when the holder
// served under an epoch, then answeredMark once answered.
const (
	epochSep     = "@"
	answeredMark = ";answered"
)

// aliveFor is how long a lease seen alive is believed alive without
// asking etcd again: duplicates of one interaction on two live shards (a
// reshard's overlap) arrive in bursts. It only delays a takeover.
const aliveFor = 200 * time.Millisecond

// leaseCache remembers leases seen gone (for good) and seen alive (for
// aliveFor).
type leaseCache struct {
	mu    sync.Mutex
	gone  map[int64]bool
	alive map[int64]time.Time
}

// maxCachedLeases bounds each of leaseCache's maps; past it they start over.
const maxCachedLeases = 1024

func (c *leaseCache) lookup(lease int64, now time.Time) (gone, known bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone[lease] {
		return true, true
	}
	if at, ok := c.alive[lease]; ok && now.Sub(at) < aliveFor {
		return false, true
	}
	return false, false
}

func (c *leaseCache) store(lease int64, gone bool, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gone == nil || len(c.gone) >= maxCachedLeases {
		c.gone = map[int64]bool{}
	}
	if c.alive == nil || len(c.alive) >= maxCachedLeases {
		c.alive = map[int64]time.Time{}
	}
	if gone {
		c.gone[lease] = true
		delete(c.alive, lease)
	} else {
		c.alive[lease] = now
	}
}

// claimValue is the value this node writes for holder: tagged with its
// epoch when it has one.
func (c *RedisClaimer) claimValue(holder string) string {
	if c.Epochs == nil {
		return holder
	}
	if lease, ok := c.Epochs.Epoch(); ok {
		return holder + epochSep + strconv.FormatInt(lease, 16)
	}
	return holder
}

// ClaimHolder returns the holder ("<node>/<shard>") a claim's value names,
// without its epoch and answered mark.
func ClaimHolder(v string) string {
	v = strings.TrimSuffix(v, answeredMark)
	if i := strings.LastIndex(v, epochSep); i >= 0 {
		v = v[:i]
	}
	return v
}

// holderLease returns the lease a claim's value names, ok false when it
// names none or is answered.
func holderLease(v string) (lease int64, ok bool) {
	if strings.HasSuffix(v, answeredMark) {
		return 0, false
	}
	i := strings.LastIndex(v, epochSep)
	if i < 0 {
		return 0, false
	}
	lease, err := strconv.ParseInt(v[i+len(epochSep):], 16, 64)
	return lease, err == nil
}

// TakeOver implements ClaimTaker. It asks etcd (through Epochs) only for
// an unanswered claim tagged with another lease than this node's.
func (c *RedisClaimer) TakeOver(ctx context.Context, id discord.InteractionID, holder string) (bool, error) {
	if c.Epochs == nil {
		return false, nil
	}
	mine, ok := c.Epochs.Epoch()
	if !ok {
		// A node that does not serve takes nothing over.
		return false, nil
	}
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	key := ClaimKey(id)
	v, err := c.rdb.Get(ctx, key).Result()
	if errors.Is(err, redis.Nil) {
		// Expired meanwhile: an ordinary claim.
		return c.Claim(ctx, id, holder)
	}
	if err != nil {
		return false, fmt.Errorf("read claim: %w", err)
	}
	lease, ok := holderLease(v)
	if !ok || lease == mine {
		return false, nil
	}
	now := time.Now()
	gone, known := c.leases.lookup(lease, now)
	if !known {
		if gone, err = c.Epochs.LeaseGone(ctx, lease); err != nil {
			return false, err
		}
		c.leases.store(lease, gone, now)
	}
	if !gone {
		return false, nil
	}
	n, err := takeOverScript.Run(ctx, c.rdb, []string{key}, v, c.claimValue(holder)).Int()
	if err != nil {
		return false, fmt.Errorf("take over claim: %w", err)
	}
	return n == 1, nil
}

// takeOverScript replaces the claim's value only if it is still the one
// judged (no other node took it over, its holder did not answer
// meanwhile), keeping its expiry.
var takeOverScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
return 0`)

// Answered implements ClaimTaker.
func (c *RedisClaimer) Answered(ctx context.Context, id discord.InteractionID) error {
	if c.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.Timeout)
		defer cancel()
	}
	if err := answeredScript.Run(ctx, c.rdb, []string{ClaimKey(id)}, answeredMark).Err(); err != nil {
		return fmt.Errorf("mark claim answered: %w", err)
	}
	return nil
}

// answeredScript appends the answered mark to a claim, once.
var answeredScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v and string.sub(v, -string.len(ARGV[1])) ~= ARGV[1] then
  redis.call('SET', KEYS[1], v .. ARGV[1], 'KEEPTTL')
end
return 1`)
