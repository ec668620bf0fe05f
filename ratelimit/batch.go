package ratelimit

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

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
// lead to the first decision queued meanwhile; under load a new leader
// first lets the callers just answered queue again (gather). No goroutine
// is started.
type batcher struct {
	mu      sync.Mutex
	queue   []*pendingDecision
	running bool
	last    int // decisions in the last batch sent
}

type pendingDecision struct {
	rules []ruleArg
	at    time.Time // when the use was made (see AllowCommandAt)
	wake  chan batchReply
}

type batchReply struct {
	lead  bool
	reply []int64
	err   error
}

// do runs one decision of rules, for a use made at at, on the generation
// hashes under base and returns its part of the reply: verdict, rule, µs
// (see decideScript).
func (b *batcher) do(ctx context.Context, rdb redis.Scripter, base string, rules []ruleArg, at time.Time) ([]int64, error) {
	p := &pendingDecision{rules: rules, at: at, wake: make(chan batchReply, 1)}
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
	if b.last > 1 {
		b.gather()
	}
	// A batch ends at maxBatch decisions, or before its rules could number
	// more distinct fields than decideScript packs.
	n, packed := 0, 0
	for n < min(len(b.queue), maxBatch) && (n == 0 || packed+len(b.queue[n].rules) <= maxPacked) {
		packed += len(b.queue[n].rules)
		n++
	}
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.last = n
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

// gather lets the callers the last call answered queue before a batch is
// cut: they are runnable and, under load, usually decide again at once.
// Without it a leader that decides again sends alone, and a closed loop of
// n callers settles into batches of 1 and n-1. It yields while the queue
// still grows, a few times at most, and costs nothing when nobody else
// runs. b.mu is held on entry and on return.
func (b *batcher) gather() {
	for i, n := 0, len(b.queue); i < 16; i++ {
		b.mu.Unlock()
		runtime.Gosched()
		b.mu.Lock()
		if len(b.queue) == n {
			return
		}
		n = len(b.queue)
	}
}

// runBatch sends one script call for batch and splits its reply.
func runBatch(ctx context.Context, rdb redis.Scripter, base string, batch []*pendingDecision) ([][]int64, error) {
	decisions := make([][]ruleArg, len(batch))
	// Lateness is reckoned as the batch leaves: a decision that queued
	// behind a slow call is later by that much.
	late := make([]time.Duration, len(batch))
	now := time.Now()
	for i, q := range batch {
		decisions[i], late[i] = q.rules, lateness(q.at, now)
	}
	args, err := encodeArgsLate(decisions, late)
	if err != nil {
		return nil, err
	}
	r, err := decideScript.Run(ctx, rdb, []string{base}, args...).Int64Slice()
	if err != nil {
		return nil, err
	}
	return splitReply(r, len(batch))
}

// splitReply expands a decideScript reply, {now} then (decision, code)
// pairs for the decisions not plainly admitted, into one {verdict, rule, µs}
// per decision.
func splitReply(r []int64, n int) ([][]int64, error) {
	if len(r) < 1 || len(r)%2 != 1 || len(r) > 1+2*n {
		return nil, fmt.Errorf("ratelimit: script reply has %d values for %d decisions", len(r), n)
	}
	out := make([][]int64, n)
	flat := make([]int64, 3*n)
	for i := range out {
		d := flat[3*i : 3*i+3 : 3*i+3]
		d[0] = 1
		out[i] = d
	}
	for i := 1; i < len(r); i += 2 {
		j, code := r[i], r[i+1]
		if j < 1 || j > int64(n) || code < 0 {
			return nil, fmt.Errorf("ratelimit: script reply has code %d for decision %d of %d", code, j, n)
		}
		d := out[j-1]
		d[0], d[1], d[2] = code&3, code>>2&63, code>>8
	}
	return out, nil
}
