package shard_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/gateway"
	"github.com/diamondburned/arikawa/v3/utils/ws"

	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/chopsticks-bot/chopsticks/shard"
)

// memStore is a CheckpointStore in memory; the Redis store has its own test.
type memStore struct {
	mu    sync.Mutex
	cps   map[int]shard.Checkpoint
	saves int
}

func (m *memStore) saveCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.saves
}

func (m *memStore) Save(ctx context.Context, id int, cp shard.Checkpoint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.saves++
	if m.cps == nil {
		m.cps = map[int]shard.Checkpoint{}
	}
	m.cps[id] = cp
	return nil
}

func (m *memStore) Load(ctx context.Context, id int) (shard.Checkpoint, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	cp, ok := m.cps[id]
	if !ok {
		return cp, shard.ErrNoCheckpoint
	}
	return cp, nil
}

func (m *memStore) Clear(ctx context.Context, id int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.cps, id)
	return nil
}

// events collects what a shard dispatched.
type events struct {
	mu     sync.Mutex
	guilds map[string]bool
	types  []string
}

func (e *events) handle(ctx context.Context, id int, ev ws.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.types = append(e.types, string(ev.EventType()))
	if g, ok := ev.(*gateway.GuildCreateEvent); ok {
		if e.guilds == nil {
			e.guilds = map[string]bool{}
		}
		e.guilds[g.ID.String()] = true
	}
}

func (e *events) count(t string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	n := 0
	for _, x := range e.types {
		if x == t {
			n++
		}
	}
	return n
}

func newSim(t *testing.T, cfg discordsim.Config) *discordsim.Sim {
	t.Helper()
	if cfg.HeartbeatInterval == 0 {
		cfg.HeartbeatInterval = 500 * time.Millisecond
	}
	if cfg.IdentifyWindow == 0 {
		cfg.IdentifyWindow = 100 * time.Millisecond
	}
	sim, err := discordsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := sim.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sim.Close() })
	return sim
}

type running struct {
	sh     *shard.Shard
	cancel context.CancelFunc
	done   chan error
	ev     *events
}

func run(t *testing.T, sim *discordsim.Sim, id, count int, store shard.CheckpointStore, from shard.Checkpoint, token string) *running {
	t.Helper()
	return runRefresh(t, sim, id, count, store, from, token, 0)
}

// runRefresh is run with Config.CheckpointRefresh set to refresh.
func runRefresh(t *testing.T, sim *discordsim.Sim, id, count int, store shard.CheckpointStore, from shard.Checkpoint, token string, refresh time.Duration) *running {
	t.Helper()
	if token == "" {
		token = sim.Token()
	}
	return runConfig(t, sim, shard.Config{Token: token, ID: id, Count: count, Checkpoints: store, CheckpointRefresh: refresh}, from)
}

// runConfig runs a shard of cfg on sim, filling in the gateway, a local
// gate, intents, a handler and a quick checkpoint interval.
func runConfig(t *testing.T, sim *discordsim.Sim, cfg shard.Config, from shard.Checkpoint) *running {
	t.Helper()
	ev := &events{}
	gate := shard.NewLocalGate(sim.Config().MaxConcurrency)
	gate.Window = sim.Config().IdentifyWindow
	cfg.Intents, cfg.GatewayURL, cfg.Gate, cfg.Handler, cfg.Node = gateway.IntentGuilds, sim.GatewayURL(), gate, ev.handle, "t"
	if cfg.CheckpointEvery == 0 {
		cfg.CheckpointEvery = 50 * time.Millisecond
	}
	sh, err := shard.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{sh: sh, cancel: cancel, done: make(chan error, 1), ev: ev}
	go func() { r.done <- sh.Run(ctx, from) }()
	t.Cleanup(func() { cancel(); <-r.done })
	return r
}

func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err := <-r.done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		r.done <- nil
	case <-time.After(5 * time.Second):
		t.Fatal("shard did not stop")
	}
}

func TestShardReceivesItsGuilds(t *testing.T) {
	t.Parallel()
	sim := newSim(t, discordsim.Config{Guilds: 8, RecommendedShards: 2})
	r := run(t, sim, 1, 2, &memStore{}, shard.Checkpoint{}, "")
	want := sim.BotGuilds(sim.AppID(), 1, 2)
	poll.Eventually(t, 10*time.Second, func() bool { return r.ev.count("GUILD_CREATE") == len(want) }, "GUILD_CREATE for every guild of shard 1")
	r.ev.mu.Lock()
	defer r.ev.mu.Unlock()
	for _, g := range want {
		if !r.ev.guilds[g.String()] {
			t.Errorf("guild %s of shard 1 not received", g)
		}
	}
	if st := r.sh.Status(); st.State != shard.StateReady || st.SessionID == "" {
		t.Errorf("status %+v, want ready with a session", st)
	}
}

func TestShardResumesAfterReconnectRequest(t *testing.T) {
	t.Parallel()
	sim := newSim(t, discordsim.Config{Guilds: 2, RecommendedShards: 1})
	r := run(t, sim, 0, 1, &memStore{}, shard.Checkpoint{}, "")
	poll.Eventually(t, 10*time.Second, func() bool { return r.sh.Status().State == shard.StateReady }, "ready")
	session := r.sh.Status().SessionID
	if n := sim.Reconnect(discordsim.Target{Shard: 0}); n != 1 {
		t.Fatalf("op 7 sent to %d connections", n)
	}
	poll.Eventually(t, 10*time.Second, func() bool {
		for _, rr := range sim.Resumes() {
			if rr.SessionID == session && rr.Accepted {
				return true
			}
		}
		return false
	}, "a resume of the session")
	for _, rr := range sim.Resumes() {
		if !rr.ViaResumeURL {
			t.Errorf("resume %+v did not use resume_gateway_url", rr)
		}
	}
	if n := len(sim.Identifies()); n != 1 {
		t.Fatalf("%d identifies, want 1 (the move must resume)", n)
	}
}

func TestShardIdentifiesAgainAfterInvalidSession(t *testing.T) {
	t.Parallel()
	sim := newSim(t, discordsim.Config{Guilds: 2, RecommendedShards: 1})
	r := run(t, sim, 0, 1, &memStore{}, shard.Checkpoint{}, "")
	poll.Eventually(t, 10*time.Second, func() bool { return r.sh.Status().State == shard.StateReady }, "ready")
	first := r.sh.Status().SessionID
	sim.InvalidateSession(discordsim.Target{Shard: 0}, false)
	poll.Eventually(t, 10*time.Second, func() bool {
		st := r.sh.Status()
		return st.State == shard.StateReady && st.SessionID != first
	}, "a new session")
	if v := sim.Violations(); len(v) != 0 {
		t.Fatalf("violations: %+v", v)
	}
}

func TestHandoffLeavesSessionResumable(t *testing.T) {
	t.Parallel()
	sim := newSim(t, discordsim.Config{Guilds: 2, RecommendedShards: 1})
	store := &memStore{}
	a := run(t, sim, 0, 1, store, shard.Checkpoint{}, "")
	poll.Eventually(t, 10*time.Second, func() bool { return a.ev.count("GUILD_CREATE") == 2 }, "guilds")
	session := a.sh.Status().SessionID
	a.stop(t)
	// The emulator notices the close frame on its own goroutine.
	poll.Eventually(t, 10*time.Second, func() bool { info, _ := sim.Session(session); return !info.Live }, "the emulator to see the close")
	info, ok := sim.Session(session)
	if !ok || info.Live || !info.Resumable {
		t.Fatalf("after handoff the session is %+v, want not live and resumable", info)
	}
	cp, err := store.Load(context.Background(), 0)
	if err != nil || cp.SessionID != session || cp.Seq != info.Seq {
		t.Fatalf("final checkpoint %+v (err %v), want session %s at seq %d", cp, err, session, info.Seq)
	}

	b := run(t, sim, 0, 1, store, cp, "")
	poll.Eventually(t, 10*time.Second, func() bool { return b.sh.Status().State == shard.StateReady }, "the new owner to resume")
	if b.sh.Status().SessionID != session {
		t.Fatalf("new owner runs session %s, want %s", b.sh.Status().SessionID, session)
	}
	if n := len(sim.Identifies()); n != 1 {
		t.Fatalf("%d identifies, want 1", n)
	}
	if n := b.ev.count("GUILD_CREATE"); n != 0 {
		t.Fatalf("the resumed shard got %d GUILD_CREATE replayed; nothing was missed", n)
	}
}

func TestFatalCloseStopsTheShard(t *testing.T) {
	t.Parallel()
	sim := newSim(t, discordsim.Config{Guilds: 1, RecommendedShards: 1})
	r := run(t, sim, 0, 1, &memStore{}, shard.Checkpoint{}, "MTIz.bad.token")
	select {
	case err := <-r.done:
		if !errors.Is(err, shard.ErrFatalClose) {
			t.Fatalf("Run = %v, want ErrFatalClose", err)
		}
		r.done <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("a bad token did not stop the shard")
	}
}

// TestQuietSessionCheckpointRefreshed: a session that receives nothing has
// its unchanged checkpoint saved again every CheckpointRefresh, so a store
// with a TTL keeps it resumable.
func TestQuietSessionCheckpointRefreshed(t *testing.T) {
	t.Parallel()
	sim := newSim(t, discordsim.Config{Guilds: 1, RecommendedShards: 1})
	store := &memStore{}
	r := runRefresh(t, sim, 0, 1, store, shard.Checkpoint{}, "", 100*time.Millisecond)
	poll.Eventually(t, 10*time.Second, func() bool { return r.ev.count("GUILD_CREATE") == 1 && store.saveCount() > 0 }, "the first checkpoint")
	seq := r.sh.Status().Seq
	n := store.saveCount()
	poll.Eventually(t, 10*time.Second, func() bool { return store.saveCount() >= n+3 }, "the unchanged checkpoint saved again")
	cp, err := store.Load(context.Background(), 0)
	if err != nil || cp.Seq != seq || r.sh.Status().Seq != seq {
		t.Fatalf("checkpoint %+v (err %v), want the quiet session at seq %d", cp, err, seq)
	}
}

// TestCheckpointAtReady: with CheckpointAtReady a new session's first
// checkpoint is saved as soon as READY is handled, not an interval later,
// so that a node dying right after IDENTIFY leaves its successor a session
// to RESUME; the shard says Resumable only once it is saved. Without it
// (a voice agent's session) the first checkpoint waits for the interval.
func TestCheckpointAtReady(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		atReady bool
	}{
		{"at READY", true},
		{"on the interval", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := newSim(t, discordsim.Config{Guilds: 1, RecommendedShards: 1})
			store := &memStore{}
			r := runConfig(t, sim, shard.Config{Token: sim.Token(), ID: 0, Count: 1, Checkpoints: store,
				CheckpointEvery: time.Hour, CheckpointAtReady: tc.atReady}, shard.Checkpoint{})
			poll.Eventually(t, 10*time.Second, func() bool { return r.sh.Status().State == shard.StateReady }, "READY")
			if !tc.atReady {
				// The interval is an hour: nothing is saved, and the
				// session cannot be resumed by another process.
				time.Sleep(200 * time.Millisecond)
				if cp, err := store.Load(context.Background(), 0); err == nil {
					t.Fatalf("checkpoint %+v saved before the interval", cp)
				}
				if r.sh.Resumable() {
					t.Fatal("Resumable without a saved checkpoint")
				}
				return
			}
			poll.Eventually(t, 10*time.Second, func() bool { return r.sh.Resumable() }, "the shard to be resumable")
			cp, err := store.Load(context.Background(), 0)
			if err != nil || !cp.Valid() || cp.SessionID != r.sh.Status().SessionID {
				t.Fatalf("checkpoint %+v (err %v), want the new session %s", cp, err, r.sh.Status().SessionID)
			}
		})
	}
}
