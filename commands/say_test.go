package commands_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/chopsticks-bot/chopsticks/tts"
)

// newSpeaker is a speaker with espeak-ng whose clips an HTTP server serves,
// as a node does; it fails the test with the install command when espeak-ng
// is missing.
func newSpeaker(t *testing.T, cfg tts.SpeakerConfig) *tts.Speaker {
	t.Helper()
	espeak, err := tts.NewEspeak("")
	if err != nil {
		t.Fatalf("%v (scripts/deps.sh installs it)", err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	var srv *httptest.Server
	cfg.Provider, cfg.Redis, cfg.BaseURL = espeak, rdb, func() string { return srv.URL }
	sp, err := tts.NewSpeaker(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(sp.Handler())
	t.Cleanup(srv.Close)
	return sp
}

func TestSayCommand(t *testing.T) {
	t.Parallel()
	sp := newSpeaker(t, tts.SpeakerConfig{MaxChars: 20, DailyChars: 30, PremiumDailyChars: 60})
	e := newMusicEnvWith(t, sp)
	ctx := context.Background()
	const g, alice, bob = 5, 1001, 1002
	e.inVoice(t, g, alice, 50)
	used := func(user string) int {
		n, err := sp.Used(ctx, user)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	refusals := []struct {
		name       string
		user       discord.Snowflake
		text, want string
	}{
		{"outside voice", bob, "hello", "You need to be in a voice channel"},
		{"too long", alice, strings.Repeat("word ", 5), "/say takes at most 20"},
		{"blank", alice, "   ", "Give me something to say."},
		{"control character", alice, "ring \x07", "cannot say"},
	}
	for _, tt := range refusals {
		text, eph := e.run(t, g, tt.user, "say", "text", tt.text)
		if !strings.Contains(text, tt.want) || !eph {
			t.Fatalf("%s: reply %q (ephemeral %v), want %q", tt.name, text, eph, tt.want)
		}
		if n := used(tt.user.String()); n != 0 {
			t.Fatalf("%s: %d characters charged for a refusal", tt.name, n)
		}
	}

	// Spoken end to end: the agent joins, Lavalink fetches the signed URL
	// from the speaker's server and plays espeak-ng's WAV.
	if text, _ := e.run(t, g, alice, "say", "text", "hello everyone"); !strings.Contains(text, "Speaking") {
		t.Fatalf("say: %q", text)
	}
	p := waitPlayer(t, e.lava, "5", func(p lavalinksim.PlayerSnapshot) bool { return p.Track != nil && p.Connected })
	if p.Track.Info.SourceName != "http" || !strings.Contains(p.Track.Info.Identifier, tts.ClipPath) {
		t.Fatalf("player plays %+v", p.Track.Info)
	}
	poll.Eventually(t, 5*time.Second, func() bool {
		for _, l := range e.lava.HTTPLoads() {
			if l.Play && l.Status == 200 && l.Format == "wav" && l.Length > 300 {
				return true
			}
		}
		return false
	}, "lavalinksim fetching the clip's WAV as it plays")
	if n := used("1001"); n != len("hello everyone") {
		t.Fatalf("charged %d characters", n)
	}
	// 14 of 30 used: 20 more is over the quota, and refused with nothing charged.
	text, eph := e.run(t, g, alice, "say", "text", strings.Repeat("x", 20))
	if !strings.Contains(text, "16 characters of speech left today") || !eph {
		t.Fatalf("over quota: %q (ephemeral %v)", text, eph)
	}
	if n := used("1001"); n != 14 {
		t.Fatalf("a refused /say charged: %d", n)
	}
}
