package ratelimit

import (
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Rule admits Limit events per Period for one subject, enforced as GCRA: a
// burst of Limit, then one event every Period/Limit.
type Rule struct {
	Limit  int
	Period time.Duration
}

// NoCeiling, as CommandGlobal or in GlobalOverrides, lifts the global
// ceiling: the command's decisions check the user's limit alone, which
// costs Redis a field fewer per decision.
var NoCeiling = Rule{Limit: -1}

// Backoff is the block a refusal earns: Base for the first violation,
// doubling on each further violation remembered within Memory, capped at Max.
// A subject with no violation for Memory starts again from Base.
type Backoff struct {
	Base   time.Duration
	Max    time.Duration
	Memory time.Duration
}

// Config holds every rule the limiter applies and how it runs. Zero fields
// take the defaults documented on each (the values DefaultConfig returns),
// so Config{} is the documented policy. String, Fingerprint and
// ParseConfig cover the rules, from Command to FallbackRetry, not how the
// limiter runs (Channel and the fields after it).
type Config struct {
	// Command limits one user on one command (default 10 per second).
	Command Rule
	// CommandBlock is the block a Command violation earns (default 60 s,
	// doubling within an hour, capped at 1 h).
	CommandBlock Backoff
	// CommandGlobal is the ceiling for one command across all users
	// (default 1000 per second); GlobalOverrides sets it per command.
	// Either may be NoCeiling.
	CommandGlobal   Rule
	GlobalOverrides map[string]Rule
	// Sensitive limits each sensitive action per user and per IP
	// (default 3 per 5 minutes); exceeding it blocks for SensitiveBlock
	// (default 1 h). FailSensitive applies it to failures only.
	Sensitive      Rule
	SensitiveBlock time.Duration
	// Admin is the ordinary rate of one dashboard admin's actions
	// (default 30 per minute); it refuses without blocking.
	Admin Rule
	// HTTP limits one client IP (an IPv6 /64) on the dashboard (default 30
	// per 10 seconds).
	HTTP Rule
	// FallbackProbe is how often a node in fallback checks whether Redis is
	// back (default 250 ms). FallbackRetry is the wait told to callers of a
	// sensitive action refused because Redis is down (default 30 s).
	FallbackProbe time.Duration
	FallbackRetry time.Duration

	// Channel is the pub/sub channel carrying new blocks to every node
	// (default DefaultChannel).
	Channel string
	// Layout decides where rule state lives in Redis (default LayoutAuto).
	// Every node of a cluster must agree on it.
	Layout Layout
	// LiveNodes reports how many nodes are live, for the log line written
	// when Redis becomes unreachable (default: 1).
	LiveNodes func() int
	// Logger receives mode switches (default slog.Default()).
	Logger *slog.Logger
	// Registerer receives the limiter's metrics (default nil: none are
	// registered). Limiters sharing one adopt each other's collectors.
	Registerer prometheus.Registerer
}

// Layout is where the limiter keeps rule state in Redis, and so how it
// calls its scripts.
type Layout int

const (
	// LayoutAuto is LayoutSplit on a *redis.ClusterClient, where a script
	// cannot span slots, and LayoutShared on any other client.
	LayoutAuto Layout = iota
	// LayoutShared keeps every subject's state under one hash tag: one
	// script call decides all of a decision's rules together, and
	// concurrent decisions are batched into one call.
	LayoutShared
	// LayoutSplit keeps each subject's state under its own hash tag and
	// sends one script per subject, pipelined in one round trip; then a
	// refusal by one subject does not undo what another subject's script
	// admitted. Concurrent decisions share round trips, and their calls on
	// one subject (a command's ceiling) go in one script call.
	LayoutSplit
)

// DefaultConfig returns the defaults documented on Config's fields. The
// fields whose default is a function or an object (LiveNodes, Logger,
// Registerer) stay nil there, and are filled in when the limiter is made.
func DefaultConfig() Config {
	return Config{
		Command:        Rule{Limit: 10, Period: time.Second},
		CommandBlock:   Backoff{Base: time.Minute, Max: time.Hour, Memory: time.Hour},
		CommandGlobal:  Rule{Limit: 1000, Period: time.Second},
		Sensitive:      Rule{Limit: 3, Period: 5 * time.Minute},
		SensitiveBlock: time.Hour,
		Admin:          Rule{Limit: 30, Period: time.Minute},
		HTTP:           Rule{Limit: 30, Period: 10 * time.Second},
		FallbackProbe:  250 * time.Millisecond,
		FallbackRetry:  30 * time.Second,
		Channel:        DefaultChannel,
		Layout:         LayoutAuto,
	}
}

// withDefaults fills zero fields with their defaults: the one place they
// are filled.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Command == (Rule{}) {
		c.Command = d.Command
	}
	if c.CommandBlock == (Backoff{}) {
		c.CommandBlock = d.CommandBlock
	}
	if c.CommandGlobal == (Rule{}) {
		c.CommandGlobal = d.CommandGlobal
	}
	if c.Sensitive == (Rule{}) {
		c.Sensitive = d.Sensitive
	}
	if c.SensitiveBlock == 0 {
		c.SensitiveBlock = d.SensitiveBlock
	}
	if c.HTTP == (Rule{}) {
		c.HTTP = d.HTTP
	}
	if c.Admin == (Rule{}) {
		c.Admin = d.Admin
	}
	if c.FallbackProbe == 0 {
		c.FallbackProbe = d.FallbackProbe
	}
	if c.FallbackRetry == 0 {
		c.FallbackRetry = d.FallbackRetry
	}
	if c.Channel == "" {
		c.Channel = d.Channel
	}
	if c.LiveNodes == nil {
		c.LiveNodes = func() int { return 1 }
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// validate reports the first unusable setting.
func (c Config) validate() error {
	rules := map[string]Rule{"Command": c.Command, "Sensitive": c.Sensitive, "HTTP": c.HTTP, "Admin": c.Admin}
	if c.CommandGlobal != NoCeiling {
		rules["CommandGlobal"] = c.CommandGlobal
	}
	for name, r := range c.GlobalOverrides {
		if err := validName(name); err != nil {
			return fmt.Errorf("ratelimit: GlobalOverrides: %w", err)
		}
		if r != NoCeiling {
			rules["GlobalOverrides["+name+"]"] = r
		}
	}
	for name, r := range rules {
		if err := r.validate(); err != nil {
			return fmt.Errorf("ratelimit: %s: %w", name, err)
		}
	}
	b := c.CommandBlock
	if b.Base < time.Millisecond || b.Max < b.Base || b.Memory < time.Millisecond {
		return errors.New("ratelimit: CommandBlock needs 1ms <= Base <= Max and Memory >= 1ms")
	}
	if c.SensitiveBlock < time.Millisecond {
		return errors.New("ratelimit: SensitiveBlock must be at least 1ms")
	}
	if c.FallbackProbe <= 0 || c.FallbackRetry <= 0 {
		return errors.New("ratelimit: FallbackProbe and FallbackRetry must be positive")
	}
	if c.Layout < LayoutAuto || c.Layout > LayoutSplit {
		return fmt.Errorf("ratelimit: unknown Layout %d", c.Layout)
	}
	return nil
}

func (r Rule) validate() error {
	if r == NoCeiling {
		return errors.New("NoCeiling lifts only a command's global ceiling")
	}
	if r.Limit < 1 {
		return fmt.Errorf("limit %d must be at least 1", r.Limit)
	}
	if r.Period < time.Millisecond || r.Period > 30*24*time.Hour {
		return fmt.Errorf("period %v must be between 1ms and 30 days", r.Period)
	}
	if r.Period/time.Duration(r.Limit) < time.Microsecond {
		return fmt.Errorf("%d per %v is finer than one per microsecond", r.Limit, r.Period)
	}
	return nil
}

// emission is GCRA's T (the spacing of events at the sustained rate) and
// tolerance its tau (how far ahead of now the schedule may run), both in
// microseconds, the unit of the script.
func (r Rule) emission() int64 { return int64(r.Period/time.Microsecond) / int64(r.Limit) }
func (r Rule) tolerance() int64 {
	return r.emission() * int64(r.Limit-1)
}

// validName accepts command and action names that are safe inside keys and
// pub/sub messages: 1-64 bytes of letters, digits, '_', '-', '.', '/'.
func validName(s string) error {
	if len(s) == 0 || len(s) > 64 {
		return fmt.Errorf("%w: name must be 1-64 bytes", ErrBadInput)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9',
			c == '_', c == '-', c == '.', c == '/':
		default:
			return fmt.Errorf("%w: name %q has byte %q", ErrBadInput, s, c)
		}
	}
	return nil
}
