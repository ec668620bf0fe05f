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

// DecideEach runs each call's decision, made at at, in its own script call,
// all in one round trip: on Redis Cluster a call cannot span slots, so each
// subject goes alone under its own hash tag.
func DecideEach(ctx context.Context, rdb Client, calls []Call, at time.Time) ([]Outcome, error) {
	args := make([][]any, len(calls))
	for i, c := range calls {
		a, err := encodeArgsLate([][]Rule{c.Rules}, []time.Duration{Lateness(at, time.Now())})
		if err != nil {
			return nil, err
		}
		args[i] = a
	}
	cmds, err := pipeline(ctx, rdb, decideScript, len(calls), func(i int) ([]string, []any) {
		return []string{calls[i].Base}, args[i]
	})
	if err != nil {
		return nil, err
	}
	out := make([]Outcome, len(cmds))
	for i, c := range cmds {
		r, err := c.Int64Slice()
		if err != nil {
			return nil, err
		}
		rs, err := splitReply(r, 1)
		if err != nil {
			return nil, err
		}
		out[i] = rs[0]
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
	run := func(eval bool) error {
		_, err := rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			for i := range cmds {
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
	err := run(false)
	if err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		err = run(true)
	}
	return cmds, err
}
