package agentpool

import (
	"context"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// router gives a node the music router the Chopsticks node builds: the
// allocator locates channels, Redis carries forwarded commands, and it
// serves the commands forwarded to it until the test ends.
func (w *world) router(t *testing.T, n *musicNode, name string, live func() []string) *voice.Router {
	t.Helper()
	r, err := voice.NewRouter(voice.RouterConfig{Music: n.music, Locator: n.alloc, Redis: w.rdb, Node: name,
		LiveNodes: live, Registerer: n.reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("router %s: %v", name, err)
		}
	})
	poll.Eventually(t, 10*time.Second, func() bool {
		subs, err := w.rdb.PubSubNumSub(ctx, "chopsticks:music:rpc2:"+name).Result()
		return err == nil && subs["chopsticks:music:rpc2:"+name] == 1
	}, "%s", "node "+name+" serving forwarded commands")
	return r
}

// TestMusicFromAnotherNode: node x runs the agent and plays; node y, which
// has neither the agent nor the session (as when the guild's shard is on y),
// runs every command through its router, and its /play reaches x's agent.
func TestMusicFromAnotherNode(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	x, y := w.node(t, "x"), w.node(t, "y")
	live := func() []string { return []string{"x", "y"} }
	rx, ry := w.router(t, x, "x", live), w.router(t, y, "y", live)
	w.mainBot(t, x.states)
	guild, user, vc := w.guild.String(), w.user.String(), w.voiceCh.String()
	agentUser := w.agentApp.BotUserID.String()
	if err := w.sim.JoinVoice(w.guild, w.user, w.voiceCh); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() bool {
		ch, _ := y.states.UserVoiceChannel(ctx, guild, user)
		return ch == vc
	}, "the user's voice state, seen by y")
	if err := x.runner.Start(ctx, w.agent.ID); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() bool { return len(x.runner.Candidates(guild)) == 1 }, "the agent offered on x")

	who := voice.Caller{GuildID: guild, UserID: user}
	// /play on x, where the agent runs.
	res, err := voice.Do(ctx, rx, voice.OpPlay, voice.PlayRequest{GuildID: guild, UserID: user, Query: "https://example.com/one.mp3?length=600000"})
	if err != nil || !res.Started {
		t.Fatalf("play on x: %+v %v", res, err)
	}
	poll.Eventually(t, 10*time.Second, func() bool {
		p, _, ok := w.playerOn()
		return ok && p.Connected && p.Track != nil && p.Track.Info.Title == "one.mp3" && p.Voice.ChannelID == vc
	}, "one.mp3 playing")
	// Everything else through y.
	res, err = voice.Do(ctx, ry, voice.OpPlay, voice.PlayRequest{GuildID: guild, UserID: user, Query: "https://example.com/two.mp3?length=600000"})
	if err != nil || res.Started || res.Position != 1 {
		t.Fatalf("queueing through y: %+v %v", res, err)
	}
	view, err := voice.Do(ctx, ry, voice.OpQueue, voice.QueueArgs{Caller: who, Page: 1})
	if err != nil || view.Total != 1 || view.NowPlaying.Item.Track.Info.Title != "one.mp3" || view.Items[0].Track.Info.Title != "two.mp3" {
		t.Fatalf("queue through y: %+v %v", view, err)
	}
	if _, err := voice.Do(ctx, ry, voice.OpPause, who); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := w.playerOn(); !p.Paused {
		t.Fatal("/pause through y did not pause the player")
	}
	if _, err := voice.Do(ctx, ry, voice.OpResume, who); err != nil {
		t.Fatal(err)
	}
	if _, err := voice.Do(ctx, ry, voice.OpVolume, voice.VolumeArgs{Caller: who, Volume: 120}); err != nil {
		t.Fatal(err)
	}
	if p, _, _ := w.playerOn(); p.Paused || p.Volume != 120 {
		t.Fatalf("after resume and volume through y: %+v", p)
	}
	next, err := voice.Do(ctx, ry, voice.OpSkip, who)
	if err != nil || next == nil || next.Track.Info.Title != "two.mp3" {
		t.Fatalf("skip through y: %+v %v", next, err)
	}
	poll.Eventually(t, 10*time.Second, func() bool {
		p, _, ok := w.playerOn()
		return ok && p.Track != nil && p.Track.Info.Title == "two.mp3" && p.Position > 0
	}, "two.mp3 playing")
	np, err := voice.Do(ctx, ry, voice.OpNowPlaying, who)
	if err != nil || np.Item.Track.Info.Title != "two.mp3" || np.Volume != 120 || np.Paused {
		t.Fatalf("nowplaying through y: %+v %v", np, err)
	}
	if _, err := voice.Do(ctx, ry, voice.OpStop, who); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() bool { return w.sim.VoiceChannelOf(w.guild, w.agentApp.BotUserID) == 0 }, "the agent out of voice")
	poll.Eventually(t, 10*time.Second, func() bool { return len(x.runner.Candidates(guild)) == 1 }, "the agent free on x")

	// A new /play on y, which has no agent: x sends its agent.
	t0 := time.Now()
	res, err = voice.Do(ctx, ry, voice.OpPlay, voice.PlayRequest{GuildID: guild, UserID: user, Query: "https://example.com/three.mp3?length=600000"})
	if err != nil || !res.Started {
		t.Fatalf("play through y without a local agent: %+v %v", res, err)
	}
	t.Logf("/play through y, played by x's agent, answered in %v", time.Since(t0).Round(time.Millisecond))
	poll.Eventually(t, 10*time.Second, func() bool { return w.sim.VoiceChannelOf(w.guild, w.agentApp.BotUserID) == w.voiceCh }, "the agent back in the channel")
	poll.Eventually(t, 10*time.Second, func() bool {
		p, _, ok := w.playerOn()
		return ok && p.Connected && p.Track != nil && p.Track.Info.Title == "three.mp3"
	}, "three.mp3 playing")
	if agents, _, err := x.alloc.Snapshot(ctx); err != nil || agents[agentUser].Node != "x" {
		t.Fatalf("allocation: %v %v", agents, err)
	}
	if !x.music.Has(guild, vc) || y.music.Has(guild, vc) {
		t.Fatal("the session is not on x alone")
	}
	for _, op := range []string{"play", "queue", "pause", "resume", "volume", "skip", "nowplaying", "stop"} {
		if got := counter(t, y, "chopsticks_music_forwarded_calls_total", op, "ok"); got < 1 {
			t.Errorf("%s was not forwarded by y", op)
		}
		if got := counter(t, x, "chopsticks_music_forwarded_calls_total", op, "ok"); got != 0 {
			t.Errorf("x forwarded %s", op)
		}
	}
}

// counter returns the counter name{op, outcome} of node n, 0 when absent.
func counter(t *testing.T, n *musicNode, name, op, outcome string) float64 {
	t.Helper()
	mfs, err := n.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["op"] == op && labels["outcome"] == outcome {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}
