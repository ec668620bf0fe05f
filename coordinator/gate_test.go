package coordinator

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

func newGate(t *testing.T, cli *clientv3.Client, mc int, window time.Duration, reserve int) *Gate {
	t.Helper()
	g, err := NewGate(GateConfig{Client: cli, MaxConcurrency: mc, Window: window, Reserve: reserve, Poll: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(g.Close)
	return g
}

// identify is one recorded pass through the gate.
type identify struct {
	shard          int
	taken, release time.Time
}

func TestGateOnePerBucketPerWindow(t *testing.T) {
	endpoints := servertest.Etcd(t)
	const (
		nodes  = 4
		mc     = 2
		window = 300 * time.Millisecond
		shards = 12
	)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var (
		mu  sync.Mutex
		ids []identify
		wg  sync.WaitGroup
	)
	for n := range nodes {
		g := newGate(t, newClient(t, endpoints), mc, window, 0)
		for s := n; s < shards; s += nodes { // node n runs shards n, n+4, n+8
			wg.Go(func() {
				release, err := g.Wait(ctx, s)
				if err != nil {
					t.Error(err)
					return
				}
				taken := time.Now()
				time.Sleep(10 * time.Millisecond) // the IDENTIFY being sent
				released := time.Now()
				release()
				mu.Lock()
				ids = append(ids, identify{s, taken, released})
				mu.Unlock()
			})
		}
	}
	wg.Wait()
	if len(ids) != shards {
		t.Fatalf("%d identifies, want %d", len(ids), shards)
	}
	slices.SortFunc(ids, func(a, b identify) int { return a.taken.Compare(b.taken) })
	for b := range mc {
		var prev *identify
		for i := range ids {
			if ids[i].shard%mc != b {
				continue
			}
			if prev != nil {
				if gap := ids[i].taken.Sub(prev.release); gap < window {
					t.Errorf("bucket %d: shard %d identified %v after shard %d released (window %v)", b, ids[i].shard, gap, prev.shard, window)
				}
			}
			prev = &ids[i]
		}
	}
	// Buckets run in parallel: 6 per bucket take about 5 windows, not 11.
	if total := ids[len(ids)-1].taken.Sub(ids[0].taken); total > 9*window {
		t.Errorf("12 identifies over 2 buckets took %v; buckets did not run in parallel", total)
	}
}

func TestGateShardOrderWithinBucket(t *testing.T) {
	endpoints := servertest.Etcd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli := newClient(t, endpoints)
	first := newGate(t, cli, 1, 200*time.Millisecond, 0)
	release, err := first.Wait(ctx, 9)
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		order []int
		wg    sync.WaitGroup
	)
	for _, s := range []int{6, 2, 4} {
		g := newGate(t, newClient(t, endpoints), 1, 200*time.Millisecond, 0)
		wg.Go(func() {
			r, err := g.Wait(ctx, s)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			order = append(order, s)
			mu.Unlock()
			r()
		})
	}
	// Everyone queues behind shard 9 before it releases.
	poll.Eventually(t, 5*time.Second, func() (bool, string) {
		resp, err := cli.Get(ctx, keys{DefaultPrefix}.queue(0), clientv3.WithPrefix(), clientv3.WithCountOnly())
		return err == nil && resp.Count == 4, "queue not full"
	}, "3 waiters queued")
	release()
	wg.Wait()
	if !slices.Equal(order, []int{2, 4, 6}) {
		t.Errorf("order %v, want [2 4 6]", order)
	}
}

func TestGateReserve(t *testing.T) {
	endpoints := servertest.Etcd(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	g := newGate(t, newClient(t, endpoints), 4, 10*time.Millisecond, 2)
	if n, err := g.Remaining(ctx); err != nil || n != -1 {
		t.Fatalf("Remaining before any limit = %d, %v; want -1", n, err)
	}
	if err := g.SetSessionStartLimit(ctx, 3, 1000, time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := g.SetSessionStartLimit(ctx, 5, 2, time.Hour); err == nil {
		t.Error("remaining > total accepted")
	}
	steps := []struct {
		reserve bool
		shard   int
		wantErr bool
		left    int
	}{
		{false, 0, false, 2}, // 3 > reserve 2
		{false, 1, true, 2},  // 2 <= reserve: refused, nothing spent
		{true, 1, false, 1},  // recovery may use the reserve
		{true, 2, false, 0},
		{true, 3, true, 0}, // nothing left at all
	}
	for i, st := range steps {
		wait := g.Wait
		if st.reserve {
			wait = g.WaitReserve
		}
		release, err := wait(ctx, st.shard)
		if st.wantErr != (err != nil) || (err != nil && !errors.Is(err, ErrIdentifyBudget)) {
			t.Fatalf("step %d: err = %v, want error %v", i, err, st.wantErr)
		}
		if release != nil {
			release()
		}
		if n, err := g.Remaining(ctx); err != nil || n != st.left {
			t.Fatalf("step %d: remaining = %d, %v; want %d", i, n, err, st.left)
		}
	}
	// A refused waiter leaves no queue entry behind: the bucket still works.
	if err := g.SetSessionStartLimit(ctx, 100, 1000, time.Hour); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Second)
	defer wcancel()
	release, err := g.Wait(wctx, 1)
	if err != nil {
		t.Fatalf("bucket blocked after a refusal: %v", err)
	}
	release()
	if _, err := g.Wait(ctx, -1); err == nil {
		t.Error("negative shard accepted")
	}
}

func TestStartLimitDailyReset(t *testing.T) {
	now := time.UnixMilli(1_000_000)
	l := startLimit{Remaining: 0, Total: 1000, ResetAtMs: now.UnixMilli() - 1}.current(now)
	if l.Remaining != 1000 || l.ResetAtMs <= now.UnixMilli() {
		t.Errorf("after reset: %+v", l)
	}
}
