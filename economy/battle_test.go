package economy_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chopsticks-bot/chopsticks/economy"
)

const (
	red  = 601
	blue = 602
	grey = 603
)

// duel gives red and blue a companion each and funds, and opens red's
// challenge to blue for wager.
func (e *env) duel(t *testing.T, wager int64) economy.Battle {
	t.Helper()
	e.capsule(t, red)
	e.capsule(t, blue)
	e.fund(t, red, 10000)
	e.fund(t, blue, 10000)
	b, err := e.svc.Challenge(context.Background(), economy.ChallengeRequest{Op: op(), Challenger: red, Challenged: blue, Wager: wager,
		Notify: "message-of-the-duel"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// playOut plays battle b to the end with the first move of whoever's turn
// it is, and returns the final battle.
func (e *env) playOut(t *testing.T, b economy.Battle) economy.Battle {
	t.Helper()
	for i := 0; b.State == economy.BattleActive; i++ {
		if i > 200 {
			t.Fatal("battle never ends")
		}
		var err error
		b, err = e.svc.MoveBattle(context.Background(), op(), b.ID, b.Player(b.Play.Side), b.Play.Turn, i%len(b.Fighters[b.Play.Side].Moves))
		if err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func TestBattlePlayedToTheEnd(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.duel(t, 1000)
	if b.State != economy.BattleChallenged || b.Fighters[0].Owner != red {
		t.Fatalf("challenge: %+v", b)
	}
	b, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, "")
	if err != nil {
		t.Fatal(err)
	}
	if b.State != economy.BattleActive || e.balance(t, red).Wallet != 9000 || e.balance(t, blue).Wallet != 9000 {
		t.Fatalf("accept: %+v; wallets %d, %d", b, e.balance(t, red).Wallet, e.balance(t, blue).Wallet)
	}
	e.audit(t)
	b = e.playOut(t, b)
	if b.State != economy.BattleDone || b.Payout != 1900 || b.Fee != 100 {
		t.Fatalf("end: %+v", b)
	}
	winner, loser := red, blue
	if b.Winner == blue {
		winner, loser = blue, red
	}
	if w, l := e.balance(t, int64(winner)).Wallet, e.balance(t, int64(loser)).Wallet; w != 10900 || l != 9000 {
		t.Fatalf("wallets: winner %d, loser %d", w, l)
	}
	for _, u := range []int64{red, blue} {
		all, _ := e.svc.Companions(ctx, u)
		if all[0].BattleID != 0 || all[0].XP == 0 {
			t.Errorf("user %d's companion after the battle: %+v", u, all[0])
		}
	}
	e.audit(t)
}

// The exploit table of issue 19, each a case.
func TestBattleExploits(t *testing.T) {
	ctx := context.Background()
	t.Run("accept your own challenge", func(t *testing.T) {
		e := newEnv(t)
		b := e.duel(t, 100)
		if _, err := e.svc.AcceptBattle(ctx, op(), b.ID, red, ""); !errors.Is(err, economy.ErrNotChallenged) {
			t.Fatalf("got %v", err)
		}
		if _, err := e.svc.AcceptBattle(ctx, op(), b.ID, grey, ""); !errors.Is(err, economy.ErrNotChallenged) {
			t.Fatalf("a third user: %v", err)
		}
	})
	t.Run("challenge yourself or a bot", func(t *testing.T) {
		e := newEnv(t)
		if _, err := e.svc.Challenge(ctx, economy.ChallengeRequest{Op: op(), Challenger: red, Challenged: red}); !errors.Is(err, economy.ErrSelfBattle) {
			t.Fatalf("self: %v", err)
		}
		if _, err := e.svc.Challenge(ctx, economy.ChallengeRequest{Op: op(), Challenger: red, Challenged: blue, ChallengedBot: true}); !errors.Is(err, economy.ErrBotBattle) {
			t.Fatalf("bot: %v", err)
		}
	})
	t.Run("accept twice", func(t *testing.T) {
		e := newEnv(t)
		b := e.duel(t, 100)
		if _, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, ""); !errors.Is(err, economy.ErrChallengeClosed) {
			t.Fatalf("second accept: %v", err)
		}
		if e.balance(t, blue).Wallet != 9900 {
			t.Fatalf("paid twice: %d", e.balance(t, blue).Wallet)
		}
		e.audit(t)
	})
	t.Run("accept from two nodes at once", func(t *testing.T) {
		e := newEnv(t)
		b := e.duel(t, 100)
		errs := make([]error, 8)
		e.onTwoNodes(t, len(errs), func(i int, svc *economy.Service) {
			_, errs[i] = svc.AcceptBattle(ctx, op(), b.ID, blue, "")
		})
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, economy.ErrChallengeClosed):
				t.Errorf("accept: %v", err)
			}
		}
		if ok != 1 || e.balance(t, blue).Wallet != 9900 || e.balance(t, red).Wallet != 9900 {
			t.Fatalf("%d accepts succeeded; wallets %d, %d", ok, e.balance(t, red).Wallet, e.balance(t, blue).Wallet)
		}
		e.audit(t)
	})
	t.Run("accept without the wager", func(t *testing.T) {
		e := newEnv(t)
		b := e.duel(t, 100)
		e.drain(t, blue)
		if _, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, ""); !errors.Is(err, economy.ErrInsufficientFunds) {
			t.Fatalf("got %v", err)
		}
		if e.balance(t, red).Wallet != 10000 {
			t.Fatal("the challenger paid alone")
		}
		got, _ := e.svc.GetBattle(ctx, b.ID)
		if got.State != economy.BattleChallenged {
			t.Fatalf("state %s", got.State)
		}
		e.audit(t)
	})
	t.Run("spend the wager between challenge and accept", func(t *testing.T) {
		e := newEnv(t)
		b := e.duel(t, 100)
		e.drain(t, red)
		got, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, "")
		if err != nil || got.State != economy.BattleCancelled {
			t.Fatalf("accept: %+v, %v", got, err)
		}
		if e.balance(t, blue).Wallet != 10000 {
			t.Fatal("the challenged paid alone")
		}
		if all, _ := e.svc.Companions(ctx, red); all[0].BattleID != 0 {
			t.Fatal("the challenger's companion is still held")
		}
		e.audit(t)
	})
	t.Run("move out of turn or for the other side", func(t *testing.T) {
		e := newEnv(t)
		b := e.duel(t, 100)
		b, _ = e.svc.AcceptBattle(ctx, op(), b.ID, blue, "")
		waiting := b.Player(1 - b.Play.Side)
		if _, err := e.svc.MoveBattle(ctx, op(), b.ID, waiting, b.Play.Turn, 0); !errors.Is(err, economy.ErrNotYourTurn) {
			t.Fatalf("out of turn: %v", err)
		}
		if _, err := e.svc.MoveBattle(ctx, op(), b.ID, grey, b.Play.Turn, 0); !errors.Is(err, economy.ErrNotYourBattle) {
			t.Fatalf("a third user: %v", err)
		}
		if _, err := e.svc.MoveBattle(ctx, op(), b.ID, b.Player(b.Play.Side), b.Play.Turn, 99); !errors.Is(err, economy.ErrUnknownMove) {
			t.Fatalf("unknown move: %v", err)
		}
		if _, err := e.svc.MoveBattle(ctx, op(), b.ID, b.Player(b.Play.Side), b.Play.Turn+1, 0); !errors.Is(err, economy.ErrStaleTurn) {
			t.Fatalf("a stale turn: %v", err)
		}
		got, _ := e.svc.GetBattle(ctx, b.ID)
		if got.Play.Turn != 0 {
			t.Fatalf("a refused move moved: %+v", got.Play)
		}
	})
	t.Run("act on a companion in stasis or in battle", func(t *testing.T) {
		e := newEnv(t)
		b := e.duel(t, 100)
		all, _ := e.svc.Companions(ctx, red)
		c := all[0]
		if _, err := e.svc.TrainCompanion(ctx, op(), red, c.Name); !errors.Is(err, economy.ErrInBattle) {
			t.Fatalf("train in a challenge: %v", err)
		}
		if _, err := e.svc.SetStasis(ctx, op(), red, c.Name, true); !errors.Is(err, economy.ErrInBattle) {
			t.Fatalf("stasis in a challenge: %v", err)
		}
		e.svc.AcceptBattle(ctx, op(), b.ID, blue, "")
		bc, _ := e.svc.Companions(ctx, blue)
		if _, err := e.svc.BreedCompanions(ctx, op(), blue, bc[0].Name, bc[0].Name); !errors.Is(err, economy.ErrBreedSelf) && !errors.Is(err, economy.ErrInBattle) {
			t.Fatalf("breed in battle: %v", err)
		}
		if _, err := e.svc.Challenge(ctx, economy.ChallengeRequest{Op: op(), Challenger: blue, Challenged: grey, Companion: bc[0].Name}); !errors.Is(err, economy.ErrInBattle) {
			t.Fatalf("a second battle: %v", err)
		}
		// In stasis.
		g := e.capsule(t, grey)
		e.svc.SetStasis(ctx, op(), grey, g.Name, true)
		if _, err := e.svc.Challenge(ctx, economy.ChallengeRequest{Op: op(), Challenger: grey, Challenged: red, Companion: g.Name}); !errors.Is(err, economy.ErrInStasis) {
			t.Fatalf("battle in stasis: %v", err)
		}
		if _, err := e.svc.Challenge(ctx, economy.ChallengeRequest{Op: op(), Challenger: grey, Challenged: red}); !errors.Is(err, economy.ErrNoFighter) {
			t.Fatalf("battle with only a companion in stasis: %v", err)
		}
	})
	t.Run("release a companion mid-battle", func(t *testing.T) {
		e := newEnv(t)
		b := e.duel(t, 100)
		e.svc.AcceptBattle(ctx, op(), b.ID, blue, "")
		for _, u := range []int64{red, blue} {
			all, _ := e.svc.Companions(ctx, u)
			if _, err := e.svc.ReleaseCompanion(ctx, op(), u, all[0].Name); !errors.Is(err, economy.ErrInBattle) {
				t.Fatalf("release: %v", err)
			}
		}
	})
	t.Run("replay a button click", func(t *testing.T) {
		e := newEnv(t)
		b := e.duel(t, 100)
		accept := op()
		first, err := e.svc.AcceptBattle(ctx, accept, b.ID, blue, "")
		if err != nil {
			t.Fatal(err)
		}
		again, err := e.svc.AcceptBattle(ctx, accept, b.ID, blue, "")
		if err != nil || again.Play.Seed != first.Play.Seed || e.balance(t, blue).Wallet != 9900 {
			t.Fatalf("replayed accept: %v (wallet %d)", err, e.balance(t, blue).Wallet)
		}
		move := op()
		mover := first.Player(first.Play.Side)
		m1, err := e.svc.MoveBattle(ctx, move, b.ID, mover, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := e.svc.MoveBattle(ctx, move, b.ID, mover, 0, 0)
		if err != nil || m2.Play.Turn != m1.Play.Turn || m1.Play.Turn != 1 {
			t.Fatalf("replayed move: %+v, %v", m2.Play, err)
		}
		got, _ := e.svc.GetBattle(ctx, b.ID)
		if got.Play.Turn != 1 {
			t.Fatalf("turn %d after a replayed move", got.Play.Turn)
		}
		e.audit(t)
	})
	t.Run("click after expiry", func(t *testing.T) {
		e := newEnv(t)
		rule := e.svc.Catalog().Companions.Battle
		b := e.duel(t, 100)
		e.clock.Add(time.Duration(rule.ChallengeSeconds) * time.Second)
		if _, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, ""); !errors.Is(err, economy.ErrChallengeClosed) {
			t.Fatalf("accept after expiry: %v", err)
		}
		if done, err := e.svc.SweepBattles(ctx, 10); len(done) != 1 || done[0].State != economy.BattleExpired || err != nil {
			t.Fatalf("sweep: %+v, %v", done, err)
		}
		b2, err := e.svc.Challenge(ctx, economy.ChallengeRequest{Op: op(), Challenger: blue, Challenged: red})
		if err != nil {
			t.Fatal(err)
		}
		if b2, err = e.svc.AcceptBattle(ctx, op(), b2.ID, red, ""); err != nil {
			t.Fatal(err)
		}
		e.clock.Add(time.Duration(rule.MoveSeconds) * time.Second)
		if _, err := e.svc.MoveBattle(ctx, op(), b2.ID, b2.Player(b2.Play.Side), 0, 0); !errors.Is(err, economy.ErrStaleTurn) {
			t.Fatalf("move after expiry: %v", err)
		}
		e.audit(t)
	})
}

// drain moves all of user's wallet away (a payment to a bystander).
func (e *env) drain(t *testing.T, user int64) {
	t.Helper()
	a := e.balance(t, user)
	if _, err := e.svc.Pay(context.Background(), economy.PayRequest{Op: op(), From: user, To: 999, Amount: economy.Amount{Value: a.Wallet}}); err != nil {
		t.Fatal(err)
	}
}

func TestBattleSweep(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	rule := e.svc.Catalog().Companions.Battle
	open := e.duel(t, 100)
	e.capsule(t, grey)
	e.fund(t, grey, 1000)
	active, err := e.svc.Challenge(ctx, economy.ChallengeRequest{Op: op(), Challenger: grey, Challenged: blue, Wager: 500})
	if err != nil {
		t.Fatal(err)
	}
	if active, err = e.svc.AcceptBattle(ctx, op(), active.ID, blue, ""); err != nil {
		t.Fatal(err)
	}
	if done, err := e.svc.SweepBattles(ctx, 100); len(done) != 0 || err != nil {
		t.Fatalf("sweep before any deadline: %+v, %v", done, err)
	}
	// Two nodes sweep at once after the deadlines: each deadline is
	// resolved once.
	e.clock.Add(time.Duration(max(rule.ChallengeSeconds, rule.MoveSeconds)) * time.Second)
	counts := make([]int, 6)
	e.onTwoNodes(t, len(counts), func(i int, svc *economy.Service) {
		done, err := svc.SweepBattles(ctx, 100)
		if err != nil {
			t.Error(err)
		}
		counts[i] = len(done)
	})
	total := 0
	for _, n := range counts {
		total += n
	}
	if total != 2 {
		t.Fatalf("%d resolutions of two deadlines: %v", total, counts)
	}
	got, _ := e.svc.GetBattle(ctx, open.ID)
	if got.State != economy.BattleExpired {
		t.Fatalf("the open challenge: %s", got.State)
	}
	if all, _ := e.svc.Companions(ctx, red); all[0].BattleID != 0 {
		t.Fatal("an expired challenge holds its companion")
	}
	got, _ = e.svc.GetBattle(ctx, active.ID)
	if got.State != economy.BattleActive || got.Play.Turn != 1 || got.Play.Misses[active.Play.Side] != 1 {
		t.Fatalf("first miss: %+v", got.Play)
	}
	// The same side misses again (after the other side's automatic move,
	// too): a forfeit, paid out.
	for i := 0; i < 3 && got.State == economy.BattleActive; i++ {
		e.clock.Add(time.Duration(rule.MoveSeconds) * time.Second)
		if _, err := e.svc.SweepBattles(ctx, 100); err != nil {
			t.Fatal(err)
		}
		got, _ = e.svc.GetBattle(ctx, active.ID)
	}
	if got.State != economy.BattleDone || got.Play.Reason != "forfeit" || got.Winner != active.Player(1-active.Play.Side) {
		t.Fatalf("forfeit: %+v %+v", got, got.Play)
	}
	e.audit(t)
}

// RunBattleSweeper resolves due battles on its own and stops with its
// context.
func TestRunBattleSweeper(t *testing.T) {
	e := newEnv(t)
	b := e.duel(t, 100)
	e.clock.Add(time.Duration(e.svc.Catalog().Companions.Battle.ChallengeSeconds) * time.Second)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	resolved := make(chan economy.Battle, 1)
	go func() {
		defer close(done)
		e.svc.RunBattleSweeper(ctx, 10*time.Millisecond, func(err error) { t.Error(err) },
			func(b economy.Battle) { resolved <- b })
	}()
	select {
	case r := <-resolved:
		if r.ID != b.ID || r.State != economy.BattleExpired || r.Notify != "message-of-the-duel" {
			t.Fatalf("resolved: %+v", r)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the sweeper never expired the challenge")
	}
	if got, err := e.svc.GetBattle(context.Background(), b.ID); err != nil || got.State != economy.BattleExpired {
		t.Fatalf("stored: %+v, %v", got, err)
	}
	cancel()
	<-done
	e.audit(t)
}

// The winner of a battle with a big enough wager may win a cosmetic; it
// lands in the inventory through the item ledger.
func TestBattlePrizeGoesToTheWinner(t *testing.T) {
	e := newEnv(t)
	cat := economy.DefaultCatalog()
	cat.Companions.PrizePerMille = 1000
	svc, err := economy.New(e.pool, economy.Config{Catalog: cat, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	e.svc = svc
	ctx := context.Background()
	b := e.duel(t, cat.Companions.PrizeMinWager)
	if b, err = e.svc.AcceptBattle(ctx, op(), b.ID, blue, ""); err != nil {
		t.Fatal(err)
	}
	b = e.playOut(t, b)
	if b.Prize == "" {
		t.Fatalf("no prize: %+v", b)
	}
	inv, err := e.svc.Inventory(ctx, b.Winner, 0)
	if err != nil || len(inv.Rows) != 1 || inv.Rows[0].Item != b.Prize {
		t.Fatalf("winner's inventory: %+v, %v", inv.Rows, err)
	}
	e.audit(t)
}

// onTwoNodes runs fn n times at once, alternately on e's service and on a
// second service on the same database (another node).
func (e *env) onTwoNodes(t *testing.T, n int, fn func(i int, svc *economy.Service)) {
	t.Helper()
	other, err := economy.New(e.pool, economy.Config{Now: e.clock.Now, Rand: rand.NewPCG(9, 9)})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range n {
		svc := e.svc
		if i%2 == 1 {
			svc = other
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			fn(i, svc)
		}()
	}
	wg.Wait()
}

// The challenged picks the companion they fight with when they accept;
// without a pick the game takes their best ready one. A pick that is not
// theirs, or not ready, is refused and nobody pays.
func TestAcceptWithAChosenCompanion(t *testing.T) {
	ctx := context.Background()
	cases := []struct {
		name string
		pick func(best, other, theirs economy.Companion) string
		want error // nil: accepted with the returned companion
		with func(best, other economy.Companion) int64
	}{
		{"default is the best ready one", func(_, _, _ economy.Companion) string { return "" }, nil,
			func(best, _ economy.Companion) int64 { return best.ID }},
		{"by number", func(_, other, _ economy.Companion) string { return "#" + itoa(other.ID) }, nil,
			func(_, other economy.Companion) int64 { return other.ID }},
		{"by name", func(_, other, _ economy.Companion) string { return other.Name }, nil,
			func(_, other economy.Companion) int64 { return other.ID }},
		{"the challenger's companion", func(_, _, theirs economy.Companion) string { return "#" + itoa(theirs.ID) },
			economy.ErrUnknownCompanion, nil},
		{"one in stasis", func(_, other, _ economy.Companion) string { return "stasis:" + other.Name }, economy.ErrInStasis, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.duel(t, 100)
			theirs, err := e.svc.FindCompanion(ctx, red, "#"+itoa(b.Fighters[0].Companion))
			if err != nil {
				t.Fatal(err)
			}
			mine, err := e.svc.Companions(ctx, blue)
			if err != nil || len(mine) != 1 {
				t.Fatalf("blue's companions: %v, %v", mine, err)
			}
			best, other := mine[0], e.capsule(t, blue)
			e.setXP(t, best.ID, 5000)
			ref := tc.pick(best, other, theirs)
			if name, ok := strings.CutPrefix(ref, "stasis:"); ok {
				if _, err := e.svc.SetStasis(ctx, op(), blue, name, true); err != nil {
					t.Fatal(err)
				}
				ref = name
			}
			before := e.balance(t, blue).Wallet
			got, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, ref)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				if w := e.balance(t, blue).Wallet; w != before {
					t.Fatalf("blue's wallet %d, was %d", w, before)
				}
				e.audit(t)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tc.with(best, other)
			if got.State != economy.BattleActive || got.Fighters[1].Companion != want {
				t.Fatalf("fights with %d, want %d (%+v)", got.Fighters[1].Companion, want, got)
			}
			all, _ := e.svc.Companions(ctx, blue)
			for _, c := range all {
				if inBattle := c.BattleID == got.ID; inBattle != (c.ID == want) {
					t.Errorf("companion %d: battle %d", c.ID, c.BattleID)
				}
			}
			e.audit(t)
		})
	}
}

// tripCounter counts the round trips a pool's connections make: each
// query and each batch (a pipeline is one trip).
type tripCounter struct{ n atomic.Int64 }

func (c *tripCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *tripCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
func (c *tripCounter) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *tripCounter) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}
func (c *tripCounter) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData)     {}

// A battle's move, and the settlement that ends it, is one SERIALIZABLE
// transaction in one round trip (economy.battle_step_at and commit) on a
// node that saw the battle last (it accepted it, served the previous turn
// or showed it): battle settlement throughput depends on it
// (bench/battles). A node new to the battle, or behind it, reads it first.
func TestBattleMoveTakesOneRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.duel(t, 1000)
	cfg, err := pgxpool.ParseConfig(e.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	trips := &tripCounter{}
	cfg.ConnConfig.Tracer = trips
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := pool.Ping(ctx); err != nil {
		t.Fatal(err)
	}
	svc, err := economy.New(pool, economy.Config{Now: e.clock.Now, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	measure := func(name string, want int64, fn func() error) {
		t.Helper()
		before := trips.n.Load()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if n := trips.n.Load() - before; n != want {
			t.Errorf("%s: %d round trips, want %d", name, n, want)
		}
	}
	if b, err = svc.AcceptBattle(ctx, op(), b.ID, blue, ""); err != nil {
		t.Fatal(err)
	}
	measure("a refused move", 1, func() error {
		_, err := svc.MoveBattle(ctx, op(), b.ID, b.Player(1-b.Play.Side), b.Play.Turn, 0)
		if !errors.Is(err, economy.ErrNotYourTurn) {
			return fmt.Errorf("got %v, want %v", err, economy.ErrNotYourTurn)
		}
		return nil
	})
	move := func(on *economy.Service) error {
		b, err = on.MoveBattle(ctx, op(), b.ID, b.Player(b.Play.Side), b.Play.Turn, 0)
		return err
	}
	measure("the first move", 1, func() error { return move(svc) })
	// Another node moves: this one reads the battle again.
	if err := move(e.svc); err != nil {
		t.Fatal(err)
	}
	measure("a move after another node's", 3, func() error { return move(svc) })
	other, err := economy.New(pool, economy.Config{Now: e.clock.Now, Registerer: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	measure("a move on a node new to the battle", 2, func() error { return move(other) })
	if err := move(e.svc); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.GetBattle(ctx, b.ID); err != nil {
		t.Fatal(err)
	}
	for i := 0; b.State == economy.BattleActive; i++ {
		if i > 200 {
			t.Fatal("battle never ends")
		}
		measure(fmt.Sprintf("move %d", i), 1, func() error { return move(svc) })
	}
	if b.State != economy.BattleDone || b.Payout != 1900 {
		t.Fatalf("end: %+v", b)
	}
	e.audit(t)
}

// Many clicks of one turn's move at once, on two nodes: one moves, each
// other finds the turn over (it read the battle before the move and
// retries on the changed row, or reads it after), and the battle advanced
// by exactly one turn.
func TestConcurrentMovesOfOneTurn(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	b := e.duel(t, 100)
	b, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, "")
	if err != nil {
		t.Fatal(err)
	}
	var moved, stale atomic.Int64
	e.onTwoNodes(t, 12, func(i int, svc *economy.Service) {
		_, err := svc.MoveBattle(ctx, op(), b.ID, b.Player(b.Play.Side), b.Play.Turn, 0)
		switch {
		case err == nil:
			moved.Add(1)
		case errors.Is(err, economy.ErrStaleTurn):
			stale.Add(1)
		default:
			t.Errorf("move %d: %v", i, err)
		}
	})
	now, err := e.svc.GetBattle(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	if moved.Load() != 1 || stale.Load() != 11 || now.Play.Turn != b.Play.Turn+1 {
		t.Fatalf("moved %d, stale %d, turn %d (was %d)", moved.Load(), stale.Load(), now.Play.Turn, b.Play.Turn)
	}
	e.audit(t)
}
