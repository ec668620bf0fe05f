package coordinator

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// Status is the cluster as etcd sees it at one revision, for
// `chopsticks status` and the node's JSON status endpoint.
type Status struct {
	Revision    int64  `json:"revision"`
	Leader      NodeID `json:"leader,omitempty"`
	PlanVersion int64  `json:"plan_version"`
	ShardCount  int    `json:"shard_count"`
	// IdentifiesLeft is the cluster's remaining session starts today as
	// stored by the identify gate, -1 when unknown.
	IdentifiesLeft int          `json:"identifies_left"`
	Nodes          []NodeStatus `json:"nodes"`
	// Units lists the serving generation's shards, the agents and, while
	// the cluster reshards, the next generation's shards (kind "next").
	Units []UnitStatus `json:"units"`
	// Reshard is the reshard under way, nil when none.
	Reshard *ReshardStatus `json:"reshard,omitempty"`
}

// NodeStatus is one registered node.
type NodeStatus struct {
	ID       NodeID `json:"id"`
	Addr     string `json:"addr,omitempty"`
	Weight   int    `json:"weight"`
	Draining bool   `json:"draining"`
	Owned    int    `json:"owned"` // units whose owner key it holds
	// Gossip is "alive" or "unreachable" as memberlist sees the node from
	// the member that answered, "" when that member runs no gossip.
	Gossip string `json:"gossip,omitempty"`
	Load   int    `json:"load,omitempty"` // running units, by gossip
	// Settings is the digest of the settings the node gossips (see
	// GossipConfig.Settings); every node should show the same.
	Settings string `json:"settings,omitempty"`
}

// UnitStatus is one unit: where the plan puts it, who holds it, and a state:
// "running" (held by the planned node), "moving" (held by another node that
// is handing it off), "pending" (planned, not yet claimed) or "unplaced".
type UnitStatus struct {
	Kind    Kind   `json:"kind"`
	ID      int    `json:"id"`
	Planned NodeID `json:"planned,omitempty"`
	Owner   NodeID `json:"owner,omitempty"`
	State   string `json:"state"`
}

// Status reads the cluster state from etcd in one consistent read, with
// liveness and load from gossip when the member runs it.
func (m *Member) Status(ctx context.Context) (Status, error) {
	st, err := ReadStatus(ctx, m.cli, m.cfg.Prefix)
	if err != nil || m.gsp == nil {
		return st, err
	}
	peers := map[NodeID]Peer{}
	for _, p := range m.gsp.Peers() {
		peers[p.ID] = p
	}
	for i := range st.Nodes {
		n := &st.Nodes[i]
		n.Gossip = "unreachable"
		if p, ok := peers[n.ID]; ok {
			n.Gossip, n.Load, n.Settings = "alive", p.Load, p.Settings
		}
	}
	return st, nil
}

// ReadStatus reads the cluster state with any etcd client, for tools that are
// not members (the status command). prefix "" means DefaultPrefix.
func ReadStatus(ctx context.Context, cli *clientv3.Client, prefix string) (Status, error) {
	if prefix == "" {
		prefix = DefaultPrefix
	}
	k := keys{prefix}
	resp, err := cli.Get(ctx, k.prefix+"/", clientv3.WithPrefix())
	if err != nil {
		return Status{}, fmt.Errorf("coordinator: status: %w", err)
	}
	v := newView()
	v.rev = resp.Header.Revision
	var leaderRev int64
	var leader NodeID
	for _, kv := range resp.Kvs {
		if err := v.apply(k, kv, false); err != nil {
			return Status{}, err
		}
		// The election's leader is the candidate key created first.
		if len(kv.Key) > len(k.leader())+1 && string(kv.Key[:len(k.leader())+1]) == k.leader()+"/" {
			if leaderRev == 0 || kv.CreateRevision < leaderRev {
				leaderRev, leader = kv.CreateRevision, NodeID(kv.Value)
			}
		}
	}
	st := Status{Revision: v.rev, Leader: leader, PlanVersion: v.plan.Version, ShardCount: v.units.ShardCount, IdentifiesLeft: -1,
		Reshard: v.reshardStatus()}
	for _, kv := range resp.Kvs {
		if string(kv.Key) == k.startLimit() {
			var l startLimit
			if err := json.Unmarshal(kv.Value, &l); err == nil {
				st.IdentifiesLeft = l.current(time.Now()).Remaining
			}
		}
	}
	owned := map[NodeID]int{}
	for _, o := range v.owners {
		owned[o.Node]++
	}
	for _, r := range v.nodes {
		st.Nodes = append(st.Nodes, NodeStatus{ID: r.ID, Addr: r.Addr, Weight: r.Weight, Draining: r.Weight == 0, Owned: owned[r.ID]})
	}
	slices.SortFunc(st.Nodes, func(a, b NodeStatus) int { return cmp.Compare(a.ID, b.ID) })
	all := map[Unit]bool{}
	for _, u := range v.list() {
		all[u] = true
	}
	for u := range v.planAssign {
		all[u] = true
	}
	for u := range v.owners {
		all[u] = true
	}
	us := make([]Unit, 0, len(all))
	for u := range all {
		us = append(us, u)
	}
	sortUnits(us)
	for _, u := range us {
		o, held := v.owners[u]
		p := v.planAssign[u]
		state := "unplaced"
		switch {
		case held && o.Node == p:
			state = "running"
		case held:
			state = "moving"
		case p != "":
			state = "pending"
		}
		st.Units = append(st.Units, UnitStatus{Kind: u.Kind, ID: u.ID, Planned: p, Owner: o.Node, State: state})
	}
	return st, nil
}
