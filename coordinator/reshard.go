package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Online resharding: the cluster changes its shard count while it serves.
// The leader places a second generation of shards (units next/0..To-1)
// beside the serving one; their sessions identify through the gate and
// discard their events while they warm up. When every next shard is READY
// the leader switches, at one fenced etcd revision, and the next sessions
// handle events beside the old ones (the Redis claim on the interaction ID
// answers each interaction once). When every next shard handles events,
// the leader makes the next generation the serving one, in one fenced
// transaction with the plan that gives shard/<n> to the node that runs
// next/<n>; the old sessions end. Until that transaction the old generation
// serves in full, so aborting (or any failure) before it returns to the
// old generation; after it the new one serves in full.

// Reshard phases, as ReshardStatus.Phase says them.
const (
	// PhaseWarming: next sessions identify and discard their events.
	PhaseWarming = "warming"
	// PhaseSwitched: the switch is written; next sessions handle events
	// beside the old generation until every one of them does.
	PhaseSwitched = "switched"
)

// MaxShardCount bounds a reshard's target.
const MaxShardCount = 4096

// Errors of StartReshard and AbortReshard.
var (
	// ErrReshardInProgress: a reshard is already under way.
	ErrReshardInProgress = errors.New("coordinator: a reshard is already under way")
	// ErrNoReshard: there is no reshard to abort.
	ErrNoReshard = errors.New("coordinator: no reshard under way")
	// ErrBadShardCount: the target is out of range, equal to the current
	// count, or the cluster has no shard count yet.
	ErrBadShardCount = errors.New("coordinator: bad shard count")
	// ErrNotEnoughIdentifies: the day's remaining session starts cannot
	// pay for the new generation.
	ErrNotEnoughIdentifies = errors.New("coordinator: not enough identifies left today")
)

// reshardDoc is the value of /chopsticks/reshard.
type reshardDoc struct {
	Phase  string `json:"phase"`
	From   int    `json:"from"`
	To     int    `json:"to"`
	Reason string `json:"reason,omitempty"` // "operator" or "auto"
	// StartedMs and SwitchedMs are unix milliseconds.
	StartedMs  int64 `json:"started_ms"`
	SwitchedMs int64 `json:"switched_ms,omitempty"`
	// RemainingAtStart is the day's remaining session starts when the
	// reshard began (-1 unknown), to count the identifies it spent.
	RemainingAtStart int `json:"remaining_at_start"`
}

// marker is a next shard's ready or live mark: the node that wrote it,
// under its lease.
type marker struct {
	Node      NodeID
	CreateRev int64
}

// ReshardOwner is implemented by an Owner that runs next-generation shards
// (units of KindNext, started with UnitShardCount of the target).
type ReshardOwner interface {
	// NextReady reports whether next shard id runs a gateway session that
	// is READY (or RESUMED).
	NextReady(id int) bool
	// ServeNext makes next shard id handle its events from now on instead
	// of discarding them. It is called again after each start.
	ServeNext(id int)
}

// countKey carries a unitStart to Owner.Start.
type countKey struct{}

// unitStart is what Owner.Start learns about a shard unit beyond its ID.
type unitStart struct {
	count int
	serve bool
}

// UnitShardCount returns the shard count of the generation of the shard
// (KindShard or KindNext) that Owner.Start was called for with ctx, and 0
// for other units or contexts.
func UnitShardCount(ctx context.Context) int {
	st, _ := ctx.Value(countKey{}).(unitStart)
	return st.count
}

// UnitServes reports whether the next shard that Owner.Start was called
// for with ctx must handle its events from the start: the switch is
// already written (it moved, or restarted, after the switch).
func UnitServes(ctx context.Context) bool {
	st, _ := ctx.Value(countKey{}).(unitStart)
	return st.serve
}

// StartReshard asks the cluster to reshard to count shards, with any etcd
// client (the `chopsticks reshard` command, or a node's automatic trigger).
// reason is "operator" or "auto". It fails with ErrBadShardCount,
// ErrReshardInProgress or ErrNotEnoughIdentifies, changing nothing.
// prefix "" means DefaultPrefix.
func StartReshard(ctx context.Context, cli *clientv3.Client, prefix string, count int, reason string) error {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	k := keys{prefix}
	if count < 1 || count > MaxShardCount {
		return fmt.Errorf("%w: %d is outside 1..%d", ErrBadShardCount, count, MaxShardCount)
	}
	resp, err := cli.Txn(ctx).Then(clientv3.OpGet(k.units()), clientv3.OpGet(k.reshard()), clientv3.OpGet(k.startLimit())).Commit()
	if err != nil {
		return fmt.Errorf("coordinator: read cluster config: %w", err)
	}
	units, rs, lim := resp.Responses[0].GetResponseRange().Kvs, resp.Responses[1].GetResponseRange().Kvs, resp.Responses[2].GetResponseRange().Kvs
	if len(rs) > 0 {
		var d reshardDoc
		_ = json.Unmarshal(rs[0].Value, &d)
		return fmt.Errorf("%w (%d to %d, %s)", ErrReshardInProgress, d.From, d.To, d.Phase)
	}
	if len(units) == 0 {
		return fmt.Errorf("%w: the cluster has no shard count yet (no node has started)", ErrBadShardCount)
	}
	var u unitsDoc
	if err := json.Unmarshal(units[0].Value, &u); err != nil {
		return fmt.Errorf("coordinator: unit config: %w", err)
	}
	if u.ShardCount == count {
		return fmt.Errorf("%w: the cluster already runs %d shards", ErrBadShardCount, count)
	}
	remaining := -1
	if len(lim) > 0 {
		var l startLimit
		if err := json.Unmarshal(lim[0].Value, &l); err == nil {
			remaining = l.current(time.Now()).Remaining
			if remaining < count {
				return fmt.Errorf("%w: %d shards need %d identifies, %d remain", ErrNotEnoughIdentifies, count, count, remaining)
			}
		}
	}
	b, _ := json.Marshal(reshardDoc{Phase: PhaseWarming, From: u.ShardCount, To: count, Reason: reason,
		StartedMs: time.Now().UnixMilli(), RemainingAtStart: remaining})
	put, err := cli.Txn(ctx).If(
		clientv3.Compare(clientv3.CreateRevision(k.reshard()), "=", 0),
		clientv3.Compare(clientv3.ModRevision(k.units()), "=", units[0].ModRevision),
	).Then(clientv3.OpPut(k.reshard(), string(b)), clientv3.OpDelete(k.reshardMarks(), clientv3.WithPrefix())).Commit()
	if err != nil {
		return fmt.Errorf("coordinator: start reshard: %w", err)
	}
	if !put.Succeeded {
		return fmt.Errorf("%w, or the configuration changed meanwhile; look at `chopsticks status`", ErrReshardInProgress)
	}
	return nil
}

// AbortReshard ends the reshard under way before the next generation
// serves alone, with any etcd client: the next sessions end and the old
// generation, which never stopped, serves on. It fails with ErrNoReshard
// when there is nothing to abort (none under way, or it has completed).
func AbortReshard(ctx context.Context, cli *clientv3.Client, prefix string) error {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	k := keys{prefix}
	resp, err := cli.Get(ctx, k.reshard())
	if err != nil {
		return fmt.Errorf("coordinator: read reshard: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return ErrNoReshard
	}
	del, err := cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(k.reshard()), "=", resp.Kvs[0].ModRevision)).
		Then(clientv3.OpDelete(k.reshard()), clientv3.OpDelete(k.reshardMarks(), clientv3.WithPrefix())).Commit()
	if err != nil {
		return fmt.Errorf("coordinator: abort reshard: %w", err)
	}
	if !del.Succeeded {
		return fmt.Errorf("%w: it moved on meanwhile; look at `chopsticks status`", ErrNoReshard)
	}
	return nil
}

// ReshardStatus is the reshard under way, for status pages.
type ReshardStatus struct {
	Phase string `json:"phase"`
	From  int    `json:"from"`
	To    int    `json:"to"`
	// Reason is "operator" or "auto".
	Reason  string    `json:"reason,omitempty"`
	Started time.Time `json:"started"`
	// SwitchRevision is the etcd revision of the switch (0 while warming).
	SwitchRevision int64 `json:"switch_revision,omitempty"`
	// Ready and Live count the next shards whose session is READY and
	// handles events, out of To.
	Ready int `json:"ready"`
	Live  int `json:"live"`
	// IdentifiesSpent is how many session starts the cluster used since
	// the reshard began (-1 unknown).
	IdentifiesSpent int `json:"identifies_spent"`
}

// reshardStatus describes v's reshard, nil when none.
func (v *view) reshardStatus() *ReshardStatus {
	d := v.reshard
	if d == nil {
		return nil
	}
	st := &ReshardStatus{Phase: d.Phase, From: d.From, To: d.To, Reason: d.Reason,
		Started: time.UnixMilli(d.StartedMs), IdentifiesSpent: -1}
	if d.Phase == PhaseSwitched {
		st.SwitchRevision = v.reshardRev
	}
	st.Ready = len(v.marked(v.ready))
	st.Live = len(v.marked(v.live))
	if v.limit != nil && d.RemainingAtStart >= 0 {
		st.IdentifiesSpent = max(d.RemainingAtStart-v.limit.current(time.Now()).Remaining, 0)
	}
	return st
}

// marked returns the next shards whose marker in set was written by the
// node that holds the shard now (an older owner's marker does not count).
func (v *view) marked(set map[int]marker) map[int]marker {
	out := map[int]marker{}
	if v.reshard == nil {
		return out
	}
	for id := range v.reshard.To {
		mk, ok := set[id]
		o, held := v.owners[Unit{KindNext, id}]
		if ok && held && o.Node == mk.Node {
			out[id] = mk
		}
	}
	return out
}

// advanceReshard moves the reshard on when its phase is complete: to the
// switch once every next shard is READY, and to the new generation once
// every next shard handles events. Each step is one transaction fenced on
// leadership, the reshard document and the markers it counted. The leader
// calls it after planning.
func (m *Member) advanceReshard(ep *epoch, v *view) error {
	d := v.reshard
	if d == nil {
		return nil
	}
	ep.mu.Lock()
	el := ep.election
	ep.mu.Unlock()
	if el == nil {
		return nil
	}
	fence := []clientv3.Cmp{
		clientv3.Compare(clientv3.CreateRevision(el.Key()), "=", el.Rev()),
		clientv3.Compare(clientv3.ModRevision(m.k.reshard()), "=", v.reshardRev),
	}
	ctx, cancel := context.WithTimeout(ep.ctx, m.cfg.LeaseTTL)
	defer cancel()
	switch d.Phase {
	case PhaseWarming:
		ready := v.marked(v.ready)
		if len(ready) < d.To {
			return nil
		}
		for id, mk := range ready {
			fence = append(fence, clientv3.Compare(clientv3.CreateRevision(m.k.ready(id)), "=", mk.CreateRev))
		}
		next := *d
		next.Phase, next.SwitchedMs = PhaseSwitched, time.Now().UnixMilli()
		b, _ := json.Marshal(next)
		resp, err := m.cli.Txn(ctx).If(fence...).Then(clientv3.OpPut(m.k.reshard(), string(b))).Commit()
		if err != nil {
			return fmt.Errorf("coordinator: reshard switch: %w", err)
		}
		if resp.Succeeded {
			m.log.Info("coordinator: reshard switched: the next generation handles events", "from", d.From, "to", d.To, "revision", resp.Header.Revision)
		}
	case PhaseSwitched:
		live := v.marked(v.live)
		if len(live) < d.To {
			return nil
		}
		for id, mk := range live {
			fence = append(fence, clientv3.Compare(clientv3.CreateRevision(m.k.live(id)), "=", mk.CreateRev))
		}
		units := unitsDoc{ShardCount: d.To, Agents: v.units.Agents}
		// shard/<n> goes to the node whose next/<n> session serves, which
		// adopts it without a new connection.
		current := map[Unit]NodeID{}
		for _, u := range units.list() {
			if u.Kind == KindShard {
				if o, ok := v.owners[Unit{KindNext, u.ID}]; ok {
					current[u] = o.Node
				}
			} else if n, ok := v.planAssign[u]; ok {
				current[u] = n
			}
		}
		next := Plan(v.liveNodes(), units.list(), current)
		doc := planDoc{Version: v.plan.Version + 1, Leader: m.cfg.NodeID, Assign: make(map[string]NodeID, len(next))}
		for u, n := range next {
			doc.Assign[u.String()] = n
		}
		pb, _ := json.Marshal(doc)
		ub, _ := json.Marshal(units)
		fence = append(fence,
			clientv3.Compare(clientv3.ModRevision(m.k.plan()), "=", v.planRev),
			clientv3.Compare(clientv3.ModRevision(m.k.units()), "=", v.unitsRev))
		resp, err := m.cli.Txn(ctx).If(fence...).Then(
			clientv3.OpPut(m.k.units(), string(ub)), clientv3.OpPut(m.k.plan(), string(pb)),
			clientv3.OpDelete(m.k.reshard()), clientv3.OpDelete(m.k.reshardMarks(), clientv3.WithPrefix()),
		).Commit()
		if err != nil {
			return fmt.Errorf("coordinator: reshard complete: %w", err)
		}
		if resp.Succeeded {
			took := time.Since(time.UnixMilli(d.StartedMs))
			m.met.reshardDuration.Observe(took.Seconds())
			m.met.reshards.WithLabelValues("done").Inc()
			m.log.Info("coordinator: reshard complete: the new generation serves alone", "from", d.From, "to", d.To, "took", took.Round(time.Millisecond))
		}
	}
	return nil
}

// markReshard writes this node's ready and live markers for the next
// shards it runs, and has the Owner serve them once the switch is written.
// It runs on the reconcile loop, outside m.mu.
func (m *Member) markReshard(ep *epoch) {
	ro, ok := m.cfg.Owner.(ReshardOwner)
	if !ok {
		return
	}
	m.mu.Lock()
	if !m.synced || m.ep != ep || ep.ctx.Err() != nil || ep.suspended.Load() {
		m.mu.Unlock()
		return
	}
	d := m.v.reshard
	state := 0.0
	var ids []int
	var phase string
	if d != nil {
		phase = d.Phase
		state = 1
		if phase == PhaseSwitched {
			state = 2
		}
		for u, s := range m.slots {
			if u.Kind == KindNext && s.state == StateRunning && s.ep == ep && s.count == d.To {
				ids = append(ids, u.ID)
			}
		}
	}
	spent := 0
	if st := m.v.reshardStatus(); st != nil {
		spent = max(st.IdentifiesSpent, 0)
	}
	ready, live := m.v.ready, m.v.live
	var wantReady, wantLive []int
	serve := ids
	if phase != PhaseSwitched {
		serve = nil
	}
	for _, id := range ids {
		if mk, ok := ready[id]; !ok || mk.Node != m.cfg.NodeID {
			wantReady = append(wantReady, id)
		}
		if mk, ok := live[id]; phase == PhaseSwitched && (!ok || mk.Node != m.cfg.NodeID) {
			wantLive = append(wantLive, id)
		}
	}
	m.mu.Unlock()
	m.met.reshardState.Set(state)
	m.met.reshardSpent.Set(float64(spent))
	ctx, cancel := context.WithTimeout(ep.ctx, m.cfg.LeaseTTL)
	defer cancel()
	for _, id := range wantReady {
		if !ro.NextReady(id) {
			continue
		}
		if _, err := m.cli.Put(ctx, m.k.ready(id), string(m.cfg.NodeID), clientv3.WithLease(ep.lease.id)); err != nil {
			m.log.Warn("coordinator: reshard ready mark failed; retried", "next", id, "err", err)
		}
	}
	// Serve every next shard here, marked or not: a session restarted
	// under a marker written for an earlier one must serve too.
	for _, id := range serve {
		ro.ServeNext(id)
	}
	for _, id := range wantLive {
		// Live means READY and serving: a session still connecting after
		// a move would leave its guilds unserved once the old generation
		// is retired.
		if !ro.NextReady(id) {
			continue
		}
		if _, err := m.cli.Put(ctx, m.k.live(id), string(m.cfg.NodeID), clientv3.WithLease(ep.lease.id)); err != nil {
			m.log.Warn("coordinator: reshard live mark failed; retried", "next", id, "err", err)
		}
	}
}

// unmark deletes this node's markers of next shard id after it stopped
// running it here, so that they cannot vouch for a later session.
func (m *Member) unmark(ep *epoch, id int) {
	ctx, cancel := context.WithTimeout(ep.ctx, m.cfg.LeaseTTL)
	defer cancel()
	for _, key := range []string{m.k.ready(id), m.k.live(id)} {
		_, _ = m.cli.Txn(ctx).If(clientv3.Compare(clientv3.LeaseValue(key), "=", ep.lease.id)).Then(clientv3.OpDelete(key)).Commit()
	}
}
