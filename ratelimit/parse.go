package ratelimit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ParseConfig reads the policy as an operator writes it in one setting: a
// comma-separated list of key=value, where a rule is "<limit>/<period>" and
// a block a duration. Keys left out keep their defaults, so "" is
// DefaultConfig.
//
//	command=10/1s, command-block=1m, command-block-max=1h,
//	command-block-memory=1h, global=1000/1s, global.play=100/1s,
//	global.balance=off, sensitive=3/5m, sensitive-block=1h, http=30/10s,
//	admin=30/1m
//
// "off" lifts a global ceiling (NoCeiling). The result is validated.
func ParseConfig(s string) (Config, error) {
	c := DefaultConfig()
	seen := map[string]bool{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		key, val = strings.TrimSpace(key), strings.TrimSpace(val)
		if !ok || key == "" || val == "" {
			return Config{}, fmt.Errorf("%q: want key=value", item)
		}
		if seen[key] {
			return Config{}, fmt.Errorf("%s is given twice", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "command":
			c.Command, err = parseRule(val)
		case "command-block":
			c.CommandBlock.Base, err = parseDuration(val)
		case "command-block-max":
			c.CommandBlock.Max, err = parseDuration(val)
		case "command-block-memory":
			c.CommandBlock.Memory, err = parseDuration(val)
		case "global":
			c.CommandGlobal, err = parseCeiling(val)
		case "sensitive":
			c.Sensitive, err = parseRule(val)
		case "sensitive-block":
			c.SensitiveBlock, err = parseDuration(val)
		case "http":
			c.HTTP, err = parseRule(val)
		case "admin":
			c.Admin, err = parseRule(val)
		default:
			cmd, ok := strings.CutPrefix(key, "global.")
			if !ok {
				return Config{}, fmt.Errorf("unknown key %q (want command, command-block, command-block-max, command-block-memory, global, global.<command>, sensitive, sensitive-block, http or admin)", key)
			}
			if err := validName(cmd); err != nil {
				return Config{}, fmt.Errorf("%s: %w", key, err)
			}
			var r Rule
			if r, err = parseCeiling(val); err == nil {
				if c.GlobalOverrides == nil {
					c.GlobalOverrides = map[string]Rule{}
				}
				c.GlobalOverrides[cmd] = r
			}
		}
		if err != nil {
			return Config{}, fmt.Errorf("%s: %w", key, err)
		}
	}
	if b := c.CommandBlock; b.Base > b.Max {
		return Config{}, fmt.Errorf("command-block (%v) is longer than command-block-max (%v)", b.Base, b.Max)
	}
	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// parseRule reads "<limit>/<period>", such as "10/1s" or "3/5m".
func parseRule(s string) (Rule, error) {
	n, p, ok := strings.Cut(s, "/")
	if !ok {
		return Rule{}, fmt.Errorf("%q: want <limit>/<period>, such as 10/1s", s)
	}
	limit, err := strconv.Atoi(n)
	if err != nil {
		return Rule{}, fmt.Errorf("%q: limit %q is not a whole number", s, n)
	}
	period, err := parseDuration(p)
	if err != nil {
		return Rule{}, err
	}
	r := Rule{Limit: limit, Period: period}
	if err := r.validate(); err != nil {
		return Rule{}, fmt.Errorf("%q: %w", s, err)
	}
	return r, nil
}

// parseCeiling is parseRule that also takes "off", for NoCeiling.
func parseCeiling(s string) (Rule, error) {
	if s == "off" {
		return NoCeiling, nil
	}
	return parseRule(s)
}

func parseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%q is not a positive duration, such as 1s, 5m or 1h", s)
	}
	return d, nil
}

// String writes c in the form ParseConfig reads, every key spelled out and
// the overrides in name order, so that equal policies read the same.
func (c Config) String() string {
	var b strings.Builder
	put := func(key, val string) {
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		b.WriteString(key + "=" + val)
	}
	put("command", c.Command.String())
	put("command-block", shortDuration(c.CommandBlock.Base))
	put("command-block-max", shortDuration(c.CommandBlock.Max))
	put("command-block-memory", shortDuration(c.CommandBlock.Memory))
	put("global", c.CommandGlobal.String())
	for _, name := range slices.Sorted(maps.Keys(c.GlobalOverrides)) {
		put("global."+name, c.GlobalOverrides[name].String())
	}
	put("sensitive", c.Sensitive.String())
	put("sensitive-block", shortDuration(c.SensitiveBlock))
	put("http", c.HTTP.String())
	put("admin", c.Admin.String())
	return b.String()
}

// Fingerprint is a short digest of the policy. Every node of a cluster
// must apply the same one; nodes compare fingerprints over gossip.
func (c Config) Fingerprint() string {
	sum := sha256.Sum256([]byte(c.String()))
	return hex.EncodeToString(sum[:6])
}

// String writes r as "<limit>/<period>", or "off" for NoCeiling.
func (r Rule) String() string {
	if r == NoCeiling {
		return "off"
	}
	return strconv.Itoa(r.Limit) + "/" + shortDuration(r.Period)
}

// shortDuration is d as time.ParseDuration reads it, without the zero
// minutes and seconds time.Duration.String adds ("5m", not "5m0s").
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
