package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// genWorld is a world whose owners run next-generation shards: each start
// records the generation's count, a next shard becomes READY when ready
// allows it, and ServeNext records which node serves it.
type genWorld struct {
	*world
	gmu   sync.Mutex
	ready bool
	// holdLive keeps a served next shard from being reported READY again,
	// so that no live marker is written and the reshard stays switched.
	holdLive bool
	counts   map[Unit]int     // count of each running shard or next shard
	serves   map[Unit]bool    // UnitServes at each next shard's last start
	next     map[int]NodeID   // node that last ran next/<id>
	served   map[int]NodeID   // node that serves next/<id>
	adopt    map[int][]string // problems with shard/<id> adopting next/<id>
}

func newGenWorld(t *testing.T) *genWorld {
	return &genWorld{world: newWorld(t), counts: map[Unit]int{}, serves: map[Unit]bool{}, next: map[int]NodeID{}, served: map[int]NodeID{}, adopt: map[int][]string{}}
}

func (g *genWorld) setReady(r bool) {
	g.gmu.Lock()
	g.ready = r
	g.gmu.Unlock()
}

type genOwner struct {
	fakeOwner
	g *genWorld
}

func (g *genWorld) owner(id NodeID) Owner { return &genOwner{fakeOwner{g.world, id}, g} }

func (o *genOwner) Start(ctx context.Context, u Unit) error {
	n := UnitShardCount(ctx)
	o.g.gmu.Lock()
	if u.Kind != KindAgent && n < 1 {
		o.g.adopt[u.ID] = append(o.g.adopt[u.ID], fmt.Sprintf("%v started without a shard count", u))
	}
	o.g.counts[u] = n
	o.g.serves[u] = UnitServes(ctx)
	if u.Kind == KindNext {
		o.g.next[u.ID] = o.id
		delete(o.g.served, u.ID)
	}
	o.g.gmu.Unlock()
	return o.fakeOwner.Start(ctx, u)
}

func (o *genOwner) Stop(ctx context.Context, u Unit, reason StopReason) error {
	o.g.gmu.Lock()
	if reason == StopPromoted && o.g.served[u.ID] != o.id {
		o.g.adopt[u.ID] = append(o.g.adopt[u.ID], fmt.Sprintf("next/%d promoted on %s before it served there", u.ID, o.id))
	}
	o.g.gmu.Unlock()
	return o.fakeOwner.Stop(ctx, u, reason)
}

func (o *genOwner) NextReady(id int) bool {
	o.g.gmu.Lock()
	defer o.g.gmu.Unlock()
	if o.g.holdLive && o.g.served[id] == o.id {
		return false
	}
	return o.g.ready
}

func (o *genOwner) ServeNext(id int) {
	o.g.gmu.Lock()
	o.g.served[id] = o.id
	o.g.gmu.Unlock()
}

func joinGen(t *testing.T, endpoints []string, g *genWorld, id NodeID, shards int) (*Member, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	return joinCfg(t, Config{
		Client: newClient(t, endpoints), NodeID: id, Owner: g.owner(id), ShardCount: shards,
		LeaseTTL: 3 * time.Second, Resync: 100 * time.Millisecond, Registerer: reg,
	}), reg
}

// runsGeneration reports whether exactly shard/0..count-1 run, each
// started for count shards, and nothing else.
func (g *genWorld) runsGeneration(count int) (bool, string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.gmu.Lock()
	defer g.gmu.Unlock()
	if len(g.running) != count {
		return false, fmt.Sprintf("%d units run: %v", len(g.running), g.running)
	}
	for i := range count {
		u := Unit{KindShard, i}
		if _, ok := g.running[u]; !ok || g.counts[u] != count {
			return false, fmt.Sprintf("%v: running %v, count %d", u, ok, g.counts[u])
		}
	}
	return true, ""
}

// TestReshardOnline: 4 → 6 shards on two members. The next generation
// starts beside the old, switches once every next shard is READY, and ends
// with shard/0..5 of 6 each on the node that ran next/<n>, served there
// before it was promoted; the old shards are retired, nothing runs twice.
func TestReshardOnline(t *testing.T) {
	endpoints := servertest.Etcd(t)
	g := newGenWorld(t)
	m1, reg := joinGen(t, endpoints, g, "n1", 4)
	joinGen(t, endpoints, g, "n2", 4)
	poll.Eventually(t, 10*time.Second, func() (bool, string) { return g.runsGeneration(4) }, "4 shards to run")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cli := newClient(t, endpoints)
	if err := StartReshard(ctx, cli, "", 6, "operator"); err != nil {
		t.Fatal(err)
	}
	// Warming: both generations run, nothing switches while a next shard
	// is not READY.
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		_, n := g.count()
		return n == 10, fmt.Sprintf("%d units run", n)
	}, "the next generation to start beside the old one")
	if st, err := m1.Status(ctx); err != nil || st.Reshard == nil || st.Reshard.Phase != PhaseWarming || st.Reshard.To != 6 || st.ShardCount != 4 {
		t.Fatalf("status while warming: %+v %v", st.Reshard, err)
	}
	if got := gauge(t, reg, "chopsticks_reshard_state"); got != 1 {
		t.Errorf("chopsticks_reshard_state = %v while warming, want 1", got)
	}

	g.setReady(true)
	poll.Eventually(t, 15*time.Second, func() (bool, string) { return g.runsGeneration(6) }, "shard/0..5 of 6 to run alone")
	st, err := m1.Status(ctx)
	if err != nil || st.ShardCount != 6 || st.Reshard != nil {
		t.Fatalf("status after the reshard: count %d reshard %+v err %v", st.ShardCount, st.Reshard, err)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.reasons[StopRetired] != 4 || g.reasons[StopPromoted] != 6 || g.reasons[StopAborted] != 0 {
		t.Errorf("stops by reason %v, want 4 retired and 6 promoted", g.reasons)
	}
	g.gmu.Lock()
	defer g.gmu.Unlock()
	for id := range 6 {
		if node := g.running[Unit{KindShard, id}]; node != g.next[id] {
			t.Errorf("shard/%d runs on %s, next/%d ran on %s", id, node, id, g.next[id])
		}
	}
	for id, p := range g.adopt {
		t.Errorf("shard %d: %v", id, p)
	}
}

// TestReshardAbort: aborting at either step before the new generation
// serves alone (while it warms, and after the switch, with both
// generations handling events) ends the next sessions (StopAborted) and
// leaves the old generation untouched: no old shard stopped, none lost.
func TestReshardAbort(t *testing.T) {
	for _, phase := range []string{PhaseWarming, PhaseSwitched} {
		t.Run(phase, func(t *testing.T) {
			endpoints := servertest.Etcd(t)
			g := newGenWorld(t)
			m1, _ := joinGen(t, endpoints, g, "n1", 4)
			joinGen(t, endpoints, g, "n2", 4)
			poll.Eventually(t, 10*time.Second, func() (bool, string) { return g.runsGeneration(4) }, "4 shards to run")
			g.mu.Lock()
			startsBefore := g.starts["n1"] + g.starts["n2"]
			g.mu.Unlock()
			if phase == PhaseSwitched {
				g.gmu.Lock()
				g.ready, g.holdLive = true, true
				g.gmu.Unlock()
			}

			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cli := newClient(t, endpoints)
			if err := StartReshard(ctx, cli, "", 6, "operator"); err != nil {
				t.Fatal(err)
			}
			poll.Eventually(t, 10*time.Second, func() (bool, string) {
				_, n := g.count()
				st, err := m1.Status(ctx)
				if err != nil || st.Reshard == nil {
					return false, fmt.Sprintf("%d units run, reshard %v (%v)", n, st.Reshard, err)
				}
				return n == 10 && st.Reshard.Phase == phase, fmt.Sprintf("%d units run, phase %s", n, st.Reshard.Phase)
			}, "the next generation to start and the reshard to be %s", phase)
			if err := AbortReshard(ctx, cli, ""); err != nil {
				t.Fatal(err)
			}
			poll.Eventually(t, 10*time.Second, func() (bool, string) { return g.runsGeneration(4) }, "only the old generation to run")
			if err := AbortReshard(ctx, cli, ""); !errors.Is(err, ErrNoReshard) {
				t.Errorf("second abort: %v, want ErrNoReshard", err)
			}
			st, err := m1.Status(ctx)
			if err != nil || st.ShardCount != 4 || st.Reshard != nil {
				t.Fatalf("status after abort: count %d reshard %+v err %v", st.ShardCount, st.Reshard, err)
			}
			g.mu.Lock()
			defer g.mu.Unlock()
			if g.reasons[StopAborted] != 6 || g.reasons[StopRetired] != 0 || g.reasons[StopHandoff] != 0 || g.reasons[StopPromoted] != 0 {
				t.Errorf("stops by reason %v, want 6 aborted and nothing else", g.reasons)
			}
			if starts := g.starts["n1"] + g.starts["n2"]; starts != startsBefore+6 {
				t.Errorf("%d starts during the reshard, want the 6 next shards only", starts-startsBefore)
			}
		})
	}
}

// TestReshardSurvivesLeaderLoss: the leader leaves while the next
// generation warms; the new leader finishes the reshard from etcd.
func TestReshardSurvivesLeaderLoss(t *testing.T) {
	endpoints := servertest.Etcd(t)
	g := newGenWorld(t)
	ms := map[NodeID]*Member{}
	for _, id := range []NodeID{"n1", "n2", "n3"} {
		ms[id], _ = joinGen(t, endpoints, g, id, 3)
	}
	poll.Eventually(t, 10*time.Second, func() (bool, string) { return g.runsGeneration(3) }, "3 shards to run")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := StartReshard(ctx, newClient(t, endpoints), "", 5, "operator"); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		_, n := g.count()
		return n == 8, fmt.Sprintf("%d units run", n)
	}, "the next generation to start")
	for id, m := range ms {
		if m.IsLeader() {
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			delete(ms, id)
		}
	}
	g.setReady(true)
	poll.Eventually(t, 20*time.Second, func() (bool, string) { return g.runsGeneration(5) }, "shard/0..4 of 5 to run alone")
}

// TestStartReshardRefuses: bad targets, a reshard already under way, a
// cluster without a shard count and a budget too small are refused, and
// change nothing.
func TestStartReshardRefuses(t *testing.T) {
	endpoints := servertest.Etcd(t)
	cli := newClient(t, endpoints)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k := keys{"/refuse"}
	if err := StartReshard(ctx, cli, "/empty", 4, "operator"); !errors.Is(err, ErrBadShardCount) {
		t.Errorf("a cluster without a shard count: %v, want ErrBadShardCount", err)
	}
	b, _ := json.Marshal(unitsDoc{ShardCount: 4})
	l, _ := json.Marshal(startLimit{Remaining: 5, Total: 1000})
	if _, err := cli.Txn(ctx).Then(clientv3.OpPut(k.units(), string(b)), clientv3.OpPut(k.startLimit(), string(l))).Commit(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		count int
		want  error
	}{
		{"zero", 0, ErrBadShardCount},
		{"negative", -2, ErrBadShardCount},
		{"too many", MaxShardCount + 1, ErrBadShardCount},
		{"same count", 4, ErrBadShardCount},
		{"over the budget", 6, ErrNotEnoughIdentifies},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := StartReshard(ctx, cli, "/refuse", tc.count, "operator"); !errors.Is(err, tc.want) {
				t.Fatalf("StartReshard(%d) = %v, want %v", tc.count, err, tc.want)
			}
			if resp, err := cli.Get(ctx, k.reshard()); err != nil || len(resp.Kvs) != 0 {
				t.Fatalf("a refused reshard was written: %v %v", resp, err)
			}
		})
	}
	if err := StartReshard(ctx, cli, "/refuse", 5, "operator"); err != nil {
		t.Fatal(err)
	}
	if err := StartReshard(ctx, cli, "/refuse", 3, "operator"); !errors.Is(err, ErrReshardInProgress) {
		t.Fatalf("a second reshard: %v, want ErrReshardInProgress", err)
	}
	// The status counts the session starts spent since the reshard began.
	l, _ = json.Marshal(startLimit{Remaining: 2, Total: 1000})
	if _, err := cli.Put(ctx, k.startLimit(), string(l)); err != nil {
		t.Fatal(err)
	}
	st, err := ReadStatus(ctx, cli, "/refuse")
	if err != nil || st.Reshard == nil || st.Reshard.IdentifiesSpent != 3 || st.Reshard.From != 4 || st.Reshard.To != 5 || st.Reshard.Phase != PhaseWarming {
		t.Fatalf("status %+v (%v), want a reshard 4 -> 5 warming with 3 identifies spent", st.Reshard, err)
	}
}

// TestNextShardStartedAfterTheSwitchServes: a next shard that starts once
// the switch is written (it moved, or restarted under a live mark of an
// earlier session) is told to serve from its first event.
func TestNextShardStartedAfterTheSwitchServes(t *testing.T) {
	endpoints := servertest.Etcd(t)
	g := newGenWorld(t)
	joinGen(t, endpoints, g, "n1", 2)
	joinGen(t, endpoints, g, "n2", 2)
	poll.Eventually(t, 10*time.Second, func() (bool, string) { return g.runsGeneration(2) }, "2 shards to run")
	g.setReady(true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli := newClient(t, endpoints)
	// The switch as a leader would write it, before any next shard ran.
	b, _ := json.Marshal(reshardDoc{Phase: PhaseSwitched, From: 2, To: 3, StartedMs: time.Now().UnixMilli(), RemainingAtStart: -1})
	if _, err := cli.Put(ctx, keys{DefaultPrefix}.reshard(), string(b)); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 15*time.Second, func() (bool, string) { return g.runsGeneration(3) }, "shard/0..2 of 3 to run alone")
	g.gmu.Lock()
	defer g.gmu.Unlock()
	for id := range 3 {
		if !g.serves[Unit{KindNext, id}] {
			t.Errorf("next/%d started after the switch without being told to serve", id)
		}
		if g.serves[Unit{KindShard, id}] {
			t.Errorf("shard/%d was told to serve as a next shard", id)
		}
	}
}
