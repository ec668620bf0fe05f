package agentpool

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/localserver"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// TestAllocatorRecoversLeaseAfterLongEtcdOutage: etcd is down for longer
// than the allocation lease's TTL and comes back on the same data and
// port. The allocator's keepalive gives up on the old lease meanwhile; it
// must take it up again or grant a new one, so that allocations made
// afterwards are held by a live lease and stay, instead of failing (or
// vanishing) for good.
func TestAllocatorRecoversLeaseAfterLongEtcdOutage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ctx := context.Background()
	e, err := localserver.StartEtcd(ctx, dir, 0)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		if e != nil {
			e.Stop()
		}
	})
	u, err := url.Parse(e.Endpoints()[0])
	if err != nil {
		t.Fatal(err)
	}
	port, _ := strconv.Atoi(u.Port())
	const ttl = 2 * time.Second
	cli := etcdClient(t, e.Endpoints())
	a, err := NewAllocator(ctx, AllocatorConfig{Client: cli, Node: "x", Candidates: fixedCandidates{"7001", "7002", "7003"}, LeaseTTL: ttl})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	if _, err := a.Allocate(ctx, "100", "200"); err != nil {
		t.Fatal(err)
	}

	mu.Lock()
	e.Stop()
	e = nil
	mu.Unlock()
	// The outage is the scenario: longer than the TTL, so that the client
	// gives the lease up.
	time.Sleep(2*ttl + time.Second)
	restarted, err := localserver.StartEtcd(ctx, dir, port)
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	e = restarted
	mu.Unlock()

	// Once etcd is back, an allocation must succeed under a live lease...
	var agent string
	poll.Eventually(t, 30*time.Second, func() (bool, string) {
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		agent, err = a.Allocate(actx, "100", "201")
		return err == nil, fmt.Sprintf("Allocate: %v", err)
	}, "Allocate to succeed after etcd came back")
	// ...and stay: a dead lease's keys would be gone within its TTL.
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	resp, err := cli.Get(rctx, a.agentKey(agent))
	if err != nil || len(resp.Kvs) == 0 {
		t.Fatalf("allocation of %s not stored: %v", agent, err)
	}
	lease := clientv3.LeaseID(resp.Kvs[0].Lease)
	time.Sleep(2 * ttl) // past the TTL of a lease nobody renews
	if al, ok, err := a.Of(ctx, agent); err != nil || !ok || al.Channel != "201" {
		t.Fatalf("allocation of %s gone %v after it was made (lease %x not kept alive): %+v %v %v", agent, 2*ttl, lease, al, ok, err)
	}
	tctx, tcancel := context.WithTimeout(ctx, 3*time.Second)
	defer tcancel()
	ttlResp, err := cli.TimeToLive(tctx, lease)
	if err != nil || ttlResp.TTL <= 0 {
		t.Fatalf("allocation lease %x: TTL %+v, %v; want alive", lease, ttlResp, err)
	}
	// A further allocation works too.
	if _, err := a.Allocate(ctx, "100", "202"); err != nil {
		t.Fatalf("Allocate after recovery: %v", err)
	}
	_, _, first, _ := a.Locate(ctx, "100", "200")
	t.Logf("the allocation made before the outage was kept: %v", first)
}
