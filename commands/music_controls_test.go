package commands_test

import (
	"context"
	"strings"
	"testing"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/lavalinksim"
)

// withControls gives e a router that serves the music buttons too, with
// the real Redis claimer.
func (e *musicEnv) withControls(t *testing.T) {
	t.Helper()
	cat, err := commands.NewCatalog(commands.Music(e.svc), commands.MusicControls(e.svc))
	if err != nil {
		t.Fatal(err)
	}
	if e.router, err = commands.NewRouter(commands.Config{Catalog: cat, Responder: e.resp, Claimer: commands.NewRedisClaimer(e.rdb), NodeID: "test"}); err != nil {
		t.Fatal(err)
	}
}

// pressIn presses a button as user in guild and returns the reply's text,
// whether it was ephemeral, and the response.
func (e *musicEnv) pressIn(t *testing.T, guild, user discord.Snowflake, id discord.ComponentID) (string, bool, api.InteractionResponse) {
	t.Helper()
	u := discord.User{ID: discord.UserID(user), Username: "u" + user.String()}
	ev := &discord.InteractionEvent{ID: commands.FreshID(e.nextID.Add(1)), AppID: 1, Token: "tok", GuildID: discord.GuildID(guild),
		ChannelID: 6, User: &u, Message: &discord.Message{ID: 99}, Data: &discord.ButtonInteraction{CustomID: id}}
	e.resp.mu.Lock()
	n := len(e.resp.texts)
	e.resp.mu.Unlock()
	e.router.Handle(context.Background(), ev, 0)
	e.resp.mu.Lock()
	defer e.resp.mu.Unlock()
	if len(e.resp.texts) != n+1 {
		t.Fatalf("press %s: %d replies, want 1", id, len(e.resp.texts)-n)
	}
	return e.resp.texts[n], e.resp.ephem[n], e.resp.last
}

// lastButtons returns the last response's buttons by label.
func (e *musicEnv) lastButtons() map[string]discord.ComponentID {
	e.resp.mu.Lock()
	defer e.resp.mu.Unlock()
	return controlsOf(e.resp.last.Data)
}

// TestMusicControls: /join and /leave, /nowplaying's buttons updating the
// message in place (one press per rendering, any listener may press, a
// refused press uses nothing up), and the queue's pages.
func TestMusicControls(t *testing.T) {
	t.Parallel()
	e := newMusicEnv(t)
	e.withControls(t)
	const g, alice, bob, carol = 9, 1001, 1002, 1003
	e.inVoice(t, g, alice, 90)
	e.inVoice(t, g, carol, 90)
	if text, eph := e.run(t, g, bob, "join"); !eph || !strings.Contains(text, "voice channel") {
		t.Fatalf("/join outside voice: %q", text)
	}
	if text, _ := e.run(t, g, alice, "join"); !strings.Contains(text, "Joined") {
		t.Fatalf("/join: %q", text)
	}
	if text, _ := e.run(t, g, carol, "join"); !strings.Contains(text, "Already here") {
		t.Fatalf("second /join: %q", text)
	}
	if text, _ := e.run(t, g, alice, "play", "query", "https://example.com/one.mp3?length=600000"); !strings.Contains(text, "Now playing") {
		t.Fatalf("/play after /join: %q", text)
	}
	waitPlayer(t, e.lava, "9", func(p lavalinksim.PlayerSnapshot) bool { return p.Connected && p.Position > 0 })
	for _, q := range []string{"two", "three", "four", "five"} {
		e.run(t, g, alice, "play", "query", "https://example.com/"+q+".mp3?length=300000")
	}

	e.run(t, g, alice, "nowplaying")
	b := e.lastButtons()
	if b["⏸ Pause"] == "" || b["⏭ Skip"] == "" || b["⏹ Stop"] == "" || b["🔁 Loop: off"] == "" {
		t.Fatalf("/nowplaying buttons: %v", b)
	}
	// Bob is not in the channel: refused, and the rendering stays usable.
	if text, eph, _ := e.pressIn(t, g, bob, b["⏸ Pause"]); !eph || !strings.Contains(text, "voice channel") {
		t.Fatalf("bob's pause: %q", text)
	}
	text, eph, resp := e.pressIn(t, g, carol, b["⏸ Pause"])
	if eph || resp.Type != api.UpdateMessage || !strings.Contains(text, "(paused)") || !strings.Contains(text, "paused.") {
		t.Fatalf("carol's pause: %q (type %d)", text, resp.Type)
	}
	waitPlayer(t, e.lava, "9", func(p lavalinksim.PlayerSnapshot) bool { return p.Paused })
	paused := controlsOf(resp.Data)
	// A second press on the same rendering counts for nothing.
	if text, eph, _ := e.pressIn(t, g, alice, b["⏭ Skip"]); !eph || !strings.Contains(text, "already done") {
		t.Fatalf("second press of one rendering: %q", text)
	}
	b = paused
	if b["▶ Resume"] == "" {
		t.Fatalf("after pause: %v", b)
	}
	if text, _, _ := e.pressIn(t, g, alice, b["▶ Resume"]); strings.Contains(text, "(paused)") {
		t.Fatalf("resume: %q", text)
	}
	waitPlayer(t, e.lava, "9", func(p lavalinksim.PlayerSnapshot) bool { return !p.Paused })
	if text, _, _ := e.pressIn(t, g, alice, e.lastButtons()["🔁 Loop: off"]); !strings.Contains(text, "Loop: track") {
		t.Fatalf("loop: %q", text)
	}
	if text, _, _ := e.pressIn(t, g, alice, e.lastButtons()["⏭ Skip"]); !strings.Contains(text, "two.mp3") {
		t.Fatalf("skip: %q", text)
	}

	// The queue's pages (two tracks a page here) turn for its user only.
	e.run(t, g, alice, "queue")
	next := e.lastButtons()["Next ▶"]
	if next == "" {
		t.Fatalf("/queue without pages: %v", e.lastButtons())
	}
	if text, _, _ := e.pressIn(t, g, alice, next); !strings.Contains(text, "Page 2 of") {
		t.Fatalf("next page: %q", text)
	}
	if text, eph, _ := e.pressIn(t, g, carol, next); !eph || !strings.Contains(text, "someone else") {
		t.Fatalf("carol turning alice's pages: %q", text)
	}

	e.run(t, g, alice, "nowplaying")
	text, _, resp = e.pressIn(t, g, alice, e.lastButtons()["⏹ Stop"])
	if !strings.Contains(text, "stopped the music") || resp.Data.Components == nil || len(*resp.Data.Components) != 0 {
		t.Fatalf("stop: %q %+v", text, resp.Data.Components)
	}
	if text, eph := e.run(t, g, alice, "leave"); !eph || !strings.Contains(text, "Nothing is playing") {
		t.Fatalf("/leave with no agent: %q", text)
	}
	e.run(t, g, alice, "join")
	if text, _ := e.run(t, g, alice, "leave"); !strings.Contains(text, "left your voice channel") {
		t.Fatalf("/leave: %q", text)
	}
}
