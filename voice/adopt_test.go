package voice

import (
	"context"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/lavalink"
	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// twoLavalinkNodes starts Lavalink nodes a and b and Redis for a cluster
// of Music instances, which newMusic makes: each a Chopsticks node sharing
// the voice states and the agent pool (agent 201).
func twoLavalinkNodes(t *testing.T) ([]*lavalinksim.Server, []lavalink.NodeConfig, *voiceMap, *agentPool, func() *Music) {
	t.Helper()
	var sims []*lavalinksim.Server
	var nodes []lavalink.NodeConfig
	for _, name := range []string{"a", "b"} {
		sim, err := lavalinksim.Start(lavalinksim.Config{PlayerUpdateInterval: 100 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { sim.Close() })
		sims = append(sims, sim)
		nodes = append(nodes, lavalink.NodeConfig{Name: name, Address: sim.Addr(), Password: sim.Password()})
	}
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	states := &voiceMap{m: map[string]string{}}
	pool := &agentPool{free: []string{"201"}, busy: map[string]string{}, released: make(chan string, 10)}
	newMusic := func() *Music {
		m, err := NewMusic(MusicConfig{Lavalink: lavalink.Config{Nodes: nodes}, BotUserID: "100",
			Queues: NewQueues(rdb, 0), Voice: states, Agents: pool})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(m.Close)
		return m
	}
	return sims, nodes, states, pool, newMusic
}

// playing waits until one of sims plays guild's track, connected, and
// returns its index.
func playing(t *testing.T, sims []*lavalinksim.Server, guild string) int {
	t.Helper()
	holder := -1
	poll.Eventually(t, 5*time.Second, func() bool {
		for i, s := range sims {
			if p, ok := s.Player(guild); ok && p.Connected && p.Position > 0 {
				holder = i
				return true
			}
		}
		return false
	}, "the condition")
	return holder
}

// TestAdoptDoesNotWaitForDeadNodes: an agent had Lavalink sessions on two
// nodes and a player on one; its Chopsticks node dies, and so does the
// other Lavalink node. The adopting node resumes the live session and
// adopts the player without waiting out its 5 s limit for the dead node,
// which refuses connections.
func TestAdoptDoesNotWaitForDeadNodes(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name     string
		killIdle bool // kill the node without the player
	}{
		{"every node alive", false},
		{"the other node dead", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			sims, nodes, states, pool, newMusic := twoLavalinkNodes(t)
			x := newMusic()
			pool.music = x
			const g, u = "7", "frank"
			states.set(g, u, "70")
			if _, err := x.Play(ctx, PlayRequest{GuildID: g, UserID: u, Query: "https://example.com/long.mp3?length=600000"}); err != nil {
				t.Fatal(err)
			}
			holder := playing(t, sims, g)
			poll.Eventually(t, 5*time.Second, func() bool {
				s, _ := x.Queues().LavalinkSessions(ctx, "201")
				return s["a"] != "" && s["b"] != ""
			}, "the condition")
			x.Close()
			poll.Eventually(t, 5*time.Second, func() bool {
				for _, sim := range sims {
					for _, s := range sim.Sessions() {
						if s.UserID == "201" && s.Connected {
							return false
						}
					}
				}
				return true
			}, "the condition")
			if tt.killIdle {
				sims[1-holder].Kill()
			}
			y := newMusic()
			t0 := time.Now()
			n, err := y.Adopt(ctx, "201")
			took := time.Since(t0)
			t.Logf("adopt took %v", took.Round(time.Millisecond))
			if err != nil || n != 1 {
				t.Fatalf("adopt: %d %v", n, err)
			}
			// The limit is 5 s; a node refusing connections is known down
			// after one attempt.
			if took > 3*time.Second {
				t.Fatalf("adopt took %v: it waited for a dead node", took)
			}
			np, err := y.NowPlaying(ctx, g, u)
			if err != nil || np.Item.Track.Info.Title != "long.mp3" || np.Position <= 0 || np.Node != nodes[holder].Name {
				t.Fatalf("adopted nowplaying: %+v %v", np, err)
			}
		})
	}
}

// TestAdoptRestoresPlayersNoNodeKept: an agent's Chopsticks node dies and
// the Lavalink node holding its player goes down with it (a double fault).
// The adopting node finds no player to resume; it restores the channel from
// the playback saved in Redis on the surviving Lavalink node: same track,
// where it stands now, with volume and pause. A track that would have ended
// meanwhile gives way to the next in the queue.
func TestAdoptRestoresPlayersNoNodeKept(t *testing.T) {
	t.Parallel()
	const g, u, ch = "7", "frank", "70"
	for _, tt := range []struct {
		name   string
		pause  bool
		ended  bool // the saved playback says the track has ended by now
		volume int
	}{
		{"playing", false, false, 100},
		{"paused, louder", true, false, 150},
		{"track over meanwhile", false, true, 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			sims, nodes, states, pool, newMusic := twoLavalinkNodes(t)
			x := newMusic()
			pool.music = x
			states.set(g, u, ch)
			for _, q := range []string{"https://example.com/long.mp3?length=600000", "https://example.com/next.mp3?length=600000"} {
				if _, err := x.Play(ctx, PlayRequest{GuildID: g, UserID: u, Query: q}); err != nil {
					t.Fatal(err)
				}
			}
			holder := playing(t, sims, g)
			if err := x.Seek(ctx, g, u, 100*time.Second); err != nil {
				t.Fatal(err)
			}
			if err := x.Volume(ctx, g, u, tt.volume); err != nil {
				t.Fatal(err)
			}
			if tt.pause {
				if err := x.Pause(ctx, g, u); err != nil {
					t.Fatal(err)
				}
			}
			queueID := g + ":" + ch
			if tt.ended {
				pb, _, err := x.Queues().SavedPlayback(ctx, queueID)
				if err != nil {
					t.Fatal(err)
				}
				pb.At = pb.At.Add(-time.Hour)
				if err := x.Queues().SavePlayback(ctx, queueID, pb); err != nil {
					t.Fatal(err)
				}
			}
			seeked := time.Now()
			x.Close()
			sims[holder].Kill()
			survivor := sims[1-holder]

			y := newMusic()
			pool.music = y
			n, err := y.Adopt(ctx, "201")
			if err != nil || n != 1 {
				t.Fatalf("adopt: %d channels, %v; want 1", n, err)
			}
			// The agent's re-join (agentpool's Runner) brings new voice credentials.
			y.VoiceServerUpdate(ctx, "201", g, "voice-token-201-again", "c-ams01.discord.media:443")
			y.VoiceStateUpdate(ctx, "201", g, "voice-session-201-again", ch)
			var p lavalinksim.PlayerSnapshot
			poll.Eventually(t, 5*time.Second, func() bool {
				var ok bool
				p, ok = survivor.Player(g)
				return ok && p.Connected && p.Track != nil
			}, "the condition")
			if tt.ended {
				if p.Track.Info.Title != "next.mp3" || p.Position > 5*time.Second {
					t.Fatalf("restored %q at %v, want the next track from its start", p.Track.Info.Title, p.Position)
				}
				return
			}
			if p.Track.Info.Title != "long.mp3" || p.Paused != tt.pause || p.Volume != tt.volume {
				t.Fatalf("restored %q paused=%v volume=%d, want long.mp3 paused=%v volume=%d",
					p.Track.Info.Title, p.Paused, p.Volume, tt.pause, tt.volume)
			}
			lo, hi := 100*time.Second, 100*time.Second+time.Since(seeked)+time.Second
			if tt.pause {
				hi = lo + time.Second
			}
			if p.Position < lo || p.Position > hi {
				t.Fatalf("restored at %v, want between %v and %v", p.Position, lo, hi)
			}
			np, err := y.NowPlaying(ctx, g, u)
			if err != nil || np.Item.Track.Info.Title != "long.mp3" || np.Node != nodes[1-holder].Name {
				t.Fatalf("nowplaying after the restore: %+v %v", np, err)
			}
		})
	}
}

// TestRestoreRetriesWhenNoNodeWasUp: every Lavalink node is down when the
// agent is adopted, so its channel cannot be restored, and the voice
// credentials of its re-join reach no node. Once a node is back, the saved
// track starts again where it stands, connected, with no command needed,
// and a /play queues after it.
func TestRestoreRetriesWhenNoNodeWasUp(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const g, u, ch = "7", "frank", "70"
	sims, nodes, states, pool, newMusic := twoLavalinkNodes(t)
	x := newMusic()
	pool.music = x
	states.set(g, u, ch)
	if _, err := x.Play(ctx, PlayRequest{GuildID: g, UserID: u, Query: "https://example.com/long.mp3?length=600000"}); err != nil {
		t.Fatal(err)
	}
	holder := playing(t, sims, g)
	if err := x.Seek(ctx, g, u, 100*time.Second); err != nil {
		t.Fatal(err)
	}
	x.Close()
	sims[0].Kill()
	sims[1].Kill()

	y := newMusic()
	pool.music = y
	short, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	n, err := y.Adopt(short, "201")
	cancel()
	if err != nil || n != 0 {
		t.Fatalf("adopt with no node up: %d channels restored, %v; want 0", n, err)
	}
	short, cancel = context.WithTimeout(ctx, 200*time.Millisecond)
	y.VoiceServerUpdate(short, "201", g, "voice-token-201-again", "c-ams01.discord.media:443")
	y.VoiceStateUpdate(short, "201", g, "voice-session-201-again", ch)
	cancel()

	back, err := lavalinksim.Start(lavalinksim.Config{Addr: nodes[holder].Address, Password: nodes[holder].Password,
		PlayerUpdateInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { back.Close() })
	// The client's reconnection backoff is still short here (about a
	// second since the nodes died), well inside waitFor's limit.
	var p lavalinksim.PlayerSnapshot
	poll.Eventually(t, 5*time.Second, func() bool {
		var ok bool
		p, ok = back.Player(g)
		return ok && p.Connected && p.Track != nil
	}, "the condition")
	if p.Track.Info.Title != "long.mp3" || p.Position < 100*time.Second || p.Voice.Token != "voice-token-201-again" {
		t.Fatalf("restarted %q at %v with voice %+v, want long.mp3 from 100s on with the new credentials", p.Track.Info.Title, p.Position, p.Voice)
	}
	res, err := y.Play(ctx, PlayRequest{GuildID: g, UserID: u, Query: "https://example.com/next.mp3?length=600000"})
	if err != nil || res.Started || res.Position != 1 {
		t.Fatalf("/play after the restart: %+v %v, want next.mp3 queued first", res, err)
	}
}
