package voice

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/lavalink"
	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// voiceMap is the users' voice states, as the gateway cache would hold them.
type voiceMap struct {
	mu sync.Mutex
	m  map[string]string // guild/user -> channel
}

func (v *voiceMap) set(guild, user, channel string) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.m[guild+"/"+user] = channel
}

func (v *voiceMap) UserVoiceChannel(_ context.Context, guild, user string) (string, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.m[guild+"/"+user], nil
}

// agentPool stands in for agentpool's allocator: it hands out agents and,
// like Discord after an agent's op 4, reports their voice state and server.
type agentPool struct {
	mu       sync.Mutex
	free     []string
	busy     map[string]string // agent -> guild:channel
	music    *Music
	released chan string
	// voiceGate, when set, holds the agents' voice events until it closes.
	voiceGate chan struct{}
}

func (a *agentPool) Allocate(ctx context.Context, guild, channel string) (string, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.free) == 0 {
		return "", fmt.Errorf("guild %s: %w", guild, ErrNoAgentFree)
	}
	agent := a.free[0]
	a.free = a.free[1:]
	a.busy[agent] = guild + ":" + channel
	m, gate := a.music, a.voiceGate
	go func() {
		if gate != nil {
			<-gate
		}
		ctx := context.Background()
		m.VoiceServerUpdate(ctx, agent, guild, "voice-token-"+agent, "c-ams01.discord.media:443")
		m.VoiceStateUpdate(ctx, agent, guild, "voice-session-"+agent, channel)
	}()
	return agent, nil
}

func (a *agentPool) Release(_ context.Context, guild, channel, agent string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.busy[agent] != guild+":"+channel {
		return fmt.Errorf("agent %s is not in %s:%s", agent, guild, channel)
	}
	delete(a.busy, agent)
	a.free = append(a.free, agent)
	a.released <- agent
	return nil
}

type musicEnv struct {
	*Music
	sim    *lavalinksim.Server
	voice  *voiceMap
	agents *agentPool
	reg    *prometheus.Registry
}

func newMusicEnv(t *testing.T, agents ...string) *musicEnv {
	t.Helper()
	return newMusicEnvWith(t, lavalinksim.Config{PlayerUpdateInterval: 100 * time.Millisecond}, agents...)
}

// newMusicEnvWith is newMusicEnv over a simulator configured by simCfg.
func newMusicEnvWith(t *testing.T, simCfg lavalinksim.Config, agents ...string) *musicEnv {
	t.Helper()
	sim, err := lavalinksim.Start(simCfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	env := &musicEnv{sim: sim, voice: &voiceMap{m: map[string]string{}},
		agents: &agentPool{free: agents, busy: map[string]string{}, released: make(chan string, 10)}, reg: prometheus.NewRegistry()}
	m, err := NewMusic(MusicConfig{
		Lavalink:  lavalink.Config{Nodes: []lavalink.NodeConfig{{Name: "sim", Address: sim.Addr(), Password: sim.Password()}}},
		BotUserID: "100", Queues: NewQueues(rdb, 0), Voice: env.voice, Agents: env.agents,
		QueuePageSize: 2, Registerer: env.reg,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	env.Music, env.agents.music = m, m
	return env
}

// waitPlayer waits until the node's player of guild satisfies ok.
func (e *musicEnv) waitPlayer(t *testing.T, guild string, ok func(lavalinksim.PlayerSnapshot) bool) lavalinksim.PlayerSnapshot {
	t.Helper()
	var p lavalinksim.PlayerSnapshot
	poll.Eventually(t, 5*time.Second, func() bool {
		var found bool
		p, found = e.sim.Player(guild)
		return found && ok(p)
	}, "the condition")
	return p
}

func TestMusicRefusals(t *testing.T) {
	t.Parallel()
	env := newMusicEnv(t, "201")
	ctx := context.Background()
	env.voice.set("1", "alice", "10")
	env.voice.set("2", "bob", "20")
	tests := []struct {
		name string
		err  error
		want error
	}{
		{"play not in voice", func() error {
			_, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "nobody", Query: "x"})
			return err
		}(), ErrNotInVoice},
		{"skip nothing playing", func() error { _, err := env.Skip(ctx, "1", "alice"); return err }(), ErrNothingPlaying},
		{"pause nothing playing", env.Pause(ctx, "1", "alice"), ErrNothingPlaying},
		{"no results", func() error {
			_, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "nomatch here"})
			return err
		}(), ErrNoResults},
		{"load error", func() error {
			_, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "loaderror"})
			return err
		}(), ErrLoadFailed},
		{"empty query", func() error {
			_, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: " "})
			return err
		}(), ErrBadArgument},
		{"bad pick", func() error {
			_, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "song", Pick: 9})
			return err
		}(), ErrBadArgument},
		{"volume range", env.Volume(ctx, "1", "alice", 201), ErrBadArgument},
		{"loop mode", func() error { _, err := env.Loop(ctx, "1", "alice", "forever"); return err }(), ErrBadArgument},
		{"filter name", env.Filter(ctx, "1", "alice", "reverb"), ErrBadArgument},
	}
	for _, tt := range tests {
		if !errors.Is(tt.err, tt.want) {
			t.Errorf("%s: err = %v, want %v", tt.name, tt.err, tt.want)
		}
	}
	// The only agent is busy in guild 1: guild 2 is refused.
	if _, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "song"}); err != nil {
		t.Fatal(err)
	}
	if _, err := env.Play(ctx, PlayRequest{GuildID: "2", UserID: "bob", Query: "song"}); !errors.Is(err, ErrNoAgentFree) {
		t.Fatalf("second channel: %v", err)
	}
	if n, _ := env.Queues().Len(ctx, "2:20"); n != 0 {
		t.Fatal("a refused play queued something")
	}
	if got := gauge(t, env.reg, "chopsticks_music_track_errors_total", "kind", "load"); got != 1 {
		t.Fatalf("load errors metric = %v", got)
	}
}

// Queues exposes the queue store for tests.
func (m *Music) Queues() *Queues { return m.cfg.Queues }

func TestMusicSession(t *testing.T) {
	t.Parallel()
	env := newMusicEnv(t, "201", "202")
	ctx := context.Background()
	const g, u = "5", "carol"
	env.voice.set(g, u, "50")
	res, err := env.Play(ctx, PlayRequest{GuildID: g, UserID: u, Query: "https://example.com/one.mp3?length=600000"})
	if err != nil || !res.Started || len(res.Added) != 1 {
		t.Fatalf("play: %+v %v", res, err)
	}
	// The agent's voice update reached Lavalink and the track plays.
	p := env.waitPlayer(t, g, func(p lavalinksim.PlayerSnapshot) bool { return p.Connected && p.Position > 0 })
	if p.Voice.ChannelID != "50" || p.Voice.Token != "voice-token-201" || p.Track.Info.Title != "one.mp3" {
		t.Fatalf("lavalink player: %+v", p)
	}
	if a, b := gauge(t, env.reg, "chopsticks_music_voice_connections_active", "", ""), gauge(t, env.reg, "chopsticks_music_lavalink_players", "node", "sim"); a != 1 || b != 1 {
		t.Fatalf("metrics while playing: connections %v, players %v", a, b)
	}
	res, err = env.Play(ctx, PlayRequest{GuildID: g, UserID: u, Query: "https://www.youtube.com/playlist?list=PLq"})
	if err != nil || res.Started || res.Position != 1 || len(res.Added) != 3 || res.Playlist != "Playlist PLq" {
		t.Fatalf("playlist: %+v %v", res, err)
	}
	res, _ = env.Play(ctx, PlayRequest{GuildID: g, UserID: u, Query: "some search", Pick: 2})
	if res.Position != 4 || !strings.Contains(res.Added[0].Track.Info.Title, "result 2") {
		t.Fatalf("pick: %+v", res)
	}
	view, err := env.Queue(ctx, g, u, 2)
	if err != nil || view.Total != 4 || view.Pages != 2 || view.First != 3 || view.NowPlaying.Item.Track.Info.Title != "one.mp3" {
		t.Fatalf("queue: %+v %v", view, err)
	}
	if _, err := env.Queue(ctx, g, u, 3); !errors.Is(err, ErrBadArgument) {
		t.Fatalf("page 3: %v", err)
	}
	// Pause, resume, volume, seek, filter.
	if err := env.Pause(ctx, g, u); err != nil {
		t.Fatal(err)
	}
	if err := env.Pause(ctx, g, u); !errors.Is(err, ErrAlreadyPaused) {
		t.Fatalf("pause twice: %v", err)
	}
	if err := errors.Join(env.Resume(ctx, g, u), env.Volume(ctx, g, u, 150), env.Seek(ctx, g, u, 90*time.Second), env.Filter(ctx, g, u, "8d")); err != nil {
		t.Fatal(err)
	}
	if err := env.Resume(ctx, g, u); !errors.Is(err, ErrNotPaused) {
		t.Fatalf("resume playing: %v", err)
	}
	if err := env.Seek(ctx, g, u, time.Hour); !errors.Is(err, ErrBadArgument) {
		t.Fatalf("seek past the end: %v", err)
	}
	p, _ = env.sim.Player(g)
	if p.Paused || p.Volume != 150 || p.Position < 90*time.Second || p.Filters.Rotation == nil || *p.Filters.Rotation.RotationHz != 0.2 {
		t.Fatalf("after controls: %+v", p)
	}
	env.Filter(ctx, g, u, "nightcore")
	if p, _ := env.sim.Player(g); p.Filters.Timescale == nil || *p.Filters.Timescale.Speed != 1.2 || p.Filters.Rotation != nil {
		t.Fatalf("nightcore: %+v", p.Filters)
	}
	np, err := env.NowPlaying(ctx, g, u)
	if err != nil || np.Filter != "nightcore" || np.Volume != 150 || np.Loop != LoopOff || np.Node != "sim" || np.Position < 90*time.Second {
		t.Fatalf("nowplaying: %+v %v", np, err)
	}
	// Remove, shuffle, loop.
	if it, err := env.Remove(ctx, g, u, 4); err != nil || !strings.Contains(it.Track.Info.Title, "result 2") {
		t.Fatalf("remove: %+v %v", it, err)
	}
	if n, err := env.Shuffle(ctx, g, u); err != nil || n != 3 {
		t.Fatalf("shuffle: %d %v", n, err)
	}
	if m, err := env.Loop(ctx, g, u, "queue"); err != nil || m != LoopQueue {
		t.Fatalf("loop: %s %v", m, err)
	}
	// Skip moves to the next track on the node; under loop queue the skipped
	// one goes to the end.
	next, err := env.Skip(ctx, g, u)
	if err != nil || next == nil {
		t.Fatalf("skip: %+v %v", next, err)
	}
	env.waitPlayer(t, g, func(p lavalinksim.PlayerSnapshot) bool {
		return p.Track != nil && p.Track.Encoded == next.Track.Encoded
	})
	if view, _ := env.Queue(ctx, g, u, 2); view.Items[len(view.Items)-1].Track.Info.Title != "one.mp3" {
		t.Fatalf("loop queue did not requeue the skipped track: %+v", view.Items)
	}
	// Another user in another channel is not in this session.
	env.voice.set(g, "dave", "51")
	if err := env.Pause(ctx, g, "dave"); !errors.Is(err, ErrNothingPlaying) {
		t.Fatalf("other channel: %v", err)
	}
	if err := env.Stop(ctx, g, u); err != nil {
		t.Fatal(err)
	}
	if a := <-env.agents.released; a != "201" {
		t.Fatalf("released %s", a)
	}
	if _, ok := env.sim.Player(g); ok {
		t.Fatal("player still on the node after stop")
	}
	if n, _ := env.Queues().Len(ctx, g+":50"); n != 0 {
		t.Fatalf("queue not cleared: %d", n)
	}
	if _, err := env.NowPlaying(ctx, g, u); !errors.Is(err, ErrNothingPlaying) {
		t.Fatalf("after stop: %v", err)
	}
	if got := gauge(t, env.reg, "chopsticks_music_voice_connections_active", "", ""); got != 0 {
		t.Fatalf("voice connections left: %v", got)
	}
}

func TestMusicAdvancesAndReleasesAtQueueEnd(t *testing.T) {
	t.Parallel()
	env := newMusicEnv(t, "201")
	ctx := context.Background()
	const g, u = "6", "erin"
	env.voice.set(g, u, "60")
	env.Play(ctx, PlayRequest{GuildID: g, UserID: u, Query: "https://example.com/a.mp3?length=300"})
	env.Play(ctx, PlayRequest{GuildID: g, UserID: u, Query: "https://example.com/b.mp3?length=300"})
	// a finishes, b starts by itself, b finishes, the agent leaves.
	env.waitPlayer(t, g, func(p lavalinksim.PlayerSnapshot) bool { return p.Track != nil && p.Track.Info.Title == "b.mp3" })
	select {
	case a := <-env.agents.released:
		if a != "201" {
			t.Fatalf("released %s", a)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("agent not released when the queue ended")
	}
	poll.Eventually(t, 5*time.Second, func() bool { _, ok := env.sim.Player(g); return !ok }, "the condition")
	if v := gauge(t, env.reg, "chopsticks_music_lavalink_players", "node", "sim"); v != 0 {
		t.Fatalf("players on sim = %v", v)
	}
}

// gauge returns the value of the metric name (with label=value when label is
// not empty) from reg; -1 when absent.
func gauge(t *testing.T, reg *prometheus.Registry, name, label, value string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					match = true
				}
			}
			if !match {
				continue
			}
			switch {
			case m.Gauge != nil:
				return m.GetGauge().GetValue()
			case m.Counter != nil:
				return m.GetCounter().GetValue()
			}
		}
	}
	return -1
}

func TestMusicAdoptAfterOwnerDies(t *testing.T) {
	t.Parallel()
	x := newMusicEnv(t, "201")
	ctx := context.Background()
	const g, u = "7", "frank"
	x.voice.set(g, u, "70")
	if _, err := x.Play(ctx, PlayRequest{GuildID: g, UserID: u, Query: "https://example.com/long.mp3?length=600000"}); err != nil {
		t.Fatal(err)
	}
	x.Play(ctx, PlayRequest{GuildID: g, UserID: u, Query: "https://example.com/next.mp3?length=600000"})
	x.waitPlayer(t, g, func(p lavalinksim.PlayerSnapshot) bool { return p.Connected && p.Position > 0 })
	poll.Eventually(t, 5*time.Second, func() bool { s, _ := x.Queues().LavalinkSessions(ctx, "201"); return s["sim"] != "" }, "the condition")
	x.Volume(ctx, g, u, 120)
	if err := x.Filter(ctx, g, u, "bassboost"); err != nil {
		t.Fatal(err)
	}
	// Node X dies: its websockets drop, the Lavalink session waits for a resume.
	t0 := time.Now()
	x.Music.Close()
	t.Logf("close took %v", time.Since(t0))
	// Lavalink notices the dropped websocket on its own goroutine; the new
	// owner resumes the session once it is detached, as after a real death.
	poll.Eventually(t, 5*time.Second, func() bool {
		for _, s := range x.sim.Sessions() {
			if s.UserID == "201" && s.Connected {
				return false
			}
		}
		return true
	}, "the condition")
	// Node Y (same Redis, same Lavalink) takes the agent over.
	y, err := NewMusic(MusicConfig{
		Lavalink:  lavalink.Config{Nodes: []lavalink.NodeConfig{{Name: "sim", Address: x.sim.Addr(), Password: x.sim.Password()}}},
		BotUserID: "100", Queues: x.Queues(), Voice: x.voice, Agents: x.agents,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(y.Close)
	t0 = time.Now()
	n, err := y.Adopt(ctx, "201")
	t.Logf("adopt took %v", time.Since(t0))
	if err != nil || n != 1 {
		t.Fatalf("adopt: %d %v", n, err)
	}
	agentSessions := 0
	for _, s := range x.sim.Sessions() {
		if s.UserID == "201" {
			agentSessions++
			if !s.Connected || s.Players != 1 {
				t.Fatalf("agent session not resumed: %+v", s)
			}
		}
	}
	if agentSessions != 1 {
		t.Fatalf("%d agent sessions on the node, want the one resumed", agentSessions)
	}
	np, err := y.NowPlaying(ctx, g, u)
	if err != nil || np.Item.Track.Info.Title != "long.mp3" || np.Volume != 120 || np.Position <= 0 || np.Filter != "bassboost" {
		t.Fatalf("adopted nowplaying: %+v %v", np, err)
	}
	next, err := y.Skip(ctx, g, u)
	if err != nil || next == nil || next.Track.Info.Title != "next.mp3" {
		t.Fatalf("skip on the adopting node: %+v %v", next, err)
	}
	x.waitPlayer(t, g, func(p lavalinksim.PlayerSnapshot) bool { return p.Track != nil && p.Track.Info.Title == "next.mp3" })
	if _, err := y.Adopt(ctx, "201"); !errors.Is(err, lavalink.ErrClientExists) {
		t.Fatalf("adopting twice: %v", err)
	}
}
