package economy_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// A node steps a battle on its copy of it only while the row is still the
// one it saw: a battle changed behind its back (here by SQL, as an
// operator's repair would) is read again, never overwritten from the copy.
func TestBattleStepSeesAChangeBehindTheNode(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.duel(t, 100)
	b, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, "") // the node keeps the battle
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.pool.Exec(ctx, `UPDATE economy.battles SET battle = jsonb_set(battle, '{play,hp}', '[1, 1]') WHERE id = $1`, b.ID); err != nil {
		t.Fatal(err)
	}
	side := b.Play.Side
	got, err := e.svc.MoveBattle(ctx, op(), b.ID, b.Player(side), b.Play.Turn, 0)
	if err != nil {
		t.Fatal(err)
	}
	// The mover kept its 1 HP; the other side had 1 and was hit or missed.
	if got.Play.HP[side] != 1 || got.Play.HP[1-side] > 1 {
		t.Fatalf("after the move: HP %v, want the mover at 1 and the other at 0 or 1 (a step on the node's stale copy)", got.Play.HP)
	}
	stored, err := e.svc.GetBattle(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Play.HP != got.Play.HP || stored.Play.Turn != got.Play.Turn || stored.State != got.State {
		t.Fatalf("stored %v turn %d %s, returned %v turn %d %s", stored.Play.HP, stored.Play.Turn, stored.State,
			got.Play.HP, got.Play.Turn, got.State)
	}
	e.audit(t)
}

// Two nodes take turns on one battle, each behind the other at every
// turn, with the sweep's automatic moves (on a third node) and replayed
// clicks in between: the battle is the one a single node would play, each
// click applies once, and the books balance.
func TestBattleOnNodesBehindEachOther(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rule := e.svc.Catalog().Companions.Battle
	var nodes []*economy.Service
	for i := range 3 {
		svc, err := economy.New(e.pool, economy.Config{Now: e.clock.Now, Rand: rand.NewPCG(uint64(i), 7)})
		if err != nil {
			t.Fatal(err)
		}
		nodes = append(nodes, svc)
	}
	b := e.duel(t, 500)
	b, err := nodes[0].AcceptBattle(ctx, op(), b.ID, blue, "")
	if err != nil {
		t.Fatal(err)
	}
	type click struct {
		op   economy.Op
		turn int
		got  economy.Battle
	}
	var clicks []click
	var moves []economy.MoveMade
	for i := 0; b.State == economy.BattleActive; i++ {
		if i > 200 {
			t.Fatal("battle never ends")
		}
		if i%5 == 4 && b.Play.Misses[b.Play.Side] == 0 {
			// The side to move lets its time run out; the sweep moves.
			e.clock.Add(time.Duration(rule.MoveSeconds) * time.Second)
			done, err := nodes[2].SweepBattles(ctx, 10)
			if err != nil || len(done) != 1 {
				t.Fatalf("sweep: %v, %v", done, err)
			}
			moves = append(moves, economy.MoveMade{Side: b.Play.Side, Auto: true})
			b = done[0]
			continue
		}
		c := click{op: op(), turn: b.Play.Turn}
		side, move := b.Play.Side, i%len(b.Fighters[b.Play.Side].Moves)
		c.got, err = nodes[i%2].MoveBattle(ctx, c.op, b.ID, b.Player(side), c.turn, move)
		if err != nil {
			t.Fatalf("move %d: %v", i, err)
		}
		if c.got.Play.Turn != c.turn+1 {
			t.Fatalf("move %d: turn %d after turn %d", i, c.got.Play.Turn, c.turn)
		}
		moves = append(moves, economy.MoveMade{Side: side, Move: move})
		clicks = append(clicks, c)
		b = c.got
		// The node that did not move replays an earlier click: the first
		// result, nothing applied again.
		old := clicks[len(clicks)/2]
		again, err := nodes[(i+1)%2].MoveBattle(ctx, old.op, b.ID, old.got.Player(1-old.got.Play.Side), old.turn, 0)
		if err != nil || again.Play.Turn != old.turn+1 {
			t.Fatalf("replay of the move of turn %d: turn %d, %v", old.turn, again.Play.Turn, err)
		}
	}
	if b.State != economy.BattleDone {
		t.Fatalf("end: %s", b.State)
	}
	// The moves made are the ones clicked and swept, in order.
	var made []economy.MoveMade
	for _, m := range b.Play.Moves {
		made = append(made, economy.MoveMade{Side: m.Side, Move: m.Move, Auto: m.Auto})
	}
	for i := range moves {
		if moves[i].Auto {
			moves[i].Move = 0
		}
	}
	if !reflect.DeepEqual(made, moves) {
		t.Fatalf("moves stored %v, made %v", made, moves)
	}
	stored, err := e.svc.GetBattle(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if stored.Winner != b.Winner || stored.Play.Turn != b.Play.Turn {
		t.Fatalf("stored winner %d turn %d, returned %d turn %d", stored.Winner, stored.Play.Turn, b.Winner, b.Play.Turn)
	}
	// Moves after the end are refused on every node, whatever it saw.
	for _, n := range nodes {
		if _, err := n.MoveBattle(ctx, op(), b.ID, b.Player(b.Play.Side), b.Play.Turn, 0); !errors.Is(err, economy.ErrBattleOver) {
			t.Fatalf("a move after the end: %v, want %v", err, economy.ErrBattleOver)
		}
	}
	e.audit(t)
}

// One click delivered to two nodes at once (each with the battle as it
// saw it): it applies once, and every delivery answers with its result.
func TestBattleSameClickOnTwoNodes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.duel(t, 100)
	b, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, "")
	if err != nil {
		t.Fatal(err)
	}
	click := op()
	got := make([]economy.Battle, 8)
	e.onTwoNodes(t, len(got), func(i int, svc *economy.Service) {
		if _, err := svc.GetBattle(ctx, b.ID); err != nil { // both nodes saw the battle
			t.Error(err)
		}
		var err error
		if got[i], err = svc.MoveBattle(ctx, click, b.ID, b.Player(b.Play.Side), b.Play.Turn, 0); err != nil {
			t.Errorf("delivery %d: %v", i, err)
		}
	})
	now, err := e.svc.GetBattle(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if now.Play.Turn != b.Play.Turn+1 {
		t.Fatalf("turn %d after one click on turn %d", now.Play.Turn, b.Play.Turn)
	}
	for i, g := range got {
		if g.Play == nil || g.Play.Turn != now.Play.Turn || g.Play.HP != now.Play.HP {
			t.Errorf("delivery %d answered %+v, want the battle at turn %d, HP %v", i, g.Play, now.Play.Turn, now.Play.HP)
		}
	}
	e.audit(t)
}
