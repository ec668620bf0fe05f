package voice

import (
	"context"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/lavalink"
	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/tts"
)

// speechEnv is a music env whose /say clips are spoken by espeak-ng and
// served, signed, by a tts.Speaker over HTTP, as a node serves them.
type speechEnv struct {
	*musicEnv
	speaker *tts.Speaker
}

func newSpeechEnv(t *testing.T, urls func(*tts.Speaker) SpeechURLs, agents ...string) *speechEnv {
	t.Helper()
	env := newMusicEnv(t, agents...)
	espeak, err := tts.NewEspeak("")
	if err != nil {
		t.Fatalf("%v (scripts/deps.sh installs it)", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	var srv *httptest.Server
	sp, err := tts.NewSpeaker(tts.SpeakerConfig{Provider: espeak, Redis: rdb, BaseURL: func() string { return srv.URL }})
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(sp.Handler())
	t.Cleanup(srv.Close)
	env.Music.cfg.Speech = urls(sp) // before any command runs
	return &speechEnv{musicEnv: env, speaker: sp}
}

func (e *speechEnv) say(t *testing.T, guild, user, text string) (SayResult, error) {
	t.Helper()
	clip, err := e.speaker.Prepare(context.Background(), user, text)
	if err != nil {
		t.Fatal(err)
	}
	return e.Say(context.Background(), SayArgs{Caller: Caller{GuildID: guild, UserID: user}, Clip: clip.Key, Text: text, Length: clip.Length})
}

func asIs(s *tts.Speaker) SpeechURLs { return s }

func TestSayPlaysThroughLavalink(t *testing.T) {
	t.Parallel()
	env := newSpeechEnv(t, asIs, "201")
	const g, u = "7", "dana"
	env.voice.set(g, u, "70")
	res, err := env.say(t, g, u, "hello from the speaker")
	if err != nil || !res.Started {
		t.Fatalf("say: %+v %v", res, err)
	}
	// Lavalink loaded the signed URL over HTTP and got espeak-ng's WAV.
	p := env.waitPlayer(t, g, func(p lavalinksim.PlayerSnapshot) bool { return p.Connected && p.Position > 0 })
	if p.Track.Info.SourceName != "http" || !strings.Contains(p.Track.Info.Identifier, tts.ClipPath) {
		t.Fatalf("playing %+v", p.Track.Info)
	}
	loads := env.sim.HTTPLoads()
	if len(loads) == 0 || loads[0].Status != 200 || loads[0].Format != "wav" || loads[0].Length < 500 {
		t.Fatalf("lavalinksim's fetches: %+v", loads)
	}
	np, err := env.NowPlaying(context.Background(), g, u)
	if err != nil || !strings.HasPrefix(np.Item.Track.Info.Title, "Speech:") {
		t.Fatalf("nowplaying: %+v %v", np, err)
	}
	// The clip ends, the queue is done, the agent leaves.
	select {
	case <-env.agents.released:
	case <-time.After(10 * time.Second):
		t.Fatal("agent not released after the clip")
	}
}

func TestSayWaitsForTheSong(t *testing.T) {
	t.Parallel()
	env := newSpeechEnv(t, asIs, "201")
	ctx := context.Background()
	const g, u = "8", "finn"
	env.voice.set(g, u, "80")
	if _, err := env.Play(ctx, PlayRequest{GuildID: g, UserID: u, Query: "https://example.com/song.mp3?length=600000"}); err != nil {
		t.Fatal(err)
	}
	env.Play(ctx, PlayRequest{GuildID: g, UserID: u, Query: "https://example.com/next.mp3?length=600000"})
	for i, text := range []string{"first words", "second words"} {
		res, err := env.say(t, g, u, text)
		if err != nil || res.Started || res.Position != i+1 {
			t.Fatalf("say %q: %+v %v, want queue position %d", text, res, err, i+1)
		}
	}
	// The song plays on; nothing was fetched yet.
	if p, _ := env.sim.Player(g); p.Track.Info.Title != "song.mp3" || len(env.sim.HTTPLoads()) != 0 {
		t.Fatalf("the song was cut into: %+v, %+v", p.Track.Info, env.sim.HTTPLoads())
	}
	view, _ := env.Queue(ctx, g, u, 1)
	if len(view.Items) != 2 || !strings.Contains(view.Items[0].Track.Info.Title, "first words") {
		t.Fatalf("queue %+v", view.Items)
	}
	// When the song ends, the clips play before the next song.
	if _, err := env.Skip(ctx, g, u); err != nil {
		t.Fatal(err)
	}
	env.waitPlayer(t, g, func(p lavalinksim.PlayerSnapshot) bool { return p.Track != nil && p.Track.Info.SourceName == "http" })
	env.waitPlayer(t, g, func(p lavalinksim.PlayerSnapshot) bool { return p.Track != nil && p.Track.Info.Title == "next.mp3" })
	if n := len(env.sim.HTTPLoads()); n < 4 { // each clip: loadtracks, then the fetch as it plays
		t.Fatalf("%d fetches, want the two clips loaded and played", n)
	}
}

// forged mints URLs whose signature is wrong.
type forged struct{ s *tts.Speaker }

func (f forged) URL(ctx context.Context, clip string) (string, error) {
	u, err := f.s.URL(ctx, clip)
	return strings.Replace(u, "sig=", "sig=00", 1), err
}

func TestSayForgedURLIsRefused(t *testing.T) {
	t.Parallel()
	env := newSpeechEnv(t, func(s *tts.Speaker) SpeechURLs { return forged{s} }, "201")
	const g, u = "9", "gus"
	env.voice.set(g, u, "90")
	if _, err := env.say(t, g, u, "you will not hear this"); !errors.Is(err, ErrSpeechFailed) {
		t.Fatalf("say with a forged URL: %v", err)
	}
	if loads := env.sim.HTTPLoads(); len(loads) != 1 || loads[0].Status != 403 {
		t.Fatalf("fetches %+v, want one 403", loads)
	}
	select {
	case <-env.agents.released:
	case <-time.After(5 * time.Second):
		t.Fatal("agent kept after the clip failed")
	}
}

func TestQueueSpeechOrderAndLoops(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	q := NewQueues(rdb, 0)
	ctx := context.Background()
	song := func(name string) QueueItem { return QueueItem{Track: trackNamed(name)} }
	clip := func(name string) QueueItem { return QueueItem{Track: trackNamed(name), Speech: name} }
	next := func(skip bool) string {
		t.Helper()
		it, err := q.Advance(ctx, "g:c", skip)
		if err != nil {
			t.Fatal(err)
		}
		if it == nil {
			return ""
		}
		return it.Track.Info.Title
	}
	q.Add(ctx, "g:c", song("A"), song("B"))
	for i, name := range []string{"S1", "S2"} {
		if pos, err := q.AddSpeech(ctx, "g:c", clip(name)); err != nil || pos != i+1 {
			t.Fatalf("AddSpeech %s = %d %v", name, pos, err)
		}
	}
	q.SetLoop(ctx, "g:c", LoopQueue)
	// Loop queue: clips play once, songs go round.
	for i, want := range []string{"S1", "S2", "A", "B", "A"} {
		if got := next(false); got != want {
			t.Fatalf("step %d: %s, want %s", i, got, want)
		}
	}
	// Loop track on A: a clip at the front plays, then A again, and again.
	q.SetLoop(ctx, "g:c", LoopTrack)
	q.AddSpeech(ctx, "g:c", clip("S3"))
	for i, want := range []string{"S3", "A", "A"} {
		if got := next(false); got != want {
			t.Fatalf("loop track step %d: %s, want %s", i, got, want)
		}
	}
	if n, _ := q.Len(ctx, "g:c"); n != 1 { // B
		t.Fatalf("queue length %d", n)
	}
}

func trackNamed(name string) lavalink.Track {
	return lavalink.Track{Encoded: "enc-" + name, Info: lavalink.TrackInfo{Title: name, Length: 1000}}
}
