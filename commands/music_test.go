package commands_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/diamondburned/arikawa/v3/gateway"
	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/agentpool"
	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/lavalink"
	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/chopsticks-bot/chopsticks/tts"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// musicResponder keeps every response and deferred edit.
type musicResponder struct {
	mu      sync.Mutex
	texts   []string
	ephem   []bool
	choices []api.AutocompleteChoices // autocomplete answers
	last    api.InteractionResponse   // the last response with data
}

func embedText(content string, embeds []discord.Embed) string {
	var b strings.Builder
	b.WriteString(content)
	for _, em := range embeds {
		b.WriteString("\n" + em.Title + "\n" + em.Description)
		for _, f := range em.Fields {
			b.WriteString("\n" + f.Name + ": " + f.Value)
		}
		if em.Footer != nil {
			b.WriteString("\n" + em.Footer.Text)
		}
	}
	return b.String()
}

func (r *musicResponder) RespondInteraction(_ discord.InteractionID, _ string, resp api.InteractionResponse) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if resp.Type == api.AutocompleteResult {
		r.choices = append(r.choices, resp.Data.Choices)
		return nil
	}
	if resp.Data == nil || resp.Type == api.DeferredMessageInteractionWithSource {
		return nil
	}
	r.last = resp
	var content string
	if resp.Data.Content != nil {
		content = resp.Data.Content.Val
	}
	var embeds []discord.Embed
	if resp.Data.Embeds != nil {
		embeds = *resp.Data.Embeds
	}
	r.texts = append(r.texts, embedText(content, embeds))
	r.ephem = append(r.ephem, resp.Data.Flags&discord.EphemeralMessage != 0)
	return nil
}

func (r *musicResponder) EditInteractionResponse(_ discord.AppID, _ string, data api.EditInteractionResponseData) (*discord.Message, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var content string
	if data.Content != nil {
		content = data.Content.Val
	}
	var embeds []discord.Embed
	if data.Embeds != nil {
		embeds = *data.Embeds
	}
	r.texts = append(r.texts, embedText(content, embeds))
	r.ephem = append(r.ephem, false)
	return &discord.Message{}, nil
}

type admitAll struct{}

func (admitAll) Claim(context.Context, discord.InteractionID, string) (bool, error) { return true, nil }

// discordVoice plays Discord's part after an agent's op 4: it reports the
// agent's voice state and server to the music service.
type discordVoice struct{ m atomic.Pointer[voice.Music] }

func (d *discordVoice) Join(_ context.Context, agent, guild, channel string) error {
	m := d.m.Load()
	go func() {
		ctx := context.Background()
		if channel != "" {
			m.VoiceServerUpdate(ctx, agent, guild, "tok-"+agent, "sim.discord.media:443")
		}
		m.VoiceStateUpdate(ctx, agent, guild, "sess-"+agent, channel)
	}()
	return nil
}

type oneAgent []string

func (o oneAgent) Candidates(string) []string { return append([]string(nil), o...) }

type musicEnv struct {
	router *commands.Router
	resp   *musicResponder
	states *voice.StateCache
	lava   *lavalinksim.Server
	alloc  *agentpool.Allocator
	etcd   *clientv3.Client
	svc    commands.MusicService // the voice router the commands use
	rdb    *redis.Client
	nextID atomic.Uint64
}

func newMusicEnv(t *testing.T) *musicEnv { return newMusicEnvWith(t, nil) }

// newMusicEnvWith is newMusicEnv with /say spoken by sp (nil: no /say).
func newMusicEnvWith(t *testing.T, sp *tts.Speaker) *musicEnv {
	t.Helper()
	ctx := context.Background()
	lava, err := lavalinksim.Start(lavalinksim.Config{PlayerUpdateInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lava.Close() })
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	cli, err := clientv3.New(clientv3.Config{Endpoints: servertest.Etcd(t), DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	dv := &discordVoice{}
	alloc, err := agentpool.NewAllocator(ctx, agentpool.AllocatorConfig{Client: cli, Node: "test", Candidates: oneAgent{"201"}, Joiner: dv})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(alloc.Close)
	states := voice.NewStateCache(rdb)
	mcfg := voice.MusicConfig{
		Lavalink:  lavalink.Config{Nodes: []lavalink.NodeConfig{{Name: "sim", Address: lava.Addr(), Password: lava.Password()}}},
		BotUserID: "100", Queues: voice.NewQueues(rdb, 0), Voice: states, Agents: alloc, QueuePageSize: 2,
	}
	if sp != nil {
		mcfg.Speech = sp
	}
	m, err := voice.NewMusic(mcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(m.Close)
	dv.m.Store(m)
	// The commands go through the router, as on a node: here every session
	// is local except those allocated by other (absent) nodes.
	route, err := voice.NewRouter(voice.RouterConfig{Music: m, Locator: alloc, Redis: rdb, Node: "test"})
	if err != nil {
		t.Fatal(err)
	}
	cmds := commands.Music(route)
	if sp != nil {
		cmds = append(cmds, commands.Say(route, sp, 0)...)
	}
	cat, err := commands.NewCatalog(cmds, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp := &musicResponder{}
	router, err := commands.NewRouter(commands.Config{Catalog: cat, Responder: resp, Claimer: admitAll{}, NodeID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	e := &musicEnv{router: router, resp: resp, states: states, lava: lava, alloc: alloc, etcd: cli, svc: route, rdb: rdb}
	e.nextID.Store(1 << 41)
	return e
}

// inVoice puts a user in a voice channel as the main bot's gateway reports it.
func (e *musicEnv) inVoice(t *testing.T, guild, user, channel discord.Snowflake) {
	t.Helper()
	ev := &gateway.VoiceStateUpdateEvent{VoiceState: discord.VoiceState{GuildID: discord.GuildID(guild), UserID: discord.UserID(user), ChannelID: discord.ChannelID(channel)}}
	if _, err := e.states.Handle(context.Background(), ev); err != nil {
		t.Fatal(err)
	}
}

// run invokes a command as user in guild and returns the reply text and
// whether it was ephemeral. opts alternate name, value (string or int).
func (e *musicEnv) run(t *testing.T, guild, user discord.Snowflake, name string, opts ...any) (string, bool) {
	t.Helper()
	var list discord.CommandInteractionOptions
	for i := 0; i+1 < len(opts); i += 2 {
		o := discord.CommandInteractionOption{Name: opts[i].(string)}
		raw, _ := json.Marshal(opts[i+1])
		o.Value = raw
		switch opts[i+1].(type) {
		case string:
			o.Type = discord.StringOptionType
		case int:
			o.Type = discord.IntegerOptionType
		}
		list = append(list, o)
	}
	u := discord.User{ID: discord.UserID(user), Username: "u" + user.String()}
	ev := &discord.InteractionEvent{ID: commands.FreshID(e.nextID.Add(1)), AppID: 1, Token: "tok",
		GuildID: discord.GuildID(guild), ChannelID: 6, User: &u,
		Data: &discord.CommandInteraction{Name: name, Options: list}}
	e.resp.mu.Lock()
	n := len(e.resp.texts)
	e.resp.mu.Unlock()
	e.router.Handle(context.Background(), ev, 0)
	e.resp.mu.Lock()
	defer e.resp.mu.Unlock()
	if len(e.resp.texts) != n+1 {
		t.Fatalf("/%s: %d replies, want 1", name, len(e.resp.texts)-n)
	}
	return e.resp.texts[n], e.resp.ephem[n]
}

func waitPlayer(t *testing.T, lava *lavalinksim.Server, guild string, ok func(lavalinksim.PlayerSnapshot) bool) lavalinksim.PlayerSnapshot {
	t.Helper()
	var p lavalinksim.PlayerSnapshot
	poll.Eventually(t, 5*time.Second, func() (bool, string) {
		var found bool
		p, found = lava.Player(guild)
		return found && ok(p), fmt.Sprintf("%+v (found %v)", p, found)
	}, "the player of %s", guild)
	return p
}

func TestMusicCommandRefusals(t *testing.T) {
	t.Parallel()
	e := newMusicEnv(t)
	const g, alice, bob = 5, 1001, 1002
	e.inVoice(t, g, alice, 50)
	tests := []struct {
		name  string
		guild discord.Snowflake
		user  discord.Snowflake
		cmd   string
		opts  []any
		want  string
	}{
		{"play outside voice", g, bob, "play", []any{"query", "song"}, "You need to be in a voice channel"},
		{"skip with nothing playing", g, alice, "skip", nil, "Nothing is playing in your voice channel."},
		{"queue with nothing playing", g, alice, "queue", nil, "Nothing is playing"},
		{"pause with nothing playing", g, alice, "pause", nil, "Nothing is playing"},
		{"volume with nothing playing", g, alice, "volume", []any{"percent", 50}, "Nothing is playing"},
		{"volume out of range", g, alice, "volume", []any{"percent", 300}, "200"},
		{"seek gibberish", g, alice, "seek", []any{"time", "soon"}, `"soon" is not a time; write it like 1:30`},
		{"no results", g, alice, "play", []any{"query", "nomatch at all"}, "No tracks found for that search."},
		{"load error", g, alice, "play", []any{"query", "loaderror"}, "could not be loaded"},
		{"bad loop mode", g, alice, "loop", []any{"mode", "forever"}, "choose one of off, track, queue"},
		{"bad filter", g, alice, "filter", []any{"name", "reverb"}, "choose one of bassboost, nightcore, 8d, off"},
		{"in a DM", 0, alice, "nowplaying", nil, "Music works only in a server"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, ephemeral := e.run(t, tt.guild, tt.user, tt.cmd, tt.opts...)
			if !strings.Contains(text, tt.want) || !ephemeral {
				t.Fatalf("reply %q (ephemeral %v), want it to contain %q", text, ephemeral, tt.want)
			}
		})
	}
	// The only agent plays in guild 5: another guild is told none is free,
	// and nothing is allocated for it.
	if text, _ := e.run(t, g, alice, "play", "query", "https://example.com/a.mp3?length=600000"); !strings.Contains(text, "Now playing") {
		t.Fatalf("play: %q", text)
	}
	e.inVoice(t, 6, bob, 60)
	if text, eph := e.run(t, 6, bob, "play", "query", "song"); !strings.Contains(text, "No music agent is free right now") || !eph {
		t.Fatalf("second guild: %q", text)
	}
	agents, _, err := e.alloc.Snapshot(context.Background())
	if err != nil || len(agents) != 1 || agents["201"].Guild != "5" {
		t.Fatalf("allocations: %v %v", agents, err)
	}
}

func TestMusicCommandOnSilentNode(t *testing.T) {
	t.Parallel()
	e := newMusicEnv(t)
	const g, u = 8, 1001
	e.inVoice(t, g, u, 80)
	// Node "gone" sent an agent to channel 80 and then stopped answering:
	// its allocation outlives it until its lease ends.
	gone, err := agentpool.NewAllocator(context.Background(), agentpool.AllocatorConfig{Client: e.etcd, Node: "gone", Candidates: oneAgent{"301"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(gone.Close)
	if _, err := gone.Allocate(context.Background(), "8", "80"); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"skip", "queue", "pause"} {
		text, ephemeral := e.run(t, g, u, cmd)
		if !strings.Contains(text, "The music player's node is not answering; try again in a moment.") || !ephemeral {
			t.Errorf("/%s: reply %q (ephemeral %v)", cmd, text, ephemeral)
		}
	}
}

func TestMusicCommands(t *testing.T) {
	t.Parallel()
	e := newMusicEnv(t)
	const g, u = 7, 1001
	e.inVoice(t, g, u, 70)
	check := func(cmd string, want string, opts ...any) string {
		t.Helper()
		text, eph := e.run(t, g, u, cmd, opts...)
		if !strings.Contains(text, want) || eph {
			t.Fatalf("/%s: %q (ephemeral %v), want %q", cmd, text, eph, want)
		}
		return text
	}
	check("play", "Now playing\n[one.mp3](https://example.com/one.mp3?length=600000) by example.com (10:00)", "query", "https://example.com/one.mp3?length=600000")
	p := waitPlayer(t, e.lava, "7", func(p lavalinksim.PlayerSnapshot) bool { return p.Connected && p.Position > 0 })
	if p.Voice.ChannelID != "70" || p.Voice.SessionID != "sess-201" {
		t.Fatalf("voice on Lavalink: %+v", p.Voice)
	}
	check("play", "at position 1", "query", "https://example.com/two.mp3?length=300000")
	check("play", "3 tracks queued from position 2", "query", "https://www.youtube.com/playlist?list=PLx")
	q := check("queue", "`1.` [two.mp3](https://example.com/two.mp3?length=300000) by example.com (5:00)")
	if !strings.Contains(q, "Page 1 of 2 · 4 queued") || !strings.Contains(q, "Playing: [one.mp3]") {
		t.Fatalf("queue page 1: %q", q)
	}
	check("queue", "`3.`", "page", 2)
	if text, eph := e.run(t, g, u, "queue", "page", 3); !strings.Contains(text, "Page 3 does not exist (the queue has 2).") || !eph {
		t.Fatalf("queue page 3: %q", text)
	}
	check("pause", "Paused")
	if text, _ := e.run(t, g, u, "pause"); !strings.Contains(text, "The music is already paused.") {
		t.Fatalf("pause twice: %q", text)
	}
	check("resume", "Resumed")
	if text, _ := e.run(t, g, u, "resume"); !strings.Contains(text, "The music is not paused.") {
		t.Fatalf("resume twice: %q", text)
	}
	check("volume", "Set to 150%", "percent", 150)
	check("seek", "Jumped to 1:30", "time", "1:30")
	if text, _ := e.run(t, g, u, "seek", "time", "2:00:00"); !strings.Contains(text, "The track is 10m0s long") {
		t.Fatalf("seek past the end: %q", text)
	}
	check("filter", "Filter: 8d", "name", "8d")
	check("loop", "The queue repeats.", "mode", "queue")
	np := check("nowplaying", "[one.mp3]")
	for _, want := range []string{"Volume: 150%", "Loop: queue", "Filter: 8d", "Requested by: <@1001>", "/ 10:00"} {
		if !strings.Contains(np, want) {
			t.Fatalf("nowplaying lacks %q: %q", want, np)
		}
	}
	p = waitPlayer(t, e.lava, "7", func(p lavalinksim.PlayerSnapshot) bool { return p.Volume == 150 })
	if p.Position < 90*time.Second || p.Filters.Rotation == nil {
		t.Fatalf("after controls: position %v, filters %+v", p.Position, p.Filters)
	}
	check("shuffle", "4 tracks in a new order")
	check("remove", "is out of the queue", "position", 4)
	if text, eph := e.run(t, g, u, "remove", "position", 9); !eph || !strings.Contains(text, "9") {
		t.Fatalf("remove 9: %q", text)
	}
	skipped := check("skip", "Now playing")
	waitPlayer(t, e.lava, "7", func(p lavalinksim.PlayerSnapshot) bool {
		return p.Track != nil && p.Track.Info.Title != "one.mp3" && strings.Contains(skipped, p.Track.Info.Title)
	})
	check("stop", "the agent left the channel")
	if _, ok := e.lava.Player("7"); ok {
		t.Fatal("player still on Lavalink after /stop")
	}
	if agents, _, _ := e.alloc.Snapshot(context.Background()); len(agents) != 0 {
		t.Fatalf("agent still allocated after /stop: %v", agents)
	}
	if text, _ := e.run(t, g, u, "nowplaying"); !strings.Contains(text, "Nothing is playing") {
		t.Fatalf("after stop: %q", text)
	}
}

// TestMusicLongTitles: a title taken from a long URL stops at 100
// characters, and a URI too long to link is shown unlinked, so that a page
// of the queue stays readable and within Discord's embed limits.
func TestMusicLongTitles(t *testing.T) {
	t.Parallel()
	e := newMusicEnv(t)
	const g, u = 7, 1001
	e.inVoice(t, g, u, 70)
	name := strings.Repeat("a", 450) // the query may be 500 characters
	text, _ := e.run(t, g, u, "play", "query", "https://example.com/"+name+"?length=600000")
	want := "Now playing\n**" + strings.Repeat("a", 99) + "…** by example.com (10:00)"
	if !strings.Contains(text, want) {
		t.Fatalf("/play: %q, want %q", text, want)
	}
}

func TestParseSeek(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"90", 90 * time.Second, true},
		{"1:30", 90 * time.Second, true},
		{"0:05", 5 * time.Second, true},
		{"1:02:03", time.Hour + 2*time.Minute + 3*time.Second, true},
		{"1m30s", 90 * time.Second, true},
		{" 2:00 ", 2 * time.Minute, true},
		{"", 0, false},
		{"1:3", 0, false},
		{"1:60", 0, false},
		{"-5", 0, false},
		{"-1m", 0, false},
		{"1:2:3:4", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
	}
	for _, tt := range tests {
		got, err := commands.ParseSeek(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParseSeek(%q) = %v, %v; want %v ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, voice.ErrBadArgument) {
			t.Errorf("ParseSeek(%q) error %v is not ErrBadArgument", tt.in, err)
		}
	}
}
