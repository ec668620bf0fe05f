package ratelimit

import (
	"sync"
	"time"
)

// denyCache remembers, per rule field, until when this node knows a subject
// is refused: blocks (from decisions, pub/sub and the start-up load) and hot
// subjects (a rule whose TAT is known to be ahead). A field holds one kind
// only: rules that block are never cached as hot. Only refusals are cached;
// an admission is never answered locally while Redis is up.
type denyCache struct {
	mu sync.RWMutex
	m  map[string]denyEntry
}

type denyEntry struct {
	until time.Time
	rule  string
	block bool
	told  bool // a refusal from this entry was already reported with Notify
}

func newDenyCache() *denyCache { return &denyCache{m: make(map[string]denyEntry)} }

// get returns the time left on key's refusal, if one is known at now, and
// whether this is the first refusal served from the entry that nobody was
// told about (the entry is then marked told).
func (c *denyCache) get(key string, now time.Time) (left time.Duration, first bool, ok bool) {
	c.mu.RLock()
	e, ok := c.m[key]
	c.mu.RUnlock()
	if !ok {
		return 0, false, false
	}
	left = e.until.Sub(now)
	if left <= 0 {
		return 0, false, false
	}
	if !e.told {
		c.mu.Lock()
		if cur, ok := c.m[key]; ok && !cur.told {
			cur.told, first = true, true
			c.m[key] = cur
		}
		c.mu.Unlock()
	}
	return left, first, true
}

// put records a refusal, keeping the later end when one is already known.
func (c *denyCache) put(key string, e denyEntry) {
	c.mu.Lock()
	if old, ok := c.m[key]; !ok || old.until.Before(e.until) {
		if ok && old.until.After(time.Now()) {
			e.told = e.told || old.told
		}
		c.m[key] = e
	}
	c.mu.Unlock()
}

// remove forgets key.
func (c *denyCache) remove(key string) {
	c.mu.Lock()
	delete(c.m, key)
	c.mu.Unlock()
}

// sweep drops ended entries.
func (c *denyCache) sweep(now time.Time) {
	c.mu.Lock()
	for k, e := range c.m {
		if !e.until.After(now) {
			delete(c.m, k)
		}
	}
	c.mu.Unlock()
}

// blocks returns the blocks still running at now with their time left.
func (c *denyCache) blocks(now time.Time) map[string]time.Duration {
	c.mu.RLock()
	defer c.mu.RUnlock()
	out := make(map[string]time.Duration)
	for k, e := range c.m {
		if e.block && e.until.After(now) {
			out[k] = e.until.Sub(now)
		}
	}
	return out
}

// size is the number of entries, ended ones included until the next sweep.
func (c *denyCache) size() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.m)
}

// localGCRA is the per-node limiter used while Redis is unreachable: the same
// GCRA on the node's monotonic clock.
type localGCRA struct {
	mu     sync.Mutex
	tat    map[string]time.Time
	denied map[string]time.Time // refusal already told until then
	ops    int
}

func newLocalGCRA() *localGCRA {
	return &localGCRA{tat: make(map[string]time.Time), denied: make(map[string]time.Time)}
}

// allow admits one event, made late before now, against every rule or
// none, returning the index of the rule with the longest wait, that wait,
// and whether this refusal is the first of its run (the one to tell the
// user about). As in wire's decide script, a rule admits a late event if it would
// have at the event's time, or now.
func (g *localGCRA) allow(keys []string, rules []Rule, now time.Time, late time.Duration) (bool, int, time.Duration, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.ops++
	if g.ops%4096 == 0 {
		for k, t := range g.tat {
			if t.Before(now) {
				delete(g.tat, k)
			}
		}
		for k, t := range g.denied {
			if t.Before(now) {
				delete(g.denied, k)
			}
		}
	}
	next := make([]time.Time, len(keys))
	worst, wait := -1, time.Duration(0)
	for i, k := range keys {
		T := rules[i].Period / time.Duration(rules[i].Limit)
		tau := T * time.Duration(rules[i].Limit-1)
		tat := g.tat[k]
		ahead := tat.Sub(now)
		if t0 := now.Add(-late); late > 0 {
			tat = later(tat, t0)
			ahead = min(ahead, tat.Sub(t0))
		} else {
			tat = later(tat, now)
		}
		if ahead > tau {
			if w := ahead - tau; w > wait {
				worst, wait = i, w
			}
		}
		next[i] = tat.Add(T)
	}
	if worst >= 0 {
		k := keys[worst]
		notify := !g.denied[k].After(now)
		if notify {
			g.denied[k] = now.Add(wait)
		}
		return false, worst, wait, notify
	}
	for i, k := range keys {
		g.tat[k] = next[i]
	}
	return true, -1, 0, false
}

// reset forgets all state, so a later outage starts from full budgets.
func (g *localGCRA) reset() {
	g.mu.Lock()
	g.tat = make(map[string]time.Time)
	g.denied = make(map[string]time.Time)
	g.mu.Unlock()
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}
