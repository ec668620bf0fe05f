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
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.shardsOwned, m.agentsOwned, m.shardMoves, m.agentMoves, m.nodes, m.leaderChanges, m.leaseLost, m.leaseSuspended, m.revoked, m.checks} {
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
