package coordinator

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"testing"
)

func shards(n int) []Unit {
	us := make([]Unit, n)
	for i := range us {
		us[i] = Unit{KindShard, i}
	}
	return us
}

func counts(plan map[Unit]NodeID, k Kind) map[NodeID]int {
	c := map[NodeID]int{}
	for u, n := range plan {
		if u.Kind == k {
			c[n]++
		}
	}
	return c
}

func moves(current, next map[Unit]NodeID) int {
	m := 0
	for u, n := range next {
		if current[u] != n {
			m++
		}
	}
	return m
}

func TestPlanTable(t *testing.T) {
	a, b, c, d := NodeID("a"), NodeID("b"), NodeID("c"), NodeID("d")
	three := []Node{{a, 1}, {b, 1}, {c, 1}}
	tests := []struct {
		name      string
		nodes     []Node
		units     []Unit
		current   map[Unit]NodeID
		want      map[NodeID]int // per node count of shards
		wantMoves int
	}{
		{"empty", nil, shards(4), nil, map[NodeID]int{}, 0},
		{"all weight zero", []Node{{a, 0}}, shards(4), nil, map[NodeID]int{}, 0},
		{"cold start 3 nodes 16 shards", three, shards(16), nil, map[NodeID]int{a: 6, b: 5, c: 5}, 16},
		{"weights 2:1", []Node{{a, 2}, {b, 1}}, shards(9), nil, map[NodeID]int{a: 6, b: 3}, 9},
		{"already balanced stays", three, shards(3),
			map[Unit]NodeID{{KindShard, 0}: c, {KindShard, 1}: a, {KindShard, 2}: b},
			map[NodeID]int{a: 1, b: 1, c: 1}, 0},
		{"node gone: only its units move", []Node{{a, 1}, {b, 1}}, shards(4),
			map[Unit]NodeID{{KindShard, 0}: a, {KindShard, 1}: b, {KindShard, 2}: c, {KindShard, 3}: c},
			map[NodeID]int{a: 2, b: 2}, 2},
		{"fourth node gets a quarter", []Node{{a, 1}, {b, 1}, {c, 1}, {d, 1}}, shards(16),
			Plan(three, shards(16), nil),
			map[NodeID]int{a: 4, b: 4, c: 4, d: 4}, 4},
		{"drain: weight zero empties node", []Node{{a, 1}, {b, 1}, {c, 0}}, shards(6),
			Plan(three, shards(6), nil),
			map[NodeID]int{a: 3, b: 3}, 2},
		{"ceil goes to node already holding more", []Node{{a, 1}, {b, 1}}, shards(3),
			map[Unit]NodeID{{KindShard, 0}: b, {KindShard, 1}: b, {KindShard, 2}: b},
			map[NodeID]int{a: 1, b: 2}, 1},
		{"duplicate units count once", []Node{{a, 1}}, append(shards(2), Unit{KindShard, 1}), nil,
			map[NodeID]int{a: 2}, 2},
		{"negative weight is zero", []Node{{a, -5}, {b, 1}}, shards(2), nil, map[NodeID]int{b: 2}, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Plan(tt.nodes, tt.units, tt.current)
			if c := counts(got, KindShard); !maps.Equal(c, tt.want) {
				t.Errorf("counts = %v, want %v", c, tt.want)
			}
			if m := moves(tt.current, got); m != tt.wantMoves {
				t.Errorf("moves = %d, want %d (plan %v)", m, tt.wantMoves, got)
			}
		})
	}
}

func TestPlanKindsBalancedSeparately(t *testing.T) {
	nodes := []Node{{"a", 1}, {"b", 1}}
	units := append(shards(4), Unit{KindAgent, 10}, Unit{KindAgent, 11})
	got := Plan(nodes, units, nil)
	for _, k := range []Kind{KindShard, KindAgent} {
		c := counts(got, k)
		if c["a"] != c["b"] {
			t.Errorf("%s counts = %v, want equal", k, c)
		}
	}
}

// lowerBound is the least number of moves any balanced plan needs: every unit
// whose owner is gone moves, every node above its ceiling sheds the excess,
// and every node below its floor must be filled.
func lowerBound(nodes []Node, units []Unit, current map[Unit]NodeID) int {
	ns := normalizeNodes(nodes)
	total := 0
	for _, n := range ns {
		total += n.Weight
	}
	if total == 0 {
		return 0
	}
	lb := 0
	for _, k := range []Kind{KindShard, KindAgent} {
		n := 0
		cur := map[NodeID]int{}
		orphans := 0
		for _, u := range units {
			if u.Kind != k {
				continue
			}
			n++
			o, ok := current[u]
			live := false
			for _, nd := range ns {
				live = live || nd.ID == o
			}
			if ok && live {
				cur[o]++
			} else {
				orphans++
			}
		}
		shed, fill := orphans, 0
		for _, nd := range ns {
			fl := n * nd.Weight / total
			ce := fl
			if n*nd.Weight%total != 0 {
				ce++
			}
			shed += max(0, cur[nd.ID]-ce)
			fill += max(0, fl-cur[nd.ID])
		}
		lb += max(shed, fill)
	}
	return lb
}

func randomCase(r *rand.Rand) ([]Node, []Unit, map[Unit]NodeID) {
	var nodes []Node
	for i := range r.IntN(6) + 1 {
		w := 1
		if r.IntN(3) == 0 {
			w = r.IntN(4) // sometimes 0 (draining) or heavier
		}
		nodes = append(nodes, Node{NodeID(fmt.Sprintf("n%d", i)), w})
	}
	var units []Unit
	for i := range r.IntN(40) {
		units = append(units, Unit{KindShard, i})
	}
	for i := range r.IntN(8) {
		units = append(units, Unit{KindAgent, 100 + i})
	}
	current := map[Unit]NodeID{}
	for _, u := range units {
		switch r.IntN(4) {
		case 0: // unowned
		case 1: // owned by a node that is gone
			current[u] = NodeID(fmt.Sprintf("gone%d", r.IntN(2)))
		default:
			current[u] = nodes[r.IntN(len(nodes))].ID
		}
	}
	return nodes, units, current
}

func TestPlanProperties(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		nodes, units, current := randomCase(r)
		got := Plan(nodes, units, current)
		ctx := fmt.Sprintf("case %d: nodes=%v units=%d current=%v", i, nodes, len(units), current)

		total := 0
		for _, n := range nodes {
			total += n.Weight
		}
		// Every unit is placed on a live node with weight, or nothing is placed.
		if total == 0 {
			if len(got) != 0 {
				t.Fatalf("%s: no weight but plan %v", ctx, got)
			}
			continue
		}
		if len(got) != len(units) {
			t.Fatalf("%s: placed %d of %d units", ctx, len(got), len(units))
		}
		// Balance: within one unit of the weighted share, per kind.
		for _, k := range []Kind{KindShard, KindAgent} {
			n := 0
			for _, u := range units {
				if u.Kind == k {
					n++
				}
			}
			c := counts(got, k)
			for _, nd := range nodes {
				share := float64(n*nd.Weight) / float64(total)
				if d := float64(c[nd.ID]) - share; d <= -1 || d >= 1 {
					t.Fatalf("%s: %s on %s = %d, share %.2f", ctx, k, nd.ID, c[nd.ID], share)
				}
				delete(c, nd.ID)
			}
			if len(c) != 0 {
				t.Fatalf("%s: units on unknown nodes %v", ctx, c)
			}
		}
		// Minimal moves: exactly the counted lower bound.
		if m, lb := moves(current, got), lowerBound(nodes, units, current); m != lb {
			t.Fatalf("%s: %d moves, lower bound %d", ctx, m, lb)
		}
		// Stability: same input, shuffled, gives the same output.
		sn := append([]Node(nil), nodes...)
		r.Shuffle(len(sn), func(i, j int) { sn[i], sn[j] = sn[j], sn[i] })
		su := append([]Unit(nil), units...)
		r.Shuffle(len(su), func(i, j int) { su[i], su[j] = su[j], su[i] })
		if again := Plan(sn, su, current); !maps.Equal(again, got) {
			t.Fatalf("%s: not deterministic", ctx)
		}
		// A balanced assignment is left alone.
		if again := Plan(nodes, units, got); !maps.Equal(again, got) {
			t.Fatalf("%s: replanning a balanced plan moved units", ctx)
		}
	}
}

func TestParseUnit(t *testing.T) {
	for _, s := range []string{"shard/0", "agent/42"} {
		u, err := ParseUnit(s)
		if err != nil || u.String() != s {
			t.Errorf("ParseUnit(%q) = %v, %v", s, u, err)
		}
	}
	for _, s := range []string{"", "shard", "shard/-1", "shard/x", "cat/1"} {
		if _, err := ParseUnit(s); err == nil {
			t.Errorf("ParseUnit(%q) succeeded", s)
		}
	}
}

func BenchmarkPlan(b *testing.B) {
	nodes := []Node{{"a", 1}, {"b", 1}, {"c", 2}, {"d", 1}}
	units := shards(1024)
	cur := Plan(nodes[:3], units, nil)
	for b.Loop() {
		Plan(nodes, units, cur)
	}
}
