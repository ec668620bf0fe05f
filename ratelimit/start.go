package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/ratelimit/internal/wire"
)

// Start subscribes to block announcements, loads the blocks running in
// Redis, and keeps both up to date (resubscribing and reloading after a
// disconnect, probing Redis during an outage) until ctx ends; Done is closed
// then. If Redis is unreachable, the limiter starts in fallback and recovers
// when Redis answers. Start may be called once.
func (l *Limiter) Start(ctx context.Context) error {
	if !l.started.CompareAndSwap(false, true) {
		return errors.New("ratelimit: Start called twice")
	}
	ps := l.rdb.Subscribe(ctx, l.cfg.Channel)
	confirmed := false
	if _, err := ps.ReceiveTimeout(ctx, 2*time.Second); err != nil {
		l.enterFallback(err)
	} else {
		confirmed = true
		if err := l.loadBlocks(ctx); err != nil {
			l.enterFallback(err)
		}
	}
	var wg sync.WaitGroup
	wg.Add(3)
	go func() {
		defer wg.Done()
		<-ctx.Done()
		_ = ps.Close()
	}()
	go func() {
		defer wg.Done()
		l.listen(ctx, ps, confirmed)
	}()
	go func() {
		defer wg.Done()
		l.maintain(ctx)
	}()
	go func() {
		wg.Wait()
		close(l.done)
	}()
	return nil
}

// Done is closed when the goroutines of Start have stopped.
func (l *Limiter) Done() <-chan struct{} { return l.done }

// listen applies block announcements to the local cache; on every
// (re)subscription after the first it reloads blocks, since announcements
// made while disconnected were lost.
func (l *Limiter) listen(ctx context.Context, ps *redis.PubSub, confirmed bool) {
	backoff := 50 * time.Millisecond
	for ctx.Err() == nil {
		msg, err := ps.Receive(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			if !sleep(ctx, backoff) {
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				if confirmed {
					if err := l.loadBlocks(ctx); err != nil && ctx.Err() == nil {
						l.cfg.Logger.Warn("ratelimit: reloading blocks after resubscribe", "err", err)
					}
				}
				confirmed = true
			}
		case *redis.Message:
			l.applyAnnouncement(m.Payload, time.Now())
		}
	}
}

// applyAnnouncement caches a block announced as "<key> <milliseconds>".
func (l *Limiter) applyAnnouncement(payload string, now time.Time) {
	key, ms, ok := strings.Cut(payload, " ")
	field, isBlock := strings.CutPrefix(key, wire.BlockPrefix)
	if !ok || !isBlock {
		return
	}
	n, err := strconv.ParseInt(ms, 10, 64)
	if err != nil || n <= 0 {
		return
	}
	l.cache.put(field, denyEntry{until: now.Add(time.Duration(n) * time.Millisecond), rule: blockRule(field), block: true, told: true})
}

// blockRule names the rule of a blocking rule's field.
func blockRule(field string) string {
	if strings.Contains(field, "}:s:") {
		return RuleSensitiveBlock
	}
	return RuleCommandBlock
}

// maintain sweeps the local cache and, during an outage, probes Redis and
// switches back when it answers.
func (l *Limiter) maintain(ctx context.Context) {
	t := time.NewTicker(l.cfg.FallbackProbe)
	defer t.Stop()
	lastSweep := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if now.Sub(lastSweep) > 10*time.Second {
				l.cache.sweep(now)
				lastSweep = now
			}
			if l.fallback.Load() {
				if err := l.recover(ctx); err != nil && ctx.Err() == nil {
					l.cfg.Logger.Debug("ratelimit: Redis still unreachable", "err", err)
				}
			}
		}
	}
}

// recover checks Redis, writes back the blocks this node knows (Redis may
// have lost them), loads the others, and leaves fallback.
func (l *Limiter) recover(ctx context.Context) error {
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if err := l.rdb.Ping(pctx).Err(); err != nil {
		return err
	}
	if err := l.pushBlocks(pctx); err != nil {
		return err
	}
	if err := l.loadBlocks(pctx); err != nil {
		return err
	}
	l.leaveFallback()
	return nil
}

// pushBlocks writes every locally known block to Redis unless Redis has it.
func (l *Limiter) pushBlocks(ctx context.Context) error {
	blocks := l.cache.blocks(time.Now())
	if len(blocks) == 0 {
		return nil
	}
	now := time.Now()
	_, err := l.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		for field, left := range blocks {
			if left >= time.Millisecond {
				// The value is the block's end in µs, as wire.Block writes it.
				p.SetNX(ctx, wire.BlockKey(field), now.Add(left).UnixMicro(), left)
			}
		}
		return nil
	})
	return err
}

// loadBlocks caches every block running in Redis.
func (l *Limiter) loadBlocks(ctx context.Context) error {
	scan := func(ctx context.Context, c redis.Cmdable) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, wire.BlockPrefix+"*", 1000).Result()
			if err != nil {
				return fmt.Errorf("ratelimit: scanning blocks: %w", err)
			}
			if len(keys) > 0 {
				now := time.Now()
				cmds := make([]*redis.DurationCmd, len(keys))
				if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error {
					for i, k := range keys {
						cmds[i] = p.PTTL(ctx, k)
					}
					return nil
				}); err != nil {
					return fmt.Errorf("ratelimit: loading blocks: %w", err)
				}
				for i, k := range keys {
					if ttl := cmds[i].Val(); ttl > 0 {
						field := strings.TrimPrefix(k, wire.BlockPrefix)
						l.cache.put(field, denyEntry{until: now.Add(ttl), rule: blockRule(field), block: true, told: true})
					}
				}
			}
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	}
	if cc, ok := l.rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error { return scan(ctx, c) })
	}
	return scan(ctx, l.rdb)
}

// sleep waits d or until ctx ends, reporting whether d passed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
