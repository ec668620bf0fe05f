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
type lease struct {
	cli    *clientv3.Client
	id     clientv3.LeaseID
	ttl    time.Duration
	margin time.Duration

	mu       sync.Mutex
	lastSent time.Time // monotonic: when the last successful keepalive was sent
	lostc    chan struct{}
	lostOnce sync.Once
	onLost   func()
}

// grantLease asks etcd for a lease of ttl (whole seconds, rounded up).
func grantLease(ctx context.Context, cli *clientv3.Client, ttl, margin time.Duration, onLost func()) (*lease, error) {
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
		lastSent: sent, lostc: make(chan struct{}), onLost: onLost,
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

// declareLost runs onLost once and closes lost.
func (l *lease) declareLost() {
	l.lostOnce.Do(func() {
		if l.onLost != nil {
			l.onLost()
		}
		close(l.lostc)
	})
}

// keepAlive renews the lease every TTL/10 until ctx ends or the lease is
// lost. It returns when either happens. Frequent renewals keep the
// watchdog's tolerance of a slow etcd (TTL-margin minus the interval) while
// the last renewal before a freeze is never far behind it, which is what
// a peer waits out before revoking a silent node (see Fast failover).
func (l *lease) keepAlive(ctx context.Context) {
	interval := max(l.ttl/10, 50*time.Millisecond)
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		dl := l.deadline()
		if !time.Now().Before(dl) {
			l.declareLost()
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-time.After(time.Until(dl)):
			continue // the loop head declares it lost
		}
		cctx, cancel := context.WithDeadline(ctx, dl)
		sent := time.Now()
		resp, err := l.cli.KeepAliveOnce(cctx, l.id)
		cancel()
		switch {
		case err == nil && resp.TTL > 0:
			l.mu.Lock()
			l.lastSent = sent
			l.mu.Unlock()
			t.Reset(interval)
		case errors.Is(err, rpctypes.ErrLeaseNotFound) || (err == nil && resp.TTL <= 0):
			l.declareLost()
			return
		default:
			// Unreachable or slow: try again soon; the deadline decides.
			t.Reset(min(interval, 100*time.Millisecond))
		}
	}
}

// revoke ends the lease on etcd (deleting every key under it), best effort.
func (l *lease) revoke(timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_, err := l.cli.Revoke(ctx, l.id)
	return err
}
