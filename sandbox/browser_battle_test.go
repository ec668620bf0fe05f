package sandbox_test

import (
	"context"
	"fmt"
	"strconv"

	"github.com/chromedp/chromedp"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// playBattleInBrowser plays issue 19's companion battle in the playground
// as two people would, after the admin grant the dashboard makes has given
// alice and bob their credits: each buys and opens a capsule, alice
// challenges bob, bob presses Accept on alice's message, and each presses
// Strike on their turn (the faster companion moves first), on the one
// battle message redrawn in place, until a knockout (or the last turn)
// ends it; the finished message names the winner and keeps no buttons.
func playBattleInBrowser(p page, postgresURL string) {
	p.t.Helper()
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, postgresURL)
	if err != nil {
		p.t.Fatal(err)
	}
	defer pool.Close()
	svc, err := economy.New(pool, economy.Config{})
	if err != nil {
		p.t.Fatal(err)
	}
	admin := p.userID("alice")
	for _, name := range []string{"alice", "bob"} {
		user := p.userID(name)
		if _, err := svc.AdjustCredits(ctx, economy.Op("browser-grant-"+name), admin, user, 20000, "playground battle"); err != nil {
			p.t.Fatalf("grant %s: %v", name, err)
		}
		p.asUser(name)
		p.send("/buy companion_capsule")
		p.send("/use companion_capsule")
		if !p.is(`document.querySelector('#log .entry:last-child').textContent.includes('capsule pops open')`) {
			p.fail(fmt.Errorf("%s's capsule did not open", name))
		}
	}

	p.asUser("alice")
	n := p.entries()
	p.send("/battle bob 100")
	battle := fmt.Sprintf(`document.querySelectorAll('#log .entry')[%d]`, n)
	has := func(text string) string { return battle + `.textContent.includes(` + strconv.Quote(text) + `)` }
	p.until("the challenge", has("you are challenged"))
	p.asUser("bob")
	p.pressIn(battle, "Accept")
	p.until("the first move (the faster companion's)", has("your move!"))
	p.shot("playground-battle.png")
	for turn := 0; !p.is(has("The battle is over.")); turn++ {
		if turn > 100 {
			p.fail(fmt.Errorf("no end after %d moves", turn))
		}
		who := "alice"
		if p.is(has("@bob, your move!")) {
			who = "bob"
		}
		p.asUser(who)
		p.pressIn(battle, "Strike")
		p.until(who+"'s move", `!`+has("@"+who+", your move!"))
	}
	if !p.is(has("wins")) || p.is(battle+`.querySelectorAll('button').length > 0`) {
		text, _ := chromedp.Run(p.bctx, chromedp.Evaluate[string](battle+`.textContent`))
		p.fail(fmt.Errorf("the finished battle names no winner or keeps buttons: %s", text))
	}
	p.shot("playground-battle-over.png")
}

// userID is the ID of the playground's user called name.
func (p page) userID(name string) int64 {
	p.t.Helper()
	s, err := chromedp.Run(p.bctx, chromedp.Evaluate[string](
		`[...document.querySelector('#user').options].find(o => o.textContent === `+strconv.Quote(name)+`).value`))
	if err != nil {
		p.fail(err)
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		p.fail(fmt.Errorf("user %s: %w", name, err))
	}
	return id
}
