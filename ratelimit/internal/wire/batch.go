package wire

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// maxBatch bounds the decisions in one script call, and so how long one
// call holds Redis.
const maxBatch = 64

// Batcher coalesces the decisions that arrive while a script call is in
// flight into the next call (group commit). An idle limiter sends each
// decision at once; under load one call carries many decisions, which cuts
// Redis's per-decision CPU. Each decision still waits for exactly one round
// trip: the one of the call that carries it. The caller that finds no call
// in flight leads: it sends the batch, hands the results out, and passes the
// lead to the first decision queued meanwhile; under load a new leader
// first lets the callers just answered queue again (gather). No goroutine
// is started. The zero Batcher is ready for use.
type Batcher struct {
	mu      sync.Mutex
	queue   []*pendingDecision
	running bool
	last    int // decisions in the last batch sent
}

type pendingDecision struct {
	rules []Rule
	at    time.Time // when the use was made (see Lateness)
	wake  chan batchReply
}

type batchReply struct {
	lead  bool
	reply Outcome
	err   error
}

// Decide runs one decision of rules, for a use made at at, on the
// generation hashes under base (one base for every caller of b) and
// returns its outcome. It is safe for concurrent use.
func (b *Batcher) Decide(ctx context.Context, rdb redis.Scripter, base string, rules []Rule, at time.Time) (Outcome, error) {
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
func (b *Batcher) gather() {
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
func runBatch(ctx context.Context, rdb redis.Scripter, base string, batch []*pendingDecision) ([]Outcome, error) {
	decisions := make([][]Rule, len(batch))
	// Lateness is reckoned as the batch leaves: a decision that queued
	// behind a slow call is later by that much.
	late := make([]time.Duration, len(batch))
	now := time.Now()
	for i, q := range batch {
		decisions[i], late[i] = q.rules, Lateness(q.at, now)
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

// InFlight reports whether a call is in flight and how many decisions wait
// for the next one; tests use it to stage decisions behind a call.
func (b *Batcher) InFlight() (running bool, queued int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.running, len(b.queue)
}
