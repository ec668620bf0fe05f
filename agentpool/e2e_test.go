package agentpool

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/utils/ws"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/lavalink"
	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/chopsticks-bot/chopsticks/shard"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// world is everything outside a Chopsticks node: Discord, two Lavalink
// nodes, etcd, Redis and Postgres.
type world struct {
	sim      *discordsim.Sim
	lava     []*lavalinksim.Server
	nodes    []lavalink.NodeConfig
	etcd     []string
	rdb      *redis.Client
	registry *Registry
	gate     shard.Gate
	guild    discordsim.Snowflake
	voiceCh  discordsim.Snowflake
	user     discordsim.Snowflake
	agent    Agent
	agentApp discordsim.Application
}

func newWorld(t *testing.T) *world {
	t.Helper()
	ctx := context.Background()
	w := &world{}
	sim, err := discordsim.New(discordsim.Config{Guilds: 1, IdentifyWindow: 50 * time.Millisecond,
		HeartbeatInterval: time.Second, ResumeWindow: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	w.sim = sim
	w.guild = sim.Guilds()[0].ID
	w.user = sim.DefaultUsers()[0]
	var ok bool
	if w.voiceCh, ok = sim.VoiceChannel(w.guild); !ok {
		t.Fatal("no voice channel")
	}
	for _, name := range []string{"a", "b"} {
		l, err := lavalinksim.Start(lavalinksim.Config{PlayerUpdateInterval: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		w.lava = append(w.lava, l)
		w.nodes = append(w.nodes, lavalink.NodeConfig{Name: name, Address: l.Addr(), Password: l.Password()})
	}
	w.etcd = servertest.Etcd(t)
	w.rdb = redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { w.rdb.Close() })
	pool, err := pgxpool.New(ctx, servertest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	checker, err := NewTokenChecker(sim.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.registry = NewRegistry(pool, mustKey(t, keyA), checker)
	// The agent: its own application and bot user, added to the guild.
	w.agentApp, err = sim.CreateApplication(discordsim.AppOptions{Name: "agent-1"})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.AddBot(w.guild, w.agentApp.ID); err != nil {
		t.Fatal(err)
	}
	if w.agent, err = w.registry.Add(ctx, "agent-1", NewToken(w.agentApp.Token)); err != nil {
		t.Fatal(err)
	}
	g := shard.NewLocalGate(1)
	g.Window = 50 * time.Millisecond
	w.gate = g
	return w
}

// musicNode is the voice half of one Chopsticks node.
type musicNode struct {
	music  *voice.Music
	runner *Runner
	alloc  *Allocator
	states *voice.StateCache
	reg    *prometheus.Registry
}

func (w *world) node(t *testing.T, name string) *musicNode {
	t.Helper()
	return w.nodeWith(t, name, nil)
}

// nodeWith is node whose runner keeps the agents' sessions in sessions
// (nil: agents always identify).
func (w *world) nodeWith(t *testing.T, name string, sessions SessionStore) *musicNode {
	t.Helper()
	ctx := context.Background()
	n := &musicNode{states: voice.NewStateCache(w.rdb), reg: prometheus.NewRegistry()}
	var err error
	n.runner, err = NewRunner(RunnerConfig{Registry: w.registry, Node: name, GatewayURL: w.sim.GatewayURL(), Gate: w.gate,
		Registerer: n.reg, Sessions: sessions})
	if err != nil {
		t.Fatal(err)
	}
	n.alloc, err = NewAllocator(ctx, AllocatorConfig{Client: etcdClient(t, w.etcd), Node: name, Candidates: n.runner, Joiner: n.runner, LeaseTTL: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	n.music, err = voice.NewMusic(voice.MusicConfig{
		Lavalink:  lavalink.Config{Nodes: w.nodes},
		BotUserID: w.sim.DefaultApp().BotUserID.String(),
		Queues:    voice.NewQueues(w.rdb, 0), Voice: n.states, Agents: n.alloc,
	})
	if err != nil {
		t.Fatal(err)
	}
	n.runner.SetMusic(n.music, n.alloc)
	t.Cleanup(func() {
		n.runner.Close()
		n.music.Close()
		n.alloc.Close()
	})
	return n
}

// mainBot runs the main bot's shard 0 feeding the voice state cache, as the
// node does with its shards.
func (w *world) mainBot(t *testing.T, states *voice.StateCache) {
	t.Helper()
	sh, err := shard.New(shard.Config{Token: w.sim.Token(), ID: 0, Count: 1,
		Intents: AgentIntents, GatewayURL: w.sim.GatewayURL(), Gate: w.gate,
		Handler: func(ctx context.Context, _ int, ev ws.Event) {
			if _, err := states.Handle(ctx, ev); err != nil {
				t.Errorf("voice state cache: %v", err)
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); sh.Run(ctx, shard.Checkpoint{}) }()
	t.Cleanup(func() { cancel(); <-done })
}

// playerOn returns the Lavalink player of the guild and the node holding it.
func (w *world) playerOn() (lavalinksim.PlayerSnapshot, int, bool) {
	for i, l := range w.lava {
		if p, ok := l.Player(w.guild.String()); ok {
			return p, i, true
		}
	}
	return lavalinksim.PlayerSnapshot{}, -1, false
}

func TestMusicEndToEnd(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	x := w.node(t, "x")
	w.mainBot(t, x.states)
	guild, user, vc := w.guild.String(), w.user.String(), w.voiceCh.String()
	agentUser := w.agentApp.BotUserID.String()

	// Not in voice: refused before anything is allocated.
	if _, err := x.music.Play(ctx, voice.PlayRequest{GuildID: guild, UserID: user, Query: "song"}); !errors.Is(err, voice.ErrNotInVoice) {
		t.Fatalf("play outside voice: %v", err)
	}
	// No agent running yet: refused with ErrNoAgentFree.
	if err := w.sim.JoinVoice(w.guild, w.user, w.voiceCh); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() bool {
		ch, _ := x.states.UserVoiceChannel(ctx, guild, user)
		return ch == vc
	}, "the user's voice state in the cache")
	if _, err := x.music.Play(ctx, voice.PlayRequest{GuildID: guild, UserID: user, Query: "song"}); !errors.Is(err, voice.ErrNoAgentFree) {
		t.Fatalf("play without agents: %v", err)
	}

	// The cluster assigns agent unit <id> to node x.
	if err := x.runner.Start(ctx, w.agent.ID); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() bool { return len(x.runner.Candidates(guild)) == 1 }, "the agent offered for the guild")
	if got := gathered(t, x.reg, "chopsticks_agent_pool_agents", "available"); got != 1 {
		t.Fatalf("available agents = %v", got)
	}
	res, err := x.music.Play(ctx, voice.PlayRequest{GuildID: guild, UserID: user, Query: "https://example.com/one.mp3?length=600000"})
	if err != nil || !res.Started {
		t.Fatalf("play: %+v %v", res, err)
	}
	// The agent joined (Discord saw its op 4), Lavalink got the voice update
	// and plays.
	poll.Eventually(t, 10*time.Second, func() bool { return w.sim.VoiceChannelOf(w.guild, w.agentApp.BotUserID) == w.voiceCh }, "the agent in the voice channel")
	poll.Eventually(t, 10*time.Second, func() bool {
		p, _, ok := w.playerOn()
		return ok && p.Connected && p.Track != nil && p.Position > 0 && p.Voice.ChannelID == vc
	}, "the track playing on Lavalink")
	if size := gathered(t, x.reg, "chopsticks_agent_pool_size_total", ""); size != 1 {
		t.Fatalf("pool size = %v", size)
	}
	if busy := gathered(t, x.reg, "chopsticks_agent_pool_agents", "busy"); busy != 1 {
		t.Fatalf("busy agents = %v", busy)
	}
	agents, channels, err := x.alloc.Snapshot(ctx)
	if err != nil || channels[guild+"/"+vc] != agentUser || agents[agentUser].Node != "x" {
		t.Fatalf("allocation in etcd: %v %v %v", agents, channels, err)
	}
	// Queue and skip.
	res, err = x.music.Play(ctx, voice.PlayRequest{GuildID: guild, UserID: user, Query: "https://example.com/two.mp3?length=600000"})
	if err != nil || res.Started || res.Position != 1 {
		t.Fatalf("second play: %+v %v", res, err)
	}
	view, err := x.music.Queue(ctx, guild, user, 1)
	if err != nil || view.Total != 1 || view.NowPlaying.Item.Track.Info.Title != "one.mp3" {
		t.Fatalf("queue: %+v %v", view, err)
	}
	next, err := x.music.Skip(ctx, guild, user)
	if err != nil || next == nil || next.Track.Info.Title != "two.mp3" {
		t.Fatalf("skip: %+v %v", next, err)
	}
	poll.Eventually(t, 10*time.Second, func() bool {
		p, _, ok := w.playerOn()
		return ok && p.Track != nil && p.Track.Info.Title == "two.mp3" && p.Position > time.Second
	}, "two.mp3 playing")
	x.music.Play(ctx, voice.PlayRequest{GuildID: guild, UserID: user, Query: "https://example.com/three.mp3?length=600000"})

	// A Lavalink node dies mid-track: the player moves to the other node at
	// the position it had (±1 s).
	before, victim, _ := w.playerOn()
	w.lava[victim].Kill()
	survivor := w.lava[1-victim]
	var after lavalinksim.PlayerSnapshot
	poll.Eventually(t, 10*time.Second, func() bool {
		p, ok := survivor.Player(guild)
		after = p
		return ok && p.Connected && p.Track != nil && !p.Paused
	}, "the player on the surviving node")
	t.Logf("Lavalink node %s killed at %v; the player resumed on the other node at %v", w.nodes[victim].Name, before.Position, after.Position)
	if d := (after.Position - before.Position).Abs(); d > time.Second || after.Track.Info.Title != "two.mp3" {
		t.Fatalf("moved player: %s at %v, was at %v (off by %v)", after.Track.Info.Title, after.Position, before.Position, d)
	}

	// The node running the agent dies; node y is assigned the agent, adopts
	// its player (which kept playing) and re-joins the channel, so Lavalink
	// gets fresh voice credentials from the agent's new session.
	oldSession := after.Voice.SessionID
	x.runner.Close()
	x.music.Close()
	y := w.node(t, "y")
	t0 := time.Now()
	if err := y.runner.Start(ctx, w.agent.ID); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() bool {
		p, ok := survivor.Player(guild)
		return ok && p.Connected && p.Voice.SessionID != oldSession && p.Voice.SessionID != ""
	}, "adoption and fresh voice credentials")
	t.Logf("agent adopted by node y and re-joined %v after its Start", time.Since(t0).Round(time.Millisecond))
	np, err := y.music.NowPlaying(ctx, guild, user)
	if err != nil || np.Item.Track.Info.Title != "two.mp3" || np.Position < before.Position {
		t.Fatalf("nowplaying on the adopting node: %+v %v", np, err)
	}
	if _, err := y.music.Skip(ctx, guild, user); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() bool {
		p, ok := survivor.Player(guild)
		return ok && p.Track != nil && p.Track.Info.Title == "three.mp3"
	}, "three.mp3 playing after the adoption")
	agents, channels, _ = y.alloc.Snapshot(ctx)
	if channels[guild+"/"+vc] != agentUser || agents[agentUser].Node != "y" {
		t.Fatalf("allocation after adoption: %v %v", agents, channels)
	}
	// /stop frees the agent: it leaves the channel and its keys go.
	if err := y.music.Stop(ctx, guild, user); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() bool { return w.sim.VoiceChannelOf(w.guild, w.agentApp.BotUserID) == 0 }, "the agent out of voice")
	poll.Eventually(t, 10*time.Second, func() bool { return len(y.runner.Candidates(guild)) == 1 }, "the agent available again")
	if agents, _, _ := y.alloc.Snapshot(ctx); len(agents) != 0 {
		t.Fatalf("allocations after stop: %v", agents)
	}
	for _, v := range w.sim.Violations() {
		t.Errorf("discord violation: %+v", v)
	}
}

// gathered returns the value of metric name with label state=value (any
// labels when state is ""), or -1.
func gathered(t *testing.T, reg *prometheus.Registry, name, state string) float64 {
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
			if state == "" || (len(m.GetLabel()) == 1 && m.GetLabel()[0].GetValue() == state) {
				return m.GetGauge().GetValue()
			}
		}
	}
	return -1
}

func TestAgentSessionRestartsAfterFatalClose(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	x := w.node(t, "x")
	w.mainBot(t, x.states)
	guild, user, vc := w.guild.String(), w.user.String(), w.voiceCh.String()
	// A disabled agent is refused; enabled again, it starts.
	if err := w.registry.SetEnabled(ctx, w.agent.ID, false); err != nil {
		t.Fatal(err)
	}
	if err := x.runner.Start(ctx, w.agent.ID); err == nil || len(x.runner.Running()) != 0 {
		t.Fatalf("disabled agent started: %v", err)
	}
	if err := w.registry.SetEnabled(ctx, w.agent.ID, true); err != nil {
		t.Fatal(err)
	}
	if err := x.runner.Start(ctx, w.agent.ID); err != nil {
		t.Fatal(err)
	}
	w.sim.JoinVoice(w.guild, w.user, w.voiceCh)
	poll.Eventually(t, 10*time.Second, func() bool { ch, _ := x.states.UserVoiceChannel(ctx, guild, user); return ch == vc }, "the user's voice state")
	poll.Eventually(t, 10*time.Second, func() bool { return len(x.runner.Candidates(guild)) == 1 }, "the agent offered")
	if _, err := x.music.Play(ctx, voice.PlayRequest{GuildID: guild, UserID: user, Query: "https://example.com/one.mp3?length=600000"}); err != nil {
		t.Fatal(err)
	}
	var first lavalinksim.PlayerSnapshot
	poll.Eventually(t, 10*time.Second, func() bool {
		p, _, ok := w.playerOn()
		first = p
		return ok && p.Connected && p.Position > 0
	}, "playing")
	// Discord ends the agent's session for good (4004): the runner marks it
	// unhealthy, restarts it after a backoff with a new session, and re-joins
	// the channel so that Lavalink gets the new session's credentials.
	if n := w.sim.CloseConnection(discordsim.Target{AppID: w.agentApp.ID}, 4004, "Authentication failed."); n != 1 {
		t.Fatalf("closed %d connections", n)
	}
	poll.Eventually(t, 10*time.Second, func() bool { return x.runner.States()["unhealthy"] == 1 }, "the agent unhealthy")
	poll.Eventually(t, 10*time.Second, func() bool {
		p, _, ok := w.playerOn()
		return ok && p.Connected && p.Voice.SessionID != first.Voice.SessionID && p.Track != nil
	}, "fresh voice credentials on Lavalink")
	if st := x.runner.States(); st["busy"] != 1 {
		t.Fatalf("states after restart: %v", st)
	}
	if np, err := x.music.NowPlaying(ctx, guild, user); err != nil || np.Item.Track.Info.Title != "one.mp3" {
		t.Fatalf("after restart: %+v %v", np, err)
	}
}
