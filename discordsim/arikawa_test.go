package discordsim

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/diamondburned/arikawa/v3/gateway"
	"github.com/diamondburned/arikawa/v3/utils/httputil"
	"github.com/diamondburned/arikawa/v3/utils/httputil/httpdriver"
	"github.com/diamondburned/arikawa/v3/utils/json/option"
	"github.com/diamondburned/arikawa/v3/utils/ws"
	"golang.org/x/time/rate"
)

// rewriteTransport sends arikawa's https://discord.com requests to the emulator.
type rewriteTransport struct{ target *url.URL }

func (rt rewriteTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.URL.Scheme = rt.target.Scheme
	r.URL.Host = rt.target.Host
	r.Host = rt.target.Host
	return http.DefaultTransport.RoundTrip(r)
}

func arikawaClient(s *Sim) *api.Client {
	target, _ := url.Parse(s.URL())
	hc := httputil.NewClient()
	hc.Client = httpdriver.WrapClient(http.Client{Transport: rewriteTransport{target: target}, Timeout: 10 * time.Second})
	return api.NewCustomClient("Bot "+s.Token(), hc)
}

// shardEvents collects what one arikawa gateway shard received.
type shardEvents struct {
	mu          sync.Mutex
	ready       *gateway.ReadyEvent
	guilds      map[discord.GuildID]bool
	resumed     int
	interaction chan *gateway.InteractionCreateEvent
}

func (e *shardEvents) snapshot() (bool, int, int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.ready != nil, len(e.guilds), e.resumed
}

// TestArikawaScenario runs an independent client (arikawa v3.6.0) against the
// emulator: 4 shards identify in bucket order, receive their guilds, survive a
// forced op 7 by resuming, answer an interaction through REST and handle a 429.
func TestArikawaScenario(t *testing.T) {
	cfg := fastConfig()
	cfg.Guilds = 12
	cfg.RecommendedShards = 4
	cfg.IdentifyWindow = 250 * time.Millisecond
	cfg.HeartbeatInterval = 500 * time.Millisecond
	cfg.InteractionDeadline = 3 * time.Second
	cfg.RouteRateLimit = 2
	cfg.RouteRateWindow = time.Second
	cfg.ResumeWindow = time.Minute // arikawa dials at most once per 5 s
	s := startSim(t, cfg)
	client := arikawaClient(s)

	bot, err := client.BotURL()
	if err != nil {
		t.Fatal(err)
	}
	if bot.Shards != 4 || bot.StartLimit.MaxConcurrency != 1 || bot.StartLimit.Remaining != 1000 {
		t.Fatalf("BotURL = %+v", bot)
	}
	me, err := client.Me()
	if err != nil || me.ID != discord.UserID(s.DefaultApp().BotUserID) {
		t.Fatalf("Me = %+v, %v", me, err)
	}
	gwURL := gateway.AddGatewayParams(bot.URL)

	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	opts := gateway.DefaultGatewayOpts
	opts.ReconnectDelay = func(int) time.Duration { return 100 * time.Millisecond }
	// The identify limiter is shared by all shards, as arikawa's shard manager does,
	// with Discord's rule: max_concurrency identifies per window.
	shortLimit := rate.NewLimiter(rate.Every(cfg.IdentifyWindow+20*time.Millisecond), bot.StartLimit.MaxConcurrency)
	events := make([]*shardEvents, 4)
	for shard := 0; shard < 4; shard++ {
		cmd := gateway.DefaultIdentifyCommand("Bot " + s.Token())
		cmd.SetShard(shard, 4)
		cmd.AddIntents(gateway.IntentGuilds | gateway.IntentGuildMessages)
		id := gateway.Identifier{IdentifyCommand: cmd, IdentifyShortLimit: shortLimit, IdentifyGlobalLimit: rate.NewLimiter(rate.Inf, 1)}
		g := gateway.NewCustomWithIdentifier(gwURL, id, &opts)
		ev := &shardEvents{guilds: map[discord.GuildID]bool{}, interaction: make(chan *gateway.InteractionCreateEvent, 4)}
		events[shard] = ev
		ops := g.Connect(ctx)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for op := range ops {
				ev.mu.Lock()
				switch d := op.Data.(type) {
				case *gateway.ReadyEvent:
					ev.ready = d
				case *gateway.GuildCreateEvent:
					ev.guilds[d.ID] = true
				case *gateway.ResumedEvent:
					ev.resumed++
				case *gateway.InteractionCreateEvent:
					ev.interaction <- d
				case *ws.BackgroundErrorEvent:
					if !strings.Contains(d.Error(), "context canceled") {
						t.Logf("shard %d background error: %v", shard, d)
					}
				}
				ev.mu.Unlock()
			}
		}()
		// Bucket order: with max_concurrency 1 every shard is its own bucket
		// and they start one after the other.
		within(t, 5*time.Second, func() bool { ready, _, _ := ev.snapshot(); return ready })
	}
	for shard, ev := range events {
		want := s.BotGuilds(s.AppID(), shard, 4)
		within(t, 5*time.Second, func() bool { _, n, _ := ev.snapshot(); return n == len(want) })
		for _, gid := range want {
			if !ev.guilds[discord.GuildID(gid)] {
				t.Fatalf("shard %d missed guild %s", shard, gid)
			}
		}
		if len(want) != 3 {
			t.Fatalf("shard %d owns %d guilds, want 3", shard, len(want))
		}
	}
	ids := s.Identifies()
	if len(ids) != 4 {
		t.Fatalf("identifies = %+v", ids)
	}
	for k, rec := range ids {
		if !rec.Accepted || rec.Shard != [2]int{k, 4} {
			t.Fatalf("identify %d = %+v", k, rec)
		}
		if k > 0 && rec.Time.Sub(ids[k-1].Time) < cfg.IdentifyWindow {
			t.Fatalf("identify %d came %v after the previous one", k, rec.Time.Sub(ids[k-1].Time))
		}
	}

	// Forced op 7 on shard 2: arikawa reconnects and resumes.
	if n := s.Reconnect(ShardTarget(2)); n != 1 {
		t.Fatalf("reconnect hit %d connections", n)
	}
	ok := s.Await(t.Context(), func() bool { _, _, r := events[2].snapshot(); return r == 1 || time.Since(ids[3].Time) > 8*time.Second })
	if _, _, r := events[2].snapshot(); ok != nil || r != 1 {
		t.Fatalf("no RESUMED: resumes %+v identifies %d violations %+v sessions %+v", s.Resumes(), len(s.Identifies()), s.Violations(), s.Sessions())
	}
	rs := s.Resumes()
	if len(rs) != 1 || !rs[0].Accepted || rs[0].Shard != [2]int{2, 4} {
		t.Fatalf("resumes = %+v", rs)
	}
	if len(s.Identifies()) != 4 {
		t.Fatal("op 7 caused a new IDENTIFY instead of a RESUME")
	}

	// An interaction in a guild of shard 3, answered through REST.
	if _, err := client.CreateCommand(discord.AppID(s.AppID()), api.CreateCommandData{Name: "ping", Description: "Ping"}); err != nil {
		t.Fatal(err)
	}
	guild := s.BotGuilds(s.AppID(), 3, 4)[0]
	it, err := s.Invoke(ctx, Invocation{GuildID: guild, UserID: s.DefaultUsers()[0], Command: "ping"})
	if err != nil {
		t.Fatal(err)
	}
	var ic *gateway.InteractionCreateEvent
	select {
	case ic = <-events[3].interaction:
	case <-time.After(5 * time.Second):
		t.Fatal("shard 3 did not receive INTERACTION_CREATE")
	}
	if err := client.RespondInteraction(ic.ID, ic.Token, api.InteractionResponse{
		Type: api.MessageInteractionWithSource,
		Data: &api.InteractionResponseData{Content: option.NewNullableString("pong")},
	}); err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(ctx, 3*time.Second)
	defer wcancel()
	msg, err := it.WaitMessage(wctx)
	if err != nil || msg.Content != "pong" {
		t.Fatalf("reply = %+v, %v", msg, err)
	}

	// A 429: another client exhausts the channel's bucket; arikawa gets 429,
	// waits Retry-After and succeeds.
	channel, _ := s.TextChannel(guild)
	for i := 0; i < cfg.RouteRateLimit; i++ {
		do(t, "POST", s.APIURL(9)+"/channels/"+channel.String()+"/messages", "Bot "+s.Token(), map[string]any{"content": "filler"}, nil)
	}
	start := time.Now()
	sent, err := client.SendMessage(discord.ChannelID(channel), "after 429")
	if err != nil {
		t.Fatal(err)
	}
	if sent.Content != "after 429" || time.Since(start) < 500*time.Millisecond {
		t.Fatalf("sent %+v after %v", sent, time.Since(start))
	}
	if len(s.ViolationsOf(ViolationRateLimited)) < 1 {
		t.Fatal("no 429 was served")
	}
	for _, v := range s.Violations() {
		if v.Kind != ViolationRateLimited {
			t.Errorf("unexpected violation %+v", v)
		}
	}
}
