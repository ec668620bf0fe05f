package coordinator

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Epochs: each lease of a Member, the registration under it, the goroutines
// that run while it lives, and the stop of every unit when it is lost.

// epoch is one lease of this member: registration, claims and election all
// hang off it, and all end together when it is lost.
type epoch struct {
	lease  *lease
	ctx    context.Context
	cancel context.CancelFunc

	// suspended is set while the lease's renewal is overdue (see lease):
	// every unit is stopped and none starts until etcd renews the lease.
	suspended atomic.Bool

	mu          sync.Mutex
	units       context.Context // unit starts; cancelled on suspension
	stopUnits   context.CancelFunc
	suspendedAt time.Time
	session     *concurrency.Session
	election    *concurrency.Election
	leaderSince time.Time
	leader      atomic.Bool
}

// newEpoch grants a lease and registers the node under it.
func (m *Member) newEpoch(ctx context.Context) (*epoch, error) {
	ep := &epoch{}
	l, err := grantLease(ctx, m.cli, m.cfg.LeaseTTL, m.cfg.LeaseMargin, leaseHooks{
		suspend: func() { m.leaseSuspended(ep) },
		resume:  func() { m.leaseResumed(ep) },
		lost:    func() { m.leaseLost(ep) },
	})
	if err != nil {
		return nil, err
	}
	ep.lease = l
	ep.ctx, ep.cancel = context.WithCancel(context.Background())
	ep.units, ep.stopUnits = context.WithCancel(ep.ctx)
	if err := m.register(ctx, ep); err != nil {
		ep.cancel()
		_ = l.revoke(time.Second)
		return nil, err
	}
	return ep, nil
}

// register writes the node's registration under the epoch's lease.
func (m *Member) register(ctx context.Context, ep *epoch) error {
	m.mu.Lock()
	w := m.weight
	if m.draining {
		w = 0
	}
	m.mu.Unlock()
	reg := registration{ID: m.cfg.NodeID, Addr: m.cfg.Addr, Weight: w,
		WatchdogMS: (ep.lease.ttl - ep.lease.margin).Milliseconds()}
	if m.gsp != nil {
		reg.Gossip = m.gsp.Address()
	}
	b, _ := json.Marshal(reg)
	if _, err := m.cli.Put(ctx, m.k.node(m.cfg.NodeID), string(b), clientv3.WithLease(ep.lease.id)); err != nil {
		return fmt.Errorf("coordinator: register node: %w", err)
	}
	return nil
}

// run runs epochs one after another until the member closes.
func (m *Member) run(ep *epoch) {
	defer close(m.done)
	backoff := 100 * time.Millisecond
	for {
		if ep != nil {
			m.runEpoch(ep)
			backoff = 100 * time.Millisecond
		}
		if m.ctx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(m.ctx, m.cfg.LeaseTTL)
		var err error
		ep, err = m.newEpoch(ctx)
		cancel()
		if err != nil {
			m.log.Warn("coordinator: new lease failed", "err", err)
			select {
			case <-m.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 2*time.Second)
		}
	}
}

// runEpoch runs the lease keeper, the election, the watch and the reconcile
// loop for one lease, until the lease is lost or the member closes.
func (m *Member) runEpoch(ep *epoch) {
	m.mu.Lock()
	m.ep, m.synced = ep, false
	m.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { ep.lease.keepAlive(ep.ctx) })
	// Campaign resigns on cancellation with the client's own context, which
	// waits for etcd; it must not hold up the end of an epoch.
	m.campaigns.Go(func() { m.campaign(ep) })
	wg.Go(func() { m.watch(ep) })
	wg.Go(func() { m.loop(ep) })
	select {
	case <-ep.lease.lost():
		m.log.Warn("coordinator: lease lost; all units stopped")
	case <-m.ctx.Done():
	}
	ep.cancel()
	wg.Wait()
	ep.mu.Lock()
	if ep.session != nil {
		ep.session.Orphan()
	}
	ep.mu.Unlock()
	if m.ctx.Err() == nil {
		// Lost: free what the old lease still holds, if etcd is back.
		_ = ep.lease.revoke(time.Second)
	}
}

// unitContext is the context unit starts run under: it ends when the
// lease is suspended or lost.
func (ep *epoch) unitContext() context.Context {
	ep.mu.Lock()
	defer ep.mu.Unlock()
	return ep.units
}

// leaseSuspended stops every unit of ep at once and starts none until the
// lease is renewed. It runs on the lease keeper's goroutine when the
// watchdog fires, so it must not wait on etcd.
func (m *Member) leaseSuspended(ep *epoch) {
	ep.mu.Lock()
	ep.suspended.Store(true)
	ep.stopUnits() // in-flight Start calls return; no new start begins
	ep.suspendedAt = time.Now()
	ep.mu.Unlock()
	m.met.leaseSuspended.Inc()
	m.log.Warn("coordinator: lease renewal overdue; every unit stopped until etcd renews the lease",
		"watchdog", ep.lease.ttl-ep.lease.margin)
	m.stopEpochUnits(ep)
}

// leaseResumed lets units start again: etcd renewed the lease, so every
// claim made under it is still ours.
func (m *Member) leaseResumed(ep *epoch) {
	ep.mu.Lock()
	ep.units, ep.stopUnits = context.WithCancel(ep.ctx)
	d := time.Since(ep.suspendedAt)
	ep.suspended.Store(false)
	ep.mu.Unlock()
	m.log.Info("coordinator: etcd renewed the lease; units start again", "suspended_for", d.Round(time.Millisecond))
	m.poke()
}

// leaseLost stops every unit of ep at once and ends the epoch. It runs on
// the lease keeper's goroutine, so it must not wait on etcd.
func (m *Member) leaseLost(ep *epoch) {
	ep.cancel() // in-flight Start calls return; no new job begins
	m.met.leaseLost.Inc()
	m.stopEpochUnits(ep)
}

// stopEpochUnits stops every unit running or starting under ep, in
// parallel, within the time the lease is sure to live.
func (m *Member) stopEpochUnits(ep *epoch) {
	m.mu.Lock()
	var us []Unit
	var ss []*slot
	for u, s := range m.slots {
		if s.ep == ep {
			us, ss = append(us, u), append(ss, s)
		}
	}
	m.mu.Unlock()
	ctx, cancel := context.WithDeadline(context.Background(), ep.lease.deadline().Add(ep.lease.margin))
	defer cancel()
	m.stopAll(ctx, ep, us, ss, StopLeaseLost)
}

// Serving reports whether this node may still act for the units it runs:
// its lease has not been declared lost and the watchdog's deadline (last
// successful keepalive plus TTL minus margin) has not passed. It reads the
// clock itself, so a node that was frozen past its deadline sees false on
// its first instruction after thawing, before its watchdog goroutine runs.
// Use it to fence work that must not happen on a node whose units may
// already run elsewhere.
func (m *Member) Serving() bool {
	m.mu.Lock()
	ep := m.ep
	m.mu.Unlock()
	if ep == nil || ep.ctx.Err() != nil || ep.suspended.Load() {
		return false
	}
	select {
	case <-ep.lease.lost():
		return false
	default:
	}
	return time.Now().Before(ep.lease.deadline())
}
