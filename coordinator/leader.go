package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Leadership: the election on each epoch's lease, and the plan the leader
// writes, fenced on still leading.

// campaign takes part in the election for the epoch's lease.
func (m *Member) campaign(ep *epoch) {
	s, err := concurrency.NewSession(m.cli, concurrency.WithLease(ep.lease.id), concurrency.WithContext(ep.ctx))
	if err != nil {
		return
	}
	el := concurrency.NewElection(s, m.k.leader())
	ep.mu.Lock()
	ep.session, ep.election = s, el
	ep.mu.Unlock()
	if err := el.Campaign(ep.ctx, string(m.cfg.NodeID)); err != nil {
		return
	}
	ep.mu.Lock()
	ep.leaderSince = time.Now()
	ep.mu.Unlock()
	ep.leader.Store(true)
	m.met.leaderChanges.Inc()
	m.log.Info("coordinator: became leader")
	m.poke()
}

// IsLeader reports whether this node is the coordinator now.
func (m *Member) IsLeader() bool {
	m.mu.Lock()
	ep := m.ep
	m.mu.Unlock()
	return ep != nil && ep.leader.Load() && ep.ctx.Err() == nil
}

// lead computes the plan from the live registrations and the current plan
// (or the owner keys for units the plan does not mention) and writes it if it
// changed, fenced on still being the leader.
func (m *Member) lead(ep *epoch) error {
	m.mu.Lock()
	if !m.synced {
		m.mu.Unlock()
		return nil
	}
	v := m.v.clone()
	m.mu.Unlock()
	ep.mu.Lock()
	el, since := ep.election, ep.leaderSince
	ep.mu.Unlock()
	if v.planRev == 0 && time.Since(since) < m.cfg.Settle {
		return nil // the Resync tick comes back
	}
	defer func() {
		if err := m.advanceReshard(ep, v); err != nil && ep.ctx.Err() == nil {
			m.log.Warn("coordinator: reshard step failed", "err", err)
		}
	}()
	units := v.list()
	current := make(map[Unit]NodeID, len(units))
	for _, u := range units {
		if n, ok := v.planAssign[u]; ok {
			current[u] = n
		} else if o, ok := v.owners[u]; ok {
			current[u] = o.Node
		}
	}
	next := Plan(v.liveNodes(), units, current)
	if maps.Equal(next, v.planAssign) && v.planRev != 0 {
		return nil
	}
	doc := planDoc{Version: v.plan.Version + 1, Leader: m.cfg.NodeID, Assign: make(map[string]NodeID, len(next))}
	for u, n := range next {
		doc.Assign[u.String()] = n
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ep.ctx, m.cfg.LeaseTTL)
	defer cancel()
	resp, err := m.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.CreateRevision(el.Key()), "=", el.Rev()),
		clientv3.Compare(clientv3.ModRevision(m.k.plan()), "=", v.planRev),
	).Then(clientv3.OpPut(m.k.plan(), string(b))).Commit()
	if err != nil {
		return fmt.Errorf("coordinator: write plan: %w", err)
	}
	if !resp.Succeeded {
		return nil // a newer view will come; or we are no longer leader
	}
	for u, n := range next {
		old, had := current[u]
		if had && old == n {
			continue
		}
		reason := "initial"
		if had {
			r, alive := v.nodes[old]
			switch {
			case !alive:
				reason = "failover"
			case r.Weight == 0:
				reason = "drain"
			default:
				reason = "rebalance"
			}
		}
		m.met.moves(u.Kind).WithLabelValues(reason).Inc()
	}
	m.log.Info("coordinator: plan written", "version", doc.Version, "units", len(next))
	return nil
}
