package node

import (
	"context"
	"time"
)

// marketSweepInterval is how often each node returns expired market
// listings; nodes share the work (economy.SweepMarket skips what another
// node holds).
const marketSweepInterval = time.Minute

// startMarketSweeper runs the market's expiry sweep until the services
// context ends; Run waits for it with the other background loops.
func (n *Node) startMarketSweeper(ctx context.Context) {
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		n.econ.RunMarketSweeper(ctx, marketSweepInterval, func(err error) {
			n.log.Warn("market sweep", "err", err)
		})
	}()
}
