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

// commit is group commit: the requests that arrive while a round trip is
// in flight go together in the next one. An idle caller sends its request
// at once; under load one round trip carries many. Each request still
// waits for exactly one round trip: the one that carries it. The caller
// that finds no round trip in flight leads: it sends the batch, hands the
// replies out, and passes the lead to the first request queued meanwhile;
// under load a new leader first lets the callers just answered queue again
// (gather). No goroutine is started. The zero commit is ready for use.
type commit[Req, Rep any] struct {
	mu      sync.Mutex
	queue   []*pending[Req, Rep]
	running bool
	last    int // requests in the last batch sent
}

type pending[Req, Rep any] struct {
	req  Req
	wake chan reply[Rep]
}

type reply[Rep any] struct {
	lead bool
	rep  Rep
	err  error
}

// do queues req and returns its reply. The leader takes cut(queue) of the
// queued requests (at least one) and sends them with send, which returns
// one reply per request; send runs without the caller's cancellation, as
// the batch carries other callers' requests.
func (c *commit[Req, Rep]) do(ctx context.Context, req Req, cut func([]*pending[Req, Rep]) int,
	send func(context.Context, []*pending[Req, Rep]) ([]Rep, error)) (Rep, error) {
	p := &pending[Req, Rep]{req: req, wake: make(chan reply[Rep], 1)}
	c.mu.Lock()
	c.queue = append(c.queue, p)
	if c.running {
		c.mu.Unlock()
		r := <-p.wake
		if !r.lead {
			return r.rep, r.err
		}
		c.mu.Lock()
	} else {
		c.running = true
	}
	if c.last > 1 {
		c.gather()
	}
	n := max(1, cut(c.queue))
	batch := c.queue[:n:n]
	c.queue = c.queue[n:]
	c.last = n
	c.mu.Unlock()

	// Client timeouts bound the call.
	reps, err := send(context.WithoutCancel(ctx), batch)
	var own reply[Rep]
	for i, q := range batch {
		r := reply[Rep]{err: err}
		if err == nil {
			r.rep = reps[i]
		}
		if q == p {
			own = r
		} else {
			q.wake <- r
		}
	}

	c.mu.Lock()
	if len(c.queue) > 0 {
		c.queue[0].wake <- reply[Rep]{lead: true}
	} else {
		c.running = false
	}
	c.mu.Unlock()
	return own.rep, own.err
}

// gather lets the callers the last round trip answered queue before a
// batch is cut: they are runnable and, under load, usually call again at
// once. Without it a leader that calls again sends alone, and a closed loop
// of n callers settles into batches of 1 and n-1. It yields while the
// queue still grows, a few times at most, and costs nothing when nobody
// else runs. c.mu is held on entry and on return.
func (c *commit[Req, Rep]) gather() {
	for i, n := 0, len(c.queue); i < 16; i++ {
		c.mu.Unlock()
		runtime.Gosched()
		c.mu.Lock()
		if len(c.queue) == n {
			return
		}
		n = len(c.queue)
	}
}

// inFlight reports whether a round trip is in flight and how many requests
// wait for the next one.
func (c *commit[Req, Rep]) inFlight() (running bool, queued int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.running, len(c.queue)
}

// Batcher coalesces the decisions on one shared hash base that arrive while
// a script call is in flight into the next call (group commit, see commit),
// which cuts Redis's per-decision CPU. The zero Batcher is ready for use.
type Batcher struct {
	c commit[decision, Outcome]
}

// decision is one decision's rules and when its use was made (see
// Lateness).
type decision struct {
	rules []Rule
	at    time.Time
}

// Decide runs one decision of rules, for a use made at at, on the
// generation hashes under base (one base for every caller of b) and
// returns its outcome. It is safe for concurrent use.
func (b *Batcher) Decide(ctx context.Context, rdb redis.Scripter, base string, rules []Rule, at time.Time) (Outcome, error) {
	return b.c.do(ctx, decision{rules, at}, cutDecisions,
		func(ctx context.Context, batch []*pending[decision, Outcome]) ([]Outcome, error) {
			ds := make([]decision, len(batch))
			for i, q := range batch {
				ds[i] = q.req
			}
			return runBatch(ctx, rdb, base, ds)
		})
}

// cutDecisions ends a batch at maxBatch decisions, or before its rules
// could number more distinct fields than decideScript packs.
func cutDecisions(queue []*pending[decision, Outcome]) int {
	n, packed := 0, 0
	for n < min(len(queue), maxBatch) && (n == 0 || packed+len(queue[n].req.rules) <= maxPacked) {
		packed += len(queue[n].req.rules)
		n++
	}
	return n
}

// InFlight reports whether a call is in flight and how many decisions wait
// for the next one; tests use it to stage decisions behind a call.
func (b *Batcher) InFlight() (running bool, queued int) { return b.c.inFlight() }

// runBatch sends one script call for the decisions on base and splits its
// reply.
func runBatch(ctx context.Context, rdb redis.Scripter, base string, ds []decision) ([]Outcome, error) {
	args, err := decisionArgs(ds)
	if err != nil {
		return nil, err
	}
	r, err := decideScript.Run(ctx, rdb, []string{base}, args...).Int64Slice()
	if err != nil {
		return nil, err
	}
	return splitReply(r, len(ds))
}

// decisionArgs is decideScript's ARGV for ds. Lateness is reckoned as the
// batch leaves: a decision that queued behind a slow call is later by that
// much.
func decisionArgs(ds []decision) ([]any, error) {
	rules := make([][]Rule, len(ds))
	late := make([]time.Duration, len(ds))
	now := time.Now()
	for i, d := range ds {
		rules[i], late[i] = d.rules, Lateness(d.at, now)
	}
	return encodeArgsLate(rules, late)
}
