package commands_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
)

// autocompleteEvent builds an autocomplete interaction typing partial into
// option focused of path ("sell" or "vault add"), as Discord sends it:
// the focused value is a string whatever the option's type.
func autocompleteEvent(id discord.InteractionID, from discord.User, path, focused, partial string) *discord.InteractionEvent {
	raw, _ := json.Marshal(partial)
	opts := discord.AutocompleteOptions{{Type: discord.StringOptionType, Name: focused, Value: raw, Focused: true}}
	name, sub, ok := strings.Cut(path, " ")
	if ok {
		opts = discord.AutocompleteOptions{{Type: discord.SubcommandOptionType, Name: sub, Options: opts}}
	}
	u := from
	return &discord.InteractionEvent{ID: id, AppID: 1, Token: "tok", GuildID: 5, ChannelID: 6, User: &u,
		Data: &discord.AutocompleteInteraction{Name: name, Options: opts}}
}

// suggestions returns the names of the choices the one response to an
// autocomplete offered, checking it is an autocomplete result.
func suggestions(t *testing.T, resp api.InteractionResponse) []string {
	t.Helper()
	if resp.Type != api.AutocompleteResult || resp.Data == nil || resp.Data.Choices == nil {
		t.Fatalf("response %+v is not an autocomplete result", resp)
	}
	var names []string
	switch cs := resp.Data.Choices.(type) {
	case api.AutocompleteStringChoices:
		for _, c := range cs {
			names = append(names, c.Name+"="+c.Value)
		}
	case api.AutocompleteIntegerChoices:
		for _, c := range cs {
			names = append(names, fmt.Sprintf("%s=%d", c.Name, c.Value))
		}
	default:
		t.Fatalf("choices of type %T", cs)
	}
	return names
}

func (e *econEnv) suggest(t *testing.T, from discord.User, path, focused, partial string) []string {
	t.Helper()
	n := len(e.rec.resps)
	e.router.Handle(context.Background(), autocompleteEvent(commands.FreshID(e.nextID.Add(1)), from, path, focused, partial), 0)
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	if len(e.rec.resps) != n+1 {
		t.Fatalf("%d responses to an autocomplete, want 1", len(e.rec.resps)-n)
	}
	return suggestions(t, e.rec.resps[n])
}

func (e *econEnv) give(t *testing.T, user discord.User, item string, n int) {
	t.Helper()
	if err := e.svc.AdjustItems(context.Background(), economy.Op(fmt.Sprintf("give-%d", e.nextID.Add(1))), 1, int64(user.ID), item, n, "test"); err != nil {
		t.Fatal(err)
	}
}

// TestEconomyAutocomplete checks every item option's suggestions: what
// the user owns (or the shop sells), ranked by the text typed, with
// counts, refreshed after the user's own commands.
func TestEconomyAutocomplete(t *testing.T) {
	e := newEconEnv(t)
	e.fund(t, alice, 100_000)
	e.give(t, alice, "pickaxe", 2)
	e.give(t, alice, "coffee", 3)
	e.give(t, alice, "silver_nugget", 2)
	e.give(t, alice, "salmon", 1)
	e.give(t, alice, "pebble", 1)

	cases := []struct {
		name, path, partial string
		want                []string
	}{
		{"sell, nothing typed", "sell", "", []string{
			"Coffee ×3 · sells for 100 credits each=coffee", "Pebble ×1 · sells for 10 credits each=pebble",
			"Pickaxe ×2 · sells for 300 credits each=pickaxe", "Salmon ×1 · sells for 220 credits each=salmon",
			"Silver Nugget ×2 · sells for 250 credits each=silver_nugget"}},
		{"sell, prefix", "sell", "pi", []string{"Pickaxe ×2 · sells for 300 credits each=pickaxe"}},
		{"sell, by key", "sell", "silver_n", []string{"Silver Nugget ×2 · sells for 250 credits each=silver_nugget"}},
		{"sell, prefix then substring", "sell", "c", []string{
			"Coffee ×3 · sells for 100 credits each=coffee", "Pickaxe ×2 · sells for 300 credits each=pickaxe"}},
		{"sell, nothing matches", "sell", "diamond", nil},
		{"use", "use", "", []string{"Coffee ×3=coffee"}},
		{"vault add", "vault add", "", []string{"Salmon ×1 (rare)=salmon", "Silver Nugget ×2 (rare)=silver_nugget"}},
		{"vault remove, nothing on show", "vault remove", "", nil},
		{"buy", "buy", "pick", []string{"Pickaxe · 1,500 credits · you have 2=pickaxe"}},
		{"buy, substring", "buy", "rod", []string{"Fishing Rod · 1,000 credits=fishing_rod"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := e.suggest(t, alice, tc.path, "item", tc.partial); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q\nwant %q", got, tc.want)
			}
		})
	}
	// The user's own changes show at once, though the holdings are cached.
	if text, _, _ := e.reply(t, e.command(alice, "vault add", opt{"item", "Silver Nugget"})); !strings.Contains(text, "Silver Nugget") {
		t.Fatalf("vault add: %q", text)
	}
	if got := e.suggest(t, alice, "vault remove", "item", ""); !slices.Equal(got, []string{"Silver Nugget ×1 on show=silver_nugget"}) {
		t.Fatalf("vault remove after a vault add: %q", got)
	}
	if got := e.suggest(t, alice, "sell", "item", "silver"); !slices.Equal(got, []string{"Silver Nugget ×1 · sells for 250 credits each=silver_nugget"}) {
		t.Fatalf("sell after a vault add: %q", got)
	}
	if text, _, _ := e.reply(t, e.command(alice, "use", opt{"item", "coffee"})); !strings.Contains(text, "Used Coffee") {
		t.Fatalf("use: %q", text)
	}
	if got := e.suggest(t, alice, "use", "item", "c"); !slices.Equal(got, []string{"Coffee ×2=coffee"}) {
		t.Fatalf("use after a use: %q", got)
	}
	// Another user sees their own holdings.
	if got := e.suggest(t, bob, "sell", "item", ""); got != nil {
		t.Fatalf("bob's sell suggestions: %q", got)
	}
	// The value finally sent is still checked: a name works, an unknown
	// one is refused, and /buy and /use take their items by name too.
	if text, _, _ := e.reply(t, e.command(alice, "buy", opt{"item", "Fishing Rod"})); !strings.Contains(text, "You bought 1× **Fishing Rod**") {
		t.Fatalf("buy by name: %q", text)
	}
	for _, path := range []string{"buy", "use", "sell"} {
		if text, eph, _ := e.reply(t, e.command(alice, path, opt{"item", "moon rock"})); !eph || !strings.Contains(text, `There is no item called "moon rock"`) {
			t.Fatalf("/%s moon rock: %q (ephemeral %v)", path, text, eph)
		}
	}
	if text, eph, _ := e.reply(t, e.command(alice, "use", opt{"item", "pickaxe"})); !eph || text == "" {
		t.Fatalf("/use pickaxe: %q (ephemeral %v)", text, eph)
	}
	// /gather's tool: the user's tools, with the uses left; taken by name.
	if got := e.suggest(t, alice, "gather", "tool", ""); !slices.Equal(got, []string{
		"Fishing Rod ×1 · most worn: 15 uses left=fishing_rod", "Pickaxe ×2 · most worn: 20 uses left=pickaxe"}) {
		t.Fatalf("gather tools: %q", got)
	}
	if text, _, _ := e.reply(t, e.command(alice, "gather", opt{"tool", "Pickaxe"})); !strings.Contains(text, "With your Pickaxe you found") {
		t.Fatalf("gather by name: %q", text)
	}
	if got := e.suggest(t, alice, "gather", "tool", "pi"); !slices.Equal(got, []string{"Pickaxe ×2 · most worn: 19 uses left=pickaxe"}) {
		t.Fatalf("gather tools after a gather: %q", got)
	}
}

// suggest types partial into option of command name as user in guild and
// returns the choices offered.
func (e *musicEnv) suggest(t *testing.T, guild, user discord.Snowflake, name, option, partial string) []string {
	t.Helper()
	raw, _ := json.Marshal(partial)
	u := discord.User{ID: discord.UserID(user), Username: "u" + user.String()}
	ev := &discord.InteractionEvent{ID: commands.FreshID(e.nextID.Add(1)), AppID: 1, Token: "tok",
		GuildID: discord.GuildID(guild), ChannelID: 6, User: &u,
		Data: &discord.AutocompleteInteraction{Name: name, Options: discord.AutocompleteOptions{
			{Type: discord.IntegerOptionType, Name: option, Value: raw, Focused: true}}}}
	e.resp.mu.Lock()
	n := len(e.resp.choices)
	e.resp.mu.Unlock()
	e.router.Handle(context.Background(), ev, 0)
	e.resp.mu.Lock()
	defer e.resp.mu.Unlock()
	if len(e.resp.choices) != n+1 {
		t.Fatalf("%d autocomplete answers, want 1", len(e.resp.choices)-n)
	}
	return suggestions(t, api.InteractionResponse{Type: api.AutocompleteResult, Data: &api.InteractionResponseData{Choices: e.resp.choices[n]}})
}

// TestRemoveAutocomplete checks /remove's position suggestions: the queue
// page holding the number typed, positions starting with it, titled.
func TestRemoveAutocomplete(t *testing.T) {
	e := newMusicEnv(t)
	const g, u = 7, 1001
	if got := e.suggest(t, g, u, "remove", "position", ""); got != nil {
		t.Fatalf("not in voice: %q", got)
	}
	e.inVoice(t, g, u, 70)
	if got := e.suggest(t, g, u, "remove", "position", ""); got != nil {
		t.Fatalf("nothing playing: %q", got)
	}
	e.run(t, g, u, "play", "query", "https://example.com/one.mp3?length=600000")
	e.run(t, g, u, "play", "query", "https://example.com/two.mp3?length=300000")
	if text, eph := e.run(t, g, u, "shuffle"); !eph || !strings.Contains(text, "There is nothing to shuffle: 1 track queued.") {
		t.Fatalf("shuffle one track: %q (ephemeral %v)", text, eph)
	}
	e.run(t, g, u, "play", "query", "https://www.youtube.com/playlist?list=PLx") // 3 more: positions 1-4, two per page
	cases := []struct {
		partial string
		want    int // positions offered
		first   int
	}{
		{"", 2, 1},  // page 1
		{"1", 1, 1}, // page 1, starting with 1: two.mp3 (one.mp3 plays)
		{"3", 1, 3}, // page 2
		{"4", 1, 4},
		{"9", 0, 0}, // past the end
	}
	for _, tc := range cases {
		got := e.suggest(t, g, u, "remove", "position", tc.partial)
		if len(got) != tc.want {
			t.Fatalf("%q: %q, want %d positions", tc.partial, got, tc.want)
		}
		if tc.want > 0 && !strings.HasPrefix(got[0], fmt.Sprintf("%d. ", tc.first)) || tc.want > 0 && !strings.HasSuffix(got[0], fmt.Sprintf("=%d", tc.first)) {
			t.Fatalf("%q: first %q, want position %d", tc.partial, got[0], tc.first)
		}
	}
	if got := e.suggest(t, g, u, "remove", "position", "2"); len(got) != 1 || got[0] != "2. Playlist PLx track 1 — Channel PLx=2" {
		t.Fatalf("position 2: %q", got)
	}
}

// TestItemRefusalsSayWhatYouHave: refusing an item the user lacks says
// how many they have free and how many are on show in their vault.
func TestItemRefusalsSayWhatYouHave(t *testing.T) {
	e := newEconEnv(t)
	e.give(t, alice, "silver_nugget", 1)
	if text, _, _ := e.reply(t, e.command(alice, "vault add", opt{"item", "silver_nugget"})); !strings.Contains(text, "now on show") {
		t.Fatalf("vault add: %q", text)
	}
	steps := []struct {
		name string
		ev   *discord.InteractionEvent
		want string
	}{
		{"all on show", e.command(alice, "sell", opt{"item", "silver_nugget"}),
			"Every Silver Nugget you have (1) is on show in your vault: take one off with /vault remove first."},
		{"all on show, vault add", e.command(alice, "vault add", opt{"item", "Silver Nugget"}),
			"Every Silver Nugget you have (1) is on show in your vault"},
	}
	for _, s := range steps {
		if text, eph, _ := e.reply(t, s.ev); !eph || !strings.Contains(text, s.want) {
			t.Fatalf("%s: %q (ephemeral %v), want %q", s.name, text, eph, s.want)
		}
	}
	e.give(t, alice, "silver_nugget", 1)
	if text, eph, _ := e.reply(t, e.command(alice, "sell", opt{"item", "silver_nugget"}, opt{"quantity", 3})); !eph ||
		text != "You have 1 Silver Nugget you can sell, not 3. (1 more on show in your vault.)" {
		t.Fatalf("sell 3: %q (ephemeral %v)", text, eph)
	}
}
