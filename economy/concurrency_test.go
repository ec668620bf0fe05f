package economy_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/refusal"
)

// TestConcurrentConservation runs many goroutines of random operations
// (pays in cycles, hot accounts, bank moves, buys, sells, dailies, work)
// with duplicated operation IDs, then checks the invariants.
func TestConcurrentConservation(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const users = 24
	for u := int64(1); u <= users; u++ {
		e.fund(t, u, 5000)
	}
	const workers, opsPer = 16, 120
	var (
		mu        sync.Mutex
		applied   = map[economy.Op]string{} // op -> first outcome
		conflicts []string
	)
	record := func(o economy.Op, outcome string) {
		mu.Lock()
		defer mu.Unlock()
		if prev, ok := applied[o]; ok && prev != outcome {
			conflicts = append(conflicts, fmt.Sprintf("%s: %s then %s", o, prev, outcome))
		}
		applied[o] = outcome
	}
	outcome := func(v any, err error) string {
		if err != nil {
			if !errors.As(err, new(*refusal.Error)) {
				return "error: " + err.Error()
			}
			return "rejected: " + err.Error()
		}
		return fmt.Sprint(normalize(v))
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 99))
			var last []economy.Op // ops to replay
			for i := 0; i < opsPer; i++ {
				o := economy.Op(fmt.Sprintf("w%d-%d", w, i))
				if len(last) > 0 && r.IntN(5) == 0 {
					o = last[r.IntN(len(last))] // a duplicated delivery
				}
				// The request for an op must be the same on every delivery:
				// derive it from the op's own seed.
				rr := rand.New(rand.NewPCG(hash(o), 7))
				var v any
				var err error
				switch k := rr.IntN(10); {
				case k < 5:
					from := pick(rr, users)
					to := from%users + 1 // cycles: 1->2->...->24->1
					if rr.IntN(2) == 0 {
						from, to = 1+rr.Int64N(3), 1+(1+rr.Int64N(3))%3 // among hot accounts
						if from == to {
							to = from%3 + 1
						}
					}
					v, err = e.svc.Pay(ctx, economy.PayRequest{Op: o, From: from, To: to, Amount: economy.Exact(1 + rr.Int64N(400))})
				case k == 5:
					v, err = e.svc.Deposit(ctx, o, pick(rr, users), economy.Exact(1+rr.Int64N(500)))
				case k == 6:
					v, err = e.svc.Withdraw(ctx, o, pick(rr, users), economy.Amount{Half: true})
				case k == 7:
					v, err = e.svc.Buy(ctx, o, pick(rr, users), "coffee", 1+rr.IntN(2))
				case k == 8:
					v, err = e.svc.Sell(ctx, o, pick(rr, users), "coffee", 1)
				default:
					v, err = e.svc.Daily(ctx, o, pick(rr, users))
				}
				if err != nil && !errors.As(err, new(*refusal.Error)) {
					errs <- fmt.Errorf("op %s: %w", o, err)
					return
				}
				record(o, outcome(v, err))
				last = append(last, o)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if errors.Is(err, economy.ErrRetriesExhausted) {
			t.Errorf("transaction given up: %v", err)
		} else {
			t.Error(err)
		}
	}
	for _, c := range conflicts {
		t.Errorf("operation answered differently: %s", c)
	}
	rep := e.audit(t)
	// Every operation is stored exactly once, plus the funding grants.
	if int(rep.Transactions) != len(applied)+users {
		t.Fatalf("%d operations stored, want %d", rep.Transactions, len(applied)+users)
	}
	t.Logf("%d operations (%d distinct), audit %+v", workers*opsPer, len(applied), rep)
}

func pick(r *rand.Rand, n int64) int64 { return 1 + r.Int64N(n) }

func hash(o economy.Op) uint64 {
	h := uint64(14695981039346656037)
	for i := 0; i < len(o); i++ {
		h ^= uint64(o[i])
		h *= 1099511628211
	}
	return h
}

// TestConcurrentDuplicateDelivery delivers the same operation from many
// goroutines at once (a double click, a replay racing the original): it is
// applied once and every delivery gets the same answer.
func TestConcurrentDuplicateDelivery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fund(t, 1, 10000)
	calls := []struct {
		name string
		do   func() (any, error)
	}{
		{"pay", func() (any, error) {
			return e.svc.Pay(ctx, economy.PayRequest{Op: "dup-pay", From: 1, To: 2, Amount: economy.Exact(700)})
		}},
		{"buy", func() (any, error) { return e.svc.Buy(ctx, "dup-buy", 1, "coffee", 2) }},
		{"deposit", func() (any, error) { return e.svc.Deposit(ctx, "dup-deposit", 1, economy.Exact(1000)) }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			const n = 8
			results := make([]string, n)
			var wg sync.WaitGroup
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					v, err := c.do()
					if err != nil {
						results[i] = "error: " + err.Error()
						return
					}
					results[i] = fmt.Sprint(normalize(v))
				}()
			}
			wg.Wait()
			for i := 1; i < n; i++ {
				if results[i] != results[0] {
					t.Fatalf("delivery %d answered %q, delivery 0 %q", i, results[i], results[0])
				}
			}
		})
	}
	a := e.balance(t, 1)
	// 10000 - 700 (pay) - 1600 (2 coffees) - 1000 (deposit) in the wallet.
	if a.Wallet != 6700 || a.Bank != 1000 {
		t.Fatalf("wallet/bank %d/%d, want 6700/1000", a.Wallet, a.Bank)
	}
	e.audit(t)
}

// TestConcurrentFirstPayments pays one brand-new account from many payers
// at once: the racing account creations resolve by retry, none fails.
func TestConcurrentFirstPayments(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const payers = 12
	for round := int64(0); round < 5; round++ {
		for p := int64(1); p <= payers; p++ {
			e.fund(t, round*100+p, 100)
		}
		to := round*100 + 99 // new in every round, above and below payers' IDs
		if round%2 == 1 {
			to = round*100 + 0
		}
		var wg sync.WaitGroup
		for p := int64(1); p <= payers; p++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				from := round*100 + p
				if _, err := e.svc.Pay(ctx, economy.PayRequest{Op: economy.Op(fmt.Sprintf("first-%d-%d", round, p)), From: from, To: to, Amount: economy.Exact(10)}); err != nil {
					t.Errorf("pay %d -> %d: %v", from, to, err)
				}
				if _, err := e.svc.Daily(ctx, economy.Op(fmt.Sprintf("firstdaily-%d-%d", round, p)), to+1000); err != nil && !errors.Is(err, economy.ErrCooldown) {
					t.Errorf("daily: %v", err)
				}
			}()
		}
		wg.Wait()
		if w := e.balance(t, to).Wallet; w != 10*payers {
			t.Fatalf("round %d: new account holds %d, want %d", round, w, 10*payers)
		}
	}
	e.audit(t)
}
