package ratelimit

import (
	"context"
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
	rules []ruleArg
	wake  chan batchReply
}

type batchReply struct {
	lead  bool
	reply []int64
	err   error
}

// do runs one decision of rules on the generation hashes under base and
// returns its part of the reply: verdict, rule, µs (see decideScript).
func (b *batcher) do(ctx context.Context, rdb redis.Scripter, base string, rules []ruleArg) ([]int64, error) {
	p := &pendingDecision{rules: rules, wake: make(chan batchReply, 1)}
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
	replies, err := runBatch(context.WithoutCancel(ctx), rdb, base, batch)
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
func runBatch(ctx context.Context, rdb redis.Scripter, base string, batch []*pendingDecision) ([][]int64, error) {
	decisions := make([][]ruleArg, len(batch))
	for i, q := range batch {
		decisions[i] = q.rules
	}
	r, err := decideScript.Run(ctx, rdb, []string{base}, encodeArgs(decisions)...).Int64Slice()
	if err != nil {
		return nil, err
	}
	return splitReply(r, len(batch))
}

// splitReply cuts a decideScript reply into one {verdict, rule, µs} per
// decision, dropping the leading time.
func splitReply(r []int64, n int) ([][]int64, error) {
	if len(r) != 1+3*n {
		return nil, fmt.Errorf("ratelimit: script reply has %d values for %d decisions", len(r), n)
	}
	out := make([][]int64, n)
	for i := range out {
		off := 1 + 3*i
		out[i] = r[off : off+3 : off+3]
	}
	return out, nil
}
