package economy

import (
	"context"
	"time"
)

// CooldownCache answers "not yet" for value-bearing cooldowns (daily, work,
// gather) without a trip to Postgres. Postgres stays the authority: a miss
// or a cache failure always falls through to the transaction, and the
// cache only learns times that Postgres decided. Implementations must be
// safe for concurrent use; economy/cooldowncache has one on Redis.
type CooldownCache interface {
	// NotYet returns the time user's action is ready again, when known to
	// be in the future.
	NotYet(ctx context.Context, user int64, action string) (until time.Time, ok bool)
	// Remember records that user's action is not ready before until.
	Remember(ctx context.Context, user int64, action string, until time.Time)
}

// Cooldown action names, as used by the cache.
const (
	ActionDaily  = "daily"
	ActionGather = "gather"
)

// ActionWork is the cooldown action of a job.
func ActionWork(job string) string { return "work:" + job }

// cached wraps a cooldown-bearing call with the cache: a known "not yet"
// is answered at once (and changes nothing), and the next ready time of a
// success or a refusal is remembered.
func cached[T any](ctx context.Context, s *Service, user int64, action, label string,
	call func() (T, error), next func(T) time.Time) (T, error) {
	var zero T
	if s.cooldowns != nil {
		if until, ok := s.cooldowns.NotYet(ctx, user, action); ok && until.After(s.now()) {
			return zero, cooldownRefusal(label, until)
		}
	}
	r, err := call()
	if s.cooldowns != nil {
		if err == nil {
			s.cooldowns.Remember(ctx, user, action, next(r))
		} else if until, ok := ReadyAt(err); ok {
			s.cooldowns.Remember(ctx, user, action, until)
		}
	}
	return r, err
}
