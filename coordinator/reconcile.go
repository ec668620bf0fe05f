package coordinator

import (
	"context"
	"slices"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Reconcile: the member's view follows the cluster keys, and its units follow
// the plan and the owner keys (claim, start, hand off, release, at most
// Config.Parallel at a time); each pass also tells gossip the load and the
// peers to meet.

// UnitState is the local state of a unit on a node.
type UnitState string

// Local unit states.
const (
	StateIdle     UnitState = "idle"
	StateStarting UnitState = "starting"
	StateRunning  UnitState = "running"
	StateStopping UnitState = "stopping"
)

// slot is the local bookkeeping of one unit.
type slot struct {
	op sync.Mutex // held across Owner calls: one operation per unit at a time

	// Guarded by Member.mu.
	state    UnitState
	busy     bool      // a job is queued or running
	ep       *epoch    // epoch whose lease holds the claim while starting/running
	claimRev int64     // revision of our claim, to ignore stale views
	fails    int       // consecutive failed starts
	retryAt  time.Time // no new start before this (backoff after failures)
	// count is the shard count of the generation a shard or next shard
	// was started for (UnitShardCount); 0 for agents.
	count int
}

// loop reconciles on every change and every Resync.
func (m *Member) loop(ep *epoch) {
	t := time.NewTicker(m.cfg.Resync)
	defer t.Stop()
	for {
		select {
		case <-ep.ctx.Done():
			return
		case <-m.kick:
			// Let a burst of changes settle into one pass.
			sleepCtx(ep.ctx, 20*time.Millisecond)
		case <-t.C:
		}
		if ep.leader.Load() && !ep.suspended.Load() {
			if err := m.lead(ep); err != nil && ep.ctx.Err() == nil {
				m.log.Warn("coordinator: planning failed", "err", err)
			}
		}
		m.reconcile(ep)
		m.markReshard(ep)
		m.publishLoad()
		m.meetPeers()
	}
}

// poke asks the reconcile loop to run soon.
func (m *Member) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// watch keeps m.v in step with etcd: a full read, then a watch from the next
// revision; on any watch failure it starts over.
func (m *Member) watch(ep *epoch) {
	for ep.ctx.Err() == nil {
		resp, err := m.cli.Get(ep.ctx, m.k.prefix+"/", clientv3.WithPrefix())
		if err != nil {
			sleepCtx(ep.ctx, 100*time.Millisecond)
			continue
		}
		v := newView()
		v.rev = resp.Header.Revision
		for _, kv := range resp.Kvs {
			if err := v.apply(m.k, kv, false); err != nil {
				m.log.Warn("coordinator: bad key", "err", err)
			}
		}
		m.setView(v)
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ep.ctx))
		wch := m.cli.Watch(wctx, m.k.prefix+"/", clientv3.WithPrefix(), clientv3.WithRev(v.rev+1))
	events:
		for {
			// Select on ctx too: a watch channel may stay open for a while
			// after cancellation when etcd is unreachable, and an epoch must
			// end without waiting on etcd.
			var wr clientv3.WatchResponse
			var ok bool
			select {
			case <-ep.ctx.Done():
				cancel()
				return
			case wr, ok = <-wch:
			}
			if !ok || wr.Err() != nil {
				break events
			}
			m.mu.Lock()
			revoked := false
			for _, e := range wr.Events {
				deleted := e.Type == clientv3.EventTypeDelete
				if err := m.v.apply(m.k, e.Kv, deleted); err != nil {
					m.log.Warn("coordinator: bad key", "err", err)
				}
				// Our registration lives exactly as long as our lease: its
				// deletion means the lease was revoked (a peer took us for
				// dead) or expired. Stop everything now rather than at the
				// next keepalive.
				revoked = revoked || (deleted && string(e.Kv.Key) == m.k.node(m.cfg.NodeID))
			}
			m.v.rev = wr.Header.Revision
			m.mu.Unlock()
			if revoked {
				cancel()
				m.log.Warn("coordinator: our registration vanished: the lease was revoked or expired")
				ep.lease.declareLost()
				return
			}
			m.poke()
		}
		cancel()
	}
}

func (m *Member) setView(v *view) {
	m.mu.Lock()
	m.v, m.synced = v, true
	m.mu.Unlock()
	m.poke()
}

// reconcile compares the plan, the owner keys and the local slots, and
// schedules claims, starts, handoffs and releases.
func (m *Member) reconcile(ep *epoch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.synced || m.ep != ep || ep.ctx.Err() != nil || ep.suspended.Load() || m.closed {
		return
	}
	v := m.v
	me := m.cfg.NodeID
	m.met.nodes.Set(float64(len(v.nodes)))
	all := map[Unit]bool{}
	for _, u := range v.list() {
		all[u] = true
	}
	for u := range v.planAssign {
		all[u] = true
	}
	for u := range v.owners {
		all[u] = true
	}
	for u := range m.slots {
		all[u] = true
	}
	for u := range all {
		s := m.slots[u]
		if s == nil {
			s = &slot{state: StateIdle}
			m.slots[u] = s
		}
		if s.busy {
			continue
		}
		o, present := v.owners[u]
		ours := present && o.Lease == ep.lease.id
		count := v.countOf(u)
		planned := v.planAssign[u] == me && (u.Kind == KindAgent || count > 0)
		running := s.state == StateRunning && s.ep == ep
		// A shard session of another generation than its unit's: the
		// cluster resharded, or a reshard changed its target.
		stale := running && u.Kind != KindAgent && s.count != count
		switch {
		case stale && planned:
			// Stop the old session and keep the claim: the next pass
			// starts the unit again for its generation.
			reason := m.stopReason(v, u, s)
			m.schedule(u, s, ep, func(ep *epoch, u Unit, s *slot) { m.stopJob(ep, u, s, reason) })
		case planned && !running && (!present || ours):
			if m.draining || time.Now().Before(s.retryAt) {
				// A draining node starts nothing: the plan is about to
				// move the unit elsewhere.
				continue
			}
			// A next shard started after the switch serves at once.
			serve := u.Kind == KindNext && v.reshard != nil && v.reshard.Phase == PhaseSwitched
			m.schedule(u, s, ep, func(ep *epoch, u Unit, s *slot) { m.startJob(ep, u, s, count, serve) })
		case running && !planned:
			reason := m.stopReason(v, u, s)
			m.schedule(u, s, ep, func(ep *epoch, u Unit, s *slot) { m.handoffJob(ep, u, s, reason) })
		case running && !ours && v.rev >= s.claimRev:
			// Our claim vanished (it should not while the lease lives):
			// stop at once rather than risk a second owner.
			m.schedule(u, s, ep, m.lostClaimJob)
		case !running && ours && !planned:
			m.schedule(u, s, ep, m.releaseJob)
		}
	}
	m.updateOwnedLocked()
}

// schedule runs job for u in the background, at most Parallel at a time.
// m.mu is held.
func (m *Member) schedule(u Unit, s *slot, ep *epoch, job func(*epoch, Unit, *slot)) {
	s.busy = true
	m.jobs.Go(func() {
		defer func() {
			m.mu.Lock()
			s.busy = false
			m.updateOwnedLocked()
			m.mu.Unlock()
			m.poke()
		}()
		select {
		case m.sem <- struct{}{}:
		case <-ep.ctx.Done():
			return
		}
		defer func() { <-m.sem }()
		s.op.Lock()
		defer s.op.Unlock()
		if ep.ctx.Err() != nil || ep.suspended.Load() {
			return
		}
		job(ep, u, s)
	})
}

func (m *Member) setState(s *slot, st UnitState, ep *epoch) {
	m.mu.Lock()
	s.state, s.ep = st, ep
	m.mu.Unlock()
}

// stopReason tells the Owner why running unit u stops, by view v: a shard
// of a generation the cluster no longer serves is retired; a next shard
// is promoted when its generation now serves and this node is to run it
// as a shard, and ended when its reshard was aborted; anything else is
// handed off. m.mu is held.
func (m *Member) stopReason(v *view, u Unit, s *slot) StopReason {
	switch u.Kind {
	case KindShard:
		if s.count != v.units.ShardCount {
			return StopRetired
		}
	case KindNext:
		switch {
		case v.reshard == nil && s.count == v.units.ShardCount && v.planAssign[Unit{KindShard, u.ID}] == m.cfg.NodeID:
			return StopPromoted
		case v.reshard == nil && s.count == v.units.ShardCount:
			return StopHandoff // its new owner resumes it as a shard
		case v.reshard == nil || v.reshard.To != s.count:
			return StopAborted
		}
	}
	return StopHandoff
}

// stopJob stops u with reason and keeps the claim. s.op is held.
func (m *Member) stopJob(ep *epoch, u Unit, s *slot, reason StopReason) {
	m.stopUnit(ep, u, s, reason)
	m.log.Info("coordinator: unit stopped for another generation", "unit", u.String(), "reason", string(reason))
}

// stopUnit stops u with reason and leaves its slot idle (a next shard
// loses its ready mark). s.op is held.
func (m *Member) stopUnit(ep *epoch, u Unit, s *slot, reason StopReason) {
	m.setState(s, StateStopping, ep)
	ctx, cancel := context.WithTimeout(ep.ctx, m.cfg.LeaseTTL)
	if err := m.cfg.Owner.Stop(ctx, u, reason); err != nil {
		m.log.Warn("coordinator: stop failed", "unit", u.String(), "err", err)
	}
	cancel()
	m.setState(s, StateIdle, nil)
	if u.Kind == KindNext {
		m.unmark(ep, u.ID)
	}
}

// startJob claims u (unless already ours) and starts it for the generation
// of count shards, serving at once when serve is set. s.op is held.
func (m *Member) startJob(ep *epoch, u Unit, s *slot, count int, serve bool) {
	uctx := ep.unitContext()
	m.setState(s, StateStarting, ep)
	key := m.k.owner(u)
	ctx, cancel := context.WithTimeout(uctx, m.cfg.LeaseTTL)
	resp, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(m.cfg.NodeID), clientv3.WithLease(ep.lease.id))).
		Else(clientv3.OpGet(key)).Commit()
	cancel()
	if err != nil {
		// The claim may or may not have been written; the next view tells.
		m.setState(s, StateIdle, nil)
		return
	}
	claimRev := resp.Header.Revision
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 || clientv3.LeaseID(kvs[0].Lease) != ep.lease.id {
			m.setState(s, StateIdle, nil) // someone else still holds it
			return
		}
		claimRev = kvs[0].ModRevision // ours already (an earlier claim)
	}
	m.mu.Lock()
	s.claimRev = claimRev
	m.mu.Unlock()
	sctx := uctx
	if u.Kind != KindAgent {
		sctx = context.WithValue(uctx, countKey{}, unitStart{count: count, serve: serve})
	}
	if err := m.cfg.Owner.Start(sctx, u); err != nil {
		if uctx.Err() != nil {
			// Suspended or lost while starting: not the unit's fault, and
			// the claim stays for when the lease is renewed.
			m.setState(s, StateIdle, nil)
			return
		}
		m.log.Warn("coordinator: start failed", "unit", u.String(), "err", err)
		m.mu.Lock()
		s.state, s.ep = StateIdle, nil
		s.fails++
		s.retryAt = time.Now().Add(min(100*time.Millisecond<<min(s.fails, 7), 10*time.Second))
		m.mu.Unlock()
		m.release(ep, u)
		return
	}
	m.mu.Lock()
	s.fails, s.retryAt, s.count = 0, time.Time{}, count
	m.mu.Unlock()
	if uctx.Err() != nil {
		// The lease was suspended or lost while starting, perhaps after the
		// watchdog listed the units to stop: stop this one here.
		sctx, cancel := context.WithDeadline(context.Background(), ep.lease.deadline().Add(ep.lease.margin))
		_ = m.cfg.Owner.Stop(sctx, u, StopLeaseLost)
		cancel()
		m.setState(s, StateIdle, nil)
		return
	}
	m.setState(s, StateRunning, ep)
	m.log.Info("coordinator: unit started", "unit", u.String())
}

// handoffJob stops u (resumably, unless reason says otherwise) and then
// releases the claim. s.op is held.
func (m *Member) handoffJob(ep *epoch, u Unit, s *slot, reason StopReason) {
	m.stopUnit(ep, u, s, reason)
	m.release(ep, u)
	m.log.Info("coordinator: unit handed off", "unit", u.String(), "reason", string(reason))
}

// lostClaimJob stops u whose owner key is no longer ours. s.op is held.
func (m *Member) lostClaimJob(ep *epoch, u Unit, s *slot) {
	m.setState(s, StateStopping, ep)
	ctx, cancel := context.WithTimeout(ep.ctx, m.cfg.LeaseTTL)
	_ = m.cfg.Owner.Stop(ctx, u, StopLeaseLost)
	cancel()
	m.setState(s, StateIdle, nil)
}

// releaseJob deletes a claim we hold but do not run. s.op is held.
func (m *Member) releaseJob(ep *epoch, u Unit, s *slot) { m.release(ep, u) }

// release deletes u's owner key if it is still under ep's lease.
func (m *Member) release(ep *epoch, u Unit) {
	key := m.k.owner(u)
	ctx, cancel := context.WithTimeout(ep.ctx, m.cfg.LeaseTTL)
	defer cancel()
	_, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.LeaseValue(key), "=", ep.lease.id)).
		Then(clientv3.OpDelete(key)).Commit()
	if err != nil {
		m.log.Warn("coordinator: release failed; retried later", "unit", u.String(), "err", err)
	}
}

// stopAll stops the given units of ep in parallel and waits.
func (m *Member) stopAll(ctx context.Context, ep *epoch, us []Unit, ss []*slot, reason StopReason) {
	var wg sync.WaitGroup
	for i, u := range us {
		s := ss[i]
		wg.Go(func() {
			s.op.Lock()
			defer s.op.Unlock()
			m.mu.Lock()
			run := s.ep == ep && (s.state == StateRunning || s.state == StateStopping)
			m.mu.Unlock()
			if run {
				if err := m.cfg.Owner.Stop(ctx, u, reason); err != nil {
					m.log.Warn("coordinator: stop failed", "unit", u.String(), "err", err)
				}
			}
			m.setState(s, StateIdle, nil)
		})
	}
	wg.Wait()
	m.mu.Lock()
	m.updateOwnedLocked()
	m.mu.Unlock()
}

// updateOwnedLocked refreshes the owned gauges. m.mu is held.
func (m *Member) updateOwnedLocked() {
	var sh, ag int
	for u, s := range m.slots {
		if s.state == StateRunning {
			if u.Kind == KindShard {
				sh++
			} else {
				ag++
			}
		}
	}
	m.met.shardsOwned.Set(float64(sh))
	m.met.agentsOwned.Set(float64(ag))
}

// Running returns the units this node runs now, sorted.
func (m *Member) Running() []Unit {
	m.mu.Lock()
	defer m.mu.Unlock()
	var us []Unit
	for u, s := range m.slots {
		if s.state == StateRunning {
			us = append(us, u)
		}
	}
	sortUnits(us)
	return us
}

func sortUnits(us []Unit) {
	slices.SortFunc(us, func(a, b Unit) int {
		if a.Kind != b.Kind {
			if a.Kind < b.Kind {
				return -1
			}
			return 1
		}
		return a.ID - b.ID
	})
}

// meetPeers tells the gossip which peers etcd lists, so that it keeps
// joining them until it has met them all.
func (m *Member) meetPeers() {
	if m.gsp == nil {
		return
	}
	m.mu.Lock()
	if !m.synced {
		m.mu.Unlock()
		return
	}
	want := make(map[NodeID]string, len(m.v.nodes))
	for id, r := range m.v.nodes {
		if id != m.cfg.NodeID {
			want[id] = r.Gossip
		}
	}
	m.mu.Unlock()
	m.gsp.Want(want)
}

// publishLoad shares the number of running units and the weight by gossip.
func (m *Member) publishLoad() {
	if m.gsp == nil {
		return
	}
	m.mu.Lock()
	load, w := 0, m.weight
	for _, s := range m.slots {
		if s.state == StateRunning {
			load++
		}
	}
	if m.draining {
		w = 0
	}
	m.mu.Unlock()
	if err := m.gsp.SetLoad(load, w); err != nil {
		m.log.Debug("coordinator: gossip update failed", "err", err)
	}
}
