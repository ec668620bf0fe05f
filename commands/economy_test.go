package commands_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// The package's TestMain (servertest.Main) is in claim_test.go.

// recorder is a Responder that keeps every response.
type recorder struct {
	mu    sync.Mutex
	resps []api.InteractionResponse
}

func (r *recorder) RespondInteraction(id discord.InteractionID, token string, resp api.InteractionResponse) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.resps = append(r.resps, resp)
	return nil
}

func (r *recorder) EditInteractionResponse(appID discord.AppID, token string, data api.EditInteractionResponseData) (*discord.Message, error) {
	return nil, fmt.Errorf("unexpected deferred edit")
}

// everyClaim admits every delivery, so tests can replay an interaction
// past the claim and reach the economy's own exactly-once check.
type everyClaim struct{}

func (everyClaim) Claim(context.Context, discord.InteractionID, string) (bool, error) {
	return true, nil
}

type econEnv struct {
	router *commands.Router
	rec    *recorder
	svc    *economy.Service
	pool   *pgxpool.Pool
	nextID atomic.Uint64
	// redis is the address of the Redis the router claims in (newUIEnv).
	redis string
}

func newEconEnv(t testing.TB) *econEnv {
	t.Helper()
	return newEconEnvWith(t, economy.Config{Rand: rand.NewPCG(3, 4)})
}

// newEconEnvWith is newEconEnv with the economy configured by cfg.
func newEconEnvWith(t testing.TB, cfg economy.Config) *econEnv {
	t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, servertest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := economy.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	svc, err := economy.New(pool, cfg)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := commands.NewCatalog(commands.Economy(svc), commands.EconomyComponents(svc))
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	router, err := commands.NewRouter(commands.Config{Catalog: cat, Responder: rec, Claimer: everyClaim{}, NodeID: "test"})
	if err != nil {
		t.Fatal(err)
	}
	e := &econEnv{router: router, rec: rec, svc: svc, pool: pool}
	e.nextID.Store(1 << 40)
	return e
}

// opt is one option of a test interaction.
type opt struct {
	name  string
	value any // string, int or discord.User
}

var (
	alice = discord.User{ID: 1001, Username: "alice"}
	bob   = discord.User{ID: 1002, Username: "bob"}
	robot = discord.User{ID: 1003, Username: "robot", Bot: true}
)

// command builds a slash-command interaction; path is "name" or "name sub".
func (e *econEnv) command(from discord.User, path string, opts ...opt) *discord.InteractionEvent {
	data := &discord.CommandInteraction{}
	var list discord.CommandInteractionOptions
	for _, o := range opts {
		var typ discord.CommandOptionType
		var raw []byte
		switch v := o.value.(type) {
		case string:
			typ, raw = discord.StringOptionType, must(json.Marshal(v))
		case int:
			typ, raw = discord.IntegerOptionType, must(json.Marshal(v))
		case bool:
			typ, raw = discord.BooleanOptionType, must(json.Marshal(v))
		case discord.User:
			typ, raw = discord.UserOptionType, must(json.Marshal(v.ID.String()))
			if data.Resolved.Users == nil {
				data.Resolved.Users = map[discord.UserID]discord.User{}
			}
			data.Resolved.Users[v.ID] = v
		}
		list = append(list, discord.CommandInteractionOption{Type: typ, Name: o.name, Value: raw})
	}
	name, sub, ok := strings.Cut(path, " ")
	data.Name = name
	if ok {
		data.Options = discord.CommandInteractionOptions{{Type: discord.SubcommandOptionType, Name: sub, Options: list}}
	} else {
		data.Options = list
	}
	u := from
	return &discord.InteractionEvent{ID: commands.FreshID(e.nextID.Add(1)), AppID: 1, Token: "tok",
		GuildID: 5, ChannelID: 6, User: &u, Data: data}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// reply handles ev and returns the response's text (content and embeds)
// and whether it was ephemeral.
func (e *econEnv) reply(t testing.TB, ev *discord.InteractionEvent) (string, bool, *api.InteractionResponseData) {
	t.Helper()
	n := len(e.rec.resps)
	e.router.Handle(context.Background(), ev, 0)
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	if len(e.rec.resps) != n+1 {
		t.Fatalf("%d responses, want 1", len(e.rec.resps)-n)
	}
	d := e.rec.resps[n].Data
	var b strings.Builder
	if d.Content != nil {
		b.WriteString(d.Content.Val)
	}
	if d.Embeds != nil {
		for _, em := range *d.Embeds {
			b.WriteString("\n" + em.Title + "\n" + em.Description)
			for _, f := range em.Fields {
				b.WriteString("\n" + f.Name + ": " + f.Value)
			}
			if em.Footer != nil {
				b.WriteString("\n" + em.Footer.Text)
			}
		}
	}
	return b.String(), d.Flags&discord.EphemeralMessage != 0, d
}

func (e *econEnv) fund(t testing.TB, user discord.User, n int64) {
	t.Helper()
	ctx := context.Background()
	tx, err := e.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var id int64
	if err := tx.QueryRow(ctx, `INSERT INTO economy.transactions (op_id, user_id, kind, result) VALUES ($1, $2, 'grant', '{}') RETURNING id`,
		fmt.Sprintf("grant-%d", e.nextID.Add(1)), int64(user.ID)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO economy.accounts (user_id, wallet) VALUES ($1, $2)
		ON CONFLICT (user_id) DO UPDATE SET wallet = economy.accounts.wallet + EXCLUDED.wallet`, int64(user.ID), n); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `INSERT INTO economy.ledger_legs (account_id, tx_id, amount) VALUES ($1, $2, $3), (-1, $2, -$3::bigint)`,
		int64(user.ID), id, n); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestEconomyCommandsCatalog(t *testing.T) {
	t.Parallel()
	e := newEconEnv(t)
	_ = e
	svc := e.svc
	cat, err := commands.NewCatalog(commands.Economy(svc), commands.EconomyComponents(svc))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"balance", "bank", "buy", "collection", "currencylog", "daily", "gather", "inventory", "pay", "sell", "shop", "use", "vault", "work"}
	if got := strings.Join(cat.Names(), ","); got != strings.Join(want, ",") {
		t.Fatalf("commands %s, want %s", got, strings.Join(want, ","))
	}
	for _, path := range []string{"bank deposit", "bank withdraw", "bank view", "vault add", "vault remove", "vault view"} {
		if _, ok := cat.Lookup(path); !ok {
			t.Errorf("/%s missing", path)
		}
	}
	if len(cat.Definitions()) != len(want) {
		t.Fatal("definitions incomplete")
	}
}

func TestEconomyCommands(t *testing.T) {
	t.Parallel()
	e := newEconEnv(t)
	e.fund(t, alice, 20000)
	steps := []struct {
		name      string
		ev        *discord.InteractionEvent
		contains  []string
		ephemeral bool
	}{
		{"balance", e.command(alice, "balance"), []string{"Wallet: 20,000 credits", "Bank: 0 credits / 10,000 credits", "Net worth: 20,000 credits"}, false},
		{"balance of another", e.command(alice, "balance", opt{"user", bob}), []string{"Balance of bob", "Wallet: 0 credits"}, false},
		{"balance of a bot", e.command(alice, "balance", opt{"user", robot}), []string{"Bots do not have accounts."}, true},
		{"daily", e.command(alice, "daily"), []string{"You claimed **500 credits**", "Streak: 1 day", "Multiplier: 1.00×", "Next claim: <t:"}, false},
		{"daily twice", e.command(alice, "daily"), []string{"Not yet: your daily is ready <t:"}, true},
		{"pay", e.command(alice, "pay", opt{"user", bob}, opt{"amount", "1.5k"}), []string{"paid <@1002> **1,500 credits**", "Your wallet: 19,000 credits"}, false},
		{"pay self", e.command(alice, "pay", opt{"user", alice}, opt{"amount", "5"}), []string{economy.ErrSelfPay.Message}, true},
		{"pay bot", e.command(alice, "pay", opt{"user", robot}, opt{"amount", "5"}), []string{economy.ErrBotRecipient.Message}, true},
		{"pay zero", e.command(alice, "pay", opt{"user", bob}, opt{"amount", "0"}), []string{economy.ErrNonPositive.Message}, true},
		{"pay negative", e.command(alice, "pay", opt{"user", bob}, opt{"amount", "-5"}), []string{"That is not an amount"}, true},
		{"pay garbage", e.command(alice, "pay", opt{"user", bob}, opt{"amount", "lots"}), []string{"That is not an amount"}, true},
		{"pay past int64", e.command(alice, "pay", opt{"user", bob}, opt{"amount", "9223372036854775808"}), []string{economy.ErrOverflow.Message}, true},
		{"pay more than wallet", e.command(alice, "pay", opt{"user", bob}, opt{"amount", "1m"}), []string{economy.ErrInsufficientFunds.Message}, true},
		{"deposit", e.command(alice, "bank deposit", opt{"amount", "2k"}), []string{"Deposited **2,000 credits**", "Bank: 2,000 credits / 10,000 credits"}, false},
		{"deposit past capacity", e.command(alice, "bank deposit", opt{"amount", "9k"}), []string{economy.ErrBankFull.Message}, true},
		{"withdraw", e.command(alice, "bank withdraw", opt{"amount", "half"}), []string{"Withdrew **1,000 credits**"}, false},
		{"withdraw too much", e.command(alice, "bank withdraw", opt{"amount", "5k"}), []string{economy.ErrInsufficientBank.Message}, true},
		{"bank view", e.command(alice, "bank view"), []string{"Bank: 1,000 credits", "Capacity: 10,000 credits", "Room left: 9,000 credits"}, false},
		{"work", e.command(alice, "work", opt{"job", "code_review"}), []string{"Code Review", "You earned **", "Next shift: <t:"}, false},
		{"work again", e.command(alice, "work", opt{"job", "code_review"}), []string{"Not yet: Code Review is ready"}, true},
		{"work unknown job", e.command(alice, "work", opt{"job", "astronaut"}), []string{"choose one of"}, true},
		{"gather without tool", e.command(alice, "gather"), []string{economy.ErrNoTool.Message}, true},
		{"shop", e.command(alice, "shop"), []string{"**Pickaxe** (`pickaxe`): 1,500 credits. Tool, 20 uses.", "Streak Shield"}, false},
		{"buy", e.command(alice, "buy", opt{"item", "pickaxe"}, opt{"quantity", 2}), []string{"You bought 2× **Pickaxe** for 3,000 credits."}, false},
		{"buy too many", e.command(alice, "buy", opt{"item", "pickaxe"}, opt{"quantity", 101}), []string{"between 1 and 100"}, true},
		{"buy unaffordable", e.command(alice, "buy", opt{"item", "metal_detector"}, opt{"quantity", 100}), []string{economy.ErrInsufficientFunds.Message}, true},
		{"gather with a tool not owned", e.command(alice, "gather", opt{"tool", "fishing_rod"}),
			[]string{"You have no Fishing Rod. You have Pickaxe (`/gather tool:pickaxe`); or buy a Fishing Rod in /shop (1,000 credits)."}, true},
		{"gather", e.command(alice, "gather", opt{"tool", "pickaxe"}), []string{"With your Pickaxe you found **", "Tool: 19 uses left"}, false},
		{"gather on cooldown", e.command(alice, "gather"), []string{"Not yet: gathering is ready"}, true},
		{"inventory", e.command(alice, "inventory"), []string{"**Pickaxe** ×2 (most worn: 19 uses left)", "Page 1 of 1"}, false},
		{"inventory bad page", e.command(alice, "inventory", opt{"page", 9}), []string{economy.ErrBadPage.Message}, true},
		{"sell by name", e.command(alice, "sell", opt{"item", "Pickaxe"}), []string{"You sold 1× **Pickaxe** for 300 credits."}, false},
		{"sell unknown", e.command(alice, "sell", opt{"item", "unicorn"}), []string{"There is no item called \"unicorn\""}, true},
		{"sell unowned", e.command(alice, "sell", opt{"item", "diamond"}), []string{"You have no Diamond to sell. See /inventory."}, true},
		{"sell more than owned", e.command(alice, "sell", opt{"item", "pickaxe"}, opt{"quantity", 5}), []string{"You have 1 Pickaxe you can sell, not 5."}, true},
		{"buy coffee", e.command(alice, "buy", opt{"item", "coffee"}), []string{"You bought 1× **Coffee**"}, false},
		{"use", e.command(alice, "use", opt{"item", "coffee"}), []string{"Used Coffee", "+50% work pay until <t:"}, false},
		{"use unowned", e.command(alice, "use", opt{"item", "coffee"}), []string{"You have no Coffee to use: buy one in /shop (800 credits)."}, true},
		{"collection", e.command(alice, "collection", opt{"filter", "mineral"}), []string{"Collection: mineral", "Completion: 1 / 8 (12%)", "✅ **"}, false},
		{"vault common", e.command(alice, "vault add", opt{"item", "pebble"}), []string{economy.ErrNotVaultable.Message}, true},
		{"vault unowned", e.command(alice, "vault add", opt{"item", "diamond"}), []string{"You have no Diamond to put on show. See /inventory."}, true},
		{"vault remove absent", e.command(alice, "vault remove", opt{"item", "diamond"}), []string{economy.ErrNotInVault.Message}, true},
		{"vault view", e.command(bob, "vault view", opt{"user", alice}), []string{"Vault of alice", "Empty."}, false},
		{"pay one credit", e.command(alice, "pay", opt{"user", bob}, opt{"amount", "1"}), []string{"**1 credit**."}, false},
		{"currencylog", e.command(bob, "currencylog"), []string{"`+1,500 credits` pay (<@1001> → <@1002>)", "Page 1 of 1"}, true},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			text, eph, _ := e.reply(t, s.ev)
			for _, want := range s.contains {
				if !strings.Contains(text, want) {
					t.Errorf("reply %q lacks %q", text, want)
				}
			}
			if eph != s.ephemeral {
				t.Errorf("ephemeral = %v, want %v (reply %q)", eph, s.ephemeral, text)
			}
		})
	}
	rep, err := economy.Audit(context.Background(), e.pool)
	if err != nil || !rep.OK() {
		t.Fatalf("audit: %v %v", rep.Err(), err)
	}
}

func TestEconomyReplayedInteraction(t *testing.T) {
	t.Parallel()
	e := newEconEnv(t)
	e.fund(t, alice, 1000)
	ev := e.command(alice, "pay", opt{"user", bob}, opt{"amount", "600"})
	first, _, _ := e.reply(t, ev)
	again, _, _ := e.reply(t, ev) // the same interaction delivered twice
	if first != again || !strings.Contains(first, "**600 credits**") {
		t.Fatalf("replay answered %q, first %q", again, first)
	}
	a, err := e.svc.Balance(context.Background(), int64(alice.ID))
	if err != nil || a.Wallet != 400 {
		t.Fatalf("wallet %d after a replayed pay, want 400 (%v)", a.Wallet, err)
	}
}

func TestEconomyPagers(t *testing.T) {
	t.Parallel()
	e := newEconEnv(t)
	e.fund(t, alice, 10000)
	for i := 0; i < 12; i++ {
		e.reply(t, e.command(alice, "pay", opt{"user", bob}, opt{"amount", fmt.Sprint(i + 1)}))
	}
	text, _, data := e.reply(t, e.command(alice, "currencylog"))
	if !strings.Contains(text, "Page 1 of 2") || data.Components == nil {
		t.Fatalf("first page: %q", text)
	}
	next := findButton(t, *data.Components, "Next ▶")
	if next.Disabled {
		t.Fatal("next disabled on page 1")
	}
	press := func(from discord.User, id discord.ComponentID) (string, bool) {
		u := from
		ev := &discord.InteractionEvent{ID: commands.FreshID(e.nextID.Add(1)), AppID: 1, Token: "tok", User: &u,
			Data: &discord.ButtonInteraction{CustomID: id}}
		text, eph, _ := e.reply(t, ev)
		return text, eph
	}
	text, _ = press(alice, next.CustomID)
	if !strings.Contains(text, "Page 2 of 2") || !strings.Contains(text, "+10,000 credits") {
		t.Fatalf("second page: %q", text)
	}
	text, eph := press(bob, next.CustomID)
	if !eph || !strings.Contains(text, "belong to someone else") {
		t.Fatalf("another user's press: %q", text)
	}
	text, eph = press(alice, "econinv:1001:x")
	if !eph || !strings.Contains(text, "expired") {
		t.Fatalf("forged button: %q", text)
	}
}

func findButton(t *testing.T, comps discord.ContainerComponents, label string) *discord.ButtonComponent {
	t.Helper()
	for _, c := range comps {
		row, ok := c.(*discord.ActionRowComponent)
		if !ok {
			continue
		}
		for _, ic := range *row {
			if b, ok := ic.(*discord.ButtonComponent); ok && b.Label == label {
				return b
			}
		}
	}
	t.Fatalf("no button %q", label)
	return nil
}

// FuzzEconomyTextOptions sends arbitrary text in the free-text options
// (amounts and item names): every reply is a clear answer, never the
// generic failure of a bug, and nothing breaks the ledger.
func FuzzEconomyTextOptions(f *testing.F) {
	for _, s := range []string{"1500", "1.5k", "all", "half", "-1", "0", "9223372036854775808", "1e9", "diamond", "Pickaxe",
		"pick axe", "", " ", "💰", "'; DROP TABLE economy.accounts; --", "\x00", "1.5.5k", "%s%d"} {
		f.Add(s)
	}
	e := newEconEnv(f)
	e.fund(f, alice, 5000)
	f.Fuzz(func(t *testing.T, s string) {
		for _, ev := range []*discord.InteractionEvent{
			e.command(alice, "pay", opt{"user", bob}, opt{"amount", s}),
			e.command(alice, "bank deposit", opt{"amount", s}),
			e.command(alice, "bank withdraw", opt{"amount", s}),
			e.command(alice, "sell", opt{"item", s}),
			e.command(alice, "vault add", opt{"item", s}),
		} {
			text, _, _ := e.reply(t, ev)
			if strings.Contains(text, "Something went wrong") {
				t.Fatalf("input %q: %q", s, text)
			}
		}
		rep, err := economy.Audit(context.Background(), e.pool)
		if err != nil || !rep.OK() {
			t.Fatalf("input %q: audit %v %v", s, rep.Err(), err)
		}
	})
}
