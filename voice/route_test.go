package voice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
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
	"github.com/chopsticks-bot/chopsticks/refusal"
)

// placement locates channels from the test agent pools of the nodes, as
// the allocation keys in etcd would; pinned overrides it, to stand for
// stale or lying allocations.
type placement struct {
	mu     sync.Mutex
	pools  map[string]*agentPool // node -> its agents
	pinned map[string]string     // guild:channel -> node
}

func (p *placement) Locate(_ context.Context, guild, channel string) (string, string, bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	gc := guild + ":" + channel
	if node, ok := p.pinned[gc]; ok {
		return "pinned", node, true, nil
	}
	for node, pool := range p.pools {
		pool.mu.Lock()
		for agent, at := range pool.busy {
			if at == gc {
				pool.mu.Unlock()
				return agent, node, true, nil
			}
		}
		pool.mu.Unlock()
	}
	return "", "", false, nil
}

func (p *placement) pin(gc, node string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.pinned[gc] = node
}

// routedCluster is nodes sharing Redis, a Lavalink node and the users'
// voice states, each with a Music, a Router serving forwarded commands
// and its own agents.
type routedCluster struct {
	rdb   redis.UniversalClient
	sim   *lavalinksim.Server
	voice *voiceMap
	place *placement
	live  []string
}

type routedNode struct {
	*Router
	music  *Music
	agents *agentPool
	reg    *prometheus.Registry
}

func newRoutedCluster(t *testing.T) *routedCluster {
	t.Helper()
	sim, err := lavalinksim.Start(lavalinksim.Config{PlayerUpdateInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	return newRoutedClusterOn(t, sim, rdb)
}

// newRoutedClusterOn is newRoutedCluster on the Redis of rdb.
func newRoutedClusterOn(t *testing.T, sim *lavalinksim.Server, rdb redis.UniversalClient) *routedCluster {
	return &routedCluster{rdb: rdb, sim: sim, voice: &voiceMap{m: map[string]string{}},
		place: &placement{pools: map[string]*agentPool{}, pinned: map[string]string{}}}
}

// node starts node name with the given agents; it serves forwarded
// commands once node returns.
func (c *routedCluster) node(t *testing.T, name string, agents ...string) *routedNode {
	t.Helper()
	n := &routedNode{agents: &agentPool{free: agents, busy: map[string]string{}, released: make(chan string, 10)},
		reg: prometheus.NewRegistry()}
	m, err := NewMusic(MusicConfig{
		Lavalink:  lavalink.Config{Nodes: []lavalink.NodeConfig{{Name: "sim", Address: c.sim.Addr(), Password: c.sim.Password()}}},
		BotUserID: "100", Queues: NewQueues(c.rdb, 0), Voice: c.voice, Agents: n.agents, QueuePageSize: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	n.music, n.agents.music = m, m
	c.place.mu.Lock()
	c.place.pools[name] = n.agents
	c.place.mu.Unlock()
	c.live = append(c.live, name)
	n.Router, err = NewRouter(RouterConfig{Music: m, Locator: c.place, Redis: c.rdb, Node: name,
		LiveNodes: func() []string { return c.live }, Timeout: time.Second, Registerer: n.reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve %s: %v", name, err)
		}
	})
	c.awaitListener(t, name)
	return n
}

// awaitListener waits until a node listens for forwarded commands.
func (c *routedCluster) awaitListener(t *testing.T, node string) {
	t.Helper()
	poll.Eventually(t, 5*time.Second, func() bool {
		numsub := c.rdb.PubSubNumSub
		if _, ok := c.rdb.(*redis.ClusterClient); ok {
			numsub = c.rdb.PubSubShardNumSub
		}
		n, err := numsub(context.Background(), rpcChannelPrefix+node).Result()
		return err == nil && n[rpcChannelPrefix+node] > 0
	}, "node %s to listen for forwarded commands", node)
}

func (n *routedNode) count(t *testing.T, metric, op, outcome string) float64 {
	t.Helper()
	mfs, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, lp := range m.GetLabel() {
				labels[lp.GetName()] = lp.GetValue()
			}
			if labels["op"] == op && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// TestRouterMetricsStartAtZero: every op and outcome is exported at 0
// before the first forward, so dashboards and alerts read 0, not nothing.
func TestRouterMetricsStartAtZero(t *testing.T) {
	t.Parallel()
	n := newRoutedCluster(t).node(t, "x")
	mfs, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int{
		"chopsticks_music_forwarded_calls_total":  len(ops) * 4,       // ok, refused, error, unreachable
		"chopsticks_music_forwarded_served_total": (len(ops) + 1) * 3, // and op "unknown"; ok, refused, error
	}
	for _, mf := range mfs {
		w, ok := want[mf.GetName()]
		if !ok {
			continue
		}
		delete(want, mf.GetName())
		if len(mf.GetMetric()) != w {
			t.Errorf("%s: %d series, want %d", mf.GetName(), len(mf.GetMetric()), w)
		}
		for _, m := range mf.GetMetric() {
			if v := m.GetCounter().GetValue(); v != 0 {
				t.Errorf("%s%v = %v before any forward", mf.GetName(), m.GetLabel(), v)
			}
		}
	}
	for name := range want {
		t.Errorf("%s is not exported", name)
	}
}

// TestRouterForwardsToThePlayingNode: x has the only agent; every command
// sent to y (no agent, no session) runs on x and answers as x would.
func TestRouterForwardsToThePlayingNode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newRoutedCluster(t)
	x := c.node(t, "x", "201")
	y := c.node(t, "y")
	const g, u = "5", "carol"
	c.voice.set(g, u, "50")

	// y has no agent: /play goes to x, which sends its agent.
	res, err := Do(ctx, y, OpPlay, PlayRequest{GuildID: g, UserID: u, Query: "https://example.com/one.mp3?length=600000"})
	if err != nil || !res.Started || len(res.Added) != 1 || res.Added[0].Track.Info.Title != "one.mp3" || res.Added[0].RequesterID != u {
		t.Fatalf("play via y: %+v %v", res, err)
	}
	if !x.music.Has(g, "50") || y.music.Has(g, "50") {
		t.Fatal("the session is not on x alone")
	}
	c.waitPlayerOf(t, g, func(p lavalinksim.PlayerSnapshot) bool { return p.Connected && p.Position > 0 })
	res, err = Do(ctx, y, OpPlay, PlayRequest{GuildID: g, UserID: u, Query: "https://www.youtube.com/playlist?list=PLq"})
	if err != nil || res.Started || res.Position != 1 || len(res.Added) != 3 || res.Playlist != "Playlist PLq" {
		t.Fatalf("playlist via y: %+v %v", res, err)
	}
	view, err := Do(ctx, y, OpQueue, QueueArgs{Caller: Caller{GuildID: g, UserID: u}, Page: 2})
	if err != nil || view.Total != 3 || view.Pages != 2 || view.First != 3 || len(view.Items) != 1 ||
		view.NowPlaying.Item.Track.Info.Title != "one.mp3" || view.NowPlaying.Node != "sim" || view.Duration <= 0 {
		t.Fatalf("queue via y: %+v %v", view, err)
	}
	if err := run(ctx, y, OpPause, Caller{GuildID: g, UserID: u}); err != nil {
		t.Fatal(err)
	}
	if p, _ := c.sim.Player(g); !p.Paused {
		t.Fatal("not paused on Lavalink")
	}
	carol := Caller{GuildID: g, UserID: u}
	if err := errors.Join(
		run(ctx, y, OpResume, carol),
		run(ctx, y, OpVolume, VolumeArgs{Caller: carol, Volume: 150}),
		run(ctx, y, OpSeek, SeekArgs{Caller: carol, Position: 90 * time.Second}),
		run(ctx, y, OpFilter, FilterArgs{Caller: carol, Name: "nightcore"}),
	); err != nil {
		t.Fatal(err)
	}
	np, err := Do(ctx, y, OpNowPlaying, carol)
	if err != nil || np.Paused || np.Volume != 150 || np.Filter != "nightcore" || np.Position < 90*time.Second || np.Item.Track.Info.Title != "one.mp3" {
		t.Fatalf("nowplaying via y: %+v %v", np, err)
	}
	if mode, err := Do(ctx, y, OpLoop, LoopArgs{Caller: carol, Mode: "track"}); err != nil || mode != LoopTrack {
		t.Fatalf("loop via y: %s %v", mode, err)
	}
	if n, err := Do(ctx, y, OpShuffle, carol); err != nil || n != 3 {
		t.Fatalf("shuffle via y: %d %v", n, err)
	}
	if it, err := Do(ctx, y, OpRemove, RemoveArgs{Caller: carol, Position: 3}); err != nil || it.Track.Encoded == "" {
		t.Fatalf("remove via y: %+v %v", it, err)
	}
	next, err := Do(ctx, y, OpSkip, carol)
	if err != nil || next == nil || next.Track.Info.Title == "" {
		t.Fatalf("skip via y: %+v %v", next, err)
	}
	c.waitPlayerOf(t, g, func(p lavalinksim.PlayerSnapshot) bool {
		return p.Track != nil && p.Track.Encoded == next.Track.Encoded
	})

	// Refusals made on x keep their identity and message on y.
	refusals := []struct {
		name string
		err  error
		want error
	}{
		{"resume while playing", run(ctx, y, OpResume, carol), ErrNotPaused},
		{"volume out of range", run(ctx, y, OpVolume, VolumeArgs{Caller: carol, Volume: 300}), ErrBadArgument},
		{"seek past the end", run(ctx, y, OpSeek, SeekArgs{Caller: carol, Position: 24 * time.Hour}), ErrBadArgument},
		{"remove past the end", func() error { _, err := Do(ctx, y, OpRemove, RemoveArgs{Caller: carol, Position: 99}); return err }(), ErrBadArgument},
		{"no results", func() error {
			_, err := Do(ctx, y, OpPlay, PlayRequest{GuildID: g, UserID: u, Query: "nomatch here"})
			return err
		}(), ErrNoResults},
	}
	for _, r := range refusals {
		if !errors.Is(r.err, r.want) {
			t.Errorf("%s: %v, want %v", r.name, r.err, r.want)
		}
	}
	if err := run(ctx, y, OpVolume, VolumeArgs{Caller: carol, Volume: 300}); err == nil || err.Error() != "The volume must be between 0 and 200." {
		t.Errorf("volume message across nodes: %v", err)
	}

	if err := run(ctx, y, OpStop, carol); err != nil {
		t.Fatal(err)
	}
	if a := <-x.agents.released; a != "201" {
		t.Fatalf("released %s", a)
	}
	if x.music.Has(g, "50") {
		t.Fatal("session still on x after stop via y")
	}
	// Nobody plays now: y answers by itself.
	if _, err := Do(ctx, y, OpNowPlaying, carol); !errors.Is(err, ErrNothingPlaying) {
		t.Fatalf("after stop: %v", err)
	}
	if got := y.count(t, "chopsticks_music_forwarded_calls_total", "skip", "ok"); got != 1 {
		t.Errorf("forwarded skips = %v", got)
	}
	if got := y.count(t, "chopsticks_music_forwarded_calls_total", "volume", "refused"); got != 2 {
		t.Errorf("refused forwarded volumes = %v", got)
	}
	if got := x.count(t, "chopsticks_music_forwarded_served_total", "play", "ok"); got != 2 {
		t.Errorf("plays served by x = %v", got)
	}
	if got := x.count(t, "chopsticks_music_forwarded_calls_total", "play", "ok"); got != 0 {
		t.Errorf("x forwarded %v plays", got)
	}
}

func (c *routedCluster) waitPlayerOf(t *testing.T, guild string, ok func(lavalinksim.PlayerSnapshot) bool) {
	t.Helper()
	poll.Eventually(t, 5*time.Second, func() bool {
		p, found := c.sim.Player(guild)
		return found && ok(p)
	}, "the condition")
}

// TestRouterLocalFirst: the node with the session runs commands itself, and
// /play takes a local agent before asking other nodes.
// TestRouterForwardsOnRedisCluster: on a Redis Cluster the music RPC
// reaches a node listening on another server (sharded pub/sub), and the
// reply comes back; a plain PUBLISH would count only its own server's
// listeners and call the node unreachable.
func TestRouterForwardsOnRedisCluster(t *testing.T) {
	ctx := context.Background()
	sim, err := lavalinksim.Start(lavalinksim.Config{PlayerUpdateInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sim.Close() })
	rc := servertest.RedisCluster(t)
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: rc.Addrs()})
	t.Cleanup(func() { cc.Close() })
	c := newRoutedClusterOn(t, sim, cc)
	c.node(t, "x", "201")
	y := c.node(t, "y")
	const g, u = "5", "carol"
	c.voice.set(g, u, "50")
	for _, name := range []string{"x", "y", "node-a", "node-b", "node-c"} { // channels spread over the masters
		if _, err := cc.SPublish(ctx, rpcChannelPrefix+name, "{}").Result(); err != nil {
			t.Fatal(err)
		}
	}
	res, err := Do(ctx, y, OpPlay, PlayRequest{GuildID: g, UserID: u, Query: "https://example.com/one.mp3?length=600000"})
	if err != nil || !res.Started || len(res.Added) != 1 {
		t.Fatalf("play via y: %+v %v", res, err)
	}
	view, err := Do(ctx, y, OpQueue, QueueArgs{Caller: Caller{GuildID: g, UserID: u}, Page: 1})
	if err != nil || view.NowPlaying.Item.Track.Info.Title != "one.mp3" {
		t.Fatalf("queue via y: %+v %v", view, err)
	}
}

func TestRouterLocalFirst(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newRoutedCluster(t)
	x := c.node(t, "x", "201")
	y := c.node(t, "y", "202")
	c.voice.set("1", "ann", "10")
	for range 2 {
		if _, err := Do(ctx, x, OpPlay, PlayRequest{GuildID: "1", UserID: "ann", Query: "song"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Do(ctx, x, OpSkip, Caller{GuildID: "1", UserID: "ann"}); err != nil {
		t.Fatal(err)
	}
	if !x.music.Has("1", "10") {
		t.Fatal("the session is not on x")
	}
	// Both nodes have a free agent: each plays its own channel locally.
	c.voice.set("2", "bo", "20")
	if _, err := Do(ctx, y, OpPlay, PlayRequest{GuildID: "2", UserID: "bo", Query: "song"}); err != nil || !y.music.Has("2", "20") {
		t.Fatalf("play on y: %v", err)
	}
	for _, n := range []*routedNode{x, y} {
		if got := n.count(t, "chopsticks_music_forwarded_calls_total", "play", "ok") + n.count(t, "chopsticks_music_forwarded_calls_total", "skip", "ok"); got != 0 {
			t.Errorf("forwarded %v calls", got)
		}
	}
	// No agent left anywhere: refused, after asking the other node.
	c.voice.set("3", "cy", "30")
	if _, err := Do(ctx, y, OpPlay, PlayRequest{GuildID: "3", UserID: "cy", Query: "song"}); !errors.Is(err, ErrNoAgentFree) {
		t.Fatalf("play with every agent busy: %v", err)
	}
	if got := y.count(t, "chopsticks_music_forwarded_calls_total", "play", "refused"); got != 1 {
		t.Errorf("refused forwarded plays = %v", got)
	}
	// Not in voice: refused locally.
	if _, err := Do(ctx, y, OpSkip, Caller{GuildID: "3", UserID: "nobody"}); !errors.Is(err, ErrNotInVoice) {
		t.Fatalf("not in voice: %v", err)
	}
}

// TestRouterUnreachable: a node that is gone, or listens but never answers,
// gives ErrMusicUnreachable within the timeout.
func TestRouterUnreachable(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newRoutedCluster(t)
	y := c.node(t, "y")
	c.voice.set("1", "ann", "10")
	c.voice.set("1", "bob", "11")
	c.place.pin("1:10", "gone") // nobody listens
	c.place.pin("1:11", "mute") // listens, never answers
	mute := c.rdb.Subscribe(ctx, rpcChannelPrefix+"mute")
	t.Cleanup(func() { mute.Close() })
	if _, err := mute.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		user string
		max  time.Duration
	}{
		{"node gone", "ann", 500 * time.Millisecond},
		{"node silent", "bob", 2500 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			_, err := Do(ctx, y, OpSkip, Caller{GuildID: "1", UserID: tt.user})
			took := time.Since(start)
			if !errors.Is(err, ErrMusicUnreachable) || err.Error() != ErrMusicUnreachable.Message {
				t.Fatalf("skip: %v", err)
			}
			if took > tt.max {
				t.Fatalf("took %v, want at most %v", took, tt.max)
			}
		})
	}
	if got := y.count(t, "chopsticks_music_forwarded_calls_total", "skip", "unreachable"); got != 2 {
		t.Errorf("unreachable skips = %v", got)
	}
	// A silent request is still published: the silent node saw it.
	msg, err := mute.ReceiveMessage(ctx)
	if err != nil || !strings.Contains(msg.Payload, `"op":"skip"`) {
		t.Fatalf("silent node's message: %v %v", msg, err)
	}
}

// TestRouterNoForwardingLoop: allocations that point each node at the
// other (stale) lead to one hop and a refusal, never a loop.
func TestRouterNoForwardingLoop(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newRoutedCluster(t)
	x := c.node(t, "x")
	y := c.node(t, "y")
	c.voice.set("1", "ann", "10")
	c.place.pin("1:10", "x") // y thinks x plays, x has no session
	if _, err := Do(ctx, y, OpSkip, Caller{GuildID: "1", UserID: "ann"}); !errors.Is(err, ErrNothingPlaying) {
		t.Fatalf("skip: %v", err)
	}
	c.place.pin("1:10", "y") // and the other way round
	if err := run(ctx, x, OpPause, Caller{GuildID: "1", UserID: "ann"}); !errors.Is(err, ErrNothingPlaying) {
		t.Fatalf("pause: %v", err)
	}
	for _, tt := range []struct {
		node   *routedNode
		metric string
		op     string
		want   float64
	}{
		{y, "chopsticks_music_forwarded_calls_total", "skip", 1},
		{x, "chopsticks_music_forwarded_served_total", "skip", 1},
		{x, "chopsticks_music_forwarded_calls_total", "skip", 0},
		{x, "chopsticks_music_forwarded_calls_total", "pause", 1},
		{y, "chopsticks_music_forwarded_served_total", "pause", 1},
		{y, "chopsticks_music_forwarded_calls_total", "pause", 0},
	} {
		if got := tt.node.count(t, tt.metric, tt.op, "refused"); got != tt.want {
			t.Errorf("%s %s = %v, want %v", tt.metric, tt.op, got, tt.want)
		}
	}
}

// TestWireErrors: a refusal keeps its code and message over the wire and
// matches its declaration; other errors cross without their details.
func TestWireErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		err  error
		want error // nil: a failure
		msg  string
	}{
		{"not in voice", ErrNotInVoice, ErrNotInVoice, ErrNotInVoice.Message},
		{"wrapped", fmt.Errorf("guild 1: %w", ErrNoAgentFree), ErrNoAgentFree, ErrNoAgentFree.Message},
		{"with a message", ErrBadArgument.With("The volume must be between 0 and 200."), ErrBadArgument, "The volume must be between 0 and 200."},
		{"voice failed", fmt.Errorf("%w: %w", ErrVoiceFailed, lavalink.ErrVoiceFailed), ErrVoiceFailed, ErrVoiceFailed.Message},
		{"unreachable", ErrMusicUnreachable, ErrMusicUnreachable, ErrMusicUnreachable.Message},
		{"no Lavalink", fmt.Errorf("player: %w", lavalink.ErrNoNodes), nil, ""},
		{"other", errors.New("dial tcp 10.0.0.5:2333: password=hunter2 refused"), nil, ""},
		{"context", context.DeadlineExceeded, nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := json.Marshal(rpcResponse{Err: encodeError(tt.err)})
			if err != nil {
				t.Fatal(err)
			}
			var resp rpcResponse
			if err := json.Unmarshal(raw, &resp); err != nil {
				t.Fatal(err)
			}
			got := decodeError(resp.Err, "x", "skip")
			if got == nil {
				t.Fatal("the error was lost")
			}
			if tt.want == nil {
				if _, refused := refusal.As(got); refused {
					t.Fatalf("a failure crossed as a refusal: %v", got)
				}
				if strings.Contains(got.Error(), "hunter2") || strings.Contains(got.Error(), "10.0.0.5") || !strings.Contains(got.Error(), "music node x") {
					t.Fatalf("failure: %q", got)
				}
				return
			}
			if !errors.Is(got, tt.want) || got.Error() != tt.msg {
				t.Fatalf("got %q (is %v: %v), want %q", got, tt.want, errors.Is(got, tt.want), tt.msg)
			}
		})
	}
	if decodeError(encodeError(nil), "x", "skip") != nil {
		t.Fatal("nil error did not stay nil")
	}
}

// TestWireResults: the arguments and results of the operations survive
// JSON.
func TestWireResults(t *testing.T) {
	t.Parallel()
	uri := "https://example.com/a.mp3"
	track := lavalink.Track{Encoded: "QAAA", Info: lavalink.TrackInfo{Identifier: "a", IsSeekable: true, Author: "Ann", Length: 180000,
		Title: "A", URI: &uri, SourceName: "http"}, PluginInfo: json.RawMessage(`{"k":1}`)}
	item := QueueItem{Track: track, RequesterID: "42", AddedAt: time.Date(2026, 3, 1, 12, 0, 0, 5, time.UTC)}
	np := NowPlayingInfo{Item: item, Position: 90 * time.Second, Paused: true, Volume: 150, Loop: LoopQueue, Filter: "8d", Node: "a"}
	roundTrip(t, PlayResult{Added: []QueueItem{item, item}, Playlist: "P", Started: true, Position: 3})
	roundTrip(t, QueueView{NowPlaying: np, QueuePage: QueuePage{Items: []QueueItem{item}, First: 3, Page: 2, Pages: 4, Total: 7, Duration: time.Hour}})
	roundTrip(t, np)
	roundTrip(t, &item)
	roundTrip[*QueueItem](t, nil)
	roundTrip(t, LoopTrack)
	c := Caller{GuildID: "1", UserID: "2"}
	roundTrip(t, PlayRequest{GuildID: "1", UserID: "2", Query: "q", Pick: 2})
	roundTrip(t, QueueArgs{Caller: c, Page: 5})
	roundTrip(t, VolumeArgs{Caller: c, Volume: 150})
	roundTrip(t, SeekArgs{Caller: c, Position: time.Minute})
	roundTrip(t, LoopArgs{Caller: c, Mode: "queue"})
	roundTrip(t, RemoveArgs{Caller: c, Position: 3})
	roundTrip(t, FilterArgs{Caller: c, Name: "8d"})
}

// run is Do for the operations without a result.
func run[A Args](ctx context.Context, s Service, op *Op[A, None], a A) error {
	_, err := Do(ctx, s, op, a)
	return err
}

func roundTrip[T any](t *testing.T, v T) {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var got T
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, v) {
		t.Fatalf("%T changed over JSON:\n%+v\n%+v", v, v, got)
	}
}

// TestServeBadRequests: a forwarded request for an operation this node does
// not know, or with arguments that do not decode into the operation's, is
// answered with a failure (no details) and counted, and nothing runs.
func TestServeBadRequests(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	c := newRoutedCluster(t)
	x := c.node(t, "x", "201")
	tests := []struct {
		name, op, args, label string
	}{
		{"unknown operation", "rewind", `{"guild":"1","user":"ann"}`, "unknown"},
		{"arguments of another shape", "volume", `{"guild":"1","user":"ann","volume":"loud"}`, "volume"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply := fmt.Sprintf("%stest-%d", rpcReplyPrefix, i)
			req, _ := json.Marshal(rpcRequest{Op: tt.op, Reply: reply, From: "test", Wait: 1000, Args: json.RawMessage(tt.args)})
			if err := c.rdb.Publish(ctx, rpcChannelPrefix+"x", req).Err(); err != nil {
				t.Fatal(err)
			}
			res, err := c.rdb.BLPop(ctx, 5*time.Second, reply).Result()
			if err != nil {
				t.Fatal(err)
			}
			var resp rpcResponse
			if err := json.Unmarshal([]byte(res[1]), &resp); err != nil {
				t.Fatal(err)
			}
			if resp.Err == nil || resp.Err.Refusal != "" || resp.Err.Message != "" || resp.Result != nil {
				t.Fatalf("reply %s, want a failure without details", res[1])
			}
			if got := x.count(t, "chopsticks_music_forwarded_served_total", tt.label, "error"); got != 1 {
				t.Fatalf("served %s errors = %v", tt.label, got)
			}
		})
	}
	x.agents.mu.Lock()
	defer x.agents.mu.Unlock()
	if len(x.agents.busy) != 0 {
		t.Fatalf("a bad request allocated agents: %v", x.agents.busy)
	}
}
