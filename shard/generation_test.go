package shard_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/gateway"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/chopsticks-bot/chopsticks/shard"
)

// TestWarmShardDiscardsUntilServe: a warm shard identifies and follows its
// session but hands nothing to the handler until Serve; either way it
// counts the guilds it holds.
func TestWarmShardDiscardsUntilServe(t *testing.T) {
	t.Parallel()
	sim := newSim(t, discordsim.Config{Guilds: 4, RecommendedShards: 1})
	r := runConfig(t, sim, shard.Config{ID: 0, Count: 1, Token: sim.Token(), Checkpoints: &memStore{}, Warm: true}, shard.Checkpoint{})
	// READY and 4 GUILD_CREATE: seq 5.
	poll.Eventually(t, 10*time.Second, func() bool { st := r.sh.Status(); return st.State == shard.StateReady && st.Seq >= 5 }, "the warm session to be ready")
	if n := r.ev.count("GUILD_CREATE"); n != 0 || r.sh.Serving() {
		t.Fatalf("a warm shard handed %d GUILD_CREATE to its handler (serving %v)", n, r.sh.Serving())
	}
	r.sh.Serve()
	if _, err := sim.GrowGuilds(sim.AppID(), 1); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() bool { return r.ev.count("GUILD_CREATE") == 1 }, "the served shard to handle the new guild")
	if n := r.sh.Status().Guilds; n != 5 {
		t.Fatalf("the shard counts %d guilds, want 5", n)
	}
	if err := sim.RemoveBot(sim.Guilds()[0].ID, sim.AppID()); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() bool { return r.sh.Status().Guilds == 4 }, "the shard to count 4 guilds once the bot left one")
}

// TestCheckpointOfAnotherCountIdentifies: a checkpoint records the shard
// count, and a shard of another count identifies rather than resume it.
func TestCheckpointOfAnotherCountIdentifies(t *testing.T) {
	t.Parallel()
	sim := newSim(t, discordsim.Config{Guilds: 2, RecommendedShards: 1})
	store := &memStore{}
	a := run(t, sim, 0, 1, store, shard.Checkpoint{}, "")
	poll.Eventually(t, 10*time.Second, func() bool { return a.ev.count("GUILD_CREATE") == 2 }, "guilds")
	a.stop(t)
	cp, err := store.Load(context.Background(), 0)
	if err != nil || cp.Count != 1 || !cp.Valid() {
		t.Fatalf("checkpoint %+v (%v), want a valid one of count 1", cp, err)
	}
	b := run(t, sim, 0, 2, &memStore{}, cp, "")
	poll.Eventually(t, 10*time.Second, func() bool { return b.sh.Status().State == shard.StateReady }, "shard 0 of 2 to be ready")
	if b.sh.Status().SessionID == cp.SessionID {
		t.Fatal("shard 0 of 2 resumed the session of shard 0 of 1")
	}
	accepted := 0
	for _, id := range sim.Identifies() {
		if id.Accepted {
			accepted++
		}
	}
	if accepted != 2 {
		t.Fatalf("%d identifies accepted, want 2", accepted)
	}
}

// TestRetiredShardEndsItsSession: a retired shard closes its session for
// good (no resume possible) and saves no final checkpoint.
func TestRetiredShardEndsItsSession(t *testing.T) {
	t.Parallel()
	sim := newSim(t, discordsim.Config{Guilds: 2, RecommendedShards: 1})
	r := run(t, sim, 0, 1, &memStore{}, shard.Checkpoint{}, "")
	poll.Eventually(t, 10*time.Second, func() bool { return r.ev.count("GUILD_CREATE") == 2 }, "guilds")
	session := r.sh.Status().SessionID
	r.sh.Retire()
	r.stop(t)
	poll.Eventually(t, 10*time.Second, func() bool { info, _ := sim.Session(session); return !info.Live }, "the emulator to see the close")
	if info, ok := sim.Session(session); ok && info.Resumable {
		t.Fatalf("a retired session is still resumable: %+v", info)
	}
}

// TestRedisCheckpointsKeepCount: the Redis store round-trips the count.
func TestRedisCheckpointsKeepCount(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	store := shard.NewRedisCheckpoints(rdb)
	ctx := context.Background()
	if err := store.Save(ctx, 5, shard.Checkpoint{SessionID: "s", Seq: 4, Count: 12, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	got, err := store.Load(ctx, 5)
	if err != nil || got.Count != 12 {
		t.Fatalf("loaded %+v (%v), want count 12", got, err)
	}
}

// TestWarmShardLeavesShardUpToTheServingOne: a warm shard neither sets nor
// removes chopsticks_shard_up of its number, which the serving shard of
// that number owns; once served it reports itself, and again on each Serve.
func TestWarmShardLeavesShardUpToTheServingOne(t *testing.T) {
	t.Parallel()
	sim := newSim(t, discordsim.Config{Guilds: 2, RecommendedShards: 1})
	met, err := shard.NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	upOf := func() float64 { return testutil.ToFloat64(met.Up.WithLabelValues("0")) }
	met.Up.WithLabelValues("0").Set(1) // the serving shard 0, elsewhere in the node
	w := runConfig(t, sim, shard.Config{ID: 0, Count: 2, Token: sim.Token(), Checkpoints: &memStore{}, Warm: true, Metrics: met}, shard.Checkpoint{})
	poll.Eventually(t, 10*time.Second, func() bool { return w.sh.Status().State == shard.StateReady }, "the warm shard to be ready")
	w.stop(t)
	if n := testutil.CollectAndCount(met.Up); n != 1 || upOf() != 1 {
		t.Fatalf("after a warm shard stopped: %d series, shard 0 up %v; want the serving shard's 1", n, upOf())
	}

	met.Up.Reset()
	v := runConfig(t, sim, shard.Config{ID: 1, Count: 2, Token: sim.Token(), Checkpoints: &memStore{}, Warm: true, Metrics: met}, shard.Checkpoint{})
	poll.Eventually(t, 10*time.Second, func() bool { return v.sh.Status().State == shard.StateReady }, "the warm shard to be ready")
	if n := testutil.CollectAndCount(met.Up); n != 0 {
		t.Fatalf("a warm shard reported %d shard_up series", n)
	}
	v.sh.Serve()
	if got := testutil.ToFloat64(met.Up.WithLabelValues("1")); got != 1 {
		t.Fatalf("served shard up = %v, want 1", got)
	}
	met.Up.Reset() // a retired shard of the same number removed it
	v.sh.Serve()
	if got := testutil.ToFloat64(met.Up.WithLabelValues("1")); got != 1 {
		t.Fatalf("served again, shard up = %v, want 1", got)
	}
}

// recordingGate is a LocalGate that records which of its methods a shard
// used.
type recordingGate struct {
	*shard.LocalGate
	mu            sync.Mutex
	waits, spares int
}

func (g *recordingGate) Wait(ctx context.Context, id int) (func(), error) {
	g.mu.Lock()
	g.waits++
	g.mu.Unlock()
	return g.LocalGate.Wait(ctx, id)
}

func (g *recordingGate) WaitReserve(ctx context.Context, id int) (func(), error) {
	g.mu.Lock()
	g.spares++
	g.mu.Unlock()
	return g.LocalGate.WaitReserve(ctx, id)
}

// TestWarmShardNeverTakesTheReserve: a serving shard whose checkpointed
// session is gone identifies from the reserve (WaitReserve); a warm one
// does not, since the serving generation still covers its guilds.
func TestWarmShardNeverTakesTheReserve(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name          string
		warm          bool
		waits, spares int
	}{
		{"serving", false, 0, 1},
		{"warm", true, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sim := newSim(t, discordsim.Config{Guilds: 2, RecommendedShards: 1})
			gate := &recordingGate{LocalGate: shard.NewLocalGate(1)}
			gate.Window = sim.Config().IdentifyWindow
			ev := &events{}
			sh, err := shard.New(shard.Config{
				Token: sim.Token(), ID: 0, Count: 1, Intents: gateway.IntentGuilds, GatewayURL: sim.GatewayURL(),
				Gate: gate, Handler: ev.handle, Node: "t", Warm: tc.warm,
			})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			// A checkpoint of a session Discord does not know: the RESUME is
			// refused and the shard must identify.
			go func() { done <- sh.Run(ctx, shard.Checkpoint{SessionID: "gone", Seq: 7, Count: 1}) }()
			t.Cleanup(func() { cancel(); <-done })
			poll.Eventually(t, 15*time.Second, func() bool { return sh.Status().State == shard.StateReady }, "a new session")
			gate.mu.Lock()
			defer gate.mu.Unlock()
			if gate.waits != tc.waits || gate.spares != tc.spares {
				t.Fatalf("Wait %d, WaitReserve %d; want %d and %d", gate.waits, gate.spares, tc.waits, tc.spares)
			}
		})
	}
}
