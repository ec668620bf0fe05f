package wire

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// model is an exact reference of the two scripts, written independently of
// them: GCRA per rule in microseconds of Redis's clock, all-or-nothing
// admission, the generation hashes (a value is seen during its generation
// of genPeriods periods and the first period of the next), block markers, and
// blocks with doubling backoff. It is fed the time Redis used for each
// call.
type model struct {
	vals  map[string]map[int64]modelVal // field -> generation -> value
	block map[string]int64              // block key -> end, µs
	viol  map[string]int64
}

type modelRule struct {
	key            string
	T, tau         int64
	base, max, mem int64 // ms; base 0: never blocks
}

func (r modelRule) G() int64 { return r.T + r.tau }

// modelVal is a field's value: a TAT, and the end of a block when marked.
type modelVal struct{ tat, end int64 }

func (m *model) read(r modelRule, now int64) modelVal {
	g := now / (genPeriods * r.G())
	if v, ok := m.vals[r.key][g]; ok {
		return v
	}
	if now-g*genPeriods*r.G() < r.G() {
		return m.vals[r.key][g-1]
	}
	return modelVal{}
}

func (m *model) write(r modelRule, now int64, v modelVal) {
	if m.vals[r.key] == nil {
		m.vals[r.key] = map[int64]modelVal{}
	}
	m.vals[r.key][now/(genPeriods*r.G())] = v
}

// decide is decideScript for one decision made late µs before now:
// verdict, rule, µs. A late decision's rule admits if GCRA admits at
// now-late or at now, and its TAT grows from the later of it and now-late.
func (m *model) decide(now int64, rules []modelRule, late int64) [3]int64 {
	var blocked, left, viol, plain, retry int64
	next := make([]int64, len(rules))
	for i, r := range rules {
		v := m.read(r, now)
		tat := max(v.tat, now)
		over := tat - now - r.tau
		if late > 0 {
			t0 := now - late
			tat = max(v.tat, t0)
			over = min(v.tat-now-r.tau, tat-t0-r.tau)
		}
		if v.end > now && blocked == 0 {
			blocked, left = int64(i+1), v.end-now
		}
		if over > 0 {
			if r.base > 0 {
				viol |= 1 << i
			} else if over > retry {
				plain, retry = int64(i+1), over
			}
		}
		next[i] = tat + r.T
	}
	switch {
	case blocked > 0:
		return [3]int64{3, blocked, left}
	case viol > 0:
		return [3]int64{2, viol, 0}
	case plain > 0:
		return [3]int64{0, plain, retry}
	}
	var hot, hotv int64
	for i, r := range rules {
		m.write(r, now, modelVal{tat: next[i]})
		if r.base == 0 && next[i]-r.tau-now > hotv {
			hot, hotv = int64(i+1), next[i]-r.tau-now
		}
	}
	return [3]int64{1, hot, hotv}
}

// decodeState reads a stored value: a TAT, or a block marker.
func decodeState(v string) modelVal {
	le := func(b string) int64 {
		var n int64
		for i := len(b) - 1; i >= 0; i-- {
			n = n<<8 | int64(b[i])
		}
		return n
	}
	switch {
	case len(v) == 7:
		return modelVal{tat: le(v)}
	case len(v) == 15 && v[0] == 'b':
		return modelVal{end: le(v[1:8]), tat: le(v[8:])}
	}
	return modelVal{tat: -1, end: -1}
}

// path names the way decideScript should have taken through batch at now,
// from argv's candidates for the fast path and the model's state before
// the batch: "simple" (or "simple shared", or "simple shared, one period")
// when the batch was sent in the simple form and every candidate takes the
// fast path; else "slow candidate" when one does not, "fast candidate"
// when all do, and "general" when there are none.
func (m *model) path(now int64, batch [][]modelRule, argv []any) string {
	rule, periods := map[string]modelRule{}, map[int64]bool{}
	for _, d := range batch {
		for _, r := range d {
			rule[r.key], periods[r.G()] = r, true
		}
	}
	meta := argv[0].(string)
	var names []string // by field number - 1
	a := 1
	for h := 0; h < int(meta[0]); h++ {
		n := int(meta[1+h])
		for i := range n {
			names = append(names, argv[a+1+i].(string))
		}
		a += 1 + n
	}
	list := argv[len(argv)-2].(string)
	allFast, shared := true, false
	for j := 0; j+2 < len(list); j += 3 {
		r, u := rule[names[list[j]-1]], int64(list[j+2])
		if v := m.read(r, now); v.end > now || max(v.tat, now)+u*r.T-now > r.tau {
			allFast = false
		}
		shared = shared || u > 1
	}
	switch simple := argv[len(argv)-1].(string) != "" && allFast; {
	case simple && shared && len(periods) == 1:
		return "simple shared, one period"
	case simple && shared:
		return "simple shared"
	case simple:
		return "simple"
	case !allFast:
		return "slow candidate"
	case len(list) > 0:
		return "fast candidate"
	}
	return "general"
}

// impose is blockScript: per rule, imposed or already running, and µs left.
func (m *model) impose(now int64, rules []modelRule) [][2]int64 {
	var out [][2]int64
	for _, r := range rules {
		if e := m.block[r.key]; e > now {
			out = append(out, [2]int64{0, e - now})
			continue
		}
		m.viol[r.key]++
		d := r.base << (m.viol[r.key] - 1)
		if d > r.max || d <= 0 {
			d = r.max
		}
		m.block[r.key] = now + d*1000
		m.write(r, now, modelVal{tat: max(m.read(r, now).tat, now), end: now + d*1000})
		out = append(out, [2]int64{1, d * 1000})
	}
	return out
}

// TestScriptsMatchReferenceModel runs random decisions over random rules
// through the scripts, imposing blocks as the limiter does, and compares
// every answer with the model. Periods of a few milliseconds make the
// generation hashes roll over all the time.
func TestScriptsMatchReferenceModel(t *testing.T) {
	addr := servertest.Redis(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := context.Background()
	const base = "rlh:{test}"
	verdicts, paths, states := map[int64]int{}, map[string]int{}, 0
	for seed := uint64(1); seed <= 6; seed++ {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			var rules []modelRule
			for i := range 6 {
				T := int64(500 + rng.IntN(3000))
				limit := int64(1 + rng.IntN(5))
				r := modelRule{key: fmt.Sprintf("{s%d}:r%d", seed, i), T: T, tau: T * (limit - 1)}
				switch {
				case i >= 4: // two ceilings shared by many decisions, as a command's global one
					r.T = int64(200 + rng.IntN(600))
					r.tau = r.T * int64(2+rng.IntN(8))
				case i%2 == 0: // two rules that block, two that do not
					r.base, r.max, r.mem = int64(2+rng.IntN(4)), int64(20+rng.IntN(20)), 3600_000
				}
				rules = append(rules, r)
			}
			// Eight users' rules and a ceiling on one period, as the
			// command rules are: their batches take the script's one-period
			// shortcut.
			users := make([]modelRule, 8)
			for i := range users {
				users[i] = modelRule{key: fmt.Sprintf("{s%d}:u%d", seed, i), T: 1000, tau: 2000}
				if i%2 == 0 {
					users[i].base, users[i].max, users[i].mem = 3, 30, 3600_000
				}
			}
			ceiling := modelRule{key: fmt.Sprintf("{s%d}:g", seed), T: 500, tau: 2500}
			m := &model{vals: map[string]map[int64]modelVal{}, block: map[string]int64{}, viol: map[string]int64{}}
			// advance takes the time Redis gave a call; it is false when
			// Redis's clock went back, which the model cannot follow.
			var last int64
			advance := func(step int, now int64) bool {
				if now < last {
					t.Logf("step %d: Redis's clock went back %d µs; this seed stops here", step, last-now)
					return false
				}
				last = now
				return true
			}
			for step := 0; step < 600; step++ {
				var batch [][]modelRule
				mode := step / 50 % 3 // runs of 50 steps of each shape
				if mode == 0 {
					// One to three decisions, each on a random non-empty
					// subset of the four subject rules.
					batch = make([][]modelRule, 1+rng.IntN(3))
					for d := range batch {
						for len(batch[d]) == 0 {
							for _, r := range rules[:4] {
								if rng.IntN(2) == 0 {
									batch[d] = append(batch[d], r)
								}
							}
						}
					}
				} else {
					// One to six decisions shaped as commands: a subject's
					// rule and a ceiling, in either order, either on
					// different periods or, as users, on one.
					batch = make([][]modelRule, 1+rng.IntN(6))
					onePeriod := mode == 2
					for d := range batch {
						own, c := rules[rng.IntN(4)], rules[4+rng.IntN(2)]
						if onePeriod {
							own, c = users[rng.IntN(len(users))], ceiling
						}
						batch[d] = []modelRule{own, c}
						if rng.IntN(2) == 0 {
							batch[d] = []modelRule{c, own}
						}
					}
				}
				args := make([][]Rule, len(batch))
				for d := range batch {
					for _, r := range batch[d] {
						args[d] = append(args[d], Rule{Profile: Profile{T: r.T, Tau: r.tau, G: r.G(), Blocks: r.base > 0}, Field: r.key})
					}
				}
				// A quarter of the batches carry late decisions (see
				// Lateness), late by a few of these short periods.
				late := make([]time.Duration, len(batch))
				if rng.IntN(4) == 0 {
					for d := range late {
						if rng.IntN(2) == 0 {
							late[d] = time.Duration(1+rng.IntN(12)) * time.Millisecond
						}
					}
				}
				argv, err := encodeArgsLate(args, late)
				if err != nil {
					t.Fatal(err)
				}
				reply, err := decideScript.Run(ctx, rdb, []string{base}, argv...).Int64Slice()
				if err != nil {
					t.Fatal(err)
				}
				replies, err := splitReply(reply, len(batch))
				if err != nil {
					t.Fatal(err)
				}
				now := reply[0]
				if !advance(step, now) {
					return
				}
				if slices.ContainsFunc(late, func(d time.Duration) bool { return d > 0 }) {
					paths["late"]++ // takes the general path whatever the candidates
				} else {
					paths[m.path(now, batch, argv)]++
				}
				var violations [][]modelRule
				for d, sub := range batch {
					want := m.decide(now, sub, late[d].Microseconds())
					if o := replies[d]; [3]int64{int64(o.Verdict), o.Rule, o.Wait.Microseconds()} != want {
						got := [3]int64{int64(o.Verdict), o.Rule, o.Wait.Microseconds()}
						t.Fatalf("step %d at %d: decision %d of %d got %v, model %v", step, now, d, len(batch), got, want)
					}
					verdicts[want[0]]++
					if want[0] == 2 {
						var viol []modelRule
						for i, r := range sub {
							if want[1]&(1<<i) != 0 {
								viol = append(viol, r)
							}
						}
						violations = append(violations, viol)
					}
				}
				// The state each rule left must be the model's too, not
				// only the answers. With periods this short a generation
				// hash may expire before the check (which is fine once the
				// values are past being read): TIME, after the reads, tells.
				var touched []modelRule
				cmds, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
					for _, d := range batch {
						for _, r := range d {
							touched = append(touched, r)
							p.HGet(ctx, fmt.Sprintf("%s:%d:%d", base, r.G(), now/(genPeriods*r.G())), r.key)
						}
					}
					p.Time(ctx)
					return nil
				})
				if err != nil && err != redis.Nil {
					t.Fatal(err)
				}
				checked := cmds[len(cmds)-1].(*redis.TimeCmd).Val().UnixMicro()
				for i, r := range touched {
					gen := now / (genPeriods * r.G())
					if checked >= (gen+1)*genPeriods*r.G()+r.G() {
						continue
					}
					want, ok := m.vals[r.key][gen]
					raw, err := cmds[i].(*redis.StringCmd).Result()
					switch {
					case err == redis.Nil && !ok:
					case err != nil:
						t.Fatalf("step %d at %d: state of %s: %v (model has %v: %v)", step, now, r.key, err, ok, want)
					case !ok || decodeState(raw) != want:
						t.Fatalf("step %d at %d: state of %s is %v, model %v (has %v)", step, now, r.key, decodeState(raw), want, ok)
					}
					states++
				}
				for _, viol := range violations {
					var keys []string
					bargs := []any{"test:blocks"}
					for _, r := range viol {
						keys = append(keys, "rlb:"+r.key, "rlv:"+r.key)
						bargs = append(bargs, r.base, r.max, r.mem, r.G(), r.key)
					}
					reply, err := blockScript.Run(ctx, rdb, append(keys, base), bargs...).Int64Slice()
					if err != nil {
						t.Fatal(err)
					}
					now := reply[0]
					if !advance(step, now) {
						return
					}
					// A block key set with PX d expires on Redis's millisecond
					// clock, up to a millisecond before the end it holds: a
					// block imposed then, that the model still sees running,
					// is Redis's word that the old one ended.
					for i, r := range viol {
						if e := m.block[r.key]; e > now && e <= now+1000 && reply[1+2*i] == 1 {
							delete(m.block, r.key)
						}
					}
					for i, w := range m.impose(now, viol) {
						if got := [2]int64{reply[1+2*i], reply[2+2*i]}; got != w {
							t.Fatalf("step %d at %d: block of %s got %v, model %v", step, now, viol[i].key, got, w)
						}
					}
				}
				time.Sleep(time.Duration(rng.IntN(1500)) * time.Microsecond) // random arrivals
			}
		})
	}
	for _, v := range []int64{0, 1, 2, 3} {
		if verdicts[v] == 0 {
			t.Fatalf("verdicts %v: the run never exercised verdict %d", verdicts, v)
		}
	}
	for _, p := range []string{"simple", "simple shared", "simple shared, one period", "fast candidate", "slow candidate", "late"} {
		if paths[p] == 0 {
			t.Fatalf("paths %v: the run never took the %s path", paths, p)
		}
	}
	if states == 0 {
		t.Fatal("no stored state was ever compared with the model")
	}
	t.Logf("verdicts over all seeds: %v; script paths: %v; states compared: %d", verdicts, paths, states)
}
