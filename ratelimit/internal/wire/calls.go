package wire

import (
	"context"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Client is what the calls need of a Redis client; every go-redis client
// is one.
type Client interface {
	redis.Scripter
	Pipelined(ctx context.Context, fn func(redis.Pipeliner) error) ([]redis.Cmder, error)
}

// Call is one decide script call of one decision: the base of its
// generation hashes (HashBase) and its rules.
type Call struct {
	Base  string
	Rules []Rule
}

// EachBatcher decides the calls of the split layout (Redis Cluster, where
// a script call cannot span slots, so each subject goes under its own hash
// tag) by group commit (see commit): the decisions that arrive while a
// round trip is in flight go in the next one. Calls on one base, such as a
// command's global ceiling that every user's decision checks, become one
// script call carrying them all, and every call goes in one pipeline,
// which a cluster client sends to each master at once. The zero
// EachBatcher is ready for use.
type EachBatcher struct {
	c commit[each, []Outcome]
}

// each is one decision's calls and when its use was made.
type each struct {
	calls []Call
	at    time.Time
}

// maxEach bounds the calls of one round trip.
const maxEach = 4 * maxBatch

// Decide runs each call's decision, for a use made at at, and returns
// their outcomes in order. It is safe for concurrent use.
func (b *EachBatcher) Decide(ctx context.Context, rdb Client, calls []Call, at time.Time) ([]Outcome, error) {
	return b.c.do(ctx, each{calls, at}, cutEach,
		func(ctx context.Context, batch []*pending[each, []Outcome]) ([][]Outcome, error) {
			return runEach(ctx, rdb, batch)
		})
}

// InFlight reports whether a round trip is in flight and how many
// decisions wait for the next one.
func (b *EachBatcher) InFlight() (running bool, queued int) { return b.c.inFlight() }

func cutEach(queue []*pending[each, []Outcome]) int {
	n, calls := 0, 0
	for n < len(queue) && (n == 0 || calls+len(queue[n].req.calls) <= maxEach) {
		calls += len(queue[n].req.calls)
		n++
	}
	return n
}

// runEach sends batch's calls in one pipeline, one script call per base
// (split at maxBatch decisions or maxPacked rules), and hands each
// decision its outcomes.
func runEach(ctx context.Context, rdb Client, batch []*pending[each, []Outcome]) ([][]Outcome, error) {
	type ref struct{ req, call int }
	type group struct {
		base   string
		ds     []decision
		refs   []ref
		packed int
	}
	var groups []*group
	open := map[string]*group{}
	for i, q := range batch {
		for j, c := range q.req.calls {
			g := open[c.Base]
			if g == nil || len(g.ds) == maxBatch || g.packed+len(c.Rules) > maxPacked {
				g = &group{base: c.Base}
				open[c.Base] = g
				groups = append(groups, g)
			}
			g.ds = append(g.ds, decision{c.Rules, q.req.at})
			g.refs = append(g.refs, ref{i, j})
			g.packed += len(c.Rules)
		}
	}
	args := make([][]any, len(groups))
	for k, g := range groups {
		var err error
		if args[k], err = decisionArgs(g.ds); err != nil {
			return nil, err
		}
	}
	cmds, err := pipeline(ctx, rdb, decideScript, len(groups), func(k int) ([]string, []any) {
		return []string{groups[k].base}, args[k]
	})
	if err != nil {
		return nil, err
	}
	out := make([][]Outcome, len(batch))
	for i, q := range batch {
		out[i] = make([]Outcome, len(q.req.calls))
	}
	for k, g := range groups {
		r, err := cmds[k].Int64Slice()
		if err != nil {
			return nil, err
		}
		rs, err := splitReply(r, len(g.ds))
		if err != nil {
			return nil, err
		}
		for d, rf := range g.refs {
			out[rf.req][rf.call] = rs[d]
		}
	}
	return out, nil
}

// BlockRule is one rule whose block is due: its field, its period G (µs,
// as in Profile) and the backoff of its blocks.
type BlockRule struct {
	Field             string
	G                 int64
	Base, Max, Memory time.Duration
}

// BlockCall is one block script call: the base of the generation hashes
// (HashBase) and the rules, all of one subject when split.
type BlockCall struct {
	Base  string
	Rules []BlockRule
}

// Imposed is the block script's answer for one rule: whether this call
// started the block (else one was already running) and the time it has
// left.
type Imposed struct {
	New  bool
	Left time.Duration
}

// Block imposes the blocks of calls in one round trip, announcing the new
// ones on channel (see blockScript), and returns per call its rules'
// answers.
func Block(ctx context.Context, rdb Client, channel string, calls []BlockCall) ([][]Imposed, error) {
	cmds, err := pipeline(ctx, rdb, blockScript, len(calls), func(i int) ([]string, []any) {
		c := calls[i]
		keys := make([]string, 0, 2*len(c.Rules)+1)
		args := make([]any, 0, 1+5*len(c.Rules))
		args = append(args, channel)
		for _, r := range c.Rules {
			keys = append(keys, BlockKey(r.Field), violPrefix+r.Field)
			args = append(args, r.Base.Milliseconds(), r.Max.Milliseconds(), r.Memory.Milliseconds(), r.G, r.Field)
		}
		return append(keys, c.Base), args
	})
	if err != nil {
		return nil, err
	}
	out := make([][]Imposed, len(calls))
	for i, c := range calls {
		r, err := cmds[i].Int64Slice()
		if err != nil {
			return nil, err
		}
		if len(r) != 1+2*len(c.Rules) {
			return nil, fmt.Errorf("ratelimit: block script reply has %d values for %d rules", len(r), len(c.Rules))
		}
		out[i] = make([]Imposed, len(c.Rules))
		for j := range c.Rules {
			out[i][j] = Imposed{New: r[1+2*j] == 1, Left: time.Duration(r[2+2*j]) * time.Microsecond}
		}
	}
	return out, nil
}

// Fail records one failure for each of fields with GCRA (T and tau, µs),
// starting a block for block on a field whose allowance it uses up and
// announcing it on channel (see failScript). It returns per field the
// time left on its block, 0 when none runs.
func Fail(ctx context.Context, rdb Client, channel string, fields []string, T, tau int64, block time.Duration) ([]time.Duration, error) {
	cmds, err := pipeline(ctx, rdb, failScript, len(fields), func(i int) ([]string, []any) {
		return []string{failPrefix + fields[i], BlockKey(fields[i])},
			[]any{T, tau, block.Milliseconds(), channel}
	})
	if err != nil {
		return nil, err
	}
	out := make([]time.Duration, len(fields))
	for i, c := range cmds {
		v, err := c.Int64Slice()
		if err != nil || len(v) != 2 {
			return nil, fmt.Errorf("ratelimit: failure script reply %v: %w", v, err)
		}
		if v[0] == 1 {
			out[i] = time.Duration(v[1]) * time.Microsecond
		}
	}
	return out, nil
}

// pipeline runs script n times in one round trip, with the keys and
// arguments args(i) gives, loading the script if Redis lacks it.
func pipeline(ctx context.Context, rdb Client, script *redis.Script, n int, args func(i int) ([]string, []any)) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, n)
	send := func(idx []int, eval bool) error {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for _, i := range idx {
				keys, argv := args(i)
				if eval {
					cmds[i] = script.Eval(ctx, p, keys, argv...)
				} else {
					cmds[i] = script.EvalSha(ctx, p, keys, argv...)
				}
			}
			return nil
		})
		return err
	}
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	err := send(all, false)
	if err == nil || !redis.HasErrorPrefix(err, "NOSCRIPT") {
		return cmds, err
	}
	// Send again only the calls a server without the script refused: on a
	// cluster the others ran on servers that had it, and sending them again
	// would decide them twice.
	var again []int
	for i, c := range cmds {
		if redis.HasErrorPrefix(c.Err(), "NOSCRIPT") {
			again = append(again, i)
		}
	}
	if err := send(again, true); err != nil {
		return cmds, err
	}
	for _, c := range cmds {
		if err := c.Err(); err != nil {
			return cmds, err
		}
	}
	return cmds, nil
}
