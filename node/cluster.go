package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chopsticks-bot/chopsticks/coordinator"
)

// owner runs the units the cluster assigns to this node; it implements
// coordinator.Owner.
type owner struct{ n *Node }

// Start implements coordinator.Owner: it starts a shard (resuming from its
// checkpoint when there is one) and returns once it runs.
func (o owner) Start(ctx context.Context, u coordinator.Unit) error {
	switch u.Kind {
	case coordinator.KindShard, coordinator.KindNext:
		count := coordinator.UnitShardCount(ctx)
		if count == 0 {
			count = o.n.shardCount
		}
		return o.n.startGeneration(u, count, coordinator.UnitServes(ctx))
	case coordinator.KindAgent:
		return o.n.startAgent(ctx, u.ID)
	default:
		return fmt.Errorf("unknown unit kind %q", u.Kind)
	}
}

// Stop implements coordinator.Owner: the shard closes resumably and saves
// its checkpoint before Stop returns, so the next owner resumes it.
func (o owner) Stop(ctx context.Context, u coordinator.Unit, reason coordinator.StopReason) error {
	if u.Kind == coordinator.KindAgent {
		return o.n.stopAgent(ctx, u.ID)
	}
	if u.Kind == coordinator.KindNext {
		return o.n.stopNext(ctx, u.ID, reason)
	}
	if u.Kind != coordinator.KindShard {
		return nil
	}
	o.n.mu.Lock()
	rs, ok := o.n.shards[u.ID]
	delete(o.n.shards, u.ID)
	o.n.mu.Unlock()
	if !ok {
		return nil
	}
	if reason == coordinator.StopRetired {
		rs.sh.Retire()
	}
	rs.stop()
	select {
	case <-rs.done:
		o.n.log.Info("shard stopped", "shard", u.ID, "reason", string(reason))
		return nil
	case <-ctx.Done():
		return fmt.Errorf("shard %d did not stop in time: %w", u.ID, ctx.Err())
	}
}

// joinCluster registers the node and lets the cluster assign it shards.
// Identifies go through the cluster's gate, which also keeps the day's
// session starts (from GET /gateway/bot) in etcd for every node.
func (n *Node) joinCluster(ctx context.Context) (*coordinator.Member, error) {
	// The cluster's shard count, once set, is the truth: a node following
	// Discord's recommendation takes it; a node told otherwise refuses to
	// join, since IDENTIFY with a different count would split guilds wrongly.
	if st, err := coordinator.ReadStatus(ctx, n.etcd, ""); err == nil && st.ShardCount > 0 && st.ShardCount != n.shardCount {
		if n.cfg.ShardCount > 0 {
			return nil, &ConfigError{Setting: "SHARD_COUNT", Reason: fmt.Sprintf(
				"is %d but the cluster runs %d shards; see \"Changing the shard count\" in docs/operations.md", n.cfg.ShardCount, st.ShardCount)}
		}
		n.log.Info("using the cluster's shard count", "shards", st.ShardCount, "recommended", n.shardCount)
		n.shardCount = st.ShardCount
	}
	gate, err := coordinator.NewGate(coordinator.GateConfig{
		Client: n.etcd, MaxConcurrency: n.maxConc, Reserve: n.cfg.IdentifyReserve,
	})
	if err != nil {
		return nil, err
	}
	n.gate = gate
	sl := n.bot.StartLimit
	if err := gate.SetSessionStartLimit(ctx, sl.Remaining, sl.Total, sl.ResetAfter.Duration()); err != nil {
		n.log.Warn("could not record the session start limit", "err", err)
	}
	settings, differ, err := n.sharedSettings()
	if err != nil {
		return nil, err
	}
	return coordinator.Join(ctx, coordinator.Config{
		Client: n.etcd, NodeID: coordinator.NodeID(n.cfg.NodeID), Owner: owner{n},
		Addr: n.http.Addr(), Weight: n.cfg.Weight, ShardCount: n.shardCount,
		LeaseTTL: n.cfg.LeaseTTL, Settle: time.Second,
		Gossip: &coordinator.GossipConfig{BindAddr: n.cfg.GossipHost, BindPort: n.cfg.GossipPort, Seeds: n.cfg.GossipSeeds,
			Settings: settings, SettingsDiffer: differ},
		Registerer: n.reg, Logger: n.log,
	})
}

// sharedSettings returns the digest of the settings peers compare by
// gossip, and the warning for a peer whose digest differs. The rate limits
// hold cluster-wide, so every node must apply the same RATE_LIMITS. It
// registers the count of such peers as
// chopsticks_cluster_settings_mismatched_peers.
func (n *Node) sharedSettings() (string, func(coordinator.NodeID, string), error) {
	settings := "ratelimit:" + n.lim.Config().Fingerprint()
	mismatched := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "chopsticks_cluster_settings_mismatched_peers",
		Help: "Live peers whose shared settings (RATE_LIMITS) differ from this node's; 0 in a consistent cluster.",
	}, func() float64 {
		if m := n.member.Load(); m != nil {
			return float64(len(m.MismatchedPeers()))
		}
		return 0
	})
	if err := n.reg.Register(mismatched); err != nil {
		return "", nil, fmt.Errorf("register metrics: %w", err)
	}
	return settings, func(peer coordinator.NodeID, peerSettings string) {
		n.log.Warn("a peer runs with other settings than this node (RATE_LIMITS must be the same everywhere)",
			"peer", string(peer), "peer_settings", peerSettings, "settings", settings)
	}, nil
}

func (n *Node) closeGate() {
	if g, ok := n.gate.(*coordinator.Gate); ok {
		g.Close()
	}
}

// leaveCluster drains: the plan moves every shard away by handoff, then
// the membership ends. Without etcd, Drain stops the shards resumably at
// once (their next owners resume them) instead of waiting for a plan.
func (n *Node) leaveCluster(m *coordinator.Member) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	switch err := m.Drain(ctx); {
	case errors.Is(err, coordinator.ErrEtcdUnreachable):
		n.log.Warn("etcd unreachable while draining: shards checkpointed and closed for their next owners", "err", err)
	case err != nil:
		n.log.Warn("drain incomplete; stopping the rest", "err", err)
	}
	if err := m.Close(); err != nil {
		n.log.Warn("leave cluster", "err", err)
	}
}
