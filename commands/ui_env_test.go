package commands_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// newUIEnv is newEconEnv with the interface commands and components of
// issue 22 (help menu, cooldowns, the shop's menus, large-payment
// confirmation) and the real Redis claimer, so that Invocation.Once is
// the cluster's.
func newUIEnv(t testing.TB) *econEnv {
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
	svc, err := economy.New(pool, economy.Config{Rand: rand.NewPCG(3, 4)})
	if err != nil {
		t.Fatal(err)
	}
	addr := servertest.Redis(t)
	router, rec := uiRouter(t, svc, addr, "test")
	e := &econEnv{router: router, rec: rec, svc: svc, pool: pool, redis: addr}
	e.nextID.Store(1 << 41)
	return e
}

// uiRouter is a node's router over svc, claiming in the Redis at addr.
func uiRouter(t testing.TB, svc *economy.Service, addr, node string) (*commands.Router, *recorder) {
	t.Helper()
	cmds := append([]*commands.Command{commands.HelpMenu(commands.GameHelp(svc.Catalog()))}, commands.Economy(svc)...)
	cmds = append(cmds, commands.Cooldowns(svc))
	comps := append(commands.EconomyComponents(svc), commands.PayConfirmComponents(svc)...)
	comps = append(comps, commands.ShopComponents(svc)...)
	comps = append(comps, commands.HelpComponents(commands.GameHelp(svc.Catalog()))...)
	cat, err := commands.NewCatalog(cmds, comps)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	rec := &recorder{}
	router, err := commands.NewRouter(commands.Config{Catalog: cat, Responder: rec, Claimer: commands.NewRedisClaimer(rdb), NodeID: node})
	if err != nil {
		t.Fatal(err)
	}
	return router, rec
}

// click builds the interaction of from pressing a button (or, with
// values, picking in a string select) on a message.
func (e *econEnv) click(from discord.User, id discord.ComponentID, values ...string) *discord.InteractionEvent {
	u := from
	var data discord.ComponentInteraction = &discord.ButtonInteraction{CustomID: id}
	if values != nil {
		data = &discord.StringSelectInteraction{CustomID: id, Values: values}
	}
	return &discord.InteractionEvent{ID: commands.FreshID(e.nextID.Add(1)), AppID: 1, Token: "tok", GuildID: 5, ChannelID: 6,
		User: &u, Message: &discord.Message{ID: 77}, Data: data}
}

// submit builds the interaction of from submitting a modal opened by a
// button, with its text inputs filled as fields says.
func (e *econEnv) submit(from discord.User, id discord.ComponentID, fields map[string]string) *discord.InteractionEvent {
	u := from
	var rows discord.ContainerComponents
	for k, v := range fields {
		rows = append(rows, &discord.ActionRowComponent{&discord.TextInputComponent{CustomID: discord.ComponentID(k), Value: v}})
	}
	return &discord.InteractionEvent{ID: commands.FreshID(e.nextID.Add(1)), AppID: 1, Token: "tok", GuildID: 5, ChannelID: 6,
		User: &u, Message: &discord.Message{ID: 77}, Data: &discord.ModalInteraction{CustomID: id, Components: rows}}
}

// last returns the last response recorded.
func (e *econEnv) last(t testing.TB) api.InteractionResponse {
	t.Helper()
	e.rec.mu.Lock()
	defer e.rec.mu.Unlock()
	if len(e.rec.resps) == 0 {
		t.Fatal("no response")
	}
	return e.rec.resps[len(e.rec.resps)-1]
}

// wallet returns user's wallet.
func (e *econEnv) wallet(t testing.TB, user discord.User) int64 {
	t.Helper()
	a, err := e.svc.Balance(context.Background(), int64(user.ID))
	if err != nil {
		t.Fatal(err)
	}
	return a.Wallet
}

// controlsOf returns the custom IDs of data's components by label (buttons)
// or placeholder (selects).
func controlsOf(data *api.InteractionResponseData) map[string]discord.ComponentID {
	out := map[string]discord.ComponentID{}
	if data == nil || data.Components == nil {
		return out
	}
	for _, c := range *data.Components {
		row, ok := c.(*discord.ActionRowComponent)
		if !ok {
			continue
		}
		for _, ic := range *row {
			switch b := ic.(type) {
			case *discord.ButtonComponent:
				out[b.Label] = b.CustomID
			case *discord.StringSelectComponent:
				out[b.Placeholder] = b.CustomID
			}
		}
	}
	return out
}
