package coordinator

import (
	"fmt"
	"sort"
)

// Readiness is what this member should run, by its latest view of etcd, for
// a readiness probe: a load balancer must not route to a node that has not
// yet taken its part of the work.
type Readiness struct {
	// Synced is false until the member has read the cluster keys under its
	// current lease (at start, and after a lost lease).
	Synced bool
	// Registered is true when etcd holds this node's registration.
	Registered bool
	// Planned are the shards the plan assigns to this node.
	Planned []int
	// Share is the floor of this node's weighted share of the shards
	// (0 while it drains).
	Share int
	// Running are the shards this member runs now.
	Running []int
}

// Readiness reports what this member should run and runs, from its view.
func (m *Member) Readiness() Readiness {
	m.mu.Lock()
	defer m.mu.Unlock()
	var r Readiness
	for u, s := range m.slots {
		if u.Kind == KindShard && s.state == StateRunning {
			r.Running = append(r.Running, u.ID)
		}
	}
	sort.Ints(r.Running)
	if m.v == nil || !m.synced || m.ep == nil || m.ep.ctx.Err() != nil {
		return r
	}
	defer func() { sort.Ints(r.Planned); sort.Ints(r.Running) }()
	r.Synced = true
	self, ok := m.v.nodes[m.cfg.NodeID]
	r.Registered = ok
	for u, n := range m.v.planAssign {
		if u.Kind == KindShard && n == m.cfg.NodeID && u.ID < m.v.units.ShardCount {
			r.Planned = append(r.Planned, u.ID)
		}
	}
	total := 0
	for _, n := range m.v.nodes {
		total += max(n.Weight, 0)
	}
	if ok && !m.draining && self.Weight > 0 && total > 0 {
		r.Share = m.v.units.ShardCount * self.Weight / total
	}
	return r
}

// Check returns nil when the member runs every shard the plan gives it and
// at least its share, and otherwise says what is missing.
func (r Readiness) Check() error {
	switch {
	case !r.Synced:
		return fmt.Errorf("not synced with etcd")
	case !r.Registered:
		return fmt.Errorf("not registered")
	}
	running := make(map[int]bool, len(r.Running))
	for _, id := range r.Running {
		running[id] = true
	}
	var missing []int
	for _, id := range r.Planned {
		if !running[id] {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("planned shards not running: %v", missing)
	}
	if len(r.Running) < r.Share {
		return fmt.Errorf("runs %d shards, below its share of %d", len(r.Running), r.Share)
	}
	return nil
}
