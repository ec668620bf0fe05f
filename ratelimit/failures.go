package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/ratelimit/internal/wire"
)

// RuleAdmin names the ordinary rate of a dashboard admin's actions
// (Config.Admin) in Decision.Rule and the hits metric.
const RuleAdmin = "admin"

// failSuffix ends the field of a failure rule: "<tag>:s:<action>:fail". It
// keeps the ":s:" of sensitive fields, so an announced block is reported
// as RuleSensitiveBlock, and cannot collide with an action name (names
// have no ':').
const failSuffix = ":fail"

// failFields returns the failure fields of action for userID and/or ip.
func failFields(action string, userID uint64, ip string) ([]string, error) {
	if err := validName(action); err != nil {
		return nil, err
	}
	if userID == 0 && ip == "" {
		return nil, fmt.Errorf("%w: sensitive action needs a user or an IP", ErrBadInput)
	}
	var fields []string
	if userID != 0 {
		fields = append(fields, userField(userID, ":s:", action, failSuffix))
	}
	if ip != "" {
		tag, err := ipTag(ip)
		if err != nil {
			return nil, err
		}
		fields = append(fields, tag+":s:"+action+failSuffix)
	}
	return fields, nil
}

// SensitiveBlocked tells whether userID and/or ip (a zero userID or empty
// ip leaves that subject out, not both) are blocked from action by
// failures FailSensitive recorded. It counts nothing: call it before the
// attempt, and FailSensitive when the attempt fails. A refusal has Rule
// RuleSensitiveBlock. While Redis is unreachable it refuses (RuleUnavailable),
// as every sensitive action is then.
func (l *Limiter) SensitiveBlocked(ctx context.Context, action string, userID uint64, ip string) (Decision, error) {
	fields, err := failFields(action, userID, ip)
	if err != nil {
		return Decision{}, err
	}
	start := time.Now()
	for _, f := range fields {
		if left, first, ok := l.cache.get(f, start); ok {
			return l.finish(pathLocal, start, Decision{RetryAfter: left, Notify: first, Rule: RuleSensitiveBlock, Local: true}), nil
		}
	}
	cmds := make([]*redis.DurationCmd, len(fields))
	_, err = l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, f := range fields {
			cmds[i] = p.PTTL(ctx, wire.BlockKey(f))
		}
		return nil
	})
	if err != nil {
		return l.sensitiveUnreachable(ctx, start, err)
	}
	best := Decision{Allowed: true}
	for i, c := range cmds {
		if left := c.Val(); left > 0 {
			l.cache.put(fields[i], denyEntry{until: start.Add(left), rule: RuleSensitiveBlock, block: true, told: true})
			if left > best.RetryAfter {
				best = Decision{RetryAfter: left, Rule: RuleSensitiveBlock}
			}
		}
	}
	return l.finish(pathRedis, start, best), nil
}

// FailSensitive records one failure of action by userID and/or ip (failed
// logins, refused admin actions, bad CSRF tokens, bad agent tokens). The
// failure that uses up Config.Sensitive starts a Config.SensitiveBlock
// block for that subject; the returned decision is then refused, with the
// block's time left. Successes are never recorded, so they never block.
func (l *Limiter) FailSensitive(ctx context.Context, action string, userID uint64, ip string) (Decision, error) {
	fields, err := failFields(action, userID, ip)
	if err != nil {
		return Decision{}, err
	}
	start := time.Now()
	r := l.cfg.Sensitive
	blocks, err := wire.Fail(ctx, l.rdb, l.cfg.Channel, fields, r.emission(), r.tolerance(), l.cfg.SensitiveBlock)
	if err != nil {
		return l.sensitiveUnreachable(ctx, start, err)
	}
	best := Decision{Allowed: true}
	for i, left := range blocks {
		if left > 0 {
			l.cache.put(fields[i], denyEntry{until: start.Add(left), rule: RuleSensitiveBlock, block: true, told: true})
			if left > best.RetryAfter {
				best = Decision{RetryAfter: left, Notify: true, Rule: RuleSensitiveBlock}
			}
		}
	}
	return l.finish(pathRedis, start, best), nil
}

// sensitiveUnreachable answers a sensitive check that could not reach
// Redis: refused when Redis is unavailable (FallbackRetry), else the error.
func (l *Limiter) sensitiveUnreachable(ctx context.Context, start time.Time, err error) (Decision, error) {
	if ctx.Err() != nil {
		return Decision{}, fmt.Errorf("ratelimit: %w", ctx.Err())
	}
	if !unavailable(err) {
		return Decision{}, fmt.Errorf("ratelimit: sensitive: %w", err)
	}
	return l.finish(pathFallback, start, Decision{RetryAfter: l.cfg.FallbackRetry, Notify: true, Rule: RuleUnavailable}), nil
}

// AllowAdmin decides one dashboard admin action by userID at the ordinary
// rate Config.Admin (default 30 per minute). A refusal does not block: the
// admin may act again as soon as the rate allows.
func (l *Limiter) AllowAdmin(ctx context.Context, userID uint64) (Decision, error) {
	if userID == 0 {
		return Decision{}, fmt.Errorf("%w: zero user ID", ErrBadInput)
	}
	return l.decide(ctx, []check{newCheck(userField(userID, ":a"), l.cfg.Admin, RuleAdmin)}, false)
}
