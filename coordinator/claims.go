package coordinator

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// Work that outlives a unit, such as an interaction a node claimed in
// Redis and had not answered when it died, is tagged with the lease (the
// epoch) it was taken under. Once etcd no longer holds that lease, the
// safety argument above applies to it as to owner keys: the holder is dead
// or has passed its watchdog deadline and stopped every unit, so its
// shards' events go to their next owners, which may take such work over.

// Epoch returns the ID of this member's current lease while it serves
// (see Serving), to tag work taken under it; ok is false otherwise.
func (m *Member) Epoch() (lease int64, ok bool) {
	if !m.Serving() {
		return 0, false
	}
	m.mu.Lock()
	ep := m.ep
	m.mu.Unlock()
	if ep == nil {
		return 0, false
	}
	return int64(ep.lease.id), true
}

// LeaseGone reports whether etcd no longer holds lease id: it was revoked
// (a peer proved its holder dead, or the holder closed) or it expired.
// etcd removes a lease only once its revocation is committed, so true is
// final; an error means no proof either way.
func (m *Member) LeaseGone(ctx context.Context, id int64) (bool, error) {
	return leaseGone(ctx, m.cli, clientv3.LeaseID(id))
}

func leaseGone(ctx context.Context, cli *clientv3.Client, id clientv3.LeaseID) (bool, error) {
	resp, err := cli.TimeToLive(ctx, id)
	switch {
	case errors.Is(err, rpctypes.ErrLeaseNotFound):
		return true, nil
	case err != nil:
		return false, fmt.Errorf("coordinator: lease %x: %w", int64(id), err)
	}
	return resp.TTL < 0, nil
}
