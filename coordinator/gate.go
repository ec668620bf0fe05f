package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrIdentifyBudget is returned by Gate.Wait when identifying would eat into
// the reserve kept from session_start_limit.remaining (or, for
// WaitReserve, when nothing remains at all).
var ErrIdentifyBudget = errors.New("coordinator: daily identify budget exhausted")

// GateConfig configures a Gate. Client and MaxConcurrency are required.
type GateConfig struct {
	Client         *clientv3.Client
	Prefix         string        // etcd key prefix; default DefaultPrefix
	MaxConcurrency int           // session_start_limit.max_concurrency
	Window         time.Duration // one identify per bucket per Window; default 5s
	// Reserve is how many of the day's remaining session starts Wait keeps
	// back for WaitReserve (recovery of shards whose resume failed).
	Reserve int
	// Poll bounds how long a waiter sleeps between looks when no etcd event
	// wakes it; default 250ms.
	Poll time.Duration
}

// Gate lets one IDENTIFY through per max_concurrency bucket per Window across
// the whole cluster. Every node uses its own Gate on the same etcd; the slot
// of a bucket is an etcd key, so the limit holds between nodes too. Within a
// bucket, waiting shards go in shard order ("buckets in order"), across
// nodes.
type Gate struct {
	cfg  GateConfig
	k    keys
	ttl  int64 // seconds, of the per-identify lease
	wg   sync.WaitGroup
	done chan struct{}
	once sync.Once
}

// startLimit is the value of /chopsticks/identify/limit.
type startLimit struct {
	Remaining int   `json:"remaining"`
	Total     int   `json:"total"`
	ResetAtMs int64 `json:"reset_at_ms"` // unix milliseconds
}

// current returns the limit as of now, applying a daily reset that passed.
func (l startLimit) current(now time.Time) startLimit {
	if l.ResetAtMs > 0 && now.UnixMilli() >= l.ResetAtMs {
		l.Remaining = l.Total
		for l.ResetAtMs <= now.UnixMilli() {
			l.ResetAtMs += (24 * time.Hour).Milliseconds()
		}
	}
	return l
}

// NewGate returns a Gate. It starts nothing until Wait is called.
func NewGate(cfg GateConfig) (*Gate, error) {
	if cfg.Client == nil || cfg.MaxConcurrency < 1 {
		return nil, errors.New("coordinator: GateConfig needs Client and MaxConcurrency >= 1")
	}
	if cfg.Reserve < 0 || cfg.Window < 0 {
		return nil, errors.New("coordinator: negative Reserve or Window")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.Window == 0 {
		cfg.Window = 5 * time.Second
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 250 * time.Millisecond
	}
	// The lease must outlive release+Window even if this process dies right
	// after release: it is kept alive every TTL/3 while held, so a TTL of
	// 2*Window (at least 3 s, above etcd's minimum) leaves 2/3 TTL >= Window.
	ttl := int64((2*cfg.Window + time.Second - 1) / time.Second)
	return &Gate{cfg: cfg, k: keys{cfg.Prefix}, ttl: max(ttl, 3), done: make(chan struct{})}, nil
}

// SetSessionStartLimit stores the session_start_limit from GET /gateway/bot
// for the whole cluster. Call it at start and whenever a fresher value is
// known.
func (g *Gate) SetSessionStartLimit(ctx context.Context, remaining, total int, resetAfter time.Duration) error {
	if remaining < 0 || total < remaining || resetAfter < 0 {
		return fmt.Errorf("coordinator: bad session start limit %d/%d", remaining, total)
	}
	b, _ := json.Marshal(startLimit{remaining, total, time.Now().Add(resetAfter).UnixMilli()})
	if _, err := g.cfg.Client.Put(ctx, g.k.startLimit(), string(b)); err != nil {
		return fmt.Errorf("coordinator: store session start limit: %w", err)
	}
	return nil
}

// Remaining returns the stored remaining session starts, or -1 when unknown.
func (g *Gate) Remaining(ctx context.Context) (int, error) {
	resp, err := g.cfg.Client.Get(ctx, g.k.startLimit())
	if err != nil {
		return 0, fmt.Errorf("coordinator: read session start limit: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return -1, nil
	}
	var l startLimit
	if err := json.Unmarshal(resp.Kvs[0].Value, &l); err != nil {
		return 0, fmt.Errorf("coordinator: session start limit: %w", err)
	}
	return l.current(time.Now()).Remaining, nil
}

// Wait blocks until shardID may send IDENTIFY and returns a release
// function. Send IDENTIFY right away, then call release (also when the
// identify could not be sent): the bucket stays closed until Window after
// release. It refuses with ErrIdentifyBudget when the stored remaining
// session starts are at or below Reserve; with no stored limit it does not
// count.
func (g *Gate) Wait(ctx context.Context, shardID int) (release func(), err error) {
	return g.wait(ctx, shardID, g.cfg.Reserve)
}

// WaitReserve is Wait for a shard that must identify or stay deaf (its
// RESUME was refused, or it has no usable checkpoint after a crash): it may
// use the reserve, and is refused only when nothing remains.
func (g *Gate) WaitReserve(ctx context.Context, shardID int) (release func(), err error) {
	return g.wait(ctx, shardID, 0)
}

// Close stops the background work of released slots. Slots still held stay
// closed in etcd until their lease expires, which keeps the limit.
func (g *Gate) Close() {
	g.once.Do(func() { close(g.done) })
	g.wg.Wait()
}

func (g *Gate) wait(ctx context.Context, shardID, floor int) (func(), error) {
	if shardID < 0 {
		return nil, fmt.Errorf("coordinator: bad shard %d", shardID)
	}
	cli := g.cfg.Client
	bucket := shardID % g.cfg.MaxConcurrency
	lg, err := cli.Grant(ctx, g.ttl)
	if err != nil {
		return nil, fmt.Errorf("coordinator: identify gate: %w", err)
	}
	kaCtx, stopKA := context.WithCancel(context.Background())
	ka, err := cli.KeepAlive(kaCtx, lg.ID)
	if err != nil {
		stopKA()
		g.revoke(lg.ID)
		return nil, fmt.Errorf("coordinator: identify gate: %w", err)
	}
	g.wg.Go(func() {
		for range ka {
		}
	})
	fail := func(err error) (func(), error) {
		stopKA()
		g.revoke(lg.ID)
		return nil, err
	}
	prefix := g.k.queue(bucket)
	me := fmt.Sprintf("%s%010d/%x", prefix, shardID, int64(lg.ID))
	slot := g.k.slot(bucket)
	if _, err := cli.Put(ctx, me, "", clientv3.WithLease(lg.ID)); err != nil {
		return fail(fmt.Errorf("coordinator: identify gate: %w", err))
	}
	for {
		resp, err := cli.Txn(ctx).Then(
			clientv3.OpGet(prefix, clientv3.WithPrefix(), clientv3.WithLimit(1), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend)),
			clientv3.OpGet(slot),
			clientv3.OpGet(g.k.startLimit()),
		).Commit()
		if err != nil {
			return fail(fmt.Errorf("coordinator: identify gate: %w", err))
		}
		first := resp.Responses[0].GetResponseRange().Kvs
		slotKvs := resp.Responses[1].GetResponseRange().Kvs
		limitKvs := resp.Responses[2].GetResponseRange().Kvs
		if len(first) == 1 && string(first[0].Key) == me && len(slotKvs) == 0 {
			cmps := []clientv3.Cmp{
				clientv3.Compare(clientv3.CreateRevision(slot), "=", 0),
				clientv3.Compare(clientv3.ModRevision(g.k.startLimit()), "=", modRev(limitKvs)),
			}
			ops := []clientv3.Op{clientv3.OpPut(slot, fmt.Sprint(shardID), clientv3.WithLease(lg.ID))}
			if len(limitKvs) == 1 {
				var l startLimit
				if err := json.Unmarshal(limitKvs[0].Value, &l); err != nil {
					return fail(fmt.Errorf("coordinator: session start limit: %w", err))
				}
				l = l.current(time.Now())
				if l.Remaining <= floor {
					return fail(fmt.Errorf("%w: %d left, %d kept in reserve", ErrIdentifyBudget, l.Remaining, floor))
				}
				l.Remaining--
				b, _ := json.Marshal(l)
				ops = append(ops, clientv3.OpPut(g.k.startLimit(), string(b)))
			}
			tr, err := cli.Txn(ctx).If(cmps...).Then(ops...).Commit()
			if err != nil {
				return fail(fmt.Errorf("coordinator: identify gate: %w", err))
			}
			if tr.Succeeded {
				return g.releaser(lg.ID, me, slot, stopKA), nil
			}
			continue
		}
		// Wait for the bucket to change, or poll.
		if err := g.await(ctx, prefix, slot, resp.Header.Revision); err != nil {
			return fail(err)
		}
	}
}

// await returns when the slot or the queue of a bucket changes after rev, or
// after Poll.
func (g *Gate) await(ctx context.Context, queue, slot string, rev int64) error {
	wctx, cancel := context.WithTimeout(ctx, g.cfg.Poll)
	defer cancel()
	qw := g.cfg.Client.Watch(wctx, queue, clientv3.WithPrefix(), clientv3.WithRev(rev+1))
	sw := g.cfg.Client.Watch(wctx, slot, clientv3.WithRev(rev+1))
	select {
	case <-qw:
	case <-sw:
	case <-wctx.Done():
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

// releaser returns the release function of a taken slot: it leaves the queue
// at once and opens the slot Window later.
func (g *Gate) releaser(id clientv3.LeaseID, queueKey, slot string, stopKA context.CancelFunc) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			cli := g.cfg.Client
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			// One last renewal now, so the lease outlives release+Window
			// even if this process dies in the next instant.
			_, _ = cli.KeepAliveOnce(ctx, id)
			_, _ = cli.Delete(ctx, queueKey)
			cancel()
			stopKA()
			t := time.NewTimer(g.cfg.Window)
			g.wg.Go(func() {
				defer t.Stop()
				select {
				case <-t.C:
				case <-g.done:
					return // the lease expiry opens the slot, later but safely
				}
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				defer cancel()
				_, _ = cli.Txn(ctx).If(clientv3.Compare(clientv3.LeaseValue(slot), "=", id)).
					Then(clientv3.OpDelete(slot)).Commit()
				_, _ = cli.Revoke(ctx, id)
			})
		})
	}
}

func (g *Gate) revoke(id clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, _ = g.cfg.Client.Revoke(ctx, id)
}

func modRev(kvs []*mvccpb.KeyValue) int64 {
	if len(kvs) == 0 {
		return 0
	}
	return kvs[0].ModRevision
}
