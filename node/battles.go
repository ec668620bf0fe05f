package node

import (
	"context"
	"time"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
)

// battleSweepEvery is how often each node resolves battles past their
// deadline (expired challenges, missed turns). Every node sweeps; the
// economy's SKIP LOCKED keeps them off each other's battles, so a node that
// dies leaves no wager in escrow longer than a deadline plus this.
const battleSweepEvery = 2 * time.Second

// sweepBattles runs the battle sweeper until ctx is done, and updates the
// message of each battle it resolved.
func (n *Node) sweepBattles(ctx context.Context) {
	update := commands.BattleMessages(n.econ, n.discord)
	n.econ.RunBattleSweeper(ctx, battleSweepEvery, func(err error) {
		n.log.Warn("battle sweep failed; the next sweep retries", "err", err)
	}, func(b economy.Battle) {
		if err := update(ctx, b); err != nil {
			n.log.Info("battle message not updated; it shows the battle at the next click", "battle", b.ID, "err", err)
		}
	})
}
