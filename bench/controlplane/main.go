// Command controlplane measures the coordinator at the size of a large bot:
// thousands of shards over tens of nodes, every node a real
// coordinator.Member on one real etcd (embedded, in this process), with
// owners that identify through the real Gate on a first start and resume on
// a move, as shards do. It prints how long the leader takes to plan, how
// many etcd writes a join and a leave cost beside the shards they move, the
// time from a join or a leave to a balanced cluster, whether a cold start
// kept to the identify limit exactly, and etcd's own figures.
//
// Gateway sessions are not opened: the identify window is shortened (the
// flag -window, default 400 ms, stands for Discord's 5 s), which changes the
// cold start's length but not its order or its concurrency.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/localserver"
)

func main() {
	shards := flag.Int("shards", 2500, "shards to place")
	nodes := flag.Int("nodes", 50, "nodes (coordinator members)")
	conc := flag.Int("max-concurrency", 16, "identify buckets (session_start_limit.max_concurrency)")
	window := flag.Duration("window", 400*time.Millisecond, "identify window per bucket (Discord: 5s)")
	ttl := flag.Duration("lease-ttl", 5*time.Second, "members' lease TTL (the node's default)")
	flag.Parse()
	if err := run(*shards, *nodes, *conc, *window, *ttl); err != nil {
		log.Fatal(err)
	}
}

// identify is one identify an owner made through the gate.
type identify struct {
	shard int
	at    time.Time
}

// world records what the owners do, for the checks.
type world struct {
	mu         sync.Mutex
	running    map[int]coordinator.NodeID
	started    map[int]bool // ever started: a later start is a resume
	identifies []identify
	violations []string
}

type owner struct {
	w    *world
	id   coordinator.NodeID
	gate *coordinator.Gate
}

func (o *owner) Start(ctx context.Context, u coordinator.Unit) error {
	o.w.mu.Lock()
	first := !o.w.started[u.ID]
	o.w.mu.Unlock()
	if first {
		release, err := o.gate.Wait(ctx, u.ID)
		if err != nil {
			return err
		}
		o.w.mu.Lock()
		o.w.identifies = append(o.w.identifies, identify{u.ID, time.Now()})
		o.w.mu.Unlock()
		release()
	}
	o.w.mu.Lock()
	defer o.w.mu.Unlock()
	if other, ok := o.w.running[u.ID]; ok {
		o.w.violations = append(o.w.violations, fmt.Sprintf("%s started shard %d while %s runs it", o.id, u.ID, other))
	}
	o.w.running[u.ID] = o.id
	o.w.started[u.ID] = true
	return nil
}

func (o *owner) Stop(ctx context.Context, u coordinator.Unit, _ coordinator.StopReason) error {
	o.w.mu.Lock()
	defer o.w.mu.Unlock()
	if o.w.running[u.ID] == o.id {
		delete(o.w.running, u.ID)
	}
	return nil
}

// spread reports whether every shard runs and each of ids runs its share.
func (w *world) spread(total int, ids []coordinator.NodeID) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.running) != total {
		return false
	}
	count := map[coordinator.NodeID]int{}
	for _, n := range w.running {
		count[n]++
	}
	lo, hi := total/len(ids), (total+len(ids)-1)/len(ids)
	for _, id := range ids {
		if count[id] < lo || count[id] > hi {
			return false
		}
	}
	return len(count) == len(ids)
}

type member struct {
	id   coordinator.NodeID
	m    *coordinator.Member
	gate *coordinator.Gate
	cli  *clientv3.Client
}

func run(shards, nodes, conc int, window, ttl time.Duration) error {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dir, err := os.MkdirTemp("", "bench-controlplane-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	etcd, err := localserver.StartEtcd(ctx, filepath.Join(dir, "etcd"), 0)
	if err != nil {
		return err
	}
	defer etcd.Stop()
	newClient := func() (*clientv3.Client, error) {
		return clientv3.New(clientv3.Config{Endpoints: etcd.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	}
	probe, err := newClient()
	if err != nil {
		return err
	}
	defer probe.Close()
	rev := func() int64 {
		r, err := probe.Get(ctx, "/probe")
		if err != nil {
			return -1
		}
		return r.Header.Revision
	}

	fmt.Printf("machine: %d cores, %s/%s\n", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH)
	fmt.Printf("control plane: %d shards over %d nodes, max_concurrency %d, identify window %v (Discord: 5s), lease %v\n\n",
		shards, nodes, conc, window, ttl)

	// 1. The plan alone: the leader's pure function at this size.
	var ns []coordinator.Node
	for i := range nodes {
		ns = append(ns, coordinator.Node{ID: coordinator.NodeID(fmt.Sprintf("n%03d", i)), Weight: 1})
	}
	units := make([]coordinator.Unit, shards)
	for i := range units {
		units[i] = coordinator.Unit{Kind: coordinator.KindShard, ID: i}
	}
	timePlan := func(nodes []coordinator.Node, cur map[coordinator.Unit]coordinator.NodeID) (time.Duration, map[coordinator.Unit]coordinator.NodeID) {
		var ds []time.Duration
		var out map[coordinator.Unit]coordinator.NodeID
		for range 15 {
			start := time.Now()
			out = coordinator.Plan(nodes, units, cur)
			ds = append(ds, time.Since(start))
		}
		slices.Sort(ds)
		return ds[len(ds)/2], out
	}
	cold, placed := timePlan(ns, nil)
	joined := append(slices.Clone(ns), coordinator.Node{ID: "n-new", Weight: 1})
	join, after := timePlan(joined, placed)
	moved := 0
	for u, n := range after {
		if placed[u] != n {
			moved++
		}
	}
	fmt.Printf("plan (median of 15): cold %v; after a join %v, moving %d shards (target: <= 100ms)\n",
		cold.Round(10*time.Microsecond), join.Round(10*time.Microsecond), moved)

	// 2. A cold start of the whole cluster.
	w := &world{running: map[int]coordinator.NodeID{}, started: map[int]bool{}}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var ms []*member
	var mu sync.Mutex
	startMember := func(id coordinator.NodeID) (*member, error) {
		cli, err := newClient()
		if err != nil {
			return nil, err
		}
		gate, err := coordinator.NewGate(coordinator.GateConfig{Client: cli, MaxConcurrency: conc, Window: window})
		if err != nil {
			cli.Close()
			return nil, err
		}
		m, err := coordinator.Join(ctx, coordinator.Config{
			Client: cli, NodeID: id, Owner: &owner{w: w, id: id, gate: gate}, ShardCount: shards,
			LeaseTTL: ttl, Settle: time.Second, Logger: quiet,
		})
		if err != nil {
			gate.Close()
			cli.Close()
			return nil, err
		}
		return &member{id: id, m: m, gate: gate, cli: cli}, nil
	}
	ids := func() []coordinator.NodeID {
		mu.Lock()
		defer mu.Unlock()
		var out []coordinator.NodeID
		for _, m := range ms {
			out = append(out, m.id)
		}
		return out
	}
	defer func() {
		for _, m := range ms {
			m.m.Close()
			m.gate.Close()
			m.cli.Close()
		}
	}()
	awaitSpread := func(timeout time.Duration) (time.Duration, error) {
		start := time.Now()
		next := start.Add(10 * time.Second)
		for !w.spread(shards, ids()) {
			if time.Since(start) > timeout {
				return 0, fmt.Errorf("not balanced after %v", timeout)
			}
			if time.Now().After(next) {
				w.mu.Lock()
				fmt.Printf("  ... %v: %d shards running, %d identifies\n", time.Since(start).Round(time.Second), len(w.running), len(w.identifies))
				w.mu.Unlock()
				next = next.Add(10 * time.Second)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(start), nil
	}

	rev0 := rev()
	coldStart := time.Now()
	var wg sync.WaitGroup
	var joinErr error
	for _, n := range ns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := startMember(n.ID)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				joinErr = err
				return
			}
			ms = append(ms, m)
		}()
	}
	wg.Wait()
	if joinErr != nil {
		return joinErr
	}
	windows := (shards + conc - 1) / conc
	took, err := awaitSpread(time.Duration(windows)*window*10 + 5*time.Minute)
	if err != nil {
		return fmt.Errorf("cold start: %w", err)
	}
	took = time.Since(coldStart)
	coldWrites := rev() - rev0
	w.mu.Lock()
	ids0 := slices.Clone(w.identifies)
	w.mu.Unlock()
	viol, inversions, perWindow, span := checkIdentifies(ids0, conc, window)
	floor := time.Duration(windows-1) * window
	fmt.Printf("cold start: %d shards running %v after the first join; %d etcd writes\n", shards, took.Round(time.Millisecond), coldWrites)
	fmt.Printf("  identifies: %d, from the first to the last in %v; the limit allows it in %v at best (%d windows): %.2fx\n",
		len(ids0), span.Round(time.Millisecond), floor.Round(time.Millisecond), windows, float64(span)/float64(max(floor, 1)))
	fmt.Printf("  identify limit: %d violations (two in one bucket within a window); busiest window: %d identifies (limit %d)\n",
		len(viol), perWindow, conc)
	for _, v := range viol[:min(len(viol), 5)] {
		fmt.Printf("    %s\n", v)
	}
	fmt.Printf("  shard order within a bucket (not a Discord rule): %d inversions, where a shard reached the gate only after a higher one of its bucket had passed\n", inversions)

	// 3. Steady state: what etcd sees when nothing changes.
	r0 := rev()
	time.Sleep(5 * time.Second)
	steady := float64(rev()-r0) / 5
	st, err := probe.Status(ctx, etcd.Endpoints()[0])
	if err != nil {
		return err
	}
	fmt.Printf("steady state: %.1f etcd writes/s; etcd db %.1f MB (in use %.1f MB), revision %d\n",
		steady, float64(st.DbSize)/(1<<20), float64(st.DbSizeInUse)/(1<<20), st.Header.Revision)

	// 4. A node joins.
	r0 = rev()
	joinAt := time.Now()
	m, err := startMember("n-new")
	if err != nil {
		return err
	}
	mu.Lock()
	ms = append(ms, m)
	mu.Unlock()
	if _, err := awaitSpread(time.Minute); err != nil {
		return fmt.Errorf("join: %w", err)
	}
	joinTook := time.Since(joinAt)
	joinWrites := rev() - r0
	share := shards / (nodes + 1)
	fmt.Printf("join: balanced %v after node %d joined; %d etcd writes for about %d shards moved (%.1f per shard moved; O(moved), not O(%d))\n",
		joinTook.Round(time.Millisecond), nodes+1, joinWrites, share, float64(joinWrites)/float64(max(share, 1)), shards)

	// 5. A node leaves: drained (planned), then one crashes (lease revoked).
	leaving := ms[0]
	r0 = rev()
	leaveAt := time.Now()
	dctx, dcancel := context.WithTimeout(ctx, time.Minute)
	err = leaving.m.Drain(dctx)
	dcancel()
	if err != nil {
		return fmt.Errorf("drain: %w", err)
	}
	leaving.m.Close()
	mu.Lock()
	ms = ms[1:]
	mu.Unlock()
	if _, err := awaitSpread(time.Minute); err != nil {
		return fmt.Errorf("leave: %w", err)
	}
	fmt.Printf("drain: balanced %v after a node began to drain; %d etcd writes for its %d shards\n",
		time.Since(leaveAt).Round(time.Millisecond), rev()-r0, share)

	w.mu.Lock()
	v := slices.Clone(w.violations)
	w.mu.Unlock()
	fmt.Printf("ownership: %d violations (a shard started while another node ran it)\n", len(v))
	for _, s := range v[:min(len(v), 5)] {
		fmt.Printf("  %s\n", s)
	}
	return nil
}

// checkIdentifies returns the identifies that broke the limit (two in one
// bucket less than a window apart), how many came after a higher shard of
// their bucket, the most identifies any one window held, and the time from
// the first identify to the last.
func checkIdentifies(ids []identify, conc int, window time.Duration) (out []string, inversions, busiest int, span time.Duration) {
	sort.Slice(ids, func(i, j int) bool { return ids[i].at.Before(ids[j].at) })
	last := map[int]identify{}
	for _, id := range ids {
		b := id.shard % conc
		if prev, ok := last[b]; ok {
			if gap := id.at.Sub(prev.at); gap < window {
				out = append(out, fmt.Sprintf("bucket %d: shard %d %v after shard %d", b, id.shard, gap, prev.shard))
			}
			if id.shard < prev.shard {
				inversions++
			}
		}
		last[b] = id
	}
	if len(ids) > 1 {
		span = ids[len(ids)-1].at.Sub(ids[0].at)
	}
	for i := range ids {
		n := 0
		for j := i; j < len(ids) && ids[j].at.Sub(ids[i].at) < window; j++ {
			n++
		}
		busiest = max(busiest, n)
	}
	return out, inversions, busiest, span
}
