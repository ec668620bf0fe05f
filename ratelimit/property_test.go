package ratelimit

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// model is an exact reference of the decision script: GCRA per key in
// microseconds of Redis's clock, all-or-nothing admission, blocks with
// doubling backoff. It is fed the time Redis used for each decision.
type model struct {
	tat   map[string]int64
	block map[string]int64 // end, µs
	viol  map[string]int64
}

type modelRule struct {
	key            string
	T, tau         int64
	base, max, mem int64 // ms; base 0: never blocks
}

type modelResult struct {
	allowed       bool
	rule          int // 1-based
	retry         int64
	notify        bool
	hot           []int64
	blockBoundary bool // a block ended within a millisecond of now: Redis's ms rounding decides
}

func (m *model) decide(now int64, rules []modelRule) modelResult {
	for i, r := range rules {
		if r.base == 0 {
			continue
		}
		end, ok := m.block[r.key]
		if !ok {
			continue
		}
		if now < end-1000 {
			return modelResult{rule: i + 1, retry: end - now}
		}
		if now < end+1000 {
			return modelResult{blockBoundary: true}
		}
		delete(m.block, r.key)
	}
	next := make([]int64, len(rules))
	denied := make([]int64, len(rules))
	nd := 0
	for i, r := range rules {
		tat := max(m.tat[r.key], now)
		if tat-now > r.tau {
			nd++
			denied[i] = tat - now - r.tau
		}
		next[i] = tat + r.T
	}
	res := modelResult{hot: make([]int64, len(rules))}
	if nd == 0 {
		res.allowed = true
		for i, r := range rules {
			m.tat[r.key] = next[i]
			if r.base == 0 {
				res.hot[i] = max(0, next[i]-r.tau-now)
			}
		}
		return res
	}
	for i, r := range rules {
		if denied[i] == 0 {
			continue
		}
		if r.base > 0 {
			m.viol[r.key]++
			d := r.base << (m.viol[r.key] - 1)
			if d > r.max || d <= 0 {
				d = r.max
			}
			m.block[r.key] = now + d*1000
			if !res.notify {
				res.rule, res.retry, res.notify = i+1, d*1000, true
			}
			continue
		}
		res.hot[i] = denied[i]
		if !res.notify && denied[i] > res.retry {
			res.rule, res.retry = i+1, denied[i]
		}
	}
	res.notify = true
	return res
}

// TestScriptMatchesReferenceModel runs random decisions over random rules
// through the script and compares every answer with the model.
func TestScriptMatchesReferenceModel(t *testing.T) {
	addr := servertest.Redis(t)
	rdb := newClient(t, addr)
	ctx := context.Background()
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			var rules []modelRule
			for i := range 4 {
				T := int64(500 + rng.IntN(3000))
				limit := int64(1 + rng.IntN(5))
				r := modelRule{key: fmt.Sprintf("s%d:r%d", seed, i), T: T, tau: T * (limit - 1)}
				if rng.IntN(2) == 0 {
					r.base, r.max, r.mem = int64(2+rng.IntN(4)), int64(20+rng.IntN(20)), 3600_000
				}
				rules = append(rules, r)
			}
			m := &model{tat: map[string]int64{}, block: map[string]int64{}, viol: map[string]int64{}}
			admitted := 0
			for step := 0; step < 400; step++ {
				// A random non-empty subset of the rules applies.
				var sub []modelRule
				for len(sub) == 0 {
					for _, r := range rules {
						if rng.IntN(2) == 0 {
							sub = append(sub, r)
						}
					}
				}
				keys := make([]string, 0, 3*len(sub))
				var profs []profile
				for _, r := range sub {
					keys = append(keys, "rlt:{"+r.key+"}", "rlb:{"+r.key+"}", "rlv:{"+r.key+"}")
					profs = append(profs, profile{r.T, r.tau, r.base, r.max, r.mem})
				}
				args := encodeArgs("test:blocks", [][]profile{profs})
				reply, err := decideScript.Run(ctx, rdb, keys, args...).Int64Slice()
				if err != nil {
					t.Fatal(err)
				}
				now := reply[0]
				want := m.decide(now, sub)
				if want.blockBoundary {
					// A block ended within a millisecond of Redis's now: its
					// ms rounding decided. Take Redis's state for these keys.
					for _, r := range sub {
						if v, err := rdb.Get(ctx, "rlt:{"+r.key+"}").Int64(); err == nil {
							m.tat[r.key] = v
						} else {
							delete(m.tat, r.key)
						}
						if end, err := rdb.Get(ctx, "rlb:{"+r.key+"}").Int64(); err == nil {
							m.block[r.key] = end
						} else {
							delete(m.block, r.key)
						}
						if v, err := rdb.Get(ctx, "rlv:{"+r.key+"}").Int64(); err == nil {
							m.viol[r.key] = v
						}
					}
					continue
				}
				got := modelResult{allowed: reply[1] == 1, rule: int(reply[2]), retry: reply[3], notify: reply[4] == 1}
				got.hot = reply[5:]
				mismatch := got.allowed != want.allowed || got.rule != want.rule || got.notify != want.notify
				mismatch = mismatch || got.retry != want.retry
				if want.hot != nil {
					mismatch = mismatch || fmt.Sprint(got.hot) != fmt.Sprint(want.hot)
				}
				if mismatch {
					t.Fatalf("step %d at %d: got %+v, model %+v", step, now, got, want)
				}
				if got.allowed {
					admitted++
				}
				time.Sleep(time.Duration(rng.IntN(1500)) * time.Microsecond) // random arrivals
			}
			if admitted == 0 || admitted == 400 {
				t.Fatalf("admitted %d of 400: the run exercised only one outcome", admitted)
			}
		})
	}
}

// TestWindowBound checks the limiter's admissions through the Limiter API
// against GCRA's window guarantee: in any window of one Period at most
// 2·Limit−1 admissions, and at most Limit in any window of one emission
// interval times Limit minus one (the burst).
func TestWindowBound(t *testing.T) {
	addr := servertest.Redis(t)
	const limit = 5
	period := 100 * time.Millisecond
	n := startNode(t, addr, Config{HTTP: Rule{Limit: limit, Period: period}})
	var times []time.Time
	deadline := time.Now().Add(700 * time.Millisecond)
	for time.Now().Before(deadline) {
		d, err := n.lim.AllowHTTP(context.Background(), "192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			times = append(times, time.Now())
		}
	}
	// Sustained rate: about limit per period over the run.
	if got, max := len(times), int(700*time.Millisecond/period)*limit+limit; got > max || got < max/2 {
		t.Fatalf("admitted %d over 700ms, want between %d and %d", got, max/2, max)
	}
	for i := range times {
		j := i
		for j < len(times) && times[j].Sub(times[i]) < period-5*time.Millisecond {
			j++
		}
		if j-i > 2*limit-1 {
			t.Fatalf("%d admissions within one period starting at %d", j-i, i)
		}
	}
}
