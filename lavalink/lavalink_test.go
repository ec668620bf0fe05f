package lavalink

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/poll"
)

func TestParseNodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    []NodeConfig
		wantErr string
	}{
		{in: "main=127.0.0.1:2333@youshallnotpass", want: []NodeConfig{{"main", "127.0.0.1:2333", "youshallnotpass", false}}},
		{in: "a=h1:1@p@w, b=lava.example.com:443+tls@s", want: []NodeConfig{{"a", "h1:1", "p@w", false}, {"b", "lava.example.com:443", "s", true}}},
		{in: `[{"name":"j","address":"h:2","password":"x,y","secure":true}]`, want: []NodeConfig{{"j", "h:2", "x,y", true}}},
		{in: "", wantErr: "no nodes"},
		{in: "h:1@p", wantErr: `missing "="`},
		{in: "a=h:1", wantErr: "missing \"@password\""},
		{in: "a=h@secretpw", wantErr: "not host:port"},
		{in: "a=h:99999@secretpw", wantErr: "port"},
		{in: "a=h:1@", wantErr: "empty password"},
		{in: "a=h:1@x,a=h:2@y", wantErr: "used twice"},
		{in: `[{"name":"j","addr":"h:2"}]`, wantErr: "JSON form"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseNodes(tt.in)
			if tt.wantErr != "" {
				if err == nil || !errors.Is(err, ErrBadNodes) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "secretpw") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil || len(got) != len(tt.want) {
				t.Fatalf("got %+v, %v", got, err)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("node %d = %+v, want %+v", i, got[i], tt.want[i])
				}
			}
		})
	}
}

// testEnv is a client over n lavalinksim servers.
type testEnv struct {
	t      *testing.T
	sims   []*lavalinksim.Server
	client *Client
	events chan Event
}

func newEnv(t *testing.T, n int, simCfg lavalinksim.Config) *testEnv {
	t.Helper()
	return newEnvFailover(t, n, simCfg, 200*time.Millisecond)
}

func newEnvFailover(t *testing.T, n int, simCfg lavalinksim.Config, failoverAfter time.Duration) *testEnv {
	t.Helper()
	cfgs := make([]lavalinksim.Config, n)
	for i := range cfgs {
		cfgs[i] = simCfg
	}
	env := &testEnv{t: t, events: make(chan Event, 1000)}
	var nodes []NodeConfig
	env.sims, nodes = startNodes(t, cfgs...)
	env.client = readyClient(t, Config{Nodes: nodes, UserID: "1000", FailoverAfter: failoverAfter,
		OnEvent: func(e Event) { env.events <- e }})
	return env
}

// startNodes starts one simulator per config, named a, b, ...
func startNodes(t *testing.T, cfgs ...lavalinksim.Config) ([]*lavalinksim.Server, []NodeConfig) {
	t.Helper()
	var sims []*lavalinksim.Server
	var nodes []NodeConfig
	for i, cfg := range cfgs {
		s, err := lavalinksim.Start(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		sims = append(sims, s)
		nodes = append(nodes, NodeConfig{Name: string(rune('a' + i)), Address: s.Addr(), Password: s.Password()})
	}
	return sims, nodes
}

// readyClient returns a client made with cfg once every node is connected;
// the test closes it.
func readyClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx, len(cfg.Nodes)); err != nil {
		t.Fatal(err)
	}
	return c
}

func (e *testEnv) sim(name string) *lavalinksim.Server { return e.sims[name[0]-'a'] }

// next returns the first event matching ok within 5 s.
func (e *testEnv) next(ok func(Event) bool) Event {
	e.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case ev := <-e.events:
			if ok(ev) {
				return ev
			}
		case <-deadline:
			e.t.Fatal("timed out waiting for an event")
		}
	}
}

func (e *testEnv) load(identifier string) Track {
	e.t.Helper()
	res, err := e.client.LoadTracks(context.Background(), identifier)
	if err != nil || len(res.Tracks) == 0 {
		e.t.Fatalf("load %s: %+v %v", identifier, res, err)
	}
	return res.Tracks[0]
}

func TestLoadTracks(t *testing.T) {
	t.Parallel()
	env := newEnv(t, 1, lavalinksim.Config{})
	ctx := context.Background()
	tests := []struct {
		id   string
		typ  LoadType
		n    int
		fail bool
	}{
		{"ytsearch:daft punk", LoadSearch, lavalinksim.SearchResults, false},
		{"https://youtu.be/dQw4w9WgXcQ", LoadTrack, 1, false},
		{"https://www.youtube.com/playlist?list=PLx", LoadPlaylist, 3, false},
		{"ytsearch:nomatch", LoadEmpty, 0, false},
		{"ytsearch:loaderror", LoadError, 0, true},
	}
	for _, tt := range tests {
		res, err := env.client.LoadTracks(ctx, tt.id)
		if err != nil || res.Type != tt.typ || len(res.Tracks) != tt.n || (res.Exception != nil) != tt.fail {
			t.Errorf("%s: %+v %v", tt.id, res, err)
		}
	}
}

func TestPlayEventsAndVoiceForwarding(t *testing.T) {
	t.Parallel()
	env := newEnv(t, 1, lavalinksim.Config{PlayerUpdateInterval: 50 * time.Millisecond})
	ctx := context.Background()
	tr := env.load("https://example.com/a.mp3?length=500")
	p := env.client.Player("111")
	if err := p.UpdateVoice(ctx, "", "e", "s", "c"); !errors.Is(err, ErrInvalid) {
		t.Fatalf("incomplete voice: %v", err)
	}
	// The two halves arrive separately, in either order.
	if err := p.VoiceServerUpdate(ctx, "vtoken", "eu.discord.media"); err != nil {
		t.Fatal(err)
	}
	if _, ok := env.sims[0].Player("111"); ok {
		t.Fatal("forwarded half a voice state")
	}
	if err := p.VoiceStateUpdate(ctx, "vsession", "222"); err != nil {
		t.Fatal(err)
	}
	sp, ok := env.sims[0].Player("111")
	want := lavalinksim.VoiceState{Token: "vtoken", Endpoint: "eu.discord.media", SessionID: "vsession", ChannelID: "222"}
	if !ok || sp.Voice != want || sp.VoiceUpdates != 1 {
		t.Fatalf("lavalink got voice %+v (ok %v)", sp.Voice, ok)
	}
	if s := p.Voice().String(); strings.Contains(s, "vtoken") {
		t.Fatalf("voice token in String(): %s", s)
	}
	if err := p.Play(ctx, tr, 0); err != nil {
		t.Fatal(err)
	}
	start := env.next(func(e Event) bool { _, ok := e.(TrackStartEvent); return ok }).(TrackStartEvent)
	if start.GuildID != "111" || start.Track.Encoded != tr.Encoded {
		t.Fatalf("start: %+v", start)
	}
	end := env.next(func(e Event) bool { _, ok := e.(TrackEndEvent); return ok }).(TrackEndEvent)
	if end.Reason != EndFinished || !end.Reason.MayStartNext() {
		t.Fatalf("end: %+v", end)
	}
	if p.Track() != nil {
		t.Fatal("track still set after TrackEnd")
	}
	// Volume, pause, filters reach the node.
	long := env.load("https://example.com/long.mp3?length=600000")
	p.Play(ctx, long, 10*time.Second)
	if err := p.SetVolume(ctx, 1001); !errors.Is(err, ErrInvalid) {
		t.Fatalf("volume 1001: %v", err)
	}
	eightD := Filters{Rotation: &Rotation{RotationHz: 0.2}}
	if err := errors.Join(p.SetVolume(ctx, 150), p.SetPaused(ctx, true), p.SetFilters(ctx, eightD)); err != nil {
		t.Fatal(err)
	}
	sp, _ = env.sims[0].Player("111")
	if sp.Volume != 150 || !sp.Paused || sp.Filters.Rotation == nil || *sp.Filters.Rotation.RotationHz != 0.2 || sp.Position < 10*time.Second {
		t.Fatalf("node player: %+v", sp)
	}
	if err := p.Destroy(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := env.sims[0].Player("111"); ok {
		t.Fatal("player still on node after Destroy")
	}
}

func TestLeastLoadedNode(t *testing.T) {
	t.Parallel()
	env := newEnv(t, 2, lavalinksim.Config{StatsInterval: 20 * time.Millisecond})
	env.sims[0].SetLoad(0.9, 0.5)
	env.sims[1].SetLoad(0.1, 0.05)
	poll.Eventually(t, 5*time.Second, func() bool {
		n, err := env.client.BestNode()
		return err == nil && n.Name() == "b"
	}, "the condition")
	env.sims[1].SetLoad(0.1, 0.05)
	env.sims[0].SetLoad(0.1, 0.05)
	poll.Eventually(t, 5*time.Second, func() bool {
		st, _ := env.client.Nodes()[0].Stats()
		return st.CPU.SystemLoad == 0.1
	}, "the condition")
	// Players this client placed count before the next stats arrive.
	ctx := context.Background()
	for _, g := range []string{"1", "2", "3", "4"} {
		if err := env.client.Player(g).UpdateVoice(ctx, "t", "e", "s", "c"); err != nil {
			t.Fatal(err)
		}
	}
	counts := map[string]int{}
	for _, g := range []string{"1", "2", "3", "4"} {
		counts[env.client.Player(g).Node()]++
	}
	if counts["a"] == 0 || counts["b"] == 0 {
		t.Fatalf("players not spread: %v", counts)
	}
	// A frame deficit makes a node unattractive.
	env.sims[0].SetFrameStats(&lavalinksim.FrameStats{Sent: 1000, Deficit: 2000})
	poll.Eventually(t, 5*time.Second, func() bool {
		st, _ := env.client.Nodes()[0].Stats()
		return st.FrameStats != nil && st.FrameStats.Deficit == 2000
	}, "the condition")
	if n, _ := env.client.BestNode(); n.Name() != "b" {
		t.Fatalf("best = %s despite frame deficit on a", n.Name())
	}
}

func TestFailoverKeepsTrackAndPosition(t *testing.T) {
	t.Parallel()
	env := newEnv(t, 2, lavalinksim.Config{PlayerUpdateInterval: 100 * time.Millisecond})
	ctx := context.Background()
	tr := env.load("https://example.com/long.mp3?length=600000")
	p := env.client.Player("333")
	if err := p.UpdateVoice(ctx, "tok", "ep", "sess", "444"); err != nil {
		t.Fatal(err)
	}
	if err := p.Play(ctx, tr, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	p.SetVolume(ctx, 80)
	env.next(func(e Event) bool { _, ok := e.(TrackStartEvent); return ok })
	from := p.Node()
	time.Sleep(300 * time.Millisecond) // let the track play a little before the kill
	before, _ := env.sim(from).Player("333")
	killed := time.Now()
	env.sim(from).Kill()
	moved := env.next(func(e Event) bool { _, ok := e.(PlayerMovedEvent); return ok }).(PlayerMovedEvent)
	took := time.Since(killed)
	if moved.From != from || moved.To == from || p.Node() != moved.To {
		t.Fatalf("moved %+v, player on %s", moved, p.Node())
	}
	after, ok := env.sim(moved.To).Player("333")
	if !ok || after.Track == nil || after.Track.Encoded != tr.Encoded {
		t.Fatalf("track not on the new node: %+v", after)
	}
	if d := after.Position - before.Position; d < -time.Second || d > time.Second+took {
		t.Fatalf("position %v on new node, %v before the kill", after.Position, before.Position)
	}
	if d := moved.Position - before.Position; d < -time.Second || d > time.Second {
		t.Fatalf("resumed at %v, was at %v when killed", moved.Position, before.Position)
	}
	if after.Volume != 80 || after.Voice.ChannelID != "444" || !after.Connected {
		t.Fatalf("state lost in the move: %+v", after)
	}
	t.Logf("failover took %v; position before %v, resumed at %v", took, before.Position, moved.Position)
	// The moved player plays on: its events come from the new node.
	if err := p.Seek(ctx, tr.Info.Duration()-200*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	end := env.next(func(e Event) bool { _, ok := e.(TrackEndEvent); return ok }).(TrackEndEvent)
	if end.Reason != EndFinished {
		t.Fatalf("end after move: %+v", end)
	}
}

func TestResumeAfterDroppedWebsocket(t *testing.T) {
	t.Parallel()
	sim, err := lavalinksim.Start(lavalinksim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	events := make(chan Event, 100)
	// A long failover delay: the client must resume instead of moving.
	c, err := New(Config{Nodes: []NodeConfig{{Name: "only", Address: sim.Addr(), Password: sim.Password()}},
		UserID: "1000", FailoverAfter: time.Minute, OnEvent: func(e Event) { events <- e }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx, 1); err != nil {
		t.Fatal(err)
	}
	sid := c.Nodes()[0].SessionID()
	res, _ := c.LoadTracks(ctx, "https://example.com/s.mp3?length=700")
	p := c.Player("5")
	p.UpdateVoice(ctx, "t", "e", "s", "c")
	p.Play(ctx, res.Tracks[0], 0)
	poll.Eventually(t, 5*time.Second, func() bool { sp, _ := sim.Player("5"); return sp.Position > 0 }, "the condition")
	sim.DropConnections()
	// The track ends while we are away; the event is replayed on resume.
	var end TrackEndEvent
	deadline := time.After(5 * time.Second)
	for end.Reason == "" {
		select {
		case e := <-events:
			if te, ok := e.(TrackEndEvent); ok {
				end = te
			}
		case <-deadline:
			t.Fatal("no TrackEndEvent after resume")
		}
	}
	if c.Nodes()[0].SessionID() != sid || end.Reason != EndFinished {
		t.Fatalf("session %s (was %s), end %+v", c.Nodes()[0].SessionID(), sid, end)
	}
}

func TestEventsFromNode(t *testing.T) {
	t.Parallel()
	env := newEnv(t, 1, lavalinksim.Config{})
	ctx := context.Background()
	p := env.client.Player("77")
	p.UpdateVoice(ctx, "t", "e", "s", "c")
	p.Play(ctx, env.load("https://example.com/x.mp3?length=600000"), 0)
	env.next(func(e Event) bool { _, ok := e.(TrackStartEvent); return ok })
	sim := env.sims[0]
	sim.StickTrack("77", 5*time.Second)
	if e := env.next(func(e Event) bool { _, ok := e.(TrackStuckEvent); return ok }).(TrackStuckEvent); e.Threshold != 5*time.Second {
		t.Fatalf("stuck: %+v", e)
	}
	sim.FailTrack("77", "decoder died")
	ex := env.next(func(e Event) bool { _, ok := e.(TrackExceptionEvent); return ok }).(TrackExceptionEvent)
	if ex.Exception.Message == nil || *ex.Exception.Message != "decoder died" {
		t.Fatalf("exception: %+v", ex)
	}
	if e := env.next(func(e Event) bool { _, ok := e.(TrackEndEvent); return ok }).(TrackEndEvent); e.Reason != EndLoadFailed || !e.Reason.MayStartNext() {
		t.Fatalf("end: %+v", e)
	}
	sim.CloseVoice("77", 4014, "Disconnected.", true)
	cl := env.next(func(e Event) bool { _, ok := e.(WebSocketClosedEvent); return ok }).(WebSocketClosedEvent)
	if cl.Code != 4014 || cl.Reason != "Disconnected." || !cl.ByRemote {
		t.Fatalf("closed: %+v", cl)
	}
}

func TestNodeRestartRebuildsPlayers(t *testing.T) {
	t.Parallel()
	sim, err := lavalinksim.Start(lavalinksim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	addr := sim.Addr()
	events := make(chan Event, 100)
	c, err := New(Config{Nodes: []NodeConfig{{Name: "only", Address: addr, Password: sim.Password()}},
		UserID: "1000", FailoverAfter: 100 * time.Millisecond, OnEvent: func(e Event) { events <- e }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.WaitReady(ctx, 1)
	res, _ := c.LoadTracks(ctx, "https://example.com/r.mp3?length=600000")
	p := c.Player("8")
	p.UpdateVoice(ctx, "t", "e", "s", "c")
	p.Play(ctx, res.Tracks[0], 42*time.Second)
	sim.Kill()
	// With no other node the player waits; the node comes back empty (a new
	// process, so no session to resume) and the player is rebuilt on it.
	sim2, err := lavalinksim.Start(lavalinksim.Config{Addr: addr})
	if err != nil {
		t.Fatalf("restart on %s: %v", addr, err)
	}
	t.Cleanup(func() { sim2.Close() })
	poll.Eventually(t, 5*time.Second, func() bool { sp, ok := sim2.Player("8"); return ok && sp.Track != nil && sp.Connected }, "the condition")
	sp, _ := sim2.Player("8")
	if sp.Position < 42*time.Second || sp.Position > 44*time.Second || sp.Voice.SessionID != "s" {
		t.Fatalf("rebuilt player: %+v", sp)
	}
}

func TestCommandDuringNodeDeathMovesPlayer(t *testing.T) {
	t.Parallel()
	// Failover by the monitor is slow here, so the command itself must move.
	env := newEnvFailover(t, 2, lavalinksim.Config{}, time.Minute)
	ctx := context.Background()
	p := env.client.Player("91")
	p.UpdateVoice(ctx, "t", "e", "s", "c")
	tr := env.load("https://example.com/x.mp3?length=600000")
	p.Play(ctx, tr, 5*time.Second)
	from := p.Node()
	env.sim(from).Kill()
	if err := p.SetVolume(ctx, 55); err != nil {
		t.Fatalf("volume during node death: %v", err)
	}
	if p.Node() == from {
		t.Fatal("player still on the dead node")
	}
	sp, ok := env.sim(p.Node()).Player("91")
	if !ok || sp.Volume != 55 || sp.Track == nil || sp.Track.Encoded != tr.Encoded || sp.Position < 5*time.Second {
		t.Fatalf("player on the new node: %+v", sp)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestCloseEndsStaleDelete: after a move, deleting the player from its old
// node runs on a goroutine the client owns, so Close ends it and waits for
// it: nothing of the client runs after Close.
func TestCloseEndsStaleDelete(t *testing.T) {
	t.Parallel()
	sims, nodes := startNodes(t, lavalinksim.Config{}, lavalinksim.Config{})
	// The old node's DELETE hangs until its context ends.
	var oldNode atomic.Value
	oldNode.Store("")
	var inFlight atomic.Int32
	deleting := make(chan struct{}, 1)
	transport := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		if r.Method != http.MethodDelete || r.URL.Host != oldNode.Load().(string) {
			return http.DefaultTransport.RoundTrip(r)
		}
		inFlight.Add(1)
		defer inFlight.Add(-1)
		select {
		case deleting <- struct{}{}:
		default:
		}
		<-r.Context().Done()
		return nil, r.Context().Err()
	})
	c := readyClient(t, Config{Nodes: nodes, UserID: "1000", FailoverAfter: 100 * time.Millisecond,
		HTTPClient: &http.Client{Transport: transport}})
	ctx := context.Background()
	p := c.Player("1")
	if err := p.UpdateVoice(ctx, "tok", "ep", "sess", "2"); err != nil {
		t.Fatal(err)
	}
	from := sims[p.Node()[0]-'a']
	oldNode.Store(from.Addr())
	from.Kill()
	select {
	case <-deleting:
	case <-time.After(5 * time.Second):
		t.Fatal("the player was not deleted from its old node after the move")
	}
	c.Close()
	if n := inFlight.Load(); n != 0 {
		t.Fatalf("%d DELETE calls of the client still run after Close", n)
	}
}
