package tts

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// chargeScript adds ARGV[1] characters to the day's count in KEYS[1] unless
// that passes the quota ARGV[2]; it returns {charged (1 or 0), used}.
var chargeScript = redis.NewScript(`
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local n, quota = tonumber(ARGV[1]), tonumber(ARGV[2])
if used + n > quota then return {0, used} end
used = redis.call('INCRBY', KEYS[1], n)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
return {1, used}`)

// quotaKey is userID's count of characters for the UTC day of t.
func quotaKey(userID string, t time.Time) string {
	return "chopsticks:tts:quota:{" + userID + "}:" + t.UTC().Format("2006-01-02")
}

// DailyQuota returns userID's characters a day: the premium quota when the
// Premium hook says so. A failing hook gives the ordinary quota.
func (s *Speaker) DailyQuota(ctx context.Context, userID string) int {
	if s.cfg.Premium == nil {
		return s.cfg.DailyChars
	}
	premium, err := s.cfg.Premium.IsPremium(ctx, userID)
	if err != nil {
		s.log.Warn("premium check failed; the ordinary speech quota applies", "err", err)
		return s.cfg.DailyChars
	}
	if premium {
		return s.cfg.PremiumDailyChars
	}
	return s.cfg.DailyChars
}

// charge counts chars against userID's quota for today, or refuses with
// ErrQuota and charges nothing. refund takes the charge back.
func (s *Speaker) charge(ctx context.Context, userID string, chars int) (refund func(), err error) {
	quota := s.DailyQuota(ctx, userID)
	key := quotaKey(userID, s.cfg.Now())
	res, err := chargeScript.Run(ctx, s.cfg.Redis, []string{key}, chars, quota, int((48 * time.Hour).Seconds())).Int64Slice()
	if err != nil {
		return nil, fmt.Errorf("tts: charging the quota: %w", err)
	}
	if res[0] == 0 {
		left := max(0, int64(quota)-res[1])
		msg := fmt.Sprintf("You have %d characters of speech left today and that is %d; the allowance (%d a day) renews at midnight UTC.", left, chars, quota)
		if quota < s.cfg.PremiumDailyChars {
			msg += fmt.Sprintf(" Premium members get %d a day.", s.cfg.PremiumDailyChars)
		}
		return nil, ErrQuota.With(msg)
	}
	return func() {
		if err := s.cfg.Redis.DecrBy(context.WithoutCancel(ctx), key, int64(chars)).Err(); err != nil {
			s.log.Warn("refunding a speech quota charge", "err", err)
		}
	}, nil
}

// Used returns the characters userID has used today.
func (s *Speaker) Used(ctx context.Context, userID string) (int, error) {
	n, err := s.cfg.Redis.Get(ctx, quotaKey(userID, s.cfg.Now())).Int()
	if err != nil && !errors.Is(err, redis.Nil) {
		return 0, fmt.Errorf("tts: reading the quota: %w", err)
	}
	return n, nil
}

// Refund gives back chars charged to userID today, when what they paid
// for did not happen (the user was not in voice, no agent was free).
func (s *Speaker) Refund(ctx context.Context, userID string, chars int) {
	if err := s.cfg.Redis.DecrBy(context.WithoutCancel(ctx), quotaKey(userID, s.cfg.Now()), int64(chars)).Err(); err != nil {
		s.log.Warn("refunding a speech quota charge", "err", err)
	}
}
