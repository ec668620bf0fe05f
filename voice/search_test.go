package voice

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/poll"
)

func TestParseSearch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: DefaultSearch, want: "ytsearch,scsearch"},
		{in: " ytmsearch: , SCSEARCH ,spsearch", want: "ytmsearch,scsearch,spsearch"},
		{in: " ", want: "ytsearch,scsearch"},
		{in: ",", wantErr: "entry 1 is empty"},
		{in: "ytsearch,,scsearch", wantErr: "entry 2 is empty"},
		{in: "yt search", wantErr: "not a search prefix"},
		{in: "https://x", wantErr: "not a search prefix"},
		{in: "9search", wantErr: "not a search prefix"},
		{in: "ytsearch,ytsearch:", wantErr: "given twice"},
		{in: "a1,a2,a3,a4,a5,a6,a7,a8,a9", wantErr: "at most 8"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSearch(tt.in)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrBadSearch) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || strings.Join(got, ",") != tt.want {
				t.Fatalf("got %v %v, want %s", got, err, tt.want)
			}
		})
	}
}

// The prefixes are tried in order until one finds something: here the
// simulator knows no spsearch (no LavaSrc), so SoundCloud answers.
func TestMusicSearchPrefixesInOrder(t *testing.T) {
	t.Parallel()
	env := newMusicEnv(t, "201")
	env.cfg.Search = []string{"spsearch", "scsearch"}
	ctx := context.Background()
	env.voice.set("1", "alice", "10")
	res, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "lofi beats"})
	if err != nil {
		t.Fatal(err)
	}
	if src := res.Added[0].Track.Info.SourceName; src != "soundcloud" {
		t.Fatalf("played from %s, want soundcloud after spsearch found nothing", src)
	}
	if n := env.sim.Loads(); n != 2 {
		t.Fatalf("%d loads, want 2 (spsearch then scsearch)", n)
	}
	// Nothing anywhere: no results.
	if _, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "nomatch"}); !errors.Is(err, ErrNoResults) {
		t.Fatalf("nothing found: %v", err)
	}
}

// The same search (same normalised terms, same prefix) within the TTL is
// answered from Redis without a Lavalink call.
func TestMusicSearchCache(t *testing.T) {
	t.Parallel()
	env := newMusicEnv(t, "201")
	ctx := context.Background()
	env.voice.set("1", "alice", "10")
	first, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "Daft Punk  Around the World"})
	if err != nil {
		t.Fatal(err)
	}
	loads := env.sim.Loads()
	if loads != 1 {
		t.Fatalf("%d loads for the first search", loads)
	}
	second, err := env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "  daft punk around the WORLD "})
	if err != nil {
		t.Fatal(err)
	}
	if n := env.sim.Loads(); n != loads {
		t.Fatalf("the repeated search made %d Lavalink calls", n-loads)
	}
	if second.Added[0].Track.Encoded != first.Added[0].Track.Encoded {
		t.Fatal("the cached search gave another track")
	}
	if hit, miss := gauge(t, env.reg, "chopsticks_music_search_cache_lookups_total", "result", "hit"),
		gauge(t, env.reg, "chopsticks_music_search_cache_lookups_total", "result", "miss"); hit != 1 || miss != 1 {
		t.Fatalf("cache metrics: hit %v miss %v", hit, miss)
	}
	// Another search, and a URL, still go to Lavalink.
	env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "daft punk one more time"})
	env.Play(ctx, PlayRequest{GuildID: "1", UserID: "alice", Query: "https://example.com/a.mp3"})
	if n := env.sim.Loads(); n != loads+2 {
		t.Fatalf("%d loads, want %d", n, loads+2)
	}
	// Past the TTL the search is asked again.
	short := newMusicEnvWith(t, lavalinksim.Config{}, "202")
	short.cache.ttl = 50 * time.Millisecond
	short.voice.set("2", "bob", "20")
	short.Play(ctx, PlayRequest{GuildID: "2", UserID: "bob", Query: "ttl song"})
	poll.Eventually(t, 5*time.Second, func() bool {
		ok, _ := short.cfg.Queues.rdb.Exists(ctx, searchKey("ytsearch", "ttl song")).Result()
		return ok == 0
	}, "the condition")
	short.Play(ctx, PlayRequest{GuildID: "2", UserID: "bob", Query: "ttl song"})
	if n := short.sim.Loads(); n != 2 {
		t.Fatalf("%d loads after the TTL, want 2", n)
	}
}
