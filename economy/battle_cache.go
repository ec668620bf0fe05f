package economy

import (
	"sync"
	"time"
)

// A node keeps the active battles it last stepped, accepted or read, each
// with the version of its row (xmin: the transaction that wrote it). A
// move computes its step on that copy and sends it in one round trip;
// economy.battle_step_at applies it only while the row is still at that
// version, so a battle another node (or anything else) changed meanwhile
// is read again and nothing is written from a stale copy.

const (
	// battleCacheSize bounds the battles a node keeps: a few KB each.
	battleCacheSize = 4096
	// battleCacheAge bounds how long a node keeps a battle. A row version
	// is a 32-bit transaction ID, which repeats only after 2^32 writing
	// transactions: never within minutes. A battle waits at most a turn's
	// deadline between steps.
	battleCacheAge = 10 * time.Minute
)

// battleCache is the active battles a node saw, by ID.
type battleCache struct {
	mu sync.Mutex
	m  map[int64]cachedBattle
}

type cachedBattle struct {
	b       Battle
	version int64
	at      time.Time // when it was kept, by the wall clock
}

// get returns battle id as last kept and its row version.
func (c *battleCache) get(id int64) (Battle, int64, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok {
		return Battle{}, 0, false
	}
	if time.Since(e.at) > battleCacheAge {
		delete(c.m, id)
		return Battle{}, 0, false
	}
	return e.b, e.version, true
}

// put keeps b at row version; only active battles are kept, so a battle
// that ended is dropped.
func (c *battleCache) put(b Battle, version int64) {
	if b.State != BattleActive || b.Play == nil {
		c.drop(b.ID)
		return
	}
	b = cloneBattle(b)
	// As the row holds it: PostgreSQL keeps microseconds.
	b.Deadline = b.Deadline.Truncate(time.Microsecond)
	now := time.Now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[int64]cachedBattle)
	}
	if _, ok := c.m[b.ID]; !ok && len(c.m) >= battleCacheSize {
		c.evict(now)
	}
	c.m[b.ID] = cachedBattle{b: b, version: version, at: now}
}

// evict makes room: it drops the battles kept too long, or else an eighth
// of them, whichever (map order is random).
func (c *battleCache) evict(now time.Time) {
	for id, e := range c.m {
		if now.Sub(e.at) > battleCacheAge {
			delete(c.m, id)
		}
	}
	for id := range c.m {
		if len(c.m) < battleCacheSize*7/8 {
			break
		}
		delete(c.m, id)
	}
}

// drop forgets battle id.
func (c *battleCache) drop(id int64) {
	c.mu.Lock()
	delete(c.m, id)
	c.mu.Unlock()
}

// cloneBattle copies b's play, the part a step replaces, so that what a
// caller gets and what the cache keeps share nothing a step changes.
// (Steps never change a slice in place: play copies the log and moves.)
func cloneBattle(b Battle) Battle {
	if b.Play != nil {
		st := *b.Play
		st.Log = append([]string(nil), st.Log...)
		st.Moves = append([]MoveMade(nil), st.Moves...)
		b.Play = &st
	}
	return b
}
