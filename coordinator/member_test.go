package coordinator

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

func TestMain(m *testing.M) {
	if os.Getenv(memberProcessEnv) != "" {
		os.Exit(memberProcess())
	}
	servertest.Main(m)
}

func newClient(t *testing.T, endpoints []string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{
		Endpoints: endpoints, DialTimeout: 2 * time.Second, Logger: zap.NewNop(),
		DialKeepAliveTime: time.Second, DialKeepAliveTimeout: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// world is the shared truth of a test: which node runs which unit, as the
// fake owners report it. Starting a unit that another node runs is a
// violation: it is the thing the coordinator exists to prevent.
type world struct {
	mu         sync.Mutex
	running    map[Unit]NodeID
	stoppedAt  map[NodeID]time.Time // last stop of any unit per node
	starts     map[NodeID]int
	stops      map[NodeID]int
	lastStop   map[Unit]time.Time
	pauses     []time.Duration // from a unit's stop to its next start
	reasons    map[StopReason]int
	violations []string
}

// newWorld returns an empty world whose violations fail t at its end, even
// when the test stops early.
func newWorld(t *testing.T) *world {
	w := &world{running: map[Unit]NodeID{}, stoppedAt: map[NodeID]time.Time{}, starts: map[NodeID]int{}, stops: map[NodeID]int{}, lastStop: map[Unit]time.Time{}, reasons: map[StopReason]int{}}
	t.Cleanup(func() { w.check(t) })
	return w
}

func (w *world) owner(id NodeID) Owner { return &fakeOwner{w, id} }

func (w *world) count() (map[NodeID]int, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c := map[NodeID]int{}
	for _, n := range w.running {
		c[n]++
	}
	return c, len(w.running)
}

func (w *world) check(t *testing.T) {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, v := range w.violations {
		t.Error(v)
	}
}

type fakeOwner struct {
	w  *world
	id NodeID
}

func (o *fakeOwner) Start(ctx context.Context, u Unit) error {
	o.w.mu.Lock()
	defer o.w.mu.Unlock()
	if other, ok := o.w.running[u]; ok {
		o.w.violations = append(o.w.violations, fmt.Sprintf("%s started %v while %s runs it", o.id, u, other))
	}
	o.w.running[u] = o.id
	o.w.starts[o.id]++
	if at, ok := o.w.lastStop[u]; ok {
		o.w.pauses = append(o.w.pauses, time.Since(at))
		delete(o.w.lastStop, u)
	}
	return nil
}

func (o *fakeOwner) Stop(ctx context.Context, u Unit, reason StopReason) error {
	o.w.mu.Lock()
	defer o.w.mu.Unlock()
	if o.w.running[u] != o.id {
		o.w.violations = append(o.w.violations, fmt.Sprintf("%s stopped %v it does not run", o.id, u))
	}
	delete(o.w.running, u)
	o.w.stoppedAt[o.id] = time.Now()
	o.w.stops[o.id]++
	o.w.reasons[reason]++
	o.w.lastStop[u] = time.Now()
	return nil
}

func join(t *testing.T, cli *clientv3.Client, w *world, id NodeID, shards int) (*Member, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return joinCfg(t, Config{
		Client: cli, NodeID: id, Owner: w.owner(id), ShardCount: shards,
		LeaseTTL: 3 * time.Second, Resync: 200 * time.Millisecond, Registerer: reg,
	}), reg
}

func joinCfg(t *testing.T, cfg Config) *Member {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := Join(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

// balanced reports whether units are all running once, spread as want says.
func balanced(w *world, total int, want map[NodeID][2]int) (bool, string) {
	c, n := w.count()
	if n != total {
		return false, fmt.Sprintf("%d of %d units running: %v", n, total, c)
	}
	for id, r := range want {
		if c[id] < r[0] || c[id] > r[1] {
			return false, fmt.Sprintf("node %s runs %d, want %d..%d (all %v)", id, c[id], r[0], r[1], c)
		}
	}
	return true, ""
}

func TestMembersShareUnits(t *testing.T) {
	endpoints := servertest.Etcd(t)
	w := newWorld(t)
	cli := newClient(t, endpoints)
	m1, _ := join(t, cli, w, "n1", 16)
	m2, _ := join(t, newClient(t, endpoints), w, "n2", 16)
	m3, reg3 := join(t, newClient(t, endpoints), w, "n3", 16)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m1.SetUnits(ctx, 16, []int{7, 8, 9}); err != nil {
		t.Fatal(err)
	}

	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		return balanced(w, 19, map[NodeID][2]int{"n1": {6, 7}, "n2": {6, 7}, "n3": {6, 7}})
	}, "3 nodes to share 19 units")
	st, err := m2.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	leaders := 0
	for _, m := range []*Member{m1, m2, m3} {
		if m.IsLeader() {
			leaders++
		}
	}
	if leaders != 1 || st.Leader == "" || len(st.Nodes) != 3 || len(st.Units) != 19 {
		t.Fatalf("status: %d leaders, %+v", leaders, st)
	}
	for _, u := range st.Units {
		if u.State != "running" {
			t.Errorf("unit %s/%d state %s", u.Kind, u.ID, u.State)
		}
	}

	// Drain n3: its units move away, it ends holding nothing.
	if err := m3.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := gauge(t, reg3, "chopsticks_shards_owned"); got != 0 {
		t.Errorf("drained node owns %v shards", got)
	}
	if err := m3.Close(); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		return balanced(w, 19, map[NodeID][2]int{"n1": {9, 10}, "n2": {9, 10}})
	}, "2 nodes to take over")

	// A third and fourth node join: each gets about a quarter of the shards.
	w.mu.Lock()
	w.pauses = nil
	w.mu.Unlock()
	join(t, newClient(t, endpoints), w, "n3", 16)
	join(t, newClient(t, endpoints), w, "n4", 16)
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		return balanced(w, 19, map[NodeID][2]int{"n1": {4, 6}, "n2": {4, 6}, "n3": {4, 6}, "n4": {4, 6}})
	}, "4 nodes to share")
	w.mu.Lock()
	var worst time.Duration
	for _, p := range w.pauses {
		worst = max(worst, p)
	}
	t.Logf("planned moves: %d, longest stop->start pause %v", len(w.pauses), worst)
	w.mu.Unlock()
	st, err = m1.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	shardsOn := map[NodeID]int{}
	for _, u := range st.Units {
		if u.Kind == KindShard {
			shardsOn[u.Owner]++
		}
	}
	for id, n := range shardsOn {
		if n != 4 {
			t.Errorf("node %s owns %d shards, want 4 (%v)", id, n, shardsOn)
		}
	}
}

func TestLeaderFailoverKeepsUnits(t *testing.T) {
	endpoints := servertest.Etcd(t)
	w := newWorld(t)
	ms := map[NodeID]*Member{}
	for _, id := range []NodeID{"a", "b", "c"} {
		ms[id], _ = join(t, newClient(t, endpoints), w, id, 12)
	}
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		return balanced(w, 12, map[NodeID][2]int{"a": {4, 4}, "b": {4, 4}, "c": {4, 4}})
	}, "12 shards on 3 nodes")
	var leader NodeID
	for id, m := range ms {
		if m.IsLeader() {
			leader = id
		}
	}
	if leader == "" {
		t.Fatal("no leader")
	}
	w.mu.Lock()
	startsBefore := w.starts[leader]
	w.mu.Unlock()
	if err := ms[leader].Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	ms[leader].Close()
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		for id, m := range ms {
			if id != leader && m.IsLeader() {
				return true, ""
			}
		}
		return false, "no leader among survivors"
	}, "a new leader")
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		c, n := w.count()
		return n == 12 && c[leader] == 0, fmt.Sprint(c)
	}, "survivors to hold all")
	w.mu.Lock()
	if w.starts[leader] != startsBefore {
		t.Errorf("old leader started units while draining")
	}
	w.mu.Unlock()
}

// gauge reads the value of a registered gauge or counter without labels.
func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

// proxy is a TCP proxy in front of etcd that a test can sever.
type proxy struct {
	ln     net.Listener
	target string

	mu    sync.Mutex
	cut   bool
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newProxy(t *testing.T, target string) *proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target, conns: map[net.Conn]bool{}}
	p.wg.Go(p.serve)
	t.Cleanup(func() {
		ln.Close()
		p.sever(true)
		p.wg.Wait()
	})
	return p
}

func (p *proxy) addr() string { return "http://" + p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		u, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c], p.conns[u] = true, true
		p.mu.Unlock()
		p.wg.Go(func() { io.Copy(u, c); u.Close(); c.Close() })
		p.wg.Go(func() { io.Copy(c, u); u.Close(); c.Close() })
	}
}

// sever closes every connection and, while cut, refuses new ones.
func (p *proxy) sever(cut bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = cut
	if cut {
		for c := range p.conns {
			c.Close()
		}
		clear(p.conns)
	}
}

func TestLeaseLossStopsBeforeExpiry(t *testing.T) {
	endpoints := servertest.Etcd(t)
	prx := newProxy(t, endpoints[0][len("http://"):])
	w := newWorld(t)
	watcher := newClient(t, endpoints)

	// Record, from etcd's side, when each owner key goes away and check
	// that no owner key is ever overwritten while held.
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	type del struct {
		u    Unit
		at   time.Time
		node NodeID
	}
	var (
		wmu      sync.Mutex
		deletes  []del
		holder   = map[Unit]NodeID{}
		overlaps []string
	)
	k := keys{DefaultPrefix}
	wch := watcher.Watch(ctx, DefaultPrefix+"/", clientv3.WithPrefix(), clientv3.WithPrevKV())
	var wg sync.WaitGroup
	t.Cleanup(wg.Wait)
	t.Cleanup(cancel)
	wg.Go(func() {
		for wr := range wch {
			now := time.Now()
			wmu.Lock()
			for _, e := range wr.Events {
				u, ok := k.parseOwner(string(e.Kv.Key))
				if !ok {
					continue
				}
				if e.Type == clientv3.EventTypeDelete {
					deletes = append(deletes, del{u, now, holder[u]})
					delete(holder, u)
					continue
				}
				if h, held := holder[u]; held && h != NodeID(e.Kv.Value) {
					overlaps = append(overlaps, fmt.Sprintf("rev %d: %v taken by %s while held by %s", e.Kv.ModRevision, u, e.Kv.Value, h))
				}
				holder[u] = NodeID(e.Kv.Value)
			}
			wmu.Unlock()
		}
	})

	// b joins first and leads: cutting it off also kills the leader.
	cut, _ := join(t, newClient(t, []string{prx.addr()}), w, "b", 12)
	poll.Eventually(t, 5*time.Second, func() (bool, string) { return cut.IsLeader(), "" }, "b to lead")
	a, _ := join(t, newClient(t, endpoints), w, "a", 12)
	c, _ := join(t, newClient(t, endpoints), w, "c", 12)
	poll.Eventually(t, 15*time.Second, func() (bool, string) {
		return balanced(w, 12, map[NodeID][2]int{"a": {4, 4}, "b": {4, 4}, "c": {4, 4}})
	}, "12 shards on 3 nodes")
	w.mu.Lock()
	stopsBefore := w.stops["a"] + w.stops["c"]
	w.mu.Unlock()

	cutAt := time.Now()
	prx.sever(true)
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		return balanced(w, 12, map[NodeID][2]int{"a": {6, 6}, "c": {6, 6}})
	}, "a and c to take b's shards")
	t.Logf("cut -> all 12 shards running on a and c: %v (lease TTL 3s)", time.Since(cutAt))
	w.mu.Lock()
	stopped := w.stoppedAt["b"]
	w.mu.Unlock()
	wmu.Lock()
	var firstDelete time.Time
	for _, d := range deletes {
		if d.node == "b" && d.at.After(cutAt) && (firstDelete.IsZero() || d.at.Before(firstDelete)) {
			firstDelete = d.at
		}
	}
	for _, o := range overlaps {
		t.Error(o)
	}
	wmu.Unlock()
	if stopped.Before(cutAt) || firstDelete.IsZero() {
		t.Fatalf("b stopped at %v, its keys expired at %v (cut at %v)", stopped, firstDelete, cutAt)
	}
	if !stopped.Before(firstDelete) {
		t.Errorf("b stopped %v after the cut, but its lease expired at %v: too late", stopped.Sub(cutAt), firstDelete.Sub(cutAt))
	}
	t.Logf("cut -> b stopped all: %v; cut -> lease expired in etcd: %v", stopped.Sub(cutAt), firstDelete.Sub(cutAt))
	if got := cut.Running(); len(got) != 0 {
		t.Errorf("b still runs %v", got)
	}
	if !a.IsLeader() && !c.IsLeader() {
		t.Error("no new leader among a and c")
	}
	w.mu.Lock()
	if n := w.stops["a"] + w.stops["c"] - stopsBefore; n != 0 {
		t.Errorf("losing the leader interrupted %d units on the other nodes", n)
	}
	w.mu.Unlock()

	// Reconnected, b comes back with a new lease and gets its share again.
	prx.sever(false)
	poll.Eventually(t, 15*time.Second, func() (bool, string) {
		return balanced(w, 12, map[NodeID][2]int{"a": {4, 4}, "b": {4, 4}, "c": {4, 4}})
	}, "b to rejoin")
}

// TestOverdueRenewalResumesOnSameLease cuts a lone member off etcd for
// longer than its watchdog but shorter than its lease: it must stop every
// unit at the watchdog, and once etcd renews the lease start them all
// again under the same lease, before that lease could have expired.
func TestOverdueRenewalResumesOnSameLease(t *testing.T) {
	endpoints := servertest.Etcd(t)
	prx := newProxy(t, endpoints[0][len("http://"):])
	w := newWorld(t)
	reg := prometheus.NewRegistry()
	const ttl = 5 * time.Second
	m := joinCfg(t, Config{
		Client: newClient(t, []string{prx.addr()}), NodeID: "b", Owner: w.owner("b"), ShardCount: 4,
		LeaseTTL: ttl, LeaseMargin: 4 * time.Second, Resync: 200 * time.Millisecond, Registerer: reg,
	})
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		return balanced(w, 4, map[NodeID][2]int{"b": {4, 4}})
	}, "b to run its 4 shards")
	lease := func() clientv3.LeaseID {
		m.mu.Lock()
		defer m.mu.Unlock()
		return m.ep.lease.id
	}
	before := lease()

	cutAt := time.Now()
	prx.sever(true)
	poll.Eventually(t, ttl, func() (bool, string) {
		_, n := w.count()
		return n == 0, fmt.Sprintf("%d units still running", n)
	}, "b to stop every unit at its watchdog")
	stoppedAfter := time.Since(cutAt)
	if m.Serving() {
		t.Error("Serving() = true while the renewal is overdue")
	}
	prx.sever(false)
	poll.Eventually(t, ttl, func() (bool, string) {
		return balanced(w, 4, map[NodeID][2]int{"b": {4, 4}})
	}, "b to run its shards again")
	back := time.Since(cutAt)
	t.Logf("cut -> stopped: %v; cut -> running again: %v (lease TTL %v, watchdog 1s)",
		stoppedAfter.Round(time.Millisecond), back.Round(time.Millisecond), ttl)
	if back >= ttl {
		t.Errorf("units ran again %v after the cut; the lease was renewed, so they need not wait out its TTL %v", back, ttl)
	}
	if got := lease(); got != before {
		t.Errorf("lease %x after the cut, want the same lease %x", got, before)
	}
	if got := gauge(t, reg, "chopsticks_lease_suspended_total"); got != 1 {
		t.Errorf("chopsticks_lease_suspended_total = %v, want 1", got)
	}
	if got := gauge(t, reg, "chopsticks_lease_lost_total"); got != 0 {
		t.Errorf("chopsticks_lease_lost_total = %v, want 0", got)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.reasons[StopLeaseLost] != 4 {
		t.Errorf("stops by reason %v, want 4 %s", w.reasons, StopLeaseLost)
	}
	if !m.Serving() {
		t.Error("Serving() = false after the lease was renewed")
	}
}

func TestMemberGossipStatusMetrics(t *testing.T) {
	endpoints := servertest.Etcd(t)
	w := newWorld(t)
	var ms []*Member
	var regs []*prometheus.Registry
	seed := []string(nil)
	for _, id := range []NodeID{"x", "y", "z"} {
		reg := prometheus.NewRegistry()
		m := joinCfg(t, Config{
			Client: newClient(t, endpoints), NodeID: id, Owner: w.owner(id), ShardCount: 6,
			Addr: "127.0.0.1:1" + string(id), LeaseTTL: 3 * time.Second, Registerer: reg,
			Gossip: &GossipConfig{Seeds: seed}, Settle: time.Second,
		})
		seed = []string{m.GossipAddress()}
		ms, regs = append(ms, m), append(regs, reg)
	}
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		return balanced(w, 6, map[NodeID][2]int{"x": {2, 2}, "y": {2, 2}, "z": {2, 2}})
	}, "6 shards on 3 nodes")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	poll.Eventually(t, 5*time.Second, func() (bool, string) {
		st, err := ms[0].Status(ctx)
		if err != nil {
			return false, err.Error()
		}
		s := fmt.Sprint(st.Leader != "", " ", st.ShardCount, " ", st.IdentifiesLeft)
		for _, n := range st.Nodes {
			s += fmt.Sprintf(" %s:%s:%d:%d", n.ID, n.Gossip, n.Owned, n.Load)
		}
		return s == "true 6 -1 x:alive:2:2 y:alive:2:2 z:alive:2:2", s
	}, "status with gossip load")
	leaderChanges := 0.0
	for i, reg := range regs {
		if got := gauge(t, reg, "chopsticks_shards_owned"); got != 2 {
			t.Errorf("member %d: chopsticks_shards_owned = %v", i, got)
		}
		if got := gauge(t, reg, "chopsticks_cluster_nodes"); got != 3 {
			t.Errorf("member %d: chopsticks_cluster_nodes = %v", i, got)
		}
		leaderChanges += gauge(t, reg, "chopsticks_leader_changes_total")
	}
	if leaderChanges != 1 {
		t.Errorf("leader changes over the cluster = %v, want 1", leaderChanges)
	}
	w.mu.Lock()
	if len(w.stops) != 0 {
		t.Errorf("with Settle the first plan should move nothing; stops: %v", w.stops)
	}
	w.mu.Unlock()
	if got := len(ms[1].Peers()); got != 3 {
		t.Errorf("gossip peers = %d", got)
	}
}

func TestJoinRejectsBadConfig(t *testing.T) {
	w := newWorld(t)
	cli := newClient(t, []string{"http://127.0.0.1:1"})
	for _, cfg := range []Config{
		{},
		{Client: cli, NodeID: "a"},
		{Client: cli, Owner: w.owner("a")},
		{Client: cli, NodeID: "a", Owner: w.owner("a"), Weight: -1},
		{Client: cli, NodeID: "a", Owner: w.owner("a"), LeaseTTL: time.Second, LeaseMargin: 2 * time.Second},
	} {
		if m, err := Join(context.Background(), cfg); err == nil {
			m.Close()
			t.Errorf("Join(%+v) succeeded", cfg)
		}
	}
}

// slowOwner wraps a world owner: Start takes a while and fails as told.
type slowOwner struct {
	Owner
	delay time.Duration

	mu       sync.Mutex
	inflight int
	maxSeen  int
	failures map[Unit]int // Start fails this many more times
}

func (o *slowOwner) Start(ctx context.Context, u Unit) error {
	o.mu.Lock()
	o.inflight++
	o.maxSeen = max(o.maxSeen, o.inflight)
	fail := o.failures[u] > 0
	if fail {
		o.failures[u]--
	}
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.inflight--
		o.mu.Unlock()
	}()
	select {
	case <-time.After(o.delay):
	case <-ctx.Done():
		return ctx.Err()
	}
	if fail {
		return fmt.Errorf("cannot start %v", u)
	}
	return o.Owner.Start(ctx, u)
}

func TestMemberParallelismRetriesAndLastDrain(t *testing.T) {
	endpoints := servertest.Etcd(t)
	w := newWorld(t)
	o := &slowOwner{Owner: w.owner("solo"), delay: 50 * time.Millisecond, failures: map[Unit]int{{KindShard, 3}: 2}}
	m := joinCfg(t, Config{
		Client: newClient(t, endpoints), NodeID: "solo", Owner: o, ShardCount: 10,
		LeaseTTL: 3 * time.Second, Parallel: 2, Resync: 100 * time.Millisecond,
	})
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		return balanced(w, 10, map[NodeID][2]int{"solo": {10, 10}})
	}, "all 10 shards running, shard 3 after two failures")
	o.mu.Lock()
	if o.maxSeen > 2 || o.maxSeen < 2 {
		t.Errorf("at most %d starts at once, want 2 (Parallel)", o.maxSeen)
	}
	if o.failures[Unit{KindShard, 3}] != 0 {
		t.Error("shard 3 never retried")
	}
	o.mu.Unlock()

	// The last node drains: nothing can run anywhere, and it says so.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := m.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if _, n := w.count(); n != 0 {
		t.Errorf("%d units still run after the last node drained", n)
	}
	st, err := m.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range st.Units {
		if u.State != "unplaced" || u.Owner != "" {
			t.Errorf("after drain: %+v", u)
		}
	}
	if len(st.Nodes) != 1 || !st.Nodes[0].Draining {
		t.Errorf("nodes after drain: %+v", st.Nodes)
	}
}
