package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// Cooldowns is /cooldowns: every timer of the user at once (daily, each
// job, gathering, companions' training and breeding), ready ones first,
// each with when it is ready as a relative timestamp.
func Cooldowns(svc *economy.Service) *Command {
	return &Command{
		Name:        "cooldowns",
		Description: "See all your timers at once: daily, work, gather, companions",
		Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			timers, err := svc.Timers(ctx, userID(inv.User))
			if err != nil {
				return Reply{}, fail(err)
			}
			return cooldownsReply(timers, time.Now()), nil
		},
	}
}

// cooldownsReply lists timers as of now.
func cooldownsReply(timers []economy.Timer, now time.Time) Reply {
	var b strings.Builder
	ready := 0
	for _, t := range timers {
		if t.ReadyAt(now) {
			ready++
			fmt.Fprintf(&b, "✅ **%s**: ready\n", t.Label)
		} else {
			fmt.Fprintf(&b, "⏳ **%s**: %s\n", t.Label, ts(t.Ready, "R"))
		}
	}
	r := embed("Your cooldowns", b.String(), colorEconomy)
	r.Embeds[0].Footer = &discord.EmbedFooter{Text: fmt.Sprintf("%s ready of %d", nounCount(int64(ready), "timer", "timers"), len(timers))}
	return r
}
