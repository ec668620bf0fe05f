package voice

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/diamondburned/arikawa/v3/gateway"
	"github.com/diamondburned/arikawa/v3/utils/ws"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

func TestStateCache(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	c := NewStateCache(rdb)
	vs := func(g, u, ch discord.Snowflake) *gateway.VoiceStateUpdateEvent {
		return &gateway.VoiceStateUpdateEvent{VoiceState: discord.VoiceState{GuildID: discord.GuildID(g), UserID: discord.UserID(u), ChannelID: discord.ChannelID(ch)}}
	}
	gc := &gateway.GuildCreateEvent{Guild: discord.Guild{ID: 1}, VoiceStates: []discord.VoiceState{
		{UserID: 10, ChannelID: 100}, {UserID: 11, ChannelID: 101}}}
	steps := []struct {
		name string
		ev   ws.Event
		kept bool
		want map[discord.Snowflake]string // user -> channel in guild 1
	}{
		{"guild create", gc, true, map[discord.Snowflake]string{10: "100", 11: "101", 12: ""}},
		{"join", vs(1, 12, 100), true, map[discord.Snowflake]string{10: "100", 12: "100"}},
		{"move", vs(1, 10, 101), true, map[discord.Snowflake]string{10: "101"}},
		{"leave", vs(1, 11, 0), true, map[discord.Snowflake]string{11: ""}},
		{"other guild", vs(2, 10, 200), true, map[discord.Snowflake]string{10: "101"}},
		{"unrelated event", &gateway.MessageCreateEvent{}, false, map[discord.Snowflake]string{12: "100"}},
		{"outage keeps states", &gateway.GuildDeleteEvent{ID: 1, Unavailable: true}, true, map[discord.Snowflake]string{12: "100"}},
		{"guild create replaces", &gateway.GuildCreateEvent{Guild: discord.Guild{ID: 1}, VoiceStates: []discord.VoiceState{{UserID: 13, ChannelID: 100}}}, true,
			map[discord.Snowflake]string{10: "", 12: "", 13: "100"}},
		{"bot removed", &gateway.GuildDeleteEvent{ID: 1}, true, map[discord.Snowflake]string{13: ""}},
	}
	for _, st := range steps {
		kept, err := c.Handle(ctx, st.ev)
		if err != nil || kept != st.kept {
			t.Fatalf("%s: kept %v err %v", st.name, kept, err)
		}
		for u, want := range st.want {
			got, err := c.UserVoiceChannel(ctx, "1", u.String())
			if err != nil || got != want {
				t.Fatalf("%s: user %s in %q (%v), want %q", st.name, u, got, err, want)
			}
		}
	}
	if got, _ := c.UserVoiceChannel(ctx, "2", "10"); got != "200" {
		t.Fatalf("guild 2: %q", got)
	}
	c.Handle(ctx, vs(2, 11, 200))
	c.Handle(ctx, vs(2, 12, 201))
	members, err := c.ChannelMembers(ctx, "2", "200")
	slices.Sort(members)
	if err != nil || !slices.Equal(members, []string{"10", "11"}) {
		t.Fatalf("members: %v %v", members, err)
	}
}

func TestReapIdleFreesEmptyChannels(t *testing.T) {
	t.Parallel()
	env := newMusicEnv(t, "201")
	ctx := context.Background()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	states := NewStateCache(rdb)
	const g, u = "8", "gina"
	env.voice.set(g, u, "80")
	states.Handle(ctx, &gateway.VoiceStateUpdateEvent{VoiceState: discord.VoiceState{GuildID: 8, UserID: 9, ChannelID: 80}})
	if _, err := env.Play(ctx, PlayRequest{GuildID: g, UserID: u, Query: "https://example.com/a.mp3?length=600000"}); err != nil {
		t.Fatal(err)
	}
	// The agent itself is in the channel too; it does not count.
	states.Handle(ctx, &gateway.VoiceStateUpdateEvent{VoiceState: discord.VoiceState{GuildID: 8, UserID: 201, ChannelID: 80}})
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); env.ReapIdle(rctx, states, 200*time.Millisecond) }()
	t.Cleanup(func() { cancel(); <-done })
	select {
	case a := <-env.agents.released:
		t.Fatalf("agent %s released while a listener is in the channel", a)
	case <-time.After(500 * time.Millisecond):
	}
	states.Handle(ctx, &gateway.VoiceStateUpdateEvent{VoiceState: discord.VoiceState{GuildID: 8, UserID: 9}})
	select {
	case a := <-env.agents.released:
		if a != "201" {
			t.Fatalf("released %s", a)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the agent of an empty channel was not released")
	}
	if _, err := env.NowPlaying(ctx, g, u); !errors.Is(err, ErrNothingPlaying) {
		t.Fatalf("after reaping: %v", err)
	}
}
