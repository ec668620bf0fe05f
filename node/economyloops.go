package node

import (
	"context"
	"time"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// marketSweepInterval is how often each node returns expired market
// listings; nodes share the work (economy.SweepMarket skips what another
// node holds).
const marketSweepInterval = time.Minute

// Achievement outbox sweep: every achievementSweepInterval each node
// settles the players whose queued rows waited achievementSweepGrace (the
// command settles its caller at once; the sweep takes the counterparties
// and what a stopped node left).
const (
	achievementSweepInterval = 2 * time.Second
	achievementSweepGrace    = 5 * time.Second
)

// startEconomyLoops runs the market's expiry sweep, the achievement
// outbox sweep, the leaderboards'
// outbox processor and the achievements backfill until the services
// context ends; Run waits for them
// with the other background loops.
func (n *Node) startEconomyLoops(ctx context.Context) {
	n.startSeasonLoops(ctx)
	n.bg.Add(4)
	go func() {
		defer n.bg.Done()
		// Once per catalogue version, cluster-wide; nodes starting together
		// may both run it, which awards nothing twice.
		if awarded, err := n.econ.BackfillAchievements(ctx); err != nil {
			n.log.Warn("achievements backfill", "err", err)
		} else if awarded > 0 {
			n.log.Info("achievements backfill", "awarded", awarded)
		}
	}()
	go func() {
		defer n.bg.Done()
		n.econ.RunAchievementSweeper(ctx, achievementSweepInterval, achievementSweepGrace, func(err error) {
			n.log.Warn("achievements sweep", "err", err)
		})
	}()
	go func() {
		defer n.bg.Done()
		n.econ.RunMarketSweeper(ctx, marketSweepInterval, func(err error) {
			n.log.Warn("market sweep", "err", err)
		})
	}()
	go func() {
		defer n.bg.Done()
		economy.NewLeaderboards(n.econ, n.fastRedis).Run(ctx, func(err error) {
			n.log.Warn("leaderboards", "err", err)
		})
	}()
}
