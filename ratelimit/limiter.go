// Package ratelimit decides whether a user, an IP or a command may go on,
// with limits that hold across the whole cluster.
//
// Every decision is one Redis round trip running one Lua script that checks
// all rules that apply (user and command, IP, the command's global ceiling,
// running blocks) together, on Redis's clock, with GCRA. Blocks are pushed to
// every node over pub/sub and kept in a local cache, as are subjects known to
// be over a limit until some time, so that repeated refusals cost no Redis
// call. When Redis is unreachable each node applies every command limit on
// its own (the whole limit, erring on leniency) and sensitive actions are
// refused.
//
// This package holds the rules and what their answers mean; the Redis
// format (the scripts, their keys, how decisions are packed into a call
// and batched) is package internal/wire.
package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/ratelimit/internal/wire"
)

// ErrBadInput reports an unusable argument (an empty command, a malformed
// IP, a zero user ID); the decision changed nothing.
var ErrBadInput = errors.New("ratelimit: bad input")

// Rule names reported in Decision.Rule and the hits metric.
const (
	RuleCommand        = "command"         // per user and command
	RuleCommandBlock   = "command_block"   // a running block earned on RuleCommand
	RuleGlobal         = "global"          // per command, all users
	RuleSensitive      = "sensitive"       // per user or IP and sensitive action
	RuleSensitiveBlock = "sensitive_block" // a running block earned on RuleSensitive
	RuleHTTP           = "http"            // per dashboard client IP
	RuleUnavailable    = "unavailable"     // sensitive action refused while Redis is down
)

// DefaultChannel is the pub/sub channel carrying new blocks to every node.
const DefaultChannel = "chopsticks:ratelimit:blocks"

// Decision is the answer to one attempt.
type Decision struct {
	// Allowed tells whether the attempt may go on.
	Allowed bool
	// RetryAfter is how long until an attempt could be allowed (0 when allowed).
	RetryAfter time.Duration
	// Notify tells whether the caller should tell the user, with RetryAfter;
	// it is false for repeated refusals the user was already told about.
	Notify bool
	// Rule names the rule that refused ("" when allowed).
	Rule string
	// Local is true when the decision was reached without a Redis call.
	Local bool
}

// Limiter is the cluster-wide rate limiter. Its methods are safe for
// concurrent use; Start must run for blocks to propagate and for recovery
// from a Redis outage.
type Limiter struct {
	rdb   redis.UniversalClient
	cfg   Config // defaults filled in
	split bool   // cfg.Layout resolved for rdb
	m     *metrics

	cache    *denyCache
	batch    wire.Batcher     // the shared layout's decisions
	each     wire.EachBatcher // the split layout's
	fb       *localGCRA
	fallback atomic.Bool
	switchMu sync.Mutex

	done      chan struct{}
	started   atomic.Bool
	lastProbe atomic.Int64 // unix nanos of the last inline probe
}

// New returns a limiter using rdb with cfg; zero fields take the defaults
// documented on Config.
func New(rdb redis.UniversalClient, cfg Config) (*Limiter, error) {
	if rdb == nil {
		return nil, fmt.Errorf("%w: nil Redis client", ErrBadInput)
	}
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	_, cluster := rdb.(*redis.ClusterClient)
	l := &Limiter{
		rdb: rdb, cfg: cfg, split: cfg.Layout == LayoutSplit || cfg.Layout == LayoutAuto && cluster,
		cache: newDenyCache(), fb: newLocalGCRA(), done: make(chan struct{}),
	}
	m, err := newMetrics(cfg.Registerer, func() float64 { return float64(l.cache.size()) })
	if err != nil {
		return nil, fmt.Errorf("ratelimit: metrics: %w", err)
	}
	l.m = m
	return l, nil
}

// Config returns the limiter's configuration, defaults filled in.
func (l *Limiter) Config() Config { return l.cfg }

// check is one rule applied to one subject in a decision.
type check struct {
	rule      Rule
	name      string // reported when the rule refuses
	blockName string // reported while its block runs; "" for a rule that never blocks
	backoff   Backoff
	tag       string // the subject's hash tag, "{...}", a prefix of field
	field     string // the rule's field in the generation hashes, and its key in the local cache
}

// newCheck applies r to field, "<subject tag><rule suffix>".
func newCheck(field string, r Rule, name string) check {
	return check{rule: r, name: name, tag: field[:strings.IndexByte(field, '}')+1], field: field}
}

// hashBase is the base of the generation hashes for a script call on the
// subjects of tag (see wire.HashBase).
func (l *Limiter) hashBase(tag string) string { return wire.HashBase(l.split, tag) }

// userField is the field of a user's rule: "{u:<id>}" then suffix parts.
// It is built in one allocation: it is on every command's path.
func userField(id uint64, suffix ...string) string {
	var buf [96]byte
	b := append(buf[:0], "{u:"...)
	b = strconv.AppendUint(b, id, 10)
	b = append(b, '}')
	for _, s := range suffix {
		b = append(b, s...)
	}
	return string(b)
}

// ipTag turns an address (optionally with a port) into a subject tag; IPv6
// clients are limited per /64, the block a single subscriber usually holds.
func ipTag(ip string) (string, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		host, _, serr := net.SplitHostPort(ip)
		if serr != nil {
			return "", fmt.Errorf("%w: IP %q", ErrBadInput, ip)
		}
		if a, err = netip.ParseAddr(host); err != nil {
			return "", fmt.Errorf("%w: IP %q", ErrBadInput, ip)
		}
	}
	a = a.Unmap().WithZone("")
	if a.Is4() {
		return "{ip:" + a.String() + "}", nil
	}
	p, err := a.Prefix(64)
	if err != nil {
		return "", fmt.Errorf("%w: IP %q", ErrBadInput, ip)
	}
	return "{ip:" + p.String() + "}", nil
}

// AllowCommand decides one use of command by userID now: the user's limit
// on that command (whose violation blocks with backoff) and the command's
// global ceiling, unless it is NoCeiling.
func (l *Limiter) AllowCommand(ctx context.Context, userID uint64, command string) (Decision, error) {
	return l.AllowCommandAt(ctx, userID, command, time.Time{})
}

// MaxLateness bounds how far in the past AllowCommandAt judges a use. A
// late use is judged leniently (see AllowCommandAt), so the bound also
// bounds that leniency; a backlog older than this is judged as this old.
const MaxLateness = wire.MaxLateness

// AllowCommandAt is AllowCommand for a use the user made at at (a Discord
// interaction's creation, from its snowflake), which may reach the limiter
// late: replayed after a gateway RESUME, or queued behind a stalled Redis.
// The user's limit admits it if it admits the use at at (so a late burst
// the user sent at an honest pace passes) or, as AllowCommand would, now.
// A time in the future counts as now, one older than MaxLateness as that
// old; the zero time means now.
func (l *Limiter) AllowCommandAt(ctx context.Context, userID uint64, command string, at time.Time) (Decision, error) {
	if userID == 0 {
		return Decision{}, fmt.Errorf("%w: zero user ID", ErrBadInput)
	}
	if err := validName(command); err != nil {
		return Decision{}, err
	}
	u := newCheck(userField(userID, ":c:", command), l.cfg.Command, RuleCommand)
	u.blockName, u.backoff = RuleCommandBlock, l.cfg.CommandBlock
	gr, ok := l.cfg.GlobalOverrides[command]
	if !ok {
		gr = l.cfg.CommandGlobal
	}
	if gr == NoCeiling {
		return l.decideAt(ctx, []check{u}, false, at)
	}
	g := newCheck("{g:"+command+"}", gr, RuleGlobal)
	return l.decideAt(ctx, []check{u, g}, false, at)
}

// AllowSensitive decides one attempt at a sensitive action (agent token
// operations, admin actions, OAuth login, large transfers) by userID and/or
// ip; a zero userID or empty ip leaves that subject out, but not both.
// Exceeding the limit blocks the subject for the action; while Redis is
// unreachable every attempt is refused.
func (l *Limiter) AllowSensitive(ctx context.Context, action string, userID uint64, ip string) (Decision, error) {
	if err := validName(action); err != nil {
		return Decision{}, err
	}
	if userID == 0 && ip == "" {
		return Decision{}, fmt.Errorf("%w: sensitive action needs a user or an IP", ErrBadInput)
	}
	block := Backoff{Base: l.cfg.SensitiveBlock, Max: l.cfg.SensitiveBlock, Memory: l.cfg.SensitiveBlock}
	var checks []check
	if userID != 0 {
		c := newCheck(userField(userID, ":s:", action), l.cfg.Sensitive, RuleSensitive)
		c.blockName, c.backoff = RuleSensitiveBlock, block
		checks = append(checks, c)
	}
	if ip != "" {
		tag, err := ipTag(ip)
		if err != nil {
			return Decision{}, err
		}
		c := newCheck(tag+":s:"+action, l.cfg.Sensitive, RuleSensitive)
		c.blockName, c.backoff = RuleSensitiveBlock, block
		checks = append(checks, c)
	}
	return l.decide(ctx, checks, true)
}

// AllowHTTP decides one dashboard HTTP request from ip (an address, with or
// without port).
func (l *Limiter) AllowHTTP(ctx context.Context, ip string) (Decision, error) {
	tag, err := ipTag(ip)
	if err != nil {
		return Decision{}, err
	}
	return l.decide(ctx, []check{newCheck(tag+":h", l.cfg.HTTP, RuleHTTP)}, false)
}

// decide decides a use made now.
func (l *Limiter) decide(ctx context.Context, checks []check, sensitive bool) (Decision, error) {
	return l.decideAt(ctx, checks, sensitive, time.Time{})
}

// decideAt answers from the local cache when it knows a refusal, else from
// Redis, else (Redis down) from the per-node fallback, for a use made at at
// (the zero time: now). How late the use is, is reckoned when the decision
// is made, not when it was asked for: a decision that waited for a failing
// Redis is judged by when the user acted, like any other late one.
func (l *Limiter) decideAt(ctx context.Context, checks []check, sensitive bool, at time.Time) (Decision, error) {
	start := time.Now()
	if at.IsZero() || at.After(start) {
		at = start
	}
	for _, c := range checks {
		name := c.name
		if c.blockName != "" {
			name = c.blockName
		}
		if left, first, ok := l.cache.get(c.field, start); ok {
			return l.finish(pathLocal, start, Decision{RetryAfter: left, Notify: first, Rule: name, Local: true}), nil
		}
	}
	if l.fallback.Load() && !l.probeInline(start) {
		return l.finish(pathFallback, start, l.decideFallback(checks, sensitive, start, wire.Lateness(at, start))), nil
	}
	d, err := l.decideRedis(ctx, checks, start, at)
	if err == nil {
		if l.fallback.Load() {
			l.leaveFallback() // Start is not running; an inline probe found Redis back
		}
		return l.finish(pathRedis, start, d), nil
	}
	if ctx.Err() != nil {
		return Decision{}, fmt.Errorf("ratelimit: %w", ctx.Err())
	}
	if !unavailable(err) {
		return Decision{}, fmt.Errorf("ratelimit: decide: %w", err)
	}
	l.enterFallback(err)
	now := time.Now()
	return l.finish(pathFallback, start, l.decideFallback(checks, sensitive, now, wire.Lateness(at, now))), nil
}

func (l *Limiter) finish(path string, start time.Time, d Decision) Decision {
	l.m.decided(path, time.Since(start).Seconds(), d.Rule)
	return d
}

// unavailable tells Redis being unreachable or not serving (network errors,
// timeouts, LOADING and the like) from errors that are our own bug.
func unavailable(err error) bool {
	var rerr redis.Error
	if errors.As(err, &rerr) {
		msg := rerr.Error()
		for _, p := range []string{"LOADING", "BUSY", "MASTERDOWN", "CLUSTERDOWN", "TRYAGAIN", "READONLY"} {
			if strings.HasPrefix(msg, p) {
				return true
			}
		}
		return false
	}
	return true
}

// group is the checks of one script call.
type group struct{ idx []int }

func (l *Limiter) groups(checks []check) []group {
	if !l.split || len(checks) == 1 {
		g := group{idx: make([]int, len(checks))}
		for i := range checks {
			g.idx[i] = i
		}
		return []group{g}
	}
	var gs []group
	tags := map[string]int{}
	for i, c := range checks {
		j, ok := tags[c.tag]
		if !ok {
			j = len(gs)
			tags[c.tag] = j
			gs = append(gs, group{})
		}
		gs[j].idx = append(gs[j].idx, i)
	}
	return gs
}

// arg is c as the decide script takes it.
func (c check) arg() wire.Rule {
	T := c.rule.emission()
	return wire.Rule{Profile: wire.Profile{T: T, Tau: c.rule.tolerance(), G: T * int64(c.rule.Limit), Blocks: c.blockName != ""},
		Field: c.field}
}

// ruleArgs returns the script arguments of the checks of g.
func ruleArgs(checks []check, g group) []wire.Rule {
	rules := make([]wire.Rule, len(g.idx))
	for j, i := range g.idx {
		rules[j] = checks[i].arg()
	}
	return rules
}

// outcome ranks what refused a decision, to pick the one reported.
const (
	outAllowed = iota
	outPlain
	outBlocked // a block already running
	outNewBlock
)

// decideRedis decides checks in Redis: one script call for them all, or
// one per subject when split, then, if blocking rules were violated, one
// call per subject imposing their blocks. It caches what the answers tell
// of refusals to come, and reports the refusal that weighs most.
func (l *Limiter) decideRedis(ctx context.Context, checks []check, start, at time.Time) (Decision, error) {
	gs := l.groups(checks)
	var outcomes []wire.Outcome
	// The batcher mixes subjects in one call, so it serves only the shared
	// base; split, every subject's call goes alone under its own tag.
	if !l.split {
		o, err := l.batch.Decide(ctx, l.rdb, l.hashBase(checks[gs[0].idx[0]].tag), ruleArgs(checks, gs[0]), at)
		if err != nil {
			return Decision{}, err
		}
		outcomes = []wire.Outcome{o}
	} else {
		calls := make([]wire.Call, len(gs))
		for i, g := range gs {
			calls[i] = wire.Call{Base: l.hashBase(checks[g.idx[0]].tag), Rules: ruleArgs(checks, g)}
		}
		var err error
		if outcomes, err = l.each.Decide(ctx, l.rdb, calls, at); err != nil {
			return Decision{}, err
		}
	}
	best, bestOut := Decision{Allowed: true}, outAllowed
	consider := func(d Decision, out int) {
		if out > bestOut || (out == bestOut && d.RetryAfter > best.RetryAfter) {
			best, bestOut = d, out
		}
	}
	var violations []group // per group, the checks whose blocks are due
	for gi, g := range gs {
		o := outcomes[gi]
		if o.Verdict == wire.Violated {
			var v group
			for j, i := range g.idx {
				if o.Rule&(1<<j) != 0 {
					v.idx = append(v.idx, i)
				}
			}
			if len(v.idx) == 0 {
				return Decision{}, fmt.Errorf("ratelimit: script reply names no violated rule")
			}
			violations = append(violations, v)
			continue
		}
		if o.Verdict == wire.Admitted && o.Rule == 0 {
			continue
		}
		if o.Rule < 1 || int(o.Rule) > len(g.idx) {
			return Decision{}, fmt.Errorf("ratelimit: script reply names rule %d", o.Rule)
		}
		c := checks[g.idx[o.Rule-1]]
		d := o.Wait
		switch o.Verdict {
		case wire.Admitted: // but c is now over its limit for d whatever other nodes do
			if d >= time.Millisecond {
				l.cache.put(c.field, denyEntry{until: start.Add(d), rule: c.name})
			}
		case wire.Refused:
			if d >= time.Millisecond {
				l.cache.put(c.field, denyEntry{until: start.Add(d), rule: c.name, told: true})
			}
			consider(Decision{RetryAfter: d, Notify: true, Rule: c.name}, outPlain)
		case wire.Blocked:
			l.cache.put(c.field, denyEntry{until: start.Add(d), rule: c.blockName, block: true, told: true})
			consider(Decision{RetryAfter: d, Rule: c.blockName}, outBlocked)
		default:
			return Decision{}, fmt.Errorf("ratelimit: script reply has verdict %d", o.Verdict)
		}
	}
	if len(violations) > 0 {
		calls := make([]wire.BlockCall, len(violations))
		for i, v := range violations {
			calls[i].Base = l.hashBase(checks[v.idx[0]].tag)
			for _, ci := range v.idx {
				c := checks[ci]
				calls[i].Rules = append(calls[i].Rules, wire.BlockRule{Field: c.field, G: c.arg().Profile.G,
					Base: c.backoff.Base, Max: c.backoff.Max, Memory: c.backoff.Memory})
			}
		}
		imposed, err := wire.Block(ctx, l.rdb, l.cfg.Channel, calls)
		if err != nil {
			return Decision{}, err
		}
		for vi, v := range violations {
			for j, ci := range v.idx {
				c, im := checks[ci], imposed[vi][j]
				l.cache.put(c.field, denyEntry{until: start.Add(im.Left), rule: c.blockName, block: true, told: true})
				if im.New {
					consider(Decision{RetryAfter: im.Left, Notify: true, Rule: c.blockName}, outNewBlock)
				} else {
					consider(Decision{RetryAfter: im.Left, Rule: c.blockName}, outBlocked)
				}
			}
		}
	}
	return best, nil
}

// decideFallback limits on this node alone while Redis is unreachable.
// Each node allows the whole limit, not a share of it: a user's commands
// reach several nodes (one per guild's shard), and a share would block a
// user who stays under the cluster-wide limit. This errs on leniency, by at
// most the number of nodes, for as long as the outage lasts.
func (l *Limiter) decideFallback(checks []check, sensitive bool, now time.Time, late time.Duration) Decision {
	if sensitive {
		return Decision{RetryAfter: l.cfg.FallbackRetry, Notify: true, Rule: RuleUnavailable}
	}
	keys := make([]string, len(checks))
	rules := make([]Rule, len(checks))
	for i, c := range checks {
		keys[i] = c.field
		rules[i] = c.rule
	}
	ok, worst, wait, notify := l.fb.allow(keys, rules, now, late)
	if ok {
		return Decision{Allowed: true}
	}
	return Decision{RetryAfter: wait, Notify: notify, Rule: checks[worst].name}
}

// enterFallback switches to the local limiter, logging and counting once.
func (l *Limiter) enterFallback(cause error) {
	l.switchMu.Lock()
	defer l.switchMu.Unlock()
	if l.fallback.Load() {
		return
	}
	l.fb.reset()
	l.fallback.Store(true)
	l.m.fallback.Set(1)
	l.m.switches.WithLabelValues("fallback").Inc()
	l.cfg.Logger.Warn("ratelimit: Redis unreachable, limiting per node", "err", cause, "live_nodes", l.cfg.LiveNodes())
}

// leaveFallback switches back to Redis, logging and counting once.
func (l *Limiter) leaveFallback() {
	l.switchMu.Lock()
	defer l.switchMu.Unlock()
	if !l.fallback.Load() {
		return
	}
	l.fallback.Store(false)
	l.m.fallback.Set(0)
	l.m.switches.WithLabelValues("redis").Inc()
	l.cfg.Logger.Info("ratelimit: Redis is back, limiting cluster-wide")
}

// probeInline lets one decision per FallbackProbe try Redis during an
// outage when Start is not running (with Start, its goroutine probes).
func (l *Limiter) probeInline(now time.Time) bool {
	if l.started.Load() {
		return false
	}
	last := l.lastProbe.Load()
	if now.UnixNano()-last < int64(l.cfg.FallbackProbe) {
		return false
	}
	return l.lastProbe.CompareAndSwap(last, now.UnixNano())
}

// InFallback reports whether the limiter is limiting per node because Redis
// is unreachable.
func (l *Limiter) InFallback() bool { return l.fallback.Load() }
