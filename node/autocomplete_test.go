package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordsim"
)

// TestNodeAnswersAutocomplete: end to end, a node registers its item
// options with autocomplete (discordsim refuses a definition that breaks
// Discord's rules) and answers a user typing into them with a result
// discordsim checks: in time, type 8, choices within Discord's limits.
func TestNodeAnswersAutocomplete(t *testing.T) {
	s := newStack(t, 1)
	s.startNode(t, "n1")
	guild, user := guildAndUser(t, s.sim)
	invoke(t, s.sim, discordsim.Invocation{GuildID: guild, UserID: user, Command: "ping"}) // the commands are registered
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	typing := func(command, sub, partial string) []discordsim.CommandChoice {
		t.Helper()
		i, err := s.sim.Autocomplete(ctx, discordsim.Typing{
			Invocation: discordsim.Invocation{GuildID: guild, UserID: user, Command: command, Subcommand: sub},
			Focused:    "item", Partial: partial})
		if err != nil {
			t.Fatalf("/%s %s: %v", command, sub, err)
		}
		choices, err := i.WaitChoices(ctx)
		if err != nil {
			t.Fatalf("/%s %s: %v (%+v)", command, sub, err, i.Info())
		}
		if info := i.Info(); info.Failed || info.DoubleAcks != 0 || info.LateAnswers != 0 {
			t.Fatalf("interaction outcome: %+v", info)
		}
		return choices
	}
	if got := typing("buy", "", "fish"); len(got) != 1 || got[0].Value != "fishing_rod" || !strings.HasPrefix(got[0].Name, "Fishing Rod · ") {
		t.Fatalf("/buy fish: %+v", got)
	}
	for _, c := range []struct{ command, sub string }{{"sell", ""}, {"use", ""}, {"vault", "add"}, {"vault", "remove"}} {
		if got := typing(c.command, c.sub, ""); len(got) != 0 {
			t.Fatalf("/%s %s with nothing owned: %+v", c.command, c.sub, got)
		}
	}
	for _, v := range s.sim.Violations() {
		if v.Kind == discordsim.ViolationInteractionFailed || v.Kind == discordsim.ViolationInteractionTwice {
			t.Errorf("violation: %+v", v)
		}
	}
}
