package coordinator

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are one Member's Prometheus series.
type metrics struct {
	shardsOwned    prometheus.Gauge
	agentsOwned    prometheus.Gauge
	shardMoves     *prometheus.CounterVec
	agentMoves     *prometheus.CounterVec
	nodes          prometheus.Gauge
	leaderChanges  prometheus.Counter
	leaseLost      prometheus.Counter
	leaseSuspended prometheus.Counter
	revoked        *prometheus.CounterVec
	checks         *prometheus.CounterVec
	// Resharding (reshard.go).
	reshardState    prometheus.Gauge
	reshardSpent    prometheus.Gauge
	reshardDuration prometheus.Histogram
	reshards        *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		shardsOwned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chopsticks_shards_owned", Help: "Shards this node runs now.",
		}),
		agentsOwned: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chopsticks_agents_owned", Help: "Voice agents this node runs now.",
		}),
		shardMoves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chopsticks_shard_moves_total",
			Help: "Shard owner changes written by this node while leader, by reason (initial, rebalance, drain, failover).",
		}, []string{"reason"}),
		agentMoves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chopsticks_agent_moves_total",
			Help: "Voice agent owner changes written by this node while leader, by reason.",
		}, []string{"reason"}),
		nodes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chopsticks_cluster_nodes", Help: "Nodes registered in etcd, as seen by this node.",
		}),
		leaderChanges: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chopsticks_leader_changes_total",
			Help: "Times this node became leader; the sum over nodes counts the cluster's leader changes.",
		}),
		leaseLost: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chopsticks_lease_lost_total",
			Help: "Times this node lost its etcd lease and stopped every unit.",
		}),
		leaseSuspended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "chopsticks_lease_suspended_total",
			Help: "Times this node's lease renewal was overdue (an etcd election, an unreachable etcd) and it stopped every unit until etcd renewed the lease or said it was gone.",
		}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chopsticks_cluster_revocations_total",
			Help: "Leases of dead peers this node revoked, by reason (gone: its gossip port refused; silent: no answer and etcd had not renewed its lease for its watchdog time).",
		}, []string{"reason"}),
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chopsticks_cluster_peer_checks_total",
			Help: "Direct checks of peers suspected dead, by outcome (alive, revoked, spared: silent but not proven dead); many spared checks mean a flaky network.",
		}, []string{"outcome"}),
		reshardState: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chopsticks_reshard_state",
			Help: "The cluster's reshard as this node sees it: 0 none, 1 warming (the next generation identifies and discards its events), 2 switched (both generations handle events until every next shard does).",
		}),
		reshardSpent: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "chopsticks_reshard_identifies_spent",
			Help: "Session starts the cluster used since the reshard under way began (0 when none).",
		}),
		reshardDuration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "chopsticks_reshard_duration_seconds",
			Help:    "Time from the start of a reshard to the new generation serving alone, observed by the leader that completed it.",
			Buckets: prometheus.ExponentialBuckets(5, 2, 12),
		}),
		reshards: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "chopsticks_reshards_total",
			Help: "Reshards this node completed while leader, by outcome (done).",
		}, []string{"outcome"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.shardsOwned, m.agentsOwned, m.shardMoves, m.agentMoves, m.nodes, m.leaderChanges, m.leaseLost, m.leaseSuspended, m.revoked, m.checks,
		m.reshardState, m.reshardSpent, m.reshardDuration, m.reshards} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("coordinator: register metrics: %w", err)
		}
	}
	return m, nil
}

// moves returns the move counter for units of kind k.
func (m *metrics) moves(k Kind) *prometheus.CounterVec {
	if k == KindAgent {
		return m.agentMoves
	}
	return m.shardMoves
}
