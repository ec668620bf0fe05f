package voice

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// Case 8: voice that never connects (Lavalink 4.2: 500 on the voice update;
// NodeLink: WebSocketClosedEvent 4006) gives /play one clear refusal, the
// agent is released and nothing is retried.
func TestVoiceNeverConnects(t *testing.T) {
	t.Parallel()
	for _, d := range []lavalinksim.Dialect{lavalinksim.DialectLavalink, lavalinksim.DialectNodeLink} {
		t.Run(string(d), func(t *testing.T) {
			env := newMusicEnvWith(t, lavalinksim.Config{Dialect: d, FailVoice: true, PlayerUpdateInterval: 100 * time.Millisecond}, "201")
			ctx := context.Background()
			env.voice.set("1", "alice", "10")
			_, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "song"})
			if !errors.Is(err, ErrVoiceFailed) {
				t.Fatalf("play: err = %v, want ErrVoiceFailed", err)
			}
			select {
			case a := <-env.agents.released:
				if a != "201" {
					t.Fatalf("released %s", a)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("agent not released after the voice connection failed")
			}
			if n, _ := env.Queues().Len(ctx, "1:10"); n != 0 {
				t.Fatalf("%d tracks left queued", n)
			}
			poll.Eventually(t, 5*time.Second, func() bool { return len(env.sim.Players()) == 0 }, "the condition")
			// The agent is free again: a later /play tries once more, and
			// fails the same way, once.
			if _, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "song"}); !errors.Is(err, ErrVoiceFailed) {
				t.Fatalf("second play: %v", err)
			}
			select {
			case <-env.agents.released:
			case <-time.After(5 * time.Second):
				t.Fatal("agent not released the second time")
			}
			select {
			case a := <-env.agents.released:
				t.Fatalf("agent %s released twice", a)
			default:
			}
		})
	}
}

// Case 2 at the music level: a seekable track of unknown length can be
// sought anywhere (a stream not at all: TestMusicSeekStream).
func TestMusicSeekUnknownLength(t *testing.T) {
	t.Parallel()
	env := newMusicEnvWith(t, lavalinksim.Config{Tracks: lavalinksim.TracksUnknownLength, PlayerUpdateInterval: 100 * time.Millisecond}, "201")
	ctx := context.Background()
	env.voice.set("1", "alice", "10")
	if _, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "https://example.com/radio.mp3"}); err != nil {
		t.Fatal(err)
	}
	env.waitPlayer(t, "1", func(p lavalinksim.PlayerSnapshot) bool { return p.Track != nil && p.Connected })
	if err := env.Seek(ctx, "1", "alice", 90*time.Second); err != nil {
		t.Fatalf("seek in a track of unknown length: %v", err)
	}
	env.waitPlayer(t, "1", func(p lavalinksim.PlayerSnapshot) bool { return p.Position >= 90*time.Second })
	np, err := env.NowPlaying(ctx, "1", "alice")
	if err != nil || np.Position < 90*time.Second {
		t.Fatalf("now playing: %+v %v", np, err)
	}
}

// Case 5 at the music level: on NodeLink a track sent before the agent's
// voice connection is up is answered with track null; /play still succeeds
// and the track starts once the voice events arrive.
func TestMusicPlaysOnNodeLink(t *testing.T) {
	t.Parallel()
	env := newMusicEnvWith(t, lavalinksim.Config{Dialect: lavalinksim.DialectNodeLink, PlayerUpdateInterval: 100 * time.Millisecond}, "201")
	gate := make(chan struct{})
	env.agents.voiceGate = gate
	ctx := context.Background()
	env.voice.set("1", "alice", "10")
	type played struct {
		res PlayResult
		err error
	}
	done := make(chan played, 1)
	go func() {
		res, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "song"})
		done <- played{res, err}
	}()
	// The node has the player, without a track: it dropped the one /play sent.
	env.waitPlayer(t, "1", func(p lavalinksim.PlayerSnapshot) bool { return p.Track == nil && !p.Connected })
	close(gate)
	r := <-done
	if r.err != nil {
		t.Fatalf("play on NodeLink: %v", r.err)
	}
	p := env.waitPlayer(t, "1", func(p lavalinksim.PlayerSnapshot) bool { return p.Track != nil && p.Connected })
	if p.Track.Encoded != r.res.Added[0].Track.Encoded {
		t.Fatalf("playing %+v, queued %+v", p.Track.Info, r.res.Added[0].Track.Info)
	}
	if err := env.Stop(ctx, "1", "alice"); err != nil {
		t.Fatalf("stop: %v", err)
	}
}

// A stream cannot be sought: /seek says so and changes nothing.
func TestMusicSeekStream(t *testing.T) {
	t.Parallel()
	env := newMusicEnvWith(t, lavalinksim.Config{Tracks: lavalinksim.TracksStream, PlayerUpdateInterval: 100 * time.Millisecond}, "201")
	ctx := context.Background()
	env.voice.set("1", "alice", "10")
	if _, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "https://example.com/radio.mp3"}); err != nil {
		t.Fatal(err)
	}
	env.waitPlayer(t, "1", func(p lavalinksim.PlayerSnapshot) bool { return p.Track != nil && p.Connected })
	if err := env.Seek(ctx, "1", "alice", 90*time.Second); !errors.Is(err, ErrBadArgument) {
		t.Fatalf("seek in a stream: err = %v, want ErrBadArgument", err)
	}
	if p, _ := env.sim.Player("1"); p.Position >= 90*time.Second {
		t.Fatalf("the stream was sought: %+v", p)
	}
}
