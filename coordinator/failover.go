package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Fast failover: gossip and the liveness streams suspect a dead peer within
// about a second (a killed process within milliseconds); this member then
// proves it dead and revokes its etcd lease, which deletes its registration,
// owner keys and leader key at once, so the leader replans and its units
// move without waiting for the lease to expire. See "Fast failover" in the
// package documentation for why a serving node is never revoked.

// Revocation reasons, as the chopsticks_cluster_revocations_total label.
const (
	revokeGone   = "gone"   // the peer's gossip port refused a connection
	revokeSilent = "silent" // no answer, and etcd has not renewed its lease for its watchdog time
)

// silentPoll is how often the lease of a silent peer is read from etcd.
const silentPoll = 50 * time.Millisecond

// failover handles suspicions from gossip until the member closes, one
// check per peer at a time.
func (m *Member) failover() {
	checking := map[NodeID]bool{}
	done := make(chan NodeID)
	for {
		select {
		case <-m.ctx.Done():
			for len(checking) > 0 {
				delete(checking, <-done)
			}
			return
		case id := <-done:
			delete(checking, id)
		case s := <-m.gsp.Suspects():
			if s.ID == m.cfg.NodeID || checking[s.ID] {
				continue
			}
			checking[s.ID] = true
			m.checksRunning.Add(1)
			go func() {
				defer m.checksRunning.Add(-1)
				m.check(m.ctx, s)
				done <- s.ID
			}()
		}
	}
}

// check proves a suspected peer dead, or not, and revokes its lease if so.
func (m *Member) check(ctx context.Context, s Suspicion) {
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	resp, err := m.cli.Get(rctx, m.k.node(s.ID))
	cancel()
	if err != nil || len(resp.Kvs) == 0 {
		return // etcd unreachable from here, or already gone
	}
	var reg registration
	if err := json.Unmarshal(resp.Kvs[0].Value, &reg); err != nil || reg.Gossip == "" {
		return // an older node: its lease expires on its own
	}
	lease := clientv3.LeaseID(resp.Kvs[0].Lease)
	res := m.gsp.Probe(ctx, reg.Gossip)
	switch res {
	case ProbeAlive:
		m.met.checks.WithLabelValues("alive").Inc()
	case ProbeGone:
		m.met.checks.WithLabelValues("revoked").Inc()
		m.revoke(ctx, s.ID, lease, revokeGone, fmt.Sprintf("%s; %s refused a connection", s.Reason, reg.Gossip))
	case ProbeSilent:
		switch res, why := m.proveSilent(ctx, reg, lease); res {
		case ProbeGone:
			m.met.checks.WithLabelValues("revoked").Inc()
			m.revoke(ctx, s.ID, lease, revokeGone, fmt.Sprintf("%s; then %s refused a connection", s.Reason, reg.Gossip))
		case ProbeSilent:
			m.met.checks.WithLabelValues("revoked").Inc()
			m.revoke(ctx, s.ID, lease, revokeSilent, fmt.Sprintf("%s; %s", s.Reason, why))
		default:
			m.met.checks.WithLabelValues("spared").Inc()
			m.log.Info("coordinator: a suspected peer was not revoked", "peer", string(s.ID), "reason", s.Reason, "why", why)
		}
	}
}

// proveSilent waits until etcd shows that the peer's lease has not been
// renewed for the peer's own watchdog time, which proves that the peer has
// stopped every unit (rule 3) or will find its deadline passed the moment
// it runs again; it then returns ProbeSilent. It returns ProbeGone when a
// direct check meanwhile finds the process gone (it died while silent),
// and ProbeAlive when it gives up: the peer answers a direct check again,
// etcd shows a renewal, or the lease is gone.
//
// etcd reports the remaining TTL in whole seconds, truncated: a reading r
// of a lease granted g seconds, received at time t, means the last renewal
// happened before t-(g-r-1)s. A reading of g-1 or more carries no bound (it
// is what a lease renewed within the last second shows), and after a lower
// reading it can only mean a renewal. Readings are taken every silentPoll,
// far less than the second a renewal keeps the reading at g-1, so no
// renewal goes unseen.
func (m *Member) proveSilent(ctx context.Context, reg registration, lease clientv3.LeaseID) (ProbeResult, string) {
	watchdog := time.Duration(reg.WatchdogMS) * time.Millisecond
	if watchdog <= 0 {
		return ProbeAlive, "the peer publishes no watchdog time"
	}
	var rt renewals
	giveUp := time.Now().Add(watchdog + 3*time.Second)
	// Direct checks go on beside the polls (a silent check takes
	// probeTimeout, which would space the polls out and loosen the bound).
	pctx, stopProbes := context.WithCancel(ctx)
	defer stopProbes()
	answers := make(chan ProbeResult, 1)
	go func() {
		for sleepCtx(pctx, 100*time.Millisecond) == nil {
			if r := m.gsp.Probe(pctx, reg.Gossip); r != ProbeSilent {
				answers <- r
				return
			}
		}
	}()
	for {
		rctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := m.cli.TimeToLive(rctx, lease)
		cancel()
		now := time.Now()
		switch {
		case errors.Is(err, rpctypes.ErrLeaseNotFound) || (err == nil && resp.TTL < 0):
			return ProbeAlive, "the lease is already gone"
		case err != nil:
			// etcd slow or unreachable: no proof either way.
		case rt.observe(now, resp.TTL, resp.GrantedTTL):
			return ProbeAlive, "etcd renewed the lease"
		case rt.silentFor(now) >= watchdog:
			return ProbeSilent, fmt.Sprintf("no answer, and etcd has not renewed its lease for at least %v (its watchdog time %v)",
				rt.silentFor(now).Round(time.Millisecond), watchdog)
		}
		if now.After(giveUp) {
			return ProbeAlive, "no proof in time; lease expiry decides"
		}
		select {
		case r := <-answers:
			if r == ProbeGone {
				return ProbeGone, "its process is gone"
			}
			return ProbeAlive, "it answers again"
		case <-ctx.Done():
			return ProbeAlive, "member closing"
		case <-time.After(silentPoll):
		}
	}
}

// renewals reads a lease's TimeToLive answers, in the order received, for
// a bound on its last renewal (see proveSilent). The zero value is ready.
type renewals struct {
	low    bool      // a reading below granted-1 was seen
	last   int64     // the latest such reading
	before time.Time // the last renewal happened before this instant
}

// observe takes a reading ttl of a lease granted granted seconds, received
// at at, and reports whether it shows a renewal since the earlier
// readings.
func (r *renewals) observe(at time.Time, ttl, granted int64) (renewed bool) {
	if ttl >= granted-1 {
		// What a lease renewed within the last second shows: no bound;
		// after a lower reading, a renewal.
		return r.low
	}
	if r.low && ttl > r.last {
		return true
	}
	bound := at.Add(-time.Duration(granted-ttl-1) * time.Second)
	if !r.low || bound.Before(r.before) {
		r.before = bound
	}
	r.low, r.last = true, ttl
	return false
}

// silentFor is how long before now the lease was at least last renewed,
// 0 without a bound yet.
func (r *renewals) silentFor(now time.Time) time.Duration {
	if !r.low {
		return 0
	}
	return max(now.Sub(r.before), 0)
}

// revoke ends a dead peer's lease.
func (m *Member) revoke(ctx context.Context, id NodeID, lease clientv3.LeaseID, reason, why string) {
	rctx, cancel := context.WithTimeout(ctx, time.Second)
	_, err := m.cli.Revoke(rctx, lease)
	cancel()
	switch {
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
		return // another member was faster, or it expired
	case err != nil:
		m.log.Warn("coordinator: revoking a dead peer's lease failed; lease expiry decides", "peer", string(id), "err", err)
		return
	}
	m.met.revoked.WithLabelValues(reason).Inc()
	m.log.Warn("coordinator: revoked a dead peer's lease; its units move now", "peer", string(id), "reason", reason, "why", why)
}
