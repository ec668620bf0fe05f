package node

import (
	"context"
	"time"
)

// battleSweepEvery is how often each node resolves battles past their
// deadline (expired challenges, missed turns). Every node sweeps; the
// economy's SKIP LOCKED keeps them off each other's battles, so a node that
// dies leaves no wager in escrow longer than a deadline plus this.
const battleSweepEvery = 2 * time.Second

// sweepBattles runs the battle sweeper until ctx is done.
func (n *Node) sweepBattles(ctx context.Context) {
	n.econ.RunBattleSweeper(ctx, battleSweepEvery, func(err error) {
		n.log.Warn("battle sweep failed; the next sweep retries", "err", err)
	})
}
