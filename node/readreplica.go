package node

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/readreplica"
	"github.com/chopsticks-bot/chopsticks/telemetry"
)

// readRouter returns the router of the economy's lag-tolerant reads when
// POSTGRES_READ_URL is set, or nil. Its lag check runs until ctx ends; then
// the replica's pool closes. A replica down at start is not an error: it is
// bypassed until it answers within POSTGRES_READ_MAX_LAG.
func (n *Node) readRouter(ctx context.Context) (economy.ReadRouter, error) {
	if n.cfg.PostgresRead == nil {
		return nil, nil
	}
	pcfg := n.cfg.PostgresRead.Copy()
	pcfg.ConnConfig.Tracer = telemetry.NewPgxTracer()
	replica, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return nil, &ConfigError{Setting: "POSTGRES_READ_URL", Reason: redactErr(err, pcfg.ConnConfig.Password)}
	}
	r, err := readreplica.New(n.pool, replica, readreplica.Config{
		MaxLag: n.cfg.PostgresReadMaxLag, Registerer: n.reg, Logger: n.log,
	})
	if err != nil {
		replica.Close()
		return nil, fmt.Errorf("read replica: %w", err)
	}
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		defer replica.Close()
		r.Run(ctx)
	}()
	return r, nil
}
