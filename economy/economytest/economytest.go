// Package economytest drives the economy with random concurrent operations
// for conservation tests, in one process or in several against one
// database. Every operation's request is derived from its operation ID, so
// processes given the same Prefix and Seed deliver the same operations: a
// realistic stand-in for duplicated interaction deliveries across nodes.
// Afterwards economy.Audit checks the invariants.
package economytest

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/refusal"
)

// Fund gives users 1..users amount credits each from the Mint, as one
// balanced ledger transaction per user. It is idempotent: a user already
// funded by an earlier call (from any process) is skipped.
func Fund(ctx context.Context, pool *pgxpool.Pool, users, amount int64) error {
	_, err := pool.Exec(ctx, `
		WITH ops AS (
			INSERT INTO economy.transactions (op_id, user_id, kind, result)
			SELECT 'economytest-fund-' || g, g, 'grant', '{}' FROM generate_series(1, $1::bigint) g
			ON CONFLICT (op_id) DO NOTHING
			RETURNING id, user_id
		), acct AS (
			INSERT INTO economy.accounts (user_id, wallet)
			SELECT user_id, $2::bigint FROM ops
			ON CONFLICT (user_id) DO UPDATE SET wallet = economy.accounts.wallet + EXCLUDED.wallet
		)
		INSERT INTO economy.ledger_legs (account_id, tx_id, amount)
		SELECT user_id, id, $2::bigint FROM ops
		UNION ALL SELECT -1, id, -$2::bigint FROM ops`, users, amount)
	if err != nil {
		return fmt.Errorf("economytest: fund: %w", err)
	}
	return nil
}

// Config shapes a random workload.
type Config struct {
	Prefix  string // operation ID prefix; share it across processes to duplicate deliveries
	Seed    uint64 // choice of operations and of their replays
	Workers int    // concurrent goroutines (default 8)
	Ops     int    // deliveries per worker (default 100)
	Users   int64  // accounts 1..Users take part (default 20)
	Hot     int64  // half the pays stay among accounts 1..Hot (default 3)
	// DuplicatePercent of deliveries repeat an earlier operation of the
	// same worker (default 20).
	DuplicatePercent int
	// Market adds the player economy to the mix: listings, purchases and
	// cancellations on the market, and whole trades.
	Market bool
	// OnAnswer, when set, is called after every delivery with the
	// operation and its answer as text (see Deliver), from the delivering
	// goroutine; processes compare their answers through it.
	OnAnswer func(o economy.Op, answer string)
}

// Stats counts what a run did.
type Stats struct {
	Deliveries int // calls made, duplicates included
	Operations int // distinct operation IDs
	Rejected   int // deliveries answered with a rejection
}

// Run delivers the workload to svc and returns an error if any delivery
// failed for a reason other than a user-facing rejection (a transaction
// given up included), or if two deliveries of one operation in this
// process were answered differently.
func Run(ctx context.Context, svc *economy.Service, cfg Config) (Stats, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = 8
	}
	if cfg.Ops <= 0 {
		cfg.Ops = 100
	}
	if cfg.Users <= 1 {
		cfg.Users = 20
	}
	if cfg.Hot <= 1 || cfg.Hot > cfg.Users {
		cfg.Hot = min(3, cfg.Users)
	}
	if cfg.DuplicatePercent <= 0 {
		cfg.DuplicatePercent = 20
	}
	var (
		mu      sync.Mutex
		answers = map[economy.Op]string{}
		stats   Stats
		errs    []error
		wg      sync.WaitGroup
	)
	for w := 0; w < cfg.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(cfg.Seed, uint64(w)))
			var done []economy.Op
			for i := 0; i < cfg.Ops && ctx.Err() == nil; i++ {
				o := economy.Op(fmt.Sprintf("%s-w%d-%d", cfg.Prefix, w, i))
				if len(done) > 0 && r.IntN(100) < cfg.DuplicatePercent {
					o = done[r.IntN(len(done))]
				}
				answer, err := Deliver(ctx, svc, o, cfg)
				if cfg.OnAnswer != nil {
					cfg.OnAnswer(o, answer)
				}
				mu.Lock()
				stats.Deliveries++
				switch {
				case err != nil && !errors.As(err, new(*refusal.Error)):
					errs = append(errs, fmt.Errorf("operation %s: %w", o, err))
				case err != nil:
					stats.Rejected++
				}
				if prev, ok := answers[o]; ok && prev != answer {
					errs = append(errs, fmt.Errorf("operation %s answered %q, earlier %q", o, answer, prev))
				} else if !ok {
					stats.Operations++
				}
				answers[o] = answer
				mu.Unlock()
				done = append(done, o)
			}
		}()
	}
	wg.Wait()
	return stats, errors.Join(errs...)
}

// Deliver performs operation o: the kind and arguments are a function of
// o alone, so every delivery of o asks for the same thing. It returns the
// answer as text for comparison between deliveries.
func Deliver(ctx context.Context, svc *economy.Service, o economy.Op, cfg Config) (string, error) {
	h := fnv.New64a()
	h.Write([]byte(o))
	r := rand.New(rand.NewPCG(h.Sum64(), 7))
	user := func() int64 { return 1 + r.Int64N(cfg.Users) }
	if cfg.Market && rand.New(rand.NewPCG(h.Sum64(), 11)).IntN(3) == 0 {
		// Its own draw: without Market the mix is what it always was.
		return deliverMarket(ctx, svc, o, rand.New(rand.NewPCG(h.Sum64(), 13)), cfg)
	}
	var v any
	var err error
	switch k := r.IntN(20); {
	case k < 10: // pays: half around a cycle 1->2->...->Users->1, half among the hot accounts
		from := user()
		to := from%cfg.Users + 1
		if k%2 == 0 {
			from = 1 + r.Int64N(cfg.Hot)
			to = from%cfg.Hot + 1
		}
		v, err = svc.Pay(ctx, economy.PayRequest{Op: o, From: from, To: to, Amount: economy.Exact(1 + r.Int64N(400))})
	case k == 10:
		v, err = svc.Deposit(ctx, o, user(), economy.Exact(1+r.Int64N(500)))
	case k == 11:
		v, err = svc.Withdraw(ctx, o, user(), economy.Amount{Half: true})
	case k == 12 || k == 13:
		v, err = svc.Buy(ctx, o, user(), []string{"coffee", "fishing_rod"}[k-12], 1+r.IntN(2))
	case k == 14 || k == 15:
		v, err = svc.Sell(ctx, o, user(), []string{"coffee", "fishing_rod"}[k-14], 1)
	case k == 16:
		v, err = svc.Gather(ctx, o, user(), "")
	case k == 17:
		v, err = svc.Work(ctx, o, user(), "code_review")
	case k == 18:
		v, err = svc.Use(ctx, o, user(), "coffee")
	default:
		v, err = svc.Daily(ctx, o, user())
	}
	if err != nil {
		return "error: " + err.Error(), err
	}
	return answer(v), nil
}

// deliverMarket performs a market or trade operation drawn from r. A
// trade is a sequence of operations derived from o: the first edit is o
// itself (so o is stored once, refused or not), the others carry the
// prefix "t:" and o.
func deliverMarket(ctx context.Context, svc *economy.Service, o economy.Op, r *rand.Rand, cfg Config) (string, error) {
	user := func() int64 { return 1 + r.Int64N(cfg.Users) }
	item := []string{"coffee", "fishing_rod"}[r.IntN(2)]
	var v any
	var err error
	switch k := r.IntN(10); {
	case k < 3:
		v, err = svc.MarketSell(ctx, o, user(), item, 1+r.IntN(2), 1+r.Int64N(600))
	case k < 6:
		// The listing is one of the newest open ones, so buyers collide. It
		// depends on the market's state, not on o alone: deliveries of o may
		// ask for different listings, and the first applied is the answer.
		id := int64(1)
		if p, perr := svc.MarketBrowse(ctx, "", economy.SortNewest, 0); perr == nil && len(p.Rows) > 0 {
			id = p.Rows[r.IntN(min(len(p.Rows), 3))].ID
		}
		v, err = svc.MarketBuy(ctx, o, user(), id, r.IntN(2))
	case k == 6:
		seller, id := user(), int64(1)
		if mine, merr := svc.MarketMine(ctx, seller); merr == nil && len(mine) > 0 {
			id = mine[r.IntN(len(mine))].ID
		}
		v, err = svc.MarketCancel(ctx, o, seller, id)
	default:
		a := user()
		b := a%cfg.Users + 1
		sub := func(step string) economy.Op { return economy.Op("t:" + string(o) + ":" + step) }
		var tr economy.Trade
		if tr, err = svc.TradeOpen(ctx, sub("open"), a, b); err != nil {
			break
		}
		if tr, err = svc.TradeEdit(ctx, o, a, tr.ID, tr.Version, economy.TradeChange{Item: item, Qty: 1}); err != nil {
			break
		}
		if tr, err = svc.TradeEdit(ctx, sub("b"), b, tr.ID, tr.Version, economy.TradeChange{Credits: 1 + r.Int64N(300)}); err != nil {
			break
		}
		if tr, err = svc.TradeConfirm(ctx, sub("ca"), a, tr.ID, tr.Version); err != nil {
			break
		}
		v, err = svc.TradeConfirm(ctx, sub("cb"), b, tr.ID, tr.Version)
	}
	if err != nil {
		return "error: " + err.Error(), err
	}
	return answer(v), nil
}

// answer renders a result without the fields that legitimately differ
// between deliveries (the replay flag, the live transaction ID, time zones).
func answer(v any) string {
	switch p := v.(type) {
	case economy.Payment:
		return fmt.Sprintf("pay %d %d %d", p.Amount, p.FromWallet, p.ToWallet)
	case economy.DailyReward:
		return fmt.Sprintf("daily %d %d %d %d %v", p.Reward, p.Streak, p.SaversUsed, p.Wallet, p.Next.Unix())
	case economy.Shift:
		return fmt.Sprintf("work %d %d %s %v", p.Pay, p.Wallet, p.Flavour, p.Next.Unix())
	case economy.Find:
		return fmt.Sprintf("find %s %s %d %v %v", p.Tool, p.Item, p.Durability, p.Broke, p.Next.Unix())
	case economy.Listing:
		return fmt.Sprintf("listing %d %s %d %d %s", p.ID, p.Item, p.Listed, p.UnitPrice, p.State)
	case economy.Trade:
		return fmt.Sprintf("trade %d v%d %s %v", p.ID, p.Version, p.State, p.Confirmed)
	case economy.Used:
		until := int64(0)
		if p.Until != nil {
			until = p.Until.Unix()
		}
		return fmt.Sprintf("use %s %d %d %d", p.Item, until, p.Charges, p.BankCapacity)
	}
	return fmt.Sprintf("%+v", v)
}
