package commands_test

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
)

// newCompanionEnv is newEconEnv with /companion, /battle and their buttons.
func newCompanionEnv(t *testing.T) *econEnv {
	t.Helper()
	e := newEconEnv(t)
	cmds, comps := commands.Companions(e.svc)
	all := append([]*commands.Command{commands.Help(commands.EconomyHelp())}, commands.Economy(e.svc)...)
	cat, err := commands.NewCatalog(append(all, cmds...), append(commands.EconomyComponents(e.svc), comps...))
	if err != nil {
		t.Fatal(err)
	}
	if e.router, err = commands.NewRouter(commands.Config{Catalog: cat, Responder: e.rec, Claimer: everyClaim{}, NodeID: "test"}); err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *econEnv) press(t *testing.T, from discord.User, id discord.ComponentID) (string, bool, *api.InteractionResponseData) {
	t.Helper()
	u := from
	return e.reply(t, &discord.InteractionEvent{ID: commands.FreshID(e.nextID.Add(1)), AppID: 1, Token: "tok", User: &u,
		GuildID: 5, ChannelID: 6, Data: &discord.ButtonInteraction{CustomID: id}})
}

// buttons lists the custom IDs of a reply's buttons by label.
func buttons(d *api.InteractionResponseData) map[string]discord.ComponentID {
	out := map[string]discord.ComponentID{}
	if d.Components == nil {
		return out
	}
	for _, c := range *d.Components {
		if row, ok := c.(*discord.ActionRowComponent); ok {
			for _, b := range *row {
				if btn, ok := b.(*discord.ButtonComponent); ok {
					out[btn.Label] = btn.CustomID
				}
			}
		}
	}
	return out
}

// The end-to-end path: capsule → /use → /companion train →
// /battle accepted and played to the end by button clicks → balances and
// ledger as expected.
func TestCompanionAndBattleEndToEnd(t *testing.T) {
	e := newCompanionEnv(t)
	ctx := context.Background()
	e.fund(t, alice, 20000)
	e.fund(t, bob, 20000)
	for _, u := range []discord.User{alice, bob} {
		if text, eph, _ := e.reply(t, e.command(u, "buy", opt{"item", "companion_capsule"})); eph {
			t.Fatalf("buy: %s", text)
		}
		text, eph, _ := e.reply(t, e.command(u, "use", opt{"item", "companion_capsule"}))
		if eph || !strings.Contains(text, "capsule pops open") || !strings.Contains(text, "Charge") {
			t.Fatalf("use: %s", text)
		}
	}
	all, err := e.svc.Companions(ctx, int64(alice.ID))
	if err != nil || len(all) != 1 {
		t.Fatalf("alice's companions: %v, %v", all, err)
	}
	name := all[0].Name
	text, eph, _ := e.reply(t, e.command(alice, "companion list"))
	if eph || !strings.Contains(text, name) {
		t.Fatalf("list: %s", text)
	}
	text, eph, _ = e.reply(t, e.command(alice, "companion train", opt{"companion", name}))
	if eph || !strings.Contains(text, "XP") {
		t.Fatalf("train: %s", text)
	}
	text, eph, _ = e.reply(t, e.command(alice, "companion train", opt{"companion", name}))
	if !eph || !strings.Contains(text, "Not yet") {
		t.Fatalf("train on cooldown: %s", text)
	}
	text, eph, _ = e.reply(t, e.command(alice, "companion skills", opt{"companion", "#" + itoa(all[0].ID)}))
	if eph || !strings.Contains(text, "Skill tree") {
		t.Fatalf("skills: %s", text)
	}
	wallet := func(u discord.User) int64 { a, _ := e.svc.Balance(ctx, int64(u.ID)); return a.Wallet }
	a0, b0 := wallet(alice), wallet(bob)

	text, eph, d := e.reply(t, e.command(alice, "battle", opt{"user", bob}, opt{"wager", "1k"}))
	if eph || !strings.Contains(text, "challenges") {
		t.Fatalf("challenge: %s", text)
	}
	btn := buttons(d)
	// Only bob may accept.
	if text, eph, _ := e.press(t, alice, btn["Accept"]); !eph || !strings.Contains(text, "own challenge") {
		t.Fatalf("alice accepts her own challenge: %s", text)
	}
	text, eph, d = e.press(t, bob, btn["Accept"])
	if eph || !strings.Contains(text, "your move") {
		t.Fatalf("accept: %s", text)
	}
	if wallet(alice) != a0-1000 || wallet(bob) != b0-1000 {
		t.Fatal("the wagers are not in escrow")
	}
	// A second click on Accept changes nothing and shows the battle as it is.
	if text, eph, _ := e.press(t, bob, btn["Accept"]); eph || !strings.Contains(text, "no longer open") || !strings.Contains(text, "your move") {
		t.Fatalf("second accept: %s", text)
	}
	if wallet(bob) != b0-1000 {
		t.Fatal("the second accept paid again")
	}
	for i := 0; ; i++ {
		if i > 100 {
			t.Fatal("the battle never ends")
		}
		if strings.Contains(text, "wins") {
			break
		}
		btn = buttons(d)
		mover := alice
		if strings.Contains(text, "<@"+bob.ID.String()+">, your move") {
			mover = bob
		}
		other := bob
		if mover == bob {
			other = alice
		}
		var move discord.ComponentID
		for label, id := range btn {
			if label != "🔄" {
				move = id
				break
			}
		}
		if text, eph, _ := e.press(t, other, move); !eph || !strings.Contains(text, "not your turn") {
			t.Fatalf("a move for the other side: %s", text)
		}
		text, eph, d = e.press(t, mover, move)
		if eph {
			t.Fatalf("move: %s", text)
		}
	}
	b, _ := e.svc.Companions(ctx, int64(bob.ID))
	if b[0].BattleID != 0 {
		t.Fatal("bob's companion is still in battle")
	}
	winner, loser := alice, bob
	if strings.Contains(text, "<@"+bob.ID.String()+"> wins") {
		winner, loser = bob, alice
	}
	w0 := map[discord.UserID]int64{alice.ID: a0, bob.ID: b0}
	if wallet(winner) != w0[winner.ID]+900 || wallet(loser) != w0[loser.ID]-1000 {
		t.Fatalf("after the battle: winner %d (was %d), loser %d (was %d)", wallet(winner), w0[winner.ID], wallet(loser), w0[loser.ID])
	}
	r, err := economy.Audit(ctx, e.pool)
	if err != nil || r.Err() != nil {
		t.Fatalf("audit: %v %v", err, r.Err())
	}
}

func TestCompanionCommandRefusals(t *testing.T) {
	e := newCompanionEnv(t)
	tests := []struct {
		name string
		ev   *discord.InteractionEvent
		want string
	}{
		{"view a companion you do not have", e.command(alice, "companion view", opt{"companion", "Ghost"}), "no companion called"},
		{"release without confirming", e.command(alice, "companion release", opt{"companion", "Ghost"}, opt{"confirm", false}), "cannot be undone"},
		{"battle yourself", e.command(alice, "battle", opt{"user", alice}), "yourself"},
		{"battle a bot", e.command(alice, "battle", opt{"user", robot}), "Bots"},
		{"battle with a bad wager", e.command(alice, "battle", opt{"user", bob}, opt{"wager", "lots"}), "not an amount"},
		{"battle without a companion", e.command(alice, "battle", opt{"user", bob}), "no companion ready"},
		{"open a capsule you do not have", e.command(alice, "use", opt{"item", "companion_capsule"}), "enough"},
		{"a forged battle button", nil, "expired"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var text string
			var eph bool
			if tc.ev == nil {
				text, eph, _ = e.press(t, alice, "battle:x:accept")
			} else {
				text, eph, _ = e.reply(t, tc.ev)
			}
			if !eph || !strings.Contains(text, tc.want) {
				t.Fatalf("got %q (ephemeral %v), want %q", text, eph, tc.want)
			}
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// /help describes the game: the list names /companion and /battle, and
// each has its rules.
func TestHelpDescribesTheCompanionGame(t *testing.T) {
	e := newCompanionEnv(t)
	text, _, _ := e.reply(t, e.command(alice, "help"))
	for _, want := range []string{"/companion", "/battle"} {
		if !strings.Contains(text, want) {
			t.Errorf("/help lacks %s:\n%s", want, text)
		}
	}
	for cmd, want := range map[string][]string{
		"companion": {"/companion stasis", "Stasis freezes decay", "Breeding", "Power Cell"},
		"battle":    {"Accept and Decline", "escrow", "house fee", "second miss forfeits"},
	} {
		text, _, _ := e.reply(t, e.command(alice, "help", opt{"command", cmd}))
		for _, w := range want {
			if !strings.Contains(text, w) {
				t.Errorf("/help %s lacks %q:\n%s", cmd, w, text)
			}
		}
	}
}

// Accept after the challenge expired: nothing is paid, and the message
// shows the challenge expired, without buttons.
func TestBattleAcceptAfterExpiry(t *testing.T) {
	e := newCompanionEnv(t)
	ctx := context.Background()
	e.twoPlayers(t)
	_, _, d := e.reply(t, e.command(alice, "battle", opt{"user", bob}, opt{"wager", "500"}))
	if _, err := e.pool.Exec(ctx, `UPDATE economy.battles SET deadline = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	text, eph, d := e.press(t, bob, buttons(d)["Accept"])
	if eph || !strings.Contains(text, "expired") || len(buttons(d)) != 0 {
		t.Fatalf("accept after expiry: %q (ephemeral %v, buttons %v)", text, eph, buttons(d))
	}
	for _, u := range []discord.User{alice, bob} {
		if a, _ := e.svc.Balance(ctx, int64(u.ID)); a.Wallet != 10000-5000 {
			t.Errorf("%s's wallet %d: the wager moved", u.Username, a.Wallet)
		}
	}
}

// editRecorder keeps the edits of original responses.
type editRecorder struct {
	recorder
	edits []api.EditInteractionResponseData
	to    []string
}

func (r *editRecorder) EditInteractionResponse(appID discord.AppID, token string, data api.EditInteractionResponseData) (*discord.Message, error) {
	r.edits = append(r.edits, data)
	r.to = append(r.to, appID.String()+":"+token)
	return &discord.Message{}, nil
}

// When the sweep resolves a battle (here an expired challenge), the
// battle's message is edited: the challenge says it expired and loses its
// buttons.
func TestSweepUpdatesTheBattleMessage(t *testing.T) {
	e := newCompanionEnv(t)
	ctx := context.Background()
	e.twoPlayers(t)
	e.reply(t, e.command(alice, "battle", opt{"user", bob}))
	if _, err := e.pool.Exec(ctx, `UPDATE economy.battles SET deadline = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	done, err := e.svc.SweepBattles(ctx, 10)
	if err != nil || len(done) != 1 {
		t.Fatalf("sweep: %+v, %v", done, err)
	}
	rec := &editRecorder{}
	if err := commands.BattleMessages(e.svc, rec)(ctx, done[0]); err != nil {
		t.Fatal(err)
	}
	if len(rec.edits) != 1 || rec.to[0] != "1:tok" {
		t.Fatalf("edits %v to %v", rec.edits, rec.to)
	}
	ed := rec.edits[0]
	if ed.Embeds == nil || !strings.Contains((*ed.Embeds)[0].Title, "expired") || ed.Components == nil || len(*ed.Components) != 0 {
		t.Fatalf("edit: %+v", ed)
	}
	// A battle without a message (not from a command) is left alone.
	done[0].Notify = ""
	if err := commands.BattleMessages(e.svc, rec)(ctx, done[0]); err != nil || len(rec.edits) != 1 {
		t.Fatalf("no message: %v, %d edits", err, len(rec.edits))
	}
}

// twoPlayers gives alice and bob 10,000 credits each and, from them, a
// companion each (bought and opened through the commands).
func (e *econEnv) twoPlayers(t *testing.T) {
	t.Helper()
	for _, u := range []discord.User{alice, bob} {
		e.fund(t, u, 10000)
		e.reply(t, e.command(u, "buy", opt{"item", "companion_capsule"}))
		e.reply(t, e.command(u, "use", opt{"item", "companion_capsule"}))
	}
}

// picker returns the challenge's companion menu: its custom ID and the
// values it offers.
func picker(d *api.InteractionResponseData) (discord.ComponentID, []string) {
	if d.Components == nil {
		return "", nil
	}
	for _, c := range *d.Components {
		if row, ok := c.(*discord.ActionRowComponent); ok {
			for _, x := range *row {
				if sel, ok := x.(*discord.StringSelectComponent); ok {
					var vals []string
					for _, o := range sel.Options {
						vals = append(vals, o.Value)
					}
					return sel.CustomID, vals
				}
			}
		}
	}
	return "", nil
}

// The challenged picks their fighter from the challenge's menu, which lists
// their ready companions; a pick by anyone else, or of a companion not
// theirs, is refused and nothing is paid.
func TestBattlePickCompanionOnAccept(t *testing.T) {
	e := newCompanionEnv(t)
	ctx := context.Background()
	e.twoPlayers(t)
	e.fund(t, bob, 10000)
	e.reply(t, e.command(bob, "buy", opt{"item", "companion_capsule"}))
	e.reply(t, e.command(bob, "use", opt{"item", "companion_capsule"}))
	mine, err := e.svc.Companions(ctx, int64(bob.ID))
	if err != nil || len(mine) != 2 {
		t.Fatalf("bob's companions: %v, %v", mine, err)
	}
	theirs, _ := e.svc.Companions(ctx, int64(alice.ID))
	_, _, d := e.reply(t, e.command(alice, "battle", opt{"user", bob}, opt{"wager", "500"}))
	id, vals := picker(d)
	if id == "" || len(vals) != 2 {
		t.Fatalf("menu %q with %v", id, vals)
	}
	pick := "#" + itoa(mine[1].ID)
	before, _ := e.svc.Balance(ctx, int64(bob.ID))
	for _, tc := range []struct {
		who  discord.User
		val  string
		want string
	}{
		{alice, pick, "cannot accept your own challenge"},
		{bob, "#" + itoa(theirs[0].ID), "no companion"},
	} {
		if text, eph, _ := e.component(t, tc.who, id, tc.val); !eph || !strings.Contains(text, tc.want) {
			t.Fatalf("%s picks %s: %q (ephemeral %v)", tc.who.Username, tc.val, text, eph)
		}
	}
	if a, _ := e.svc.Balance(ctx, int64(bob.ID)); a.Wallet != before.Wallet {
		t.Fatalf("bob's wallet %d after the refusals", a.Wallet)
	}
	text, eph, _ := e.component(t, bob, id, pick)
	if eph || !strings.Contains(text, mine[1].Name) {
		t.Fatalf("bob picks: %q (ephemeral %v)", text, eph)
	}
	b, err := e.svc.GetBattle(ctx, 1)
	if err != nil || b.State != economy.BattleActive || b.Fighters[1].Companion != mine[1].ID {
		t.Fatalf("battle: %+v, %v", b, err)
	}
}

// /companion breed lays an egg, /companion list shows it, and
// /companion hatch hatches it once ready, not before, and once.
func TestBreedAndHatchCommands(t *testing.T) {
	e := newCompanionEnv(t)
	ctx := context.Background()
	e.fund(t, alice, 30000)
	for range 2 {
		e.reply(t, e.command(alice, "buy", opt{"item", "companion_capsule"}))
		e.reply(t, e.command(alice, "use", opt{"item", "companion_capsule"}))
	}
	if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET xp = 1000000`); err != nil {
		t.Fatal(err)
	}
	text, eph, _ := e.reply(t, e.command(alice, "companion breed", opt{"first", "#1"}, opt{"second", "#2"}))
	if eph || !strings.Contains(text, "egg") || !strings.Contains(text, "/companion hatch") {
		t.Fatalf("breed: %q (ephemeral %v)", text, eph)
	}
	if text, _, _ := e.reply(t, e.command(alice, "companion list")); !strings.Contains(text, "🥚") || !strings.Contains(text, "breeding") {
		t.Fatalf("list while incubating: %q", text)
	}
	if text, eph, _ := e.reply(t, e.command(alice, "companion hatch")); !eph || !strings.Contains(text, "not ready") {
		t.Fatalf("hatch before ready: %q (ephemeral %v)", text, eph)
	}
	if text, eph, _ := e.reply(t, e.command(alice, "companion train", opt{"companion", "#1"})); !eph || !strings.Contains(text, "breeding") {
		t.Fatalf("train a parent while breeding: %q (ephemeral %v)", text, eph)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE economy.eggs SET ready_at = laid_at, laid_at = laid_at - interval '1 hour'`); err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET breeding_until = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	text, eph, _ = e.reply(t, e.command(alice, "companion hatch"))
	if eph || !strings.Contains(text, "hatches") || !strings.Contains(text, "generation 2") {
		t.Fatalf("hatch: %q (ephemeral %v)", text, eph)
	}
	if text, eph, _ := e.reply(t, e.command(alice, "companion hatch")); !eph || !strings.Contains(text, "no egg") {
		t.Fatalf("hatch again: %q (ephemeral %v)", text, eph)
	}
	if all, _ := e.svc.Companions(ctx, int64(alice.ID)); len(all) != 3 {
		t.Fatalf("%d companions", len(all))
	}
}

// A companion's work and gather skills show in /work's and /gather's
// replies: which companion, which skill, how much.
func TestCompanionSkillShowsInWorkAndGather(t *testing.T) {
	e := newCompanionEnv(t)
	ctx := context.Background()
	e.fund(t, alice, 20000)
	e.reply(t, e.command(alice, "buy", opt{"item", "companion_capsule"}))
	e.reply(t, e.command(alice, "use", opt{"item", "companion_capsule"}))
	e.reply(t, e.command(alice, "buy", opt{"item", "fishing_rod"}))
	all, err := e.svc.Companions(ctx, int64(alice.ID))
	if err != nil || len(all) != 1 {
		t.Fatalf("companions: %v, %v", all, err)
	}
	for _, tc := range []struct {
		model, skills string
		cmd           *discord.InteractionEvent
		want          string
	}{
		{"worker", "{overtime}", e.command(alice, "work", opt{"job", "code_review"}), "'s Overtime: +10% pay"},
		{"scout", "{afterburner,survey}", e.command(alice, "gather"), "'s Survey: +15% odds of rare finds"},
	} {
		if _, err := e.pool.Exec(ctx, `UPDATE economy.companions SET model = $1, skills = $2 WHERE id = $3`, tc.model, tc.skills, all[0].ID); err != nil {
			t.Fatal(err)
		}
		text, eph, _ := e.reply(t, tc.cmd)
		if eph || !strings.Contains(text, all[0].Name+tc.want) {
			t.Errorf("/%s: %q lacks %q", tc.cmd.Data.(*discord.CommandInteraction).Name, text, all[0].Name+tc.want)
		}
	}
}
