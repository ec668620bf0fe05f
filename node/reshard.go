package node

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/shard"
)

// Online resharding on a node: the next generation's shards (coordinator
// units of KindNext) run beside the serving ones, warm (discarding their
// events) until the cluster switches; a promoted one keeps running until
// its shard unit adopts it, without a new connection.

// promotedWait bounds how long a promoted next shard waits for its shard
// unit to adopt it before it stops resumably for whichever node the plan
// gives that shard to.
const promotedWait = 30 * time.Second

// genCheckpoints keeps a shard's checkpoints: a next-generation shard in
// a store of its own count, so that it never overwrites the serving
// generation's, and under the main keys once it serves as a shard.
type genCheckpoints struct {
	main, gen shard.CheckpointStore
	promoted  atomic.Bool
}

// genCheckpoints returns the checkpoints of a shard of count shards,
// under the main keys when serving.
func (n *Node) genCheckpoints(count int, serving bool) *genCheckpoints {
	g := &genCheckpoints{
		main: shard.NewRedisCheckpoints(n.rdb),
		gen:  shard.NewRedisCheckpointsPrefix(n.rdb, shard.DefaultCheckpointPrefix+":gen"+strconv.Itoa(count)),
	}
	g.promoted.Store(serving)
	return g
}

func (g *genCheckpoints) store() shard.CheckpointStore {
	if g.promoted.Load() {
		return g.main
	}
	return g.gen
}

// Save implements shard.CheckpointStore.
func (g *genCheckpoints) Save(ctx context.Context, id int, cp shard.Checkpoint) error {
	return g.store().Save(ctx, id, cp)
}

// Load implements shard.CheckpointStore.
func (g *genCheckpoints) Load(ctx context.Context, id int) (shard.Checkpoint, error) {
	return g.store().Load(ctx, id)
}

// Clear implements shard.CheckpointStore.
func (g *genCheckpoints) Clear(ctx context.Context, id int) error {
	return g.store().Clear(ctx, id)
}

// load returns the checkpoint to start shard id of count shards from: its
// own store's, or for a serving shard whose main checkpoint is of another
// count, the one its next-generation session left (a promoted shard that
// moved to this node).
func (g *genCheckpoints) load(ctx context.Context, id, count int) (shard.Checkpoint, error) {
	cp, err := g.store().Load(ctx, id)
	if g.promoted.Load() && (errors.Is(err, shard.ErrNoCheckpoint) || (err == nil && cp.Count != 0 && cp.Count != count)) {
		if gcp, gerr := g.gen.Load(ctx, id); gerr == nil && gcp.Count == count {
			return gcp, nil
		}
	}
	return cp, err
}

// currentShardCount is the serving generation's shard count: the
// cluster's once joined, otherwise the node's own.
func (n *Node) currentShardCount() int {
	if m := n.member.Load(); m != nil {
		if c := m.ShardCount(); c > 0 {
			return c
		}
	}
	return n.shardCount
}

// startGeneration starts shard unit u of count shards: a next shard warm
// (serving at once when serve is set), a shard by adopting this node's
// promoted next session of that count when there is one, otherwise from
// its checkpoint.
func (n *Node) startGeneration(u coordinator.Unit, count int, serve bool) error {
	if count < 1 || u.ID < 0 || u.ID >= count {
		return fmt.Errorf("shard %d outside 0..%d", u.ID, count-1)
	}
	if u.Kind == coordinator.KindNext {
		_, err := n.runShard(n.gate, u.ID, count, true, !serve)
		return err
	}
	n.mu.Lock()
	if rs, ok := n.next[u.ID]; ok && rs.count == count {
		delete(n.next, u.ID)
		rs.cps.promoted.Store(true)
		rs.sh.Serve()
		n.shards[u.ID] = rs
		n.mu.Unlock()
		n.log.Info("shard adopted its next-generation session", "shard", u.ID, "count", count)
		return nil
	}
	n.mu.Unlock()
	_, err := n.runShard(n.gate, u.ID, count, false, false)
	return err
}

// stopNext stops next shard id as reason says: a promoted one keeps
// serving until its shard unit adopts it (or promotedWait passes); an
// aborted one ends its session; a handed off one stops resumably.
func (n *Node) stopNext(ctx context.Context, id int, reason coordinator.StopReason) error {
	n.mu.Lock()
	rs, ok := n.next[id]
	if ok && reason != coordinator.StopPromoted {
		delete(n.next, id)
	}
	n.mu.Unlock()
	if !ok {
		return nil
	}
	switch reason {
	case coordinator.StopPromoted:
		rs.sh.Serve()
		time.AfterFunc(promotedWait, func() {
			n.mu.Lock()
			parked := n.next[id] == rs
			if parked {
				delete(n.next, id)
			}
			n.mu.Unlock()
			if parked {
				n.log.Warn("promoted shard not adopted in time; stopping it for its shard's owner to resume", "shard", id)
				rs.stop()
			}
		})
		return nil
	case coordinator.StopAborted:
		rs.sh.Retire()
		_ = rs.cps.Clear(ctx, id)
	}
	rs.stop()
	select {
	case <-rs.done:
		n.log.Info("next shard stopped", "shard", id, "reason", string(reason))
		return nil
	case <-ctx.Done():
		return fmt.Errorf("next shard %d did not stop in time: %w", id, ctx.Err())
	}
}

// NextReady implements coordinator.ReshardOwner. A next shard counts as
// READY only once its session is checkpointed: should this node die
// before the switch, the shard's next owner RESUMEs it, and the reshard
// spends no identify twice.
func (o owner) NextReady(id int) bool {
	o.n.mu.Lock()
	rs, ok := o.n.next[id]
	o.n.mu.Unlock()
	return ok && rs.sh.Resumable()
}

// ServeNext implements coordinator.ReshardOwner.
func (o owner) ServeNext(id int) {
	o.n.mu.Lock()
	rs, ok := o.n.next[id]
	o.n.mu.Unlock()
	if ok {
		rs.sh.Serve()
	}
}

// nextStatus reports the next generation's shards on this node.
func (n *Node) nextStatus() []nextShardStatus {
	n.mu.Lock()
	out := make([]nextShardStatus, 0, len(n.next))
	for _, rs := range n.next {
		out = append(out, nextShardStatus{Status: rs.sh.Status(), Count: rs.count, Serving: rs.sh.Serving()})
	}
	n.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// nextShardStatus is a next-generation shard in /status.
type nextShardStatus struct {
	shard.Status
	Count   int  `json:"count"`
	Serving bool `json:"serving"`
}

// autoReshardEvery is how often a node compares its shards' guild counts
// with RESHARD_AT.
const autoReshardEvery = time.Second

// recommendedFill is the share of the guild cap Discord's recommendation
// fills a shard to (one shard per 1,000 guilds of 2,500): an automatic
// reshard aims for it.
const recommendedFill = 0.4

// autoReshard starts an online reshard when a serving shard of this node
// holds more than RESHARD_AT of SHARD_GUILD_CAP guilds, until ctx ends.
// Every node watches its own shards; etcd admits one reshard at a time.
func (n *Node) autoReshard(ctx context.Context, m *coordinator.Member) {
	if n.cfg.ReshardAt <= 0 {
		return
	}
	limit := n.cfg.ReshardAt * float64(n.cfg.ShardGuildCap)
	t := time.NewTicker(autoReshardEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		count := m.ShardCount()
		busiest := 0
		n.mu.Lock()
		for _, rs := range n.shards {
			if rs.count == count {
				busiest = max(busiest, rs.sh.Status().Guilds)
			}
		}
		n.mu.Unlock()
		if count < 1 || float64(busiest) <= limit {
			continue
		}
		target := autoShardCount(count, busiest, n.cfg.ShardGuildCap)
		switch err := coordinator.StartReshard(ctx, n.etcd, "", target, "auto"); {
		case err == nil:
			n.log.Info("a shard passed RESHARD_AT: resharding online", "shards", count, "to", target,
				"busiest_guilds", busiest, "limit", int(limit))
		case errors.Is(err, coordinator.ErrReshardInProgress), ctx.Err() != nil:
		default:
			n.log.Warn("automatic reshard refused", "to", target, "err", err)
		}
	}
}

// autoShardCount is the shard count that brings a cluster of count shards,
// whose fullest holds busiest guilds, back to Discord's recommended fill
// of the cap: at least one more shard, at most coordinator.MaxShardCount.
func autoShardCount(count, busiest, guildCap int) int {
	per := max(recommendedFill*float64(guildCap), 1)
	want := int(math.Ceil(float64(count) * float64(busiest) / per))
	return min(max(want, count+1), coordinator.MaxShardCount)
}
