package economy

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// A breeding and a battle keep what is needed to audit them: the egg's
// seed is derived from the breeding's interaction and stored, and breeding
// the stored parents with it again gives the stored egg; a battle's seed
// comes from the accept's interaction, and replaying its stored moves from
// its stored seed and fighters gives its stored end, winner included.
func TestBreedingAndBattlesReplayFromTheirStoredSeeds(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, servertest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	s, err := New(pool, Config{Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	const breeder, red, blue = 21, 22, 23
	for _, u := range []int64{breeder, red, blue} {
		if _, err := s.AdjustCredits(ctx, Op(fmt.Sprintf("fund-%d", u)), 1, u, 100000, "audit test"); err != nil {
			t.Fatal(err)
		}
		if err := s.AdjustItems(ctx, Op(fmt.Sprintf("capsules-%d", u)), 1, u, "companion_capsule", 2, "audit test"); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			if _, err := s.OpenCapsule(ctx, Op(fmt.Sprintf("open-%d-%d", u, i)), u, "companion_capsule"); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := pool.Exec(ctx, `UPDATE economy.companions SET xp = 1000000`); err != nil {
		t.Fatal(err)
	}

	parents, err := s.Companions(ctx, breeder)
	if err != nil || len(parents) != 2 {
		t.Fatalf("parents: %v, %v", parents, err)
	}
	breedOp := Op("interaction-breed-1")
	r, err := s.BreedCompanions(ctx, breedOp, breeder, "#"+fmt.Sprint(parents[0].ID), "#"+fmt.Sprint(parents[1].ID))
	if err != nil {
		t.Fatal(err)
	}
	eggs, err := s.Eggs(ctx, breeder)
	if err != nil || len(eggs) != 1 {
		t.Fatalf("eggs: %v, %v", eggs, err)
	}
	egg := eggs[0]
	if egg.Seed != seedOf(breedOp) || egg.Seed != r.Egg.Seed {
		t.Fatalf("stored seed %d, the interaction's %d", egg.Seed, seedOf(breedOp))
	}
	pa, pb := parents[0], parents[1]
	again := s.cat.breed(Parent{pa.Model, pa.Stats, pa.Generation}, Parent{pb.Model, pb.Stats, pb.Generation}, egg.Seed)
	if got := (Offspring{Model: egg.Model, Stats: egg.Stats, Generation: egg.Generation, Mutated: egg.Mutated}); got != again {
		t.Fatalf("stored egg %+v, the replay %+v", got, again)
	}

	// Fighters with move skills, so that the moves made differ.
	if _, err := pool.Exec(ctx, `UPDATE economy.companions SET model = 'worker', skills = '{hammer,plating}' WHERE owner_id = $1`, red); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `UPDATE economy.companions SET model = 'medic', skills = '{patch,scalpel}' WHERE owner_id = $1`, blue); err != nil {
		t.Fatal(err)
	}
	b, err := s.Challenge(ctx, ChallengeRequest{Op: "interaction-challenge-1", Challenger: red, Challenged: blue, Wager: 1000})
	if err != nil {
		t.Fatal(err)
	}
	acceptOp := Op("interaction-accept-1")
	if b, err = s.AcceptBattle(ctx, acceptOp, b.ID, blue, ""); err != nil {
		t.Fatal(err)
	}
	for i := 0; b.State == BattleActive; i++ {
		if i > 200 {
			t.Fatal("the battle never ends")
		}
		side := b.Play.Side
		if b, err = s.MoveBattle(ctx, Op(fmt.Sprintf("interaction-move-%d", i)), b.ID, b.Player(side), b.Play.Turn, i%len(b.Fighters[side].Moves)); err != nil {
			t.Fatal(err)
		}
	}
	stored, err := s.GetBattle(ctx, b.ID)
	if err != nil || stored.State != BattleDone || stored.Play == nil {
		t.Fatalf("stored battle: %+v, %v", stored, err)
	}
	if stored.Play.Seed != seedOf(acceptOp)^uint64(stored.ID) {
		t.Fatalf("battle seed %d is not the accept's", stored.Play.Seed)
	}
	replay := startBattle(stored.Play.Seed, stored.Fighters)
	for _, m := range stored.Play.Moves {
		if replay, err = play(replay, stored.Fighters, m.Side, m.Move, m.Auto, s.cat.Companions.Battle.MaxTurns); err != nil {
			t.Fatal(err)
		}
	}
	if !reflect.DeepEqual(replay, *stored.Play) {
		t.Fatalf("replay %+v\nstored %+v", replay, *stored.Play)
	}
	if stored.Winner != stored.Player(replay.Winner) || stored.Prize != s.cat.battlePrize(replay.Seed, stored.Wager) {
		t.Fatalf("stored winner %d and prize %q; the replay's %d and %q", stored.Winner, stored.Prize,
			stored.Player(replay.Winner), s.cat.battlePrize(replay.Seed, stored.Wager))
	}
	rep, err := Audit(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
}
