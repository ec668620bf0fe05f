package coordinator

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Kind is the sort of work a Unit is. Each kind is balanced on its own.
type Kind string

// The kinds of unit the cluster places on nodes.
const (
	KindShard Kind = "shard" // a gateway shard of the main bot
	KindAgent Kind = "agent" // a voice agent (an extra bot account from the pool)
	// KindNext is a gateway shard of the next generation while the cluster
	// reshards (reshard.go): its session warms up beside the serving
	// generation and becomes shard/<id> after the switch.
	KindNext Kind = "next"
)

// Unit is one piece of work that runs on exactly one node at a time.
type Unit struct {
	Kind Kind
	ID   int
}

// String returns "shard/3" or "agent/12".
func (u Unit) String() string { return string(u.Kind) + "/" + strconv.Itoa(u.ID) }

// ParseUnit parses the form produced by Unit.String.
func ParseUnit(s string) (Unit, error) {
	k, id, ok := strings.Cut(s, "/")
	if !ok {
		return Unit{}, fmt.Errorf("coordinator: unit %q: want kind/id", s)
	}
	n, err := strconv.Atoi(id)
	if err != nil || n < 0 {
		return Unit{}, fmt.Errorf("coordinator: unit %q: bad id", s)
	}
	switch Kind(k) {
	case KindShard, KindAgent, KindNext:
	default:
		return Unit{}, fmt.Errorf("coordinator: unit %q: unknown kind", s)
	}
	return Unit{Kind: Kind(k), ID: n}, nil
}

// NodeID names a node of the cluster. It is stable across restarts of the
// same node so that its registration and owner keys can be recognised.
type NodeID string

// Node is a live node as the planner sees it. Weight is its relative capacity:
// a node of weight 2 gets twice the units of a node of weight 1; weight 0
// (a draining node) gets none.
type Node struct {
	ID     NodeID
	Weight int
}

// Plan assigns every unit to a node. It is a pure, deterministic function:
//
//   - per kind, every node ends within one unit of its weighted share
//     (|count - n*weight/totalWeight| < 1, nodes of weight 0 get nothing);
//   - as few units as possible change owner: a unit stays where current has it
//     unless its node is gone or over its quota, so an already balanced
//     assignment comes back unchanged;
//   - the result depends only on the set of nodes and units and on current,
//     not on the order of the slices.
//
// Units whose current owner is not in nodes are placed like new units. When no
// node has a positive weight the result is empty: nothing can run. Duplicate
// node IDs count once (the first weight wins); negative weights count as 0.
// Units of the same Kind and ID count once.
func Plan(nodes []Node, units []Unit, current map[Unit]NodeID) map[Unit]NodeID {
	ns := normalizeNodes(nodes)
	byKind := map[Kind][]Unit{}
	seen := map[Unit]bool{}
	for _, u := range units {
		if seen[u] {
			continue
		}
		seen[u] = true
		byKind[u.Kind] = append(byKind[u.Kind], u)
	}
	out := make(map[Unit]NodeID, len(seen))
	kinds := make([]Kind, 0, len(byKind))
	for k := range byKind {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		us := byKind[k]
		slices.SortFunc(us, func(a, b Unit) int { return cmp.Compare(a.ID, b.ID) })
		planKind(ns, us, current, out)
	}
	return out
}

// MaxWeight is the largest weight Plan honours; larger weights count as
// MaxWeight so that the arithmetic cannot overflow.
const MaxWeight = 1 << 20

// normalizeNodes sorts nodes by ID, drops duplicates and clamps weights.
func normalizeNodes(nodes []Node) []Node {
	ns := make([]Node, 0, len(nodes))
	seen := map[NodeID]bool{}
	for _, n := range nodes {
		if seen[n.ID] {
			continue
		}
		seen[n.ID] = true
		n.Weight = min(max(n.Weight, 0), MaxWeight)
		ns = append(ns, n)
	}
	slices.SortFunc(ns, func(a, b Node) int { return cmp.Compare(a.ID, b.ID) })
	return ns
}

// Quotas returns how many of n units each node should hold: floor or ceil of
// its weighted share, summing to n. Among nodes whose share is fractional the
// ceilings go first to nodes that already hold more than the floor (cur), so
// that the fewest units move; ties go to the larger remainder, then the lower
// node ID. ns must be normalized.
func quotas(ns []Node, n int, cur map[NodeID]int) map[NodeID]int {
	q := make(map[NodeID]int, len(ns))
	total := 0
	for _, nd := range ns {
		total += nd.Weight
	}
	if total == 0 {
		return q
	}
	type frac struct {
		id        NodeID
		rem       int // n*w mod total: the fractional part times total
		wantsCeil bool
	}
	var fracs []frac
	given := 0
	for _, nd := range ns {
		fl := n * nd.Weight / total
		q[nd.ID] = fl
		given += fl
		if rem := n * nd.Weight % total; rem != 0 {
			fracs = append(fracs, frac{nd.ID, rem, cur[nd.ID] > fl})
		}
	}
	slices.SortFunc(fracs, func(a, b frac) int {
		if a.wantsCeil != b.wantsCeil {
			if a.wantsCeil {
				return -1
			}
			return 1
		}
		if a.rem != b.rem {
			return cmp.Compare(b.rem, a.rem)
		}
		return cmp.Compare(a.id, b.id)
	})
	for i := 0; i < n-given; i++ {
		q[fracs[i].id]++
	}
	return q
}

// planKind places the sorted units of one kind into out.
func planKind(ns []Node, us []Unit, current map[Unit]NodeID, out map[Unit]NodeID) {
	live := map[NodeID]bool{}
	for _, nd := range ns {
		live[nd.ID] = true
	}
	cur := map[NodeID]int{}
	for _, u := range us {
		if o, ok := current[u]; ok && live[o] {
			cur[o]++
		}
	}
	q := quotas(ns, len(us), cur)
	if len(q) == 0 {
		return
	}
	held := map[NodeID]int{}
	var free []Unit
	// Keep units in place up to the quota; the lowest IDs are kept.
	for _, u := range us {
		o, ok := current[u]
		if ok && live[o] && held[o] < q[o] {
			out[u] = o
			held[o]++
			continue
		}
		free = append(free, u)
	}
	// Fill the nodes with room, in node order.
	i := 0
	for _, nd := range ns {
		for ; held[nd.ID] < q[nd.ID]; held[nd.ID]++ {
			out[free[i]] = nd.ID
			i++
		}
	}
}
