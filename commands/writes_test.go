package commands_test

import (
	"testing"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/node"
)

// TestEveryCommandDeclaresWrites lists which commands and buttons change
// state, so that each is acknowledged before it applies. The commands are
// the catalogue a node serves (node.Catalog), so a command added there
// fails this test until it is added here, and so classified.
func TestEveryCommandDeclaresWrites(t *testing.T) {
	t.Parallel()
	writes := map[string]bool{
		"ping": false, "help": false,
		"balance": false, "daily": true, "pay": true, "bank deposit": true, "bank withdraw": true, "bank view": false,
		"work": true, "gather": true, "shop": false, "buy": true, "sell": true, "inventory": false, "use": true,
		"collection": false, "vault add": true, "vault remove": true, "vault view": false, "currencylog": false,
		"play": true, "queue": false, "skip": true, "pause": true, "resume": true, "stop": true, "nowplaying": false,
		"volume": true, "seek": true, "loop": true, "shuffle": true, "remove": true, "filter": true,
		"join": true, "leave": true, "cooldowns": false,
		"companion list": false, "companion view": false, "companion rename": true, "companion train": true,
		"companion skills": false, "companion learn": true, "companion stasis": true, "companion breed": true,
		"companion equip": true, "companion recharge": true, "companion release": true, "companion hatch": true, "battle": true,
		"event now": false, "event shop": false, "event buy": true, "event board": false, "premium": false, "say": true,
		"market sell": true, "market sellcompanion": true, "market browse": false, "market buy": true, "market cancel": true,
		"market mine": false, "market price": false, "trade": true, "achievements": false, "leaderboard": false,
	}
	e := newEconEnv(t)
	cat, err := node.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	cmds := cat.Commands()
	_, ccomps := commands.Companions(e.svc)
	for _, comp := range ccomps {
		if !comp.Writes {
			t.Errorf("button %q changes battles: Writes = false, want true", comp.Prefix)
		}
	}
	seen := map[string]bool{}
	check := func(path string, got bool) {
		want, ok := writes[path]
		switch {
		case !ok:
			t.Errorf("/%s is not classified: add it to this test with whether it changes state", path)
		case got != want:
			t.Errorf("/%s: Writes = %v, want %v", path, got, want)
		}
		seen[path] = true
	}
	for _, c := range cmds {
		if len(c.Subcommands) == 0 {
			check(c.Name, c.Writes)
		}
		for _, s := range c.Subcommands {
			check(c.Name+" "+s.Name, s.Writes)
		}
	}
	for path := range writes {
		if !seen[path] {
			t.Errorf("/%s is listed here but not in the catalogue", path)
		}
	}
	// The buttons that buy, pay or change the music write; menus and
	// pages only read.
	ui := append(commands.ShopComponents(e.svc), commands.PayConfirmComponents(e.svc)...)
	ui = append(ui, commands.MusicControls(nil)...)
	ui = append(ui, commands.HelpComponents(nil)...)
	uiWrites := map[string]bool{"shopcat": false, "shopitem": false, "shopbuy": true, "shopqty": false, "shopmodal": true,
		"payconfirm": true, "mctl": true, "mqueue": false, "helpcat": false, "helpcmd": false}
	for _, comp := range ui {
		if want, ok := uiWrites[comp.Prefix]; !ok || comp.Writes != want {
			t.Errorf("component %q: Writes = %v, want %v (listed: %v)", comp.Prefix, comp.Writes, want, ok)
		}
	}
	// The economy's buttons page through lists: they only read.
	for _, comp := range commands.EconomyComponents(e.svc) {
		if comp.Writes {
			t.Errorf("button %q: Writes = true, want false", comp.Prefix)
		}
	}
}
