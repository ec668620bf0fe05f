package coordinator

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"go.etcd.io/etcd/api/v3/mvccpb"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// registration is the value of /chopsticks/nodes/<id>.
type registration struct {
	ID     NodeID `json:"id"`
	Addr   string `json:"addr,omitempty"`
	Weight int    `json:"weight"`
	// Gossip is the node's gossip address, where peers meet it and check
	// it directly before revoking its lease.
	Gossip string `json:"gossip,omitempty"`
	// WatchdogMS is how long after its last successful keepalive the node
	// stops every unit (lease TTL minus margin): peers revoke the lease of
	// a silent node only once etcd has not renewed it for this long.
	WatchdogMS int64 `json:"watchdog_ms,omitempty"`
}

// planDoc is the value of /chopsticks/plan.
type planDoc struct {
	Version int64             `json:"version"`
	Leader  NodeID            `json:"leader"`
	Assign  map[string]NodeID `json:"assign"` // Unit.String() -> node
}

// unitsDoc is the value of /chopsticks/config/units: the work to place.
type unitsDoc struct {
	ShardCount int   `json:"shard_count"`
	Agents     []int `json:"agents,omitempty"`
}

// list returns every unit described by d, shards first.
func (d unitsDoc) list() []Unit {
	us := make([]Unit, 0, d.ShardCount+len(d.Agents))
	for i := range d.ShardCount {
		us = append(us, Unit{KindShard, i})
	}
	for _, a := range d.Agents {
		us = append(us, Unit{KindAgent, a})
	}
	return us
}

// list returns the units to place while resharding: the serving units,
// then the next generation's shards when a reshard is under way.
func (v *view) list() []Unit {
	us := v.units.list()
	if v.reshard != nil {
		for i := range v.reshard.To {
			us = append(us, Unit{KindNext, i})
		}
	}
	return us
}

// countOf is the shard count of the generation unit u belongs to: the
// serving count for a shard, the reshard's target for a next shard, 0 for
// an agent or a next shard without a reshard.
func (v *view) countOf(u Unit) int {
	switch {
	case u.Kind == KindShard:
		return v.units.ShardCount
	case u.Kind == KindNext && v.reshard != nil:
		return v.reshard.To
	}
	return 0
}

// owner is what an owner key says: who holds the unit, under which lease.
type owner struct {
	Node   NodeID
	Lease  clientv3.LeaseID
	ModRev int64
}

// view is a node's picture of the cluster keys at one etcd revision.
type view struct {
	rev        int64
	nodes      map[NodeID]registration
	plan       planDoc
	planAssign map[Unit]NodeID
	planRev    int64 // ModRevision of the plan key, 0 when absent
	owners     map[Unit]owner
	units      unitsDoc
	unitsRev   int64
	// reshard is the reshard under way (nil when none), reshardRev its
	// ModRevision; ready and live are its markers by next shard.
	reshard    *reshardDoc
	reshardRev int64
	ready      map[int]marker
	live       map[int]marker
	// limit is the identify gate's stored session start limit (nil: none).
	limit *startLimit
}

func newView() *view {
	return &view{
		nodes:      map[NodeID]registration{},
		planAssign: map[Unit]NodeID{},
		owners:     map[Unit]owner{},
		ready:      map[int]marker{},
		live:       map[int]marker{},
	}
}

// clone returns a deep enough copy for readers outside the lock.
func (v *view) clone() *view {
	c := *v
	c.nodes = maps.Clone(v.nodes)
	c.planAssign = maps.Clone(v.planAssign)
	c.owners = maps.Clone(v.owners)
	c.units.Agents = slices.Clone(v.units.Agents)
	c.ready = maps.Clone(v.ready)
	c.live = maps.Clone(v.live)
	if v.reshard != nil {
		r := *v.reshard
		c.reshard = &r
	}
	return &c
}

// apply folds one key change into the view. Unknown keys are ignored; a
// malformed value is reported and leaves the view as it was.
func (v *view) apply(k keys, kv *mvccpb.KeyValue, deleted bool) error {
	key := string(kv.Key)
	switch {
	case strings.HasPrefix(key, k.nodes()):
		id := NodeID(strings.TrimPrefix(key, k.nodes()))
		if deleted {
			delete(v.nodes, id)
			return nil
		}
		var r registration
		if err := json.Unmarshal(kv.Value, &r); err != nil {
			return fmt.Errorf("coordinator: node %s: %w", id, err)
		}
		r.ID = id
		v.nodes[id] = r
	case key == k.plan():
		if deleted {
			v.plan, v.planAssign, v.planRev = planDoc{}, map[Unit]NodeID{}, 0
			return nil
		}
		var p planDoc
		if err := json.Unmarshal(kv.Value, &p); err != nil {
			return fmt.Errorf("coordinator: plan: %w", err)
		}
		assign := make(map[Unit]NodeID, len(p.Assign))
		for s, n := range p.Assign {
			u, err := ParseUnit(s)
			if err != nil {
				return fmt.Errorf("coordinator: plan: %w", err)
			}
			assign[u] = n
		}
		v.plan, v.planAssign, v.planRev = p, assign, kv.ModRevision
	case key == k.units():
		if deleted {
			v.units, v.unitsRev = unitsDoc{}, 0
			return nil
		}
		var d unitsDoc
		if err := json.Unmarshal(kv.Value, &d); err != nil {
			return fmt.Errorf("coordinator: units: %w", err)
		}
		v.units, v.unitsRev = d, kv.ModRevision
	case key == k.reshard():
		if deleted {
			v.reshard, v.reshardRev = nil, 0
			return nil
		}
		var d reshardDoc
		if err := json.Unmarshal(kv.Value, &d); err != nil {
			return fmt.Errorf("coordinator: reshard: %w", err)
		}
		v.reshard, v.reshardRev = &d, kv.ModRevision
	case strings.HasPrefix(key, k.reshardMarks()):
		rest := strings.TrimPrefix(key, k.reshardMarks())
		which, id, _ := strings.Cut(rest, "/")
		n, err := strconv.Atoi(id)
		if err != nil || n < 0 {
			return nil
		}
		set := v.ready
		if which == "live" {
			set = v.live
		} else if which != "ready" {
			return nil
		}
		if deleted {
			delete(set, n)
			return nil
		}
		set[n] = marker{Node: NodeID(kv.Value), CreateRev: kv.CreateRevision}
	case key == k.startLimit():
		if deleted {
			v.limit = nil
			return nil
		}
		var l startLimit
		if err := json.Unmarshal(kv.Value, &l); err != nil {
			return fmt.Errorf("coordinator: identify limit: %w", err)
		}
		v.limit = &l
	default:
		u, ok := k.parseOwner(key)
		if !ok {
			return nil
		}
		if deleted {
			delete(v.owners, u)
			return nil
		}
		v.owners[u] = owner{Node: NodeID(kv.Value), Lease: clientv3.LeaseID(kv.Lease), ModRev: kv.ModRevision}
	}
	return nil
}

// liveNodes returns the registered nodes as planner input.
func (v *view) liveNodes() []Node {
	ns := make([]Node, 0, len(v.nodes))
	for _, r := range v.nodes {
		ns = append(ns, Node{ID: r.ID, Weight: r.Weight})
	}
	return ns
}
