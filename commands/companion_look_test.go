package commands_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
)

// namedPair gives alice two companions from capsules, renamed Sparky and
// Bolt, and returns them in that order.
func (e *econEnv) namedPair(t *testing.T) (sparky, bolt economy.Companion) {
	t.Helper()
	ctx := context.Background()
	e.fund(t, alice, 20000)
	for range 2 {
		e.reply(t, e.command(alice, "buy", opt{"item", "companion_capsule"}))
		e.reply(t, e.command(alice, "use", opt{"item", "companion_capsule"}))
	}
	all, err := e.svc.Companions(ctx, int64(alice.ID))
	if err != nil || len(all) != 2 {
		t.Fatalf("alice's companions: %v, %v", all, err)
	}
	for i, name := range []string{"Sparky", "Bolt"} {
		if text, eph, _ := e.reply(t, e.command(alice, "companion rename", opt{"companion", "#" + itoa(all[i].ID)}, opt{"name", name})); eph {
			t.Fatalf("rename: %s", text)
		}
	}
	all, _ = e.svc.Companions(ctx, int64(alice.ID))
	return all[0], all[1]
}

// values keeps the values of suggestions ("name=value").
func values(got []string) []string {
	var out []string
	for _, s := range got {
		out = append(out, s[strings.LastIndex(s, "=")+1:])
	}
	return out
}

// Every option that names a companion suggests the user's companions as
// they type (by name or #number, with model, level and state), and the
// #number it sends is taken by the command. /companion view with a user
// suggests that user's companions.
func TestCompanionNameAutocomplete(t *testing.T) {
	e := newCompanionEnv(t)
	sparky, bolt := e.namedPair(t)
	s, b := "#"+itoa(sparky.ID), "#"+itoa(bolt.ID)
	for _, tc := range []struct {
		name            string
		who             discord.User
		path, option, p string
		want            []string
	}{
		{"train, nothing typed", alice, "companion train", "companion", "", []string{s, b}},
		{"train, a name's start", alice, "companion train", "companion", "sp", []string{s}},
		{"train, a #number", alice, "companion train", "companion", b, []string{b}},
		{"view", alice, "companion view", "companion", "", []string{s, b}},
		{"skills", alice, "companion skills", "companion", "bol", []string{b}},
		{"learn", alice, "companion learn", "companion", "", []string{s, b}},
		{"stasis", alice, "companion stasis", "companion", "", []string{s, b}},
		{"equip", alice, "companion equip", "companion", "", []string{s, b}},
		{"recharge", alice, "companion recharge", "companion", "", []string{s, b}},
		{"release", alice, "companion release", "companion", "", []string{s, b}},
		{"rename", alice, "companion rename", "companion", "", []string{s, b}},
		{"breed, first", alice, "companion breed", "first", "", []string{s, b}},
		{"breed, second", alice, "companion breed", "second", "bolt", []string{b}},
		{"battle's fighter", alice, "battle", "companion", "", []string{s, b}},
		{"someone with none", bob, "companion train", "companion", "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := values(e.suggest(t, tc.who, tc.path, tc.option, tc.p)); !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	m, _ := e.svc.Catalog().Model(sparky.Model)
	if got := e.suggest(t, alice, "companion train", "companion", "spark"); len(got) != 1 ||
		got[0] != "Sparky ("+s+") · Lv 1 "+m.Name+" · ✅ ready="+s {
		t.Fatalf("label: %q", got)
	}
	// One still named after its model says it once.
	m2, _ := e.svc.Catalog().Model(bolt.Model)
	e.reply(t, e.command(alice, "companion rename", opt{"companion", b}, opt{"name", m2.Name}))
	if got := e.suggest(t, alice, "companion train", "companion", b); len(got) != 1 || got[0] != m2.Name+" ("+b+") · Lv 1 · ✅ ready="+b {
		t.Fatalf("label of a companion named after its model: %q", got)
	}
	e.reply(t, e.command(alice, "companion rename", opt{"companion", b}, opt{"name", "Bolt"}))
	// /companion view of another user's companion: that user's.
	raw := func(v string) []byte { return must(json.Marshal(v)) }
	u := bob
	ev := &discord.InteractionEvent{ID: commands.FreshID(e.nextID.Add(1)), AppID: 1, Token: "tok", GuildID: 5, ChannelID: 6, User: &u,
		Data: &discord.AutocompleteInteraction{Name: "companion", Options: discord.AutocompleteOptions{{
			Type: discord.SubcommandOptionType, Name: "view", Options: discord.AutocompleteOptions{
				{Type: discord.UserOptionType, Name: "user", Value: raw(alice.ID.String())},
				{Type: discord.StringOptionType, Name: "companion", Value: raw(""), Focused: true},
			}}}}}
	n := len(e.rec.resps)
	e.router.Handle(context.Background(), ev, 0)
	if got := values(suggestions(t, e.rec.resps[n])); !slices.Equal(got, []string{s, b}) {
		t.Fatalf("bob viewing alice's: %q", got)
	}
	// The value a suggestion sends is a companion reference the command takes.
	if text, eph, _ := e.reply(t, e.command(alice, "companion train", opt{"companion", b})); eph || !strings.Contains(text, "Bolt") {
		t.Fatalf("train %s: %q", b, text)
	}
}

// Every companion view shows the companion's look: /companion view (and
// each reply that shows the card) has the rarity's colour, a level bar,
// the stats, skills, charge and mood gauges, and the equipped skin and
// chassis; /companion list shows the skin and chassis too.
func TestCompanionViewsShowTheLook(t *testing.T) {
	e := newCompanionEnv(t)
	ctx := context.Background()
	sparky, _ := e.namedPair(t)
	// A mythic Oracle at level 2 (50 of the 200 XP to level 3) with a skill.
	if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET model = 'oracle', xp = 150, skills = '{beam}' WHERE id = $1`, sparky.ID); err != nil {
		t.Fatal(err)
	}
	e.fund(t, alice, 10000)
	for _, k := range []string{"skin_neon", "chassis_light"} {
		e.reply(t, e.command(alice, "buy", opt{"item", k}))
		if text, eph, _ := e.reply(t, e.command(alice, "companion equip", opt{"companion", "Sparky"}, opt{"item", k})); eph {
			t.Fatalf("equip %s: %s", k, text)
		}
	}
	cards := map[string]*discord.InteractionEvent{
		"view":     e.command(alice, "companion view", opt{"companion", "Sparky"}),
		"rename":   e.command(alice, "companion rename", opt{"companion", "Sparky"}, opt{"name", "Sparky"}),
		"train":    e.command(alice, "companion train", opt{"companion", "Sparky"}),
		"stasis":   e.command(alice, "companion stasis", opt{"companion", "Sparky"}, opt{"action", "enter"}),
		"wake":     e.command(alice, "companion stasis", opt{"companion", "Sparky"}, opt{"action", "wake"}),
		"of alice": e.command(bob, "companion view", opt{"companion", "Sparky"}, opt{"user", alice}),
	}
	for _, name := range []string{"view", "rename", "train", "stasis", "wake", "of alice"} {
		text, eph, d := e.reply(t, cards[name])
		if eph || d.Embeds == nil || len(*d.Embeds) != 1 {
			t.Fatalf("%s: %q", name, text)
		}
		em := (*d.Embeds)[0]
		if em.Color != 0xE91E63 { // mythic
			t.Errorf("%s: colour %06x, want mythic's", name, em.Color)
		}
		fields := map[string]string{}
		for _, f := range em.Fields {
			fields[f.Name] = f.Value
		}
		level := "**2** ▰▰▱▱▱▱▱▱▱▱ 50/200 XP"
		if name != "view" && name != "rename" {
			level = "**2** " // training added XP
		}
		for field, want := range map[string]string{
			"Level": level, "Stats": "Power", "Charge": "⚡ ▰", "Mood": "😊 ▰", "Skills": "Beam",
			"Skin": "Neon Skin", "Chassis": "Lightweight Chassis",
		} {
			if !strings.Contains(fields[field], want) {
				t.Errorf("%s: field %s = %q, want %q", name, field, fields[field], want)
			}
		}
		if !strings.Contains(em.Title, "Sparky · Oracle") || em.Footer == nil || !strings.Contains(em.Footer.Text, "mythic Oracle") {
			t.Errorf("%s: title %q, footer %+v", name, em.Title, em.Footer)
		}
	}
	// A companion still named after its model says the name once.
	_, _, d := e.reply(t, e.command(alice, "companion rename", opt{"companion", "Sparky"}, opt{"name", "Oracle Core"}))
	if title := (*d.Embeds)[0].Title; title != "Oracle Core" {
		t.Errorf("title %q, want the name once", title)
	}
	text, _, _ := e.reply(t, e.command(alice, "companion list"))
	if !strings.Contains(text, "Neon Skin") || !strings.Contains(text, "Lightweight Chassis") {
		t.Errorf("list lacks the look:\n%s", text)
	}
}

// A battle is one message updated in place turn by turn (each button's
// reply updates the message it is on), with an HP bar per side, and the
// move buttons are the companion's basic move and its learnt move skills;
// a move skill used shows in the battle's log.
func TestBattleShowsHPBarsAndSkillMoves(t *testing.T) {
	e := newCompanionEnv(t)
	ctx := context.Background()
	e.twoPlayers(t)
	mine, _ := e.svc.Companions(ctx, int64(alice.ID))
	// Alice's companion is a Worker that learnt Hammer Arm (an attack) and
	// Overtime (a work skill: no move).
	// She wears a skin and Bob's a chassis: each shows with its fighter.
	if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET model = 'worker', xp = 1000, skills = '{overtime,hammer}', skin = 'skin_camo' WHERE id = $1`, mine[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET chassis = 'chassis_light' WHERE owner_id = $1`, int64(bob.ID)); err != nil {
		t.Fatal(err)
	}
	text, _, d := e.reply(t, e.command(alice, "battle", opt{"user", bob}, opt{"wager", "100"}))
	if !strings.Contains(text, "🎨 Camo Skin") {
		t.Errorf("the challenge does not show the challenger's skin:\n%s", text)
	}
	text, eph, d := e.press(t, bob, buttons(d)["Accept"])
	if eph {
		t.Fatalf("accept: %s", text)
	}
	looks := map[string]bool{}
	for _, f := range (*d.Embeds)[0].Fields {
		for _, l := range []string{"🎨 Camo Skin", "🎨 Lightweight Chassis"} {
			if strings.Contains(f.Value, l) {
				looks[l] = true
			}
		}
	}
	if len(looks) != 2 {
		t.Errorf("the battle shows the fighters' looks %v, want the skin and the chassis:\n%s", looks, text)
	}
	last := func() api.InteractionResponse {
		e.rec.mu.Lock()
		defer e.rec.mu.Unlock()
		return e.rec.resps[len(e.rec.resps)-1]
	}
	hp := func(d *api.InteractionResponseData) int {
		n := 0
		for _, f := range (*d.Embeds)[0].Fields {
			if strings.Contains(f.Value, "❤️ ▰") || strings.Contains(f.Value, "❤️ ▱") {
				n++
			}
		}
		return n
	}
	for turn := 0; ; turn++ {
		if r := last(); r.Type != api.UpdateMessage {
			t.Fatalf("turn %d: response type %d, want an update of the battle's message", turn, r.Type)
		}
		if n := hp(d); n != 2 {
			t.Fatalf("turn %d: %d HP bars:\n%s", turn, n, text)
		}
		btn := buttons(d)
		if strings.Contains(text, "<@"+alice.ID.String()+">, your move") {
			if _, ok := btn["Strike"]; !ok || len(btn) != 3 || btn["Hammer Arm"] == "" {
				t.Fatalf("alice's moves: %v", btn)
			}
			text, eph, d = e.press(t, alice, btn["Hammer Arm"])
			if eph || !strings.Contains(text, "uses Hammer Arm") {
				t.Fatalf("hammer: %q", text)
			}
			break
		}
		if turn > 0 {
			t.Fatal("alice never had her turn")
		}
		if len(btn) != 2 || btn["Strike"] == "" {
			t.Fatalf("bob's moves: %v", btn)
		}
		text, _, d = e.press(t, bob, btn["Strike"])
	}
	if r := last(); r.Type != api.UpdateMessage || hp(d) != 2 {
		t.Fatalf("after hammer: response type %d, %d HP bars", r.Type, hp(d))
	}
}

// A challenge or battle that is over keeps no buttons and no call to
// act: its message's reply replaces the buttons with none and the content
// with the outcome (an update leaves out what it does not set, so the old
// Accept, pick menu or move buttons and "your move!" would otherwise stay).
func TestFinishedBattleLosesItsButtons(t *testing.T) {
	e := newCompanionEnv(t)
	e.twoPlayers(t)
	over := func(t *testing.T, what, text string, d *api.InteractionResponseData, stale ...string) {
		t.Helper()
		if d.Components == nil || len(*d.Components) != 0 {
			t.Errorf("%s: components %v, want them cleared", what, d.Components)
		}
		if d.Content == nil || d.Content.Val == "" {
			t.Errorf("%s: no content to replace the old one", what)
		}
		for _, s := range stale {
			if strings.Contains(text, s) {
				t.Errorf("%s: %q still says %q", what, text, s)
			}
		}
	}
	// Declined.
	_, _, d := e.reply(t, e.command(alice, "battle", opt{"user", bob}))
	text, eph, d := e.press(t, bob, buttons(d)["Decline"])
	if eph || !strings.Contains(text, "declined") {
		t.Fatalf("decline: %q", text)
	}
	over(t, "declined", text, d, "you are challenged")
	// Played to the end.
	_, _, d = e.reply(t, e.command(alice, "battle", opt{"user", bob}, opt{"wager", "100"}))
	text, _, d = e.press(t, bob, buttons(d)["Accept"])
	for i := 0; !strings.Contains(text, "wins"); i++ {
		if i > 100 {
			t.Fatal("the battle never ends")
		}
		mover := alice
		if strings.Contains(text, "<@"+bob.ID.String()+">, your move") {
			mover = bob
		}
		text, _, d = e.press(t, mover, buttons(d)["Strike"])
	}
	over(t, "won", text, d, "your move")
	// The result says whose companion gained which XP.
	r := e.svc.Catalog().Companions.Battle
	b, _ := e.svc.GetBattle(context.Background(), 2)
	xp := map[int64]int64{b.Winner: r.WinXP, b.Player(0) + b.Player(1) - b.Winner: r.LossXP}
	if want := fmt.Sprintf("XP: %s +%d, %s +%d.", b.Fighters[0].Name, xp[b.Player(0)], b.Fighters[1].Name, xp[b.Player(1)]); !strings.Contains(text, want) {
		t.Errorf("result %q lacks %q", text, want)
	}
	// Companions still named after their models say the model once.
	for _, f := range b.Fighters {
		if m, _ := e.svc.Catalog().Model(f.Model); f.Name == m.Name && !strings.Contains(text, fmt.Sprintf("%s (Lv %d):", f.Name, f.Level)) {
			t.Errorf("%q lacks %q", text, fmt.Sprintf("%s (Lv %d):", f.Name, f.Level))
		}
	}
	// A click on an old move button after the end shows the end, still
	// without buttons.
	text, _, d = e.press(t, alice, "battle:2:move:0:0")
	over(t, "a stale click", text, d, "your move")
}

// The README's command list of the companion game names every /companion
// subcommand and /battle with each of its options, so that the list and
// the commands cannot drift apart.
func TestReadmeListsTheCompanionGame(t *testing.T) {
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(raw), "### Companions and battles")
	if !ok {
		t.Fatal("README.md has no \"Companions and battles\" section")
	}
	section, _, _ = strings.Cut(section, "\n### ")
	e := newCompanionEnv(t)
	cmds, _ := commands.Companions(e.svc)
	for _, c := range cmds {
		if !strings.Contains(section, "/"+c.Name) {
			t.Errorf("the README's list lacks /%s", c.Name)
		}
		for _, sub := range c.Subcommands {
			if !regexp.MustCompile(`(/companion|\|) ` + sub.Name + `\b`).MatchString(section) {
				t.Errorf("the README's list lacks /%s %s", c.Name, sub.Name)
			}
		}
		if c.Name == "battle" {
			for _, o := range c.Options {
				if !strings.Contains(section, o.Name) {
					t.Errorf("the README's /battle lacks its option %s", o.Name)
				}
			}
		}
	}
}

// /companion learn takes a skill by name or key, /companion recharge uses
// a Power Cell, and /companion release (confirmed) lets the companion go
// and gives back what it wore.
func TestLearnRechargeReleaseCommands(t *testing.T) {
	e := newCompanionEnv(t)
	ctx := context.Background()
	sparky, _ := e.namedPair(t)
	if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET model = 'worker', xp = 1000, charge = 40 WHERE id = $1`, sparky.ID); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		ev   *discord.InteractionEvent
		eph  bool
		want string
	}{
		{e.command(alice, "companion learn", opt{"companion", "Sparky"}, opt{"skill", "hammer arm"}), false, "Sparky learnt **Hammer Arm**."},
		{e.command(alice, "companion learn", opt{"companion", "Sparky"}, opt{"skill", "overtime"}), false, "Sparky learnt **Overtime**."},
		{e.command(alice, "companion learn", opt{"companion", "Sparky"}, opt{"skill", "overtime"}), true, "already"},
		{e.command(alice, "companion learn", opt{"companion", "Sparky"}, opt{"skill", "railgun"}), true, `no skill "railgun"`},
		{e.command(alice, "companion recharge", opt{"companion", "Sparky"}), true, "Power Cell"},
		{e.command(alice, "buy", opt{"item", "power_cell"}), false, "Power Cell"},
		{e.command(alice, "companion recharge", opt{"companion", "Sparky"}), false, "is at 90% charge"},
		{e.command(alice, "buy", opt{"item", "skin_camo"}), false, "Camo Skin"},
		{e.command(alice, "companion equip", opt{"companion", "Sparky"}, opt{"item", "skin_camo"}), false, "new look"},
		{e.command(alice, "companion release", opt{"companion", "Sparky"}, opt{"confirm", true}), false, "The Camo Skin is back in your /inventory."},
		{e.command(alice, "companion view", opt{"companion", "Sparky"}), true, "no companion called"},
	} {
		text, eph, _ := e.reply(t, tc.ev)
		if eph != tc.eph || !strings.Contains(text, tc.want) {
			t.Fatalf("/%s: %q (ephemeral %v), want %q", tc.ev.Data.(*discord.CommandInteraction).Name, text, eph, tc.want)
		}
	}
}

// /help battle and the README quote the catalogue's numbers (its
// deadlines, the house fee, the breeding level and incubation): a tuned
// catalogue must be described again.
func TestCompanionHelpQuotesTheCatalogue(t *testing.T) {
	e := newCompanionEnv(t)
	r := e.svc.Catalog().Companions
	text, _, _ := e.reply(t, e.command(alice, "help", opt{"command", "battle"}))
	for _, want := range []string{
		fmt.Sprintf("%d seconds", r.Battle.ChallengeSeconds),
		fmt.Sprintf("within %d seconds", r.Battle.MoveSeconds),
		fmt.Sprintf("%d%% house fee", r.Battle.FeePercent),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("/help battle lacks %q:\n%s", want, text)
		}
	}
	raw, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		fmt.Sprintf("level-%d parents", r.Breed.MinLevel),
		fmt.Sprintf("after %d h", r.Breed.IncubationSeconds/3600),
		fmt.Sprintf("for %d s", r.Battle.ChallengeSeconds),
		fmt.Sprintf("%d s a turn", r.Battle.MoveSeconds),
		fmt.Sprintf("%d%% house fee", r.Battle.FeePercent),
		fmt.Sprintf("(%d models,", len(r.Models)),
	} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("README.md lacks %q", want)
		}
	}
}

// /companion learn's skill option suggests the named companion's skills
// not learnt yet: those it can learn now first, then the locked ones with
// what they wait for; nothing before a companion is named.
func TestSkillAutocomplete(t *testing.T) {
	e := newCompanionEnv(t)
	ctx := context.Background()
	sparky, _ := e.namedPair(t)
	// A level-3 Worker Bot (2 skill points) that learnt Overtime.
	if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET model = 'worker', xp = 300, skills = '{overtime}' WHERE id = $1`, sparky.ID); err != nil {
		t.Fatal(err)
	}
	raw := func(v string) []byte { return must(json.Marshal(v)) }
	suggest := func(companion, partial string) []string {
		t.Helper()
		opts := discord.AutocompleteOptions{{Type: discord.StringOptionType, Name: "skill", Value: raw(partial), Focused: true}}
		if companion != "" {
			opts = append(discord.AutocompleteOptions{{Type: discord.StringOptionType, Name: "companion", Value: raw(companion)}}, opts...)
		}
		u := alice
		n := len(e.rec.resps)
		e.router.Handle(ctx, &discord.InteractionEvent{ID: commands.FreshID(e.nextID.Add(1)), AppID: 1, Token: "tok", GuildID: 5, ChannelID: 6, User: &u,
			Data: &discord.AutocompleteInteraction{Name: "companion", Options: discord.AutocompleteOptions{{
				Type: discord.SubcommandOptionType, Name: "learn", Options: opts}}}}, 0)
		return suggestions(t, e.rec.resps[n])
	}
	want := []string{
		"Hammer Arm · 1 pt · battle move: attack, power 16, 85% accuracy=hammer",
		"Steel Plating · 🔒 level 6 · battle move: guard, the next hit is 50% weaker=plating",
		"Union Rep · 🔒 level 10 · +25% /work pay=union_rep",
	}
	if got := suggest("Sparky", ""); !slices.Equal(got, want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if got := suggest("#"+itoa(sparky.ID), "uni"); !slices.Equal(got, want[2:]) {
		t.Fatalf("by #number, typed uni: %q", got)
	}
	for _, c := range []string{"", "Nobody"} {
		if got := suggest(c, ""); got != nil {
			t.Fatalf("companion %q: %q", c, got)
		}
	}
}
