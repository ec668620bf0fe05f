package shard

import (
	"context"
	"sync"
	"time"
)

// LocalGate is a Gate for a process that runs every shard itself: one
// IDENTIFY per max_concurrency bucket (shard % max_concurrency) per window.
// A cluster uses the coordinator's etcd-backed gate instead.
type LocalGate struct {
	MaxConcurrency int
	Window         time.Duration

	mu   sync.Mutex
	next map[int]time.Time
}

// NewLocalGate returns a gate with Discord's 5-second window.
func NewLocalGate(maxConcurrency int) *LocalGate {
	if maxConcurrency < 1 {
		maxConcurrency = 1
	}
	return &LocalGate{MaxConcurrency: maxConcurrency, Window: 5 * time.Second, next: map[int]time.Time{}}
}

// Wait implements Gate.
func (g *LocalGate) Wait(ctx context.Context, shard int) (func(), error) {
	if err := g.wait(ctx, shard); err != nil {
		return nil, err
	}
	return func() {}, nil
}

// WaitReserve implements Gate; a single process keeps no reserve.
func (g *LocalGate) WaitReserve(ctx context.Context, shard int) (func(), error) {
	return g.Wait(ctx, shard)
}

func (g *LocalGate) wait(ctx context.Context, shard int) error {
	bucket := shard % g.MaxConcurrency
	g.mu.Lock()
	now := time.Now()
	at := g.next[bucket]
	if at.Before(now) {
		at = now
	}
	// A small margin keeps clock granularity from making two identifies
	// of one bucket look closer than the window.
	g.next[bucket] = at.Add(g.Window + 50*time.Millisecond)
	g.mu.Unlock()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Until(at)):
		return nil
	}
}
