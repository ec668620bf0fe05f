package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/redis/go-redis/v9"
)

// maxBatch bounds the decisions in one script call, and so how long one
// call holds Redis.
const maxBatch = 64

// batcher coalesces the decisions that arrive while a script call is in
// flight into the next call (group commit). An idle limiter sends each
// decision at once; under load one call carries many decisions, which cuts
// Redis's per-decision CPU. Each decision still waits for exactly one round
// trip: the one of the call that carries it. The caller that finds no call
// in flight leads: it sends the batch, hands the results out, and passes the
// lead to the first decision queued meanwhile. No goroutine is started.
type batcher struct {
	mu      sync.Mutex
	queue   []*pendingDecision
	running bool
}

type pendingDecision struct {
	keys  []string
	profs []profile
	wake  chan batchReply
}

type batchReply struct {
	lead  bool
	reply []int64
	err   error
}

// do runs one decision (keys and profiles as decisionArgs builds them) and
// returns its part of the reply: allowed, rule, retry, notify, hot...
func (b *batcher) do(ctx context.Context, rdb redis.Scripter, channel string, keys []string, profs []profile) ([]int64, error) {
	p := &pendingDecision{keys: keys, profs: profs, wake: make(chan batchReply, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, p)
	if b.running {
		b.mu.Unlock()
		r := <-p.wake
		if !r.lead {
			return r.reply, r.err
		}
		b.mu.Lock()
	} else {
		b.running = true
	}
	n := min(len(b.queue), maxBatch)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()

	// The batch carries other callers' decisions: the leader's cancellation
	// must not fail theirs. Client timeouts bound the call.
	replies, err := runBatch(context.WithoutCancel(ctx), rdb, channel, batch)
	var own batchReply
	for i, q := range batch {
		r := batchReply{err: err}
		if err == nil {
			r.reply = replies[i]
		}
		if q == p {
			own = r
		} else {
			q.wake <- r
		}
	}

	b.mu.Lock()
	if len(b.queue) > 0 {
		b.queue[0].wake <- batchReply{lead: true}
	} else {
		b.running = false
	}
	b.mu.Unlock()
	return own.reply, own.err
}

// runBatch sends one script call for batch and splits its reply.
func runBatch(ctx context.Context, rdb redis.Scripter, channel string, batch []*pendingDecision) ([][]int64, error) {
	nkeys := 0
	for _, q := range batch {
		nkeys += len(q.keys)
	}
	keys := make([]string, 0, nkeys)
	decisions := make([][]profile, len(batch))
	for i, q := range batch {
		keys = append(keys, q.keys...)
		decisions[i] = q.profs
	}
	args := encodeArgs(channel, decisions)
	r, err := decideScript.Run(ctx, rdb, keys, args...).Int64Slice()
	if err != nil {
		return nil, err
	}
	if len(r) < 1 {
		return nil, errors.New("ratelimit: empty script reply")
	}
	out := make([][]int64, len(batch))
	off := 1
	for i, q := range batch {
		end := off + 4 + len(q.profs)
		if end > len(r) {
			return nil, fmt.Errorf("ratelimit: script reply too short for %d decisions", len(batch))
		}
		out[i] = r[off:end:end]
		off = end
	}
	return out, nil
}
