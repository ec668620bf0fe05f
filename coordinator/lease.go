package coordinator

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// lease is one etcd lease kept alive by this node, with a local watchdog.
//
// The watchdog is the heart of "stop before another node can claim": etcd
// renews the lease at some moment after we send a keepalive, so the lease
// cannot expire before sent+TTL, where sent is the local monotonic time at
// which the last successful keepalive request was sent. When
// time.Since(sent) reaches TTL-margin without a newer success, or etcd says
// the lease is gone, the lease is declared lost and onLost runs once. margin
// is the time left to stop every unit before the lease can expire.
//
// An overdue renewal is not yet a lost lease: an etcd election, or the
// client's move to another member, can outlast the watchdog while the lease
// lives on. At the deadline the keeper calls onSuspend (stop every unit)
// and keeps renewing. A renewal etcd accepts proves the lease never
// expired, so every key under it, and every claim, is still ours: onResume
// runs and the units start again at once, without waiting out the old
// lease. Only etcd's answer that the lease is gone declares it lost.
type lease struct {
	cli    *clientv3.Client
	id     clientv3.LeaseID
	ttl    time.Duration
	margin time.Duration

	mu        sync.Mutex
	lastSent  time.Time // monotonic: when the last successful keepalive was sent
	suspended bool      // the deadline passed and no renewal has succeeded since
	lostc     chan struct{}
	lostOnce  sync.Once
	hooks     leaseHooks
}

// leaseHooks are what a lease's keeper calls when the lease's state
// changes. Each runs on the keeper's goroutine, so none may wait on etcd.
type leaseHooks struct {
	suspend func() // the watchdog fired: stop every unit
	resume  func() // etcd renewed the lease after a suspension
	lost    func() // etcd says the lease is gone
}

// grantLease asks etcd for a lease of ttl (whole seconds, rounded up).
func grantLease(ctx context.Context, cli *clientv3.Client, ttl, margin time.Duration, hooks leaseHooks) (*lease, error) {
	secs := int64((ttl + time.Second - 1) / time.Second)
	sent := time.Now()
	resp, err := cli.Grant(ctx, secs)
	if err != nil {
		return nil, fmt.Errorf("coordinator: grant lease: %w", err)
	}
	granted := time.Duration(resp.TTL) * time.Second
	if granted < ttl {
		ttl = granted // never trust more than etcd granted
	}
	return &lease{
		cli: cli, id: resp.ID, ttl: ttl, margin: margin,
		lastSent: sent, lostc: make(chan struct{}), hooks: hooks,
	}, nil
}

// deadline is the local time after which the lease counts as lost.
func (l *lease) deadline() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lastSent.Add(l.ttl - l.margin)
}

// lost is closed when the lease has been declared lost.
func (l *lease) lost() <-chan struct{} { return l.lostc }

// isSuspended reports whether the watchdog fired and no renewal has
// succeeded since.
func (l *lease) isSuspended() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.suspended
}

// declareLost runs the lost hook once and closes lost.
func (l *lease) declareLost() {
	l.lostOnce.Do(func() {
		if l.hooks.lost != nil {
			l.hooks.lost()
		}
		close(l.lostc)
	})
}

// suspend marks the lease suspended and runs the suspend hook, once per
// overdue renewal.
func (l *lease) suspend() {
	l.mu.Lock()
	was := l.suspended
	l.suspended = true
	l.mu.Unlock()
	if !was && l.hooks.suspend != nil {
		l.hooks.suspend()
	}
}

// renewed records a keepalive sent at sent that etcd accepted, and resumes
// a suspended lease if the new deadline is still ahead.
func (l *lease) renewed(sent time.Time) {
	l.mu.Lock()
	if sent.After(l.lastSent) {
		l.lastSent = sent
	}
	resume := l.suspended && time.Now().Before(l.lastSent.Add(l.ttl-l.margin))
	if resume {
		l.suspended = false
	}
	l.mu.Unlock()
	if resume && l.hooks.resume != nil {
		l.hooks.resume()
	}
}

// keepAlive renews the lease every TTL/10 until ctx ends or the lease is
// lost. It returns when either happens. Frequent renewals keep the
// watchdog's tolerance of a slow etcd (TTL-margin minus the interval) while
// the last renewal before a freeze is never far behind it, which is what
// a peer waits out before revoking a silent node (see Fast failover).
// A renewal not answered within 100ms gets another beside it, which
// the client sends to another member: one stuck on a hung member (SIGSTOP:
// its connection open, nothing answered) then holds up nothing, while a
// slow etcd may still answer the first. Past the deadline it suspends the
// lease and keeps trying every 100ms.
func (l *lease) keepAlive(ctx context.Context) {
	interval := max(l.ttl/10, 50*time.Millisecond)
	retry := min(interval, 100*time.Millisecond)
	const maxInFlight = 16 // a bound only: attempts end by the deadline, one a retry apart
	type answer struct {
		sent time.Time
		resp *clientv3.LeaseKeepAliveResponse
		err  error
	}
	answers := make(chan answer, maxInFlight) // never blocks a sender
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	inFlight := 0
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		dl := l.deadline()
		suspended := l.isSuspended()
		if !suspended && !time.Now().Before(dl) {
			l.suspend()
			continue
		}
		var overdue <-chan time.Time
		if !suspended {
			overdue = time.After(time.Until(dl))
		}
		select {
		case <-ctx.Done():
			return
		case <-overdue:
			continue // the loop head suspends it
		case a := <-answers:
			inFlight--
			switch {
			case a.err == nil && a.resp.TTL > 0:
				l.renewed(a.sent)
				t.Reset(interval)
			case errors.Is(a.err, rpctypes.ErrLeaseNotFound) || (a.err == nil && a.resp.TTL <= 0):
				l.declareLost()
				return
			case inFlight == 0:
				// Unreachable or slow: try again soon; the deadline decides.
				t.Reset(retry)
			}
			continue
		case <-t.C:
		}
		if inFlight >= maxInFlight {
			t.Reset(retry)
			continue
		}
		// An attempt ends at the deadline; once suspended, after a short
		// while, so that a request stuck on a dead member does not hold up
		// the next one. One not answered within retry (a healthy etcd
		// answers in milliseconds) gets another beside it: the client
		// sends each to the next member in turn, so a frozen member, which
		// the client still counts as connected, catches a few attempts
		// but never every one before the watchdog.
		attempt, next := dl, retry
		if suspended {
			attempt = time.Now().Add(min(l.ttl-l.margin, time.Second))
		}
		inFlight++
		wg.Add(1)
		go func() {
			defer wg.Done()
			cctx, cancel := context.WithDeadline(ctx, attempt)
			defer cancel()
			sent := time.Now()
			resp, err := l.cli.KeepAliveOnce(cctx, l.id)
			answers <- answer{sent, resp, err}
		}()
		t.Reset(next) // no answer by then: another attempt beside this one
	}
}

// revoke ends the lease on etcd (deleting every key under it), best effort.
func (l *lease) revoke(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := l.cli.Revoke(ctx, l.id)
	return err
}
