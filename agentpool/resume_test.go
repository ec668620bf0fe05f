package agentpool

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/chopsticks-bot/chopsticks/shard"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// agentIdentifies returns the accepted IDENTIFYs of app at or after from.
func agentIdentifies(sim *discordsim.Sim, app discordsim.Snowflake, from time.Time) []discordsim.IdentifyRecord {
	var out []discordsim.IdentifyRecord
	for _, id := range sim.Identifies() {
		if id.AppID == app && id.Accepted && !id.Time.Before(from) {
			out = append(out, id)
		}
	}
	return out
}

// agentResumes returns the RESUMEs of app at or after from.
func agentResumes(sim *discordsim.Sim, app discordsim.Snowflake, from time.Time) []discordsim.ResumeRecord {
	var out []discordsim.ResumeRecord
	for _, r := range sim.Resumes() {
		if r.AppID == app && !r.Time.Before(from) {
			out = append(out, r)
		}
	}
	return out
}

// liveAgentSession returns the agent app's live gateway session.
func liveAgentSession(sim *discordsim.Sim, app discordsim.Snowflake) (discordsim.SessionInfo, bool) {
	for _, s := range sim.Sessions() {
		if s.AppID == app && s.Live {
			return s, true
		}
	}
	return discordsim.SessionInfo{}, false
}

// playing starts music in the world's voice channel through node n and
// waits until Lavalink plays it.
func (w *world) playing(t *testing.T, n *musicNode, query string) lavalinksim.PlayerSnapshot {
	t.Helper()
	ctx := context.Background()
	guild, user, vc := w.guild.String(), w.user.String(), w.voiceCh.String()
	if err := w.sim.JoinVoice(w.guild, w.user, w.voiceCh); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() bool {
		ch, _ := n.states.UserVoiceChannel(ctx, guild, user)
		return ch == vc
	}, "the user's voice state in the cache")
	poll.Eventually(t, 10*time.Second, func() bool { return len(n.runner.Candidates(guild)) == 1 }, "the agent offered for the guild")
	if _, err := n.music.Play(ctx, voice.PlayRequest{GuildID: guild, UserID: user, Query: query}); err != nil {
		t.Fatal(err)
	}
	var p lavalinksim.PlayerSnapshot
	poll.Eventually(t, 10*time.Second, func() bool {
		var ok bool
		p, _, ok = w.playerOn()
		return ok && p.Connected && p.Track != nil && p.Position > 0 && p.Voice.ChannelID == vc
	}, "the track playing on Lavalink")
	return p
}

// TestAgentMoveResumes moves a playing agent from node x to node y as the
// coordinator does on a rebalance or drain (Stop on x, Start on y): y
// RESUMEs the agent's gateway session (Discord sees no second IDENTIFY),
// adopts the player, which keeps its track and position, claims the
// channel, and still knows the agent's guilds, so the agent is offered
// again once the music stops.
func TestAgentMoveResumes(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	sessions := NewRedisSessions(w.rdb)
	x := w.nodeWith(t, "x", sessions)
	w.mainBot(t, x.states)
	guild, user, vc := w.guild.String(), w.user.String(), w.voiceCh.String()
	agentUser := w.agentApp.BotUserID.String()
	if err := x.runner.Start(ctx, w.agent.ID); err != nil {
		t.Fatal(err)
	}
	w.playing(t, x, "https://example.com/one.mp3?length=600000")
	first, ok := liveAgentSession(w.sim, w.agentApp.ID)
	if !ok {
		t.Fatal("no live agent session")
	}
	// The guild record names the live session before the move.
	poll.Eventually(t, 10*time.Second, func() bool {
		g, err := sessions.LoadGuilds(ctx, w.agent.ID)
		return err == nil && g.SessionID == first.ID && slices.Contains(g.Guilds, guild)
	}, "the agent's guilds saved")

	movedAt := time.Now()
	if err := x.runner.Stop(ctx, w.agent.ID); err != nil {
		t.Fatal(err)
	}
	cp, err := sessions.Load(ctx, int(w.agent.ID))
	if err != nil || cp.SessionID != first.ID || !cp.Valid() || cp.Node != "x" {
		t.Fatalf("checkpoint left by Stop: %+v %v, want session %s written by node x", cp, err, first.ID)
	}
	before, _, _ := w.playerOn()
	y := w.nodeWith(t, "y", sessions)
	if err := y.runner.Start(ctx, w.agent.ID); err != nil {
		t.Fatal(err)
	}
	t.Logf("agent moved x -> y: y's Start returned %v after x's Stop began", time.Since(movedAt).Round(time.Millisecond))

	if ids := agentIdentifies(w.sim, w.agentApp.ID, movedAt); len(ids) != 0 {
		t.Fatalf("%d IDENTIFY of the agent after the move, want none: %+v", len(ids), ids)
	}
	rs := agentResumes(w.sim, w.agentApp.ID, movedAt)
	if len(rs) != 1 || !rs[0].Accepted || rs[0].SessionID != first.ID {
		t.Fatalf("resumes of the agent after the move: %+v, want one accepted of %s", rs, first.ID)
	}
	now, ok := liveAgentSession(w.sim, w.agentApp.ID)
	if !ok || now.ID != first.ID || now.Connections != first.Connections+1 {
		t.Fatalf("live agent session %+v, want %s resumed (was %+v)", now, first.ID, first)
	}
	// y adopted the player: same track, still advancing, channel claimed.
	poll.Eventually(t, 10*time.Second, func() bool {
		np, err := y.music.NowPlaying(ctx, guild, user)
		p, _, ok := w.playerOn()
		return err == nil && np.Item.Track.Info.Title == "one.mp3" && ok && p.Connected &&
			p.Track != nil && p.Track.Info.Title == "one.mp3" && p.Position > before.Position
	}, "the player adopted and advancing on y")
	// Adoption claims the channel for y once the player is adopted.
	poll.Eventually(t, 10*time.Second, func() bool {
		agents, channels, err := y.alloc.Snapshot(ctx)
		return err == nil && channels[guild+"/"+vc] == agentUser && agents[agentUser].Node == "y"
	}, "the allocation claimed by y")
	// The resumed session got no READY, yet y knows the agent's guilds:
	// stopped, the agent is offered for the guild again.
	if err := y.music.Stop(ctx, guild, user); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() bool { return len(y.runner.Candidates(guild)) == 1 }, "the agent available again on y")
	for _, v := range w.sim.Violations() {
		t.Errorf("discord violation: %+v", v)
	}
}

// TestAgentMoveRestoresLostPlayer: the agent moves from node x to node y
// while the Lavalink node holding its player goes down, so y has no player
// to resume. y restores the music from the playback saved in Redis: the
// agent re-joins its channel (op 4), Discord sends fresh voice credentials,
// and the track plays on the other Lavalink node from about where it was.
func TestAgentMoveRestoresLostPlayer(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	w := newWorld(t)
	sessions := NewRedisSessions(w.rdb)
	x := w.nodeWith(t, "x", sessions)
	w.mainBot(t, x.states)
	guild, user, vc := w.guild.String(), w.user.String(), w.voiceCh.String()
	if err := x.runner.Start(ctx, w.agent.ID); err != nil {
		t.Fatal(err)
	}
	w.playing(t, x, "https://example.com/one.mp3?length=600000")
	if err := x.music.Seek(ctx, guild, user, 90*time.Second); err != nil {
		t.Fatal(err)
	}
	seeked := time.Now()
	if err := x.runner.Stop(ctx, w.agent.ID); err != nil {
		t.Fatal(err)
	}
	_, holder, ok := w.playerOn()
	if !ok {
		t.Fatal("no player on Lavalink before the move")
	}
	w.lava[holder].Kill()
	y := w.nodeWith(t, "y", sessions)
	if err := y.runner.Start(ctx, w.agent.ID); err != nil {
		t.Fatal(err)
	}
	survivor := w.lava[1-holder]
	var p lavalinksim.PlayerSnapshot
	poll.Eventually(t, 10*time.Second, func() bool {
		var ok bool
		p, ok = survivor.Player(guild)
		return ok && p.Connected && p.Track != nil && p.Voice.ChannelID == vc
	}, "the player restored on the other Lavalink node")
	if p.Track.Info.Title != "one.mp3" || p.Position < 90*time.Second || p.Position > 90*time.Second+time.Since(seeked)+time.Second {
		t.Fatalf("restored %q at %v, want one.mp3 from 90s on", p.Track.Info.Title, p.Position)
	}
	np, err := y.music.NowPlaying(ctx, guild, user)
	if err != nil || np.Item.Track.Info.Title != "one.mp3" || np.Node != w.nodes[1-holder].Name {
		t.Fatalf("y's nowplaying: %+v %v", np, err)
	}
	for _, v := range w.sim.Violations() {
		t.Errorf("discord violation: %+v", v)
	}
}

// TestAgentStartFallsBackToIdentify covers checkpoints the next owner
// cannot resume: a session Discord no longer knows (the resume is refused
// and the agent identifies), and a checkpoint whose guilds are not known
// (the agent identifies at once). Either way the agent becomes available.
func TestAgentStartFallsBackToIdentify(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name string
		// spoil changes what x left in the store.
		spoil func(t *testing.T, s *RedisSessions, id int64, cp shard.Checkpoint)
		// refused is whether a RESUME is sent and refused.
		refused bool
	}{
		{"session unknown to Discord", func(t *testing.T, s *RedisSessions, id int64, cp shard.Checkpoint) {
			g, err := s.LoadGuilds(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			cp.SessionID, g.SessionID = "gone", "gone"
			if err := s.Save(context.Background(), int(id), cp); err != nil {
				t.Fatal(err)
			}
			if err := s.SaveGuilds(context.Background(), id, g); err != nil {
				t.Fatal(err)
			}
		}, true},
		{"guilds of another session", func(t *testing.T, s *RedisSessions, id int64, cp shard.Checkpoint) {
			if err := s.SaveGuilds(context.Background(), id, SessionGuilds{SessionID: "older"}); err != nil {
				t.Fatal(err)
			}
		}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			w := newWorld(t)
			sessions := NewRedisSessions(w.rdb)
			x := w.nodeWith(t, "x", sessions)
			if err := x.runner.Start(ctx, w.agent.ID); err != nil {
				t.Fatal(err)
			}
			poll.Eventually(t, 10*time.Second, func() bool {
				_, err := sessions.LoadGuilds(ctx, w.agent.ID)
				return err == nil
			}, "the agent's guilds saved")
			if err := x.runner.Stop(ctx, w.agent.ID); err != nil {
				t.Fatal(err)
			}
			cp, err := sessions.Load(ctx, int(w.agent.ID))
			if err != nil {
				t.Fatal(err)
			}
			tt.spoil(t, sessions, w.agent.ID, cp)
			y := w.nodeWith(t, "y", sessions)
			from := time.Now()
			if err := y.runner.Start(ctx, w.agent.ID); err != nil {
				t.Fatal(err)
			}
			t.Logf("agent ready on y %v after Start", time.Since(from).Round(time.Millisecond))
			poll.Eventually(t, 10*time.Second, func() bool { return len(y.runner.Candidates(w.guild.String())) == 1 }, "the agent offered")
			if ids := agentIdentifies(w.sim, w.agentApp.ID, from); len(ids) != 1 {
				t.Fatalf("%d IDENTIFY after the start, want 1: %+v", len(ids), ids)
			}
			rs := agentResumes(w.sim, w.agentApp.ID, from)
			switch {
			case tt.refused && (len(rs) != 1 || rs[0].Accepted):
				t.Fatalf("resumes %+v, want one refused", rs)
			case !tt.refused && len(rs) != 0:
				t.Fatalf("resumes %+v, want none", rs)
			}
			// The new session's checkpoint replaces the spoiled one.
			poll.Eventually(t, 10*time.Second, func() bool {
				s, ok := liveAgentSession(w.sim, w.agentApp.ID)
				cp, err := sessions.Load(ctx, int(w.agent.ID))
				g, gerr := sessions.LoadGuilds(ctx, w.agent.ID)
				return ok && err == nil && gerr == nil && cp.SessionID == s.ID && g.SessionID == s.ID
			}, "the new session checkpointed")
		})
	}
}

func TestRedisSessionsGuilds(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	s := NewRedisSessions(rdb)
	if _, err := s.LoadGuilds(ctx, 9); !errors.Is(err, shard.ErrNoCheckpoint) {
		t.Fatalf("LoadGuilds of nothing = %v, want ErrNoCheckpoint", err)
	}
	want := SessionGuilds{SessionID: "s1", Guilds: []string{"1", "2"}}
	if err := s.SaveGuilds(ctx, 9, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.LoadGuilds(ctx, 9)
	if err != nil || got.SessionID != want.SessionID || !slices.Equal(got.Guilds, want.Guilds) {
		t.Fatalf("LoadGuilds = %+v %v, want %+v", got, err, want)
	}
	// Agent checkpoints live apart from the main bot's shard checkpoints.
	if err := s.Save(ctx, 9, shard.Checkpoint{SessionID: "s1", Seq: 4}); err != nil {
		t.Fatal(err)
	}
	if _, err := shard.NewRedisCheckpoints(s.rdb).Load(ctx, 9); !errors.Is(err, shard.ErrNoCheckpoint) {
		t.Fatalf("shard 9's checkpoint = %v, want none", err)
	}
	keys, err := s.rdb.Keys(ctx, "chopsticks:agent:{9}:*").Result()
	slices.Sort(keys)
	if err != nil || !slices.Equal(keys, []string{"chopsticks:agent:{9}:checkpoint", "chopsticks:agent:{9}:guilds"}) {
		t.Fatalf("keys = %v %v", keys, err)
	}
}
