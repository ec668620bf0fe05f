package coordinator

import (
	"context"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// TestLeaseGone: a member's Epoch names the lease it serves under; a peer
// finds that lease alive while the member serves, and gone once it has
// closed (revoked) — the proof a claim takeover waits for.
func TestLeaseGone(t *testing.T) {
	endpoints := servertest.Etcd(t)
	w := newWorld(t)
	a := joinCfg(t, Config{Client: newClient(t, endpoints), NodeID: "a", Owner: w.owner("a"), ShardCount: 2,
		LeaseTTL: 3 * time.Second, Resync: 200 * time.Millisecond, Prefix: "/leasegone"})
	b := joinCfg(t, Config{Client: newClient(t, endpoints), NodeID: "b", Owner: w.owner("b"), ShardCount: 2,
		LeaseTTL: 3 * time.Second, Resync: 200 * time.Millisecond, Prefix: "/leasegone"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	la, ok := a.Epoch()
	if !ok || la == 0 {
		t.Fatalf("Epoch of a serving member = %x, %v", la, ok)
	}
	if lb, _ := b.Epoch(); lb == la {
		t.Fatalf("two members share lease %x", la)
	}
	if gone, err := b.LeaseGone(ctx, la); err != nil || gone {
		t.Fatalf("LeaseGone(a's lease) while a serves = %v, %v; want false", gone, err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.Epoch(); ok {
		t.Fatal("a closed member still has an epoch")
	}
	if gone, err := b.LeaseGone(ctx, la); err != nil || !gone {
		t.Fatalf("LeaseGone(a's lease) after a closed = %v, %v; want true", gone, err)
	}
}
