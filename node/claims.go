package node

import (
	"context"
	"errors"

	"github.com/chopsticks-bot/chopsticks/commands"
)

// memberEpochs gives the interaction claims the node's etcd epoch
// (commands.ClaimEpochs), from the cluster member once joined, so that a
// shard's next owner may take over the unanswered claims of a node proven
// dead (commands/claim_takeover.go).
type memberEpochs struct{ n *Node }

var _ commands.ClaimEpochs = memberEpochs{}

// Epoch implements commands.ClaimEpochs.
func (e memberEpochs) Epoch() (int64, bool) {
	m := e.n.member.Load()
	if m == nil {
		return 0, false
	}
	return m.Epoch()
}

// LeaseGone implements commands.ClaimEpochs.
func (e memberEpochs) LeaseGone(ctx context.Context, lease int64) (bool, error) {
	m := e.n.member.Load()
	if m == nil {
		return false, errors.New("not joined to the cluster yet")
	}
	return m.LeaseGone(ctx, lease)
}

// claimer returns the router's interaction claims, tagged with the node's
// epoch.
func (n *Node) claimer() *commands.RedisClaimer {
	c := commands.NewRedisClaimer(n.fastRedis)
	c.Epochs = memberEpochs{n}
	return c
}
