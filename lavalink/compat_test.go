package lavalink

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// Tests of the client against the behaviours of the Lavalink v4 servers
// people run (Lavalink 4.2 and NodeLink), as lavalinksim simulates them.

// newMixedEnv is a client over one simulator per config, named a, b, ...
func newMixedEnv(t *testing.T, cfgs ...lavalinksim.Config) *testEnv {
	t.Helper()
	env := &testEnv{t: t, events: make(chan Event, 1000)}
	var nodes []NodeConfig
	env.sims, nodes = startNodes(t, cfgs...)
	env.client = readyClient(t, Config{Nodes: nodes, UserID: "1000", FailoverAfter: 200 * time.Millisecond,
		OnEvent: func(e Event) { env.events <- e }})
	return env
}

var nodeLink = lavalinksim.Config{Dialect: lavalinksim.DialectNodeLink}

// Case 1: a node refusing PATCH /v4/sessions/{id} (NodeLink: 404) cannot
// resume, but it is usable, and the client keeps one session on it.
func TestNodeWithoutResumingIsReady(t *testing.T) {
	t.Parallel()
	env := newMixedEnv(t, nodeLink)
	n := env.client.Nodes()[0]
	if n.Resumable() {
		t.Fatal("a node that refused resuming reports it resumes")
	}
	p := env.client.Player("1")
	if err := p.UpdateVoice(context.Background(), "t", "e", "s", "c"); err != nil {
		t.Fatal(err)
	}
	if ss := env.sims[0].Sessions(); len(ss) != 1 || !n.Ready() {
		t.Fatalf("sessions on the node: %+v (ready %v)", ss, n.Ready())
	}
}

// Case 1: a node whose sessions die at once is redialled with a growing
// delay, not in a tight loop.
func TestReconnectBacksOff(t *testing.T) {
	t.Parallel()
	var dials atomic.Int32
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		dials.Add(1)
		c.WriteJSON(map[string]any{"op": "ready", "resumed": false, "sessionId": "s"})
		c.Close()
	}))
	t.Cleanup(srv.Close)
	begin := time.Now()
	c, err := New(Config{Nodes: []NodeConfig{{Name: "flaky", Address: srv.Listener.Addr().String(), Password: "p"}}, UserID: "1"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	// Waits of 50, 100, 200 and 400 ms come between the first five
	// sessions: at least 750 ms. A fixed 50 ms takes 200 ms; load only
	// makes it slower, so this cannot fail for a busy machine.
	poll.Eventually(t, 10*time.Second, func() bool { return dials.Load() >= 5 }, "five sessions")
	if took := time.Since(begin); took < 700*time.Millisecond {
		t.Fatalf("five sessions in %v: no backoff", took)
	}
}

// Case 2: tracks of unknown length and streams keep a sane position and
// move to another node without position -1.
func TestUnknownLengthTracks(t *testing.T) {
	t.Parallel()
	for _, kind := range []lavalinksim.TrackKind{lavalinksim.TracksUnknownLength, lavalinksim.TracksStream} {
		t.Run(string(kind), func(t *testing.T) {
			cfg := lavalinksim.Config{Tracks: kind}
			env := newMixedEnv(t, cfg, cfg)
			ctx := context.Background()
			tr := env.load("https://example.com/live.mp3")
			if tr.Info.KnownLength() || (kind == lavalinksim.TracksStream) == tr.Info.Seekable() {
				t.Fatalf("track info: %+v", tr.Info)
			}
			p := env.client.Player("2")
			p.UpdateVoice(ctx, "t", "e", "s", "c")
			if err := p.Play(ctx, tr, 0); err != nil {
				t.Fatal(err)
			}
			env.next(func(e Event) bool { _, ok := e.(TrackStartEvent); return ok })
			poll.Eventually(t, 5*time.Second, func() bool { return p.Position() > 0 }, "the condition")
			from := p.Node()
			env.sim(from).Kill()
			moved := env.next(func(e Event) bool { _, ok := e.(PlayerMovedEvent); return ok }).(PlayerMovedEvent)
			if moved.Position < 0 {
				t.Fatalf("moved at %v", moved.Position)
			}
			sp, ok := env.sim(moved.To).Player("2")
			if !ok || sp.Track == nil || sp.Track.Encoded != tr.Encoded {
				t.Fatalf("not rebuilt on %s: %+v", moved.To, sp)
			}
			if p.Position() < 0 {
				t.Fatalf("position %v", p.Position())
			}
		})
	}
}

// Case 3: a 2xx answer in another shape (NodeLink's equalizer of 15 plain
// gains) is accepted, and the client keeps what the server applied.
func TestFiltersEchoedInAnotherShape(t *testing.T) {
	t.Parallel()
	env := newMixedEnv(t, nodeLink)
	ctx := context.Background()
	p := env.client.Player("3")
	p.UpdateVoice(ctx, "t", "e", "s", "c")
	bass := Filters{Equalizer: []EqualizerBand{{0, 0.25}, {1, 0.2}, {2, 0.15}}}
	if err := p.SetFilters(ctx, bass); err != nil {
		t.Fatalf("filters the server applied reported as failed: %v", err)
	}
	if got := p.Filters(); len(got.Equalizer) != len(bass.Equalizer) || got.Equalizer[0] != bass.Equalizer[0] {
		t.Fatalf("client filters %+v, sent %+v", got, bass)
	}
	if sp, _ := env.sims[0].Player("3"); len(sp.Filters.Equalizer) != len(bass.Equalizer) {
		t.Fatalf("node filters: %+v", sp.Filters)
	}
	// The equalizer as plain gains decodes too.
	var f Filters
	if err := json.Unmarshal([]byte(`{"equalizer":[0.25,0,0.1,0,0,0,0,0,0,0,0,0,0,0,0]}`), &f); err != nil || len(f.Equalizer) != 2 || f.Equalizer[1] != (EqualizerBand{2, 0.1}) {
		t.Fatalf("plain gains: %+v %v", f, err)
	}
}

// Case 4: the node choice over mixed servers: NodeLink's load average is
// normalised by its cores, so a lightly loaded NodeLink node is chosen over
// a busier Lavalink node.
func TestMixedServersLeastLoaded(t *testing.T) {
	t.Parallel()
	// A system load of 0.3 on 16 cores is reported as 4.8.
	if n, err := bestOfNodeLinkAndLavalink(t, [2]float64{0.3, 0.1}, 4.8, [2]float64{0.6, 0.1}); err != nil || n.Name() != "a" {
		t.Fatalf("best node %s %v; want the NodeLink node a (load 4.8 on 16 cores)", nodeName(n), err)
	}
}

// Case 4: a lightly loaded NodeLink node reports a load average below 1
// (0.8 on 16 cores is 5% busy); it says it is NodeLink (/v4/info
// isNodelink), so that figure is not read as Lavalink's 80%.
func TestMixedServersLightNodeLink(t *testing.T) {
	t.Parallel()
	// A system load of 0.05 on 16 cores is reported as 0.8.
	if n, err := bestOfNodeLinkAndLavalink(t, [2]float64{0.05, 0.01}, 0.8, [2]float64{0.3, 0.1}); err != nil || n.Name() != "a" {
		t.Fatalf("best node %s %v; want the NodeLink node a (load average 0.8 on 16 cores)", nodeName(n), err)
	}
}

// bestOfNodeLinkAndLavalink runs a NodeLink node "a" on 16 cores with
// loads nl (system, Lavalink's share), which it reports as the load
// average nlReported, beside a Lavalink node "b" with loads ll; once the
// client has read both it returns the node the client would choose.
func bestOfNodeLinkAndLavalink(t *testing.T, nl [2]float64, nlReported float64, ll [2]float64) (*Node, error) {
	t.Helper()
	env := newMixedEnv(t,
		lavalinksim.Config{Dialect: lavalinksim.DialectNodeLink, Cores: 16, StatsInterval: 20 * time.Millisecond},
		lavalinksim.Config{StatsInterval: 20 * time.Millisecond})
	env.sims[0].SetLoad(nl[0], nl[1])
	env.sims[1].SetLoad(ll[0], ll[1])
	poll.Eventually(t, 5*time.Second, func() bool {
		a, _ := env.client.Nodes()[0].Stats()
		b, _ := env.client.Nodes()[1].Stats()
		return a.CPU.SystemLoad == nlReported && b.CPU.SystemLoad == ll[0]
	}, "the client to read both nodes' loads")
	return env.client.BestNode()
}

// Case 4: equally loaded mixed servers share the players.
func TestMixedServersShareThePlayers(t *testing.T) {
	t.Parallel()
	nl := lavalinksim.Config{Dialect: lavalinksim.DialectNodeLink, Cores: 8, StatsInterval: 20 * time.Millisecond}
	ll := lavalinksim.Config{StatsInterval: 20 * time.Millisecond}
	env := newMixedEnv(t, nl, ll)
	env.sims[0].SetLoad(0.25, 0.1) // reported as 2
	env.sims[1].SetLoad(0.25, 0.1)
	poll.Eventually(t, 5*time.Second, func() bool {
		a, _ := env.client.Nodes()[0].Stats()
		b, _ := env.client.Nodes()[1].Stats()
		return a.CPU.SystemLoad == 2 && b.CPU.SystemLoad == 0.25
	}, "the condition")
	ctx := context.Background()
	counts := map[string]int{}
	for _, g := range []string{"41", "42", "43", "44"} {
		p := env.client.Player(g)
		if err := p.UpdateVoice(ctx, "t", "e", "s", "c"); err != nil {
			t.Fatal(err)
		}
		counts[p.Node()]++
	}
	if counts["a"] != 2 || counts["b"] != 2 {
		t.Fatalf("players per node %v, want 2 and 2", counts)
	}
}

// Case 5: a 200 with track null (NodeLink before voice connects) is
// reported, and the track starts once the voice connection is up.
func TestPlayWithoutTrackInAnswer(t *testing.T) {
	t.Parallel()
	env := newMixedEnv(t, nodeLink)
	ctx := context.Background()
	tr := env.load("https://example.com/x.mp3?length=600000")
	p := env.client.Player("5")
	if err := p.Play(ctx, tr, 0); !errors.Is(err, ErrTrackNotStarted) {
		t.Fatalf("Play answered with track null: err = %v", err)
	}
	if err := p.UpdateVoice(ctx, "t", "e", "s", "c"); err != nil {
		t.Fatal(err)
	}
	start := env.next(func(e Event) bool { _, ok := e.(TrackStartEvent); return ok }).(TrackStartEvent)
	if start.Track.Encoded != tr.Encoded {
		t.Fatalf("started %+v", start.Track.Info)
	}
}

// Case 5: a voice update that lands between the node's answer to Play
// (track null) and Play's return (the agent's voice events race /play)
// still starts the track: the track is pending before anyone can see the
// answer.
func TestVoiceUpdateRacingTrackNull(t *testing.T) {
	t.Parallel()
	env := newMixedEnv(t, nodeLink)
	ctx := context.Background()
	tr := env.load("https://example.com/x.mp3?length=600000")
	p := env.client.Player("9")
	var fired atomic.Bool
	p.afterPlay = func() {
		if fired.CompareAndSwap(false, true) {
			if err := p.UpdateVoice(ctx, "t", "e", "s", "c"); err != nil {
				t.Errorf("voice update: %v", err)
			}
		}
	}
	if err := p.Play(ctx, tr, 0); !errors.Is(err, ErrTrackNotStarted) {
		t.Fatalf("Play answered with track null: err = %v", err)
	}
	start := env.next(func(e Event) bool { _, ok := e.(TrackStartEvent); return ok }).(TrackStartEvent)
	if start.Track.Encoded != tr.Encoded {
		t.Fatalf("started %+v", start.Track.Info)
	}
}

// Case 6: stopping an idle player is not an error, on either server.
func TestStopIdlePlayer(t *testing.T) {
	t.Parallel()
	for _, cfg := range []lavalinksim.Config{{Dialect: lavalinksim.DialectLavalink}, nodeLink} {
		t.Run(string(cfg.Dialect), func(t *testing.T) {
			env := newMixedEnv(t, cfg)
			ctx := context.Background()
			p := env.client.Player("6")
			p.UpdateVoice(ctx, "t", "e", "s", "c")
			if err := p.Stop(ctx); err != nil {
				t.Fatalf("first stop: %v", err)
			}
			if err := p.Stop(ctx); err != nil {
				t.Fatalf("second stop: %v", err)
			}
		})
	}
}

// Case 7: a voice update the node holds (connecting to voice) is not a
// dead node: the player stays, nothing moves, the node stays ready.
func TestHeldVoiceUpdateIsNotANodeFailure(t *testing.T) {
	t.Parallel()
	var sims []*lavalinksim.Server
	var nodes []NodeConfig
	for _, name := range []string{"a", "b"} {
		s, err := lavalinksim.Start(lavalinksim.Config{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		sims = append(sims, s)
		nodes = append(nodes, NodeConfig{Name: name, Address: s.Addr(), Password: s.Password()})
	}
	events := make(chan Event, 100)
	c, err := New(Config{Nodes: nodes, UserID: "1000", HTTPClient: &http.Client{Timeout: 300 * time.Millisecond},
		OnEvent: func(e Event) { events <- e }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx, 2); err != nil {
		t.Fatal(err)
	}
	p := c.Player("7")
	if err := p.SetVolume(ctx, 90); err != nil {
		t.Fatal(err)
	}
	on := p.Node()
	sims[on[0]-'a'].SetVoiceConnectDelay(-1) // held until the client gives up
	if err := p.UpdateVoice(ctx, "t", "e", "s", "c"); err == nil {
		t.Fatal("a voice update that got no answer reported success")
	}
	if p.Node() != on {
		t.Fatalf("player moved from %s to %s because a voice update was slow", on, p.Node())
	}
	for _, other := range sims {
		if sp, ok := other.Player("7"); ok && other != sims[on[0]-'a'] {
			t.Fatalf("player rebuilt on another node: %+v", sp)
		}
	}
	select {
	case e := <-events:
		if _, moved := e.(PlayerMovedEvent); moved {
			t.Fatalf("moved: %+v", e)
		}
	default:
	}
}

// Case 7: player updates get a timeout sized for a voice connection (a few
// seconds on NodeLink), longer than that of other calls.
func TestSlowVoiceUpdateSucceeds(t *testing.T) {
	t.Parallel()
	s, err := lavalinksim.Start(lavalinksim.Config{VoiceConnectDelay: 600 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	c, err := New(Config{Nodes: []NodeConfig{{Name: "a", Address: s.Addr(), Password: s.Password()}}, UserID: "1000",
		RequestTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	ctx := context.Background()
	if err := c.Player("8").UpdateVoice(ctx, "t", "e", "s", "c"); err != nil {
		t.Fatalf("slow voice update: %v", err)
	}
	if sp, _ := s.Player("8"); !sp.Connected {
		t.Fatalf("not connected: %+v", sp)
	}
}

// nodeName is n's name, "none" for nil.
func nodeName(n *Node) string {
	if n == nil {
		return "none"
	}
	return n.Name()
}

// Case 3 for loads: a track the client cannot read is left out of a search
// instead of failing it.
func TestDecodeTracksLeavesOutUnreadable(t *testing.T) {
	t.Parallel()
	got, err := decodeTracks([]byte(`[{"encoded":"a","info":{"title":"ok","length":1000}},{"encoded":"b","info":{"length":"long"}}]`))
	if err != nil || len(got) != 1 || got[0].Info.Title != "ok" {
		t.Fatalf("got %+v %v", got, err)
	}
	if _, err := decodeTracks([]byte(`[{"info":{"length":"long"}}]`)); err == nil {
		t.Fatal("no readable track, no error")
	}
}

// Case 3, the extreme: a 2xx answer to a player update that is no Player
// object at all (no body, or text) is still a success, since the server
// accepted the change; the client keeps what it sent.
func TestPlayerUpdateAcceptedWithoutAPlayerObject(t *testing.T) {
	t.Parallel()
	for _, answer := range []string{"", "OK", `{"filters":{"equalizer":"flat"}}`} {
		t.Run(answer, func(t *testing.T) {
			t.Parallel()
			up := websocket.Upgrader{}
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.URL.Path == "/v4/websocket":
					c, err := up.Upgrade(w, r, nil)
					if err != nil {
						return
					}
					defer c.Close()
					c.WriteJSON(map[string]any{"op": "ready", "resumed": false, "sessionId": "s"})
					for {
						if _, _, err := c.ReadMessage(); err != nil {
							return
						}
					}
				case r.Method == http.MethodPatch && r.URL.Path == "/v4/sessions/s/players/1":
					w.WriteHeader(http.StatusOK)
					io.WriteString(w, answer)
				default:
					http.NotFound(w, r)
				}
			}))
			t.Cleanup(srv.Close)
			c := readyClient(t, Config{Nodes: []NodeConfig{{Name: "odd", Address: srv.Listener.Addr().String(), Password: "p"}}, UserID: "1"})
			p := c.Player("1")
			bass := Filters{Equalizer: []EqualizerBand{{0, 0.25}}}
			if err := p.SetFilters(context.Background(), bass); err != nil {
				t.Fatalf("an update the server accepted (200 %q) reported as failed: %v", answer, err)
			}
			if got := p.Filters(); len(got.Equalizer) != 1 || got.Equalizer[0] != bass.Equalizer[0] {
				t.Fatalf("client filters %+v, sent %+v", got, bass)
			}
		})
	}
}

// Case 1, after a reconnect: a node that cannot resume lost our players
// with the websocket, so the client rebuilds them there, track and all.
func TestNodeWithoutResumingRebuildsPlayersAfterReconnect(t *testing.T) {
	t.Parallel()
	env := newMixedEnv(t, nodeLink)
	ctx := context.Background()
	sim := env.sims[0]
	tr := env.load("https://example.com/r.mp3?length=600000")
	p := env.client.Player("10")
	if err := p.UpdateVoice(ctx, "t", "e", "s", "c"); err != nil {
		t.Fatal(err)
	}
	if err := p.Play(ctx, tr, 0); err != nil {
		t.Fatal(err)
	}
	before := env.client.Nodes()[0].SessionID()
	sim.DropConnections()
	poll.Eventually(t, 5*time.Second, func() bool {
		n := env.client.Nodes()[0]
		sp, ok := sim.Player("10")
		return n.Ready() && n.SessionID() != before && ok && sp.Track != nil && sp.Track.Encoded == tr.Encoded && sp.Connected
	}, "the player rebuilt on the node's new session")
}
