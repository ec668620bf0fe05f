package commands

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// The economy's autocomplete: items a user owns (for /sell, /use and
// /vault) or can buy (/buy), ranked by the name typed so far and shown
// with how many the user has. A user's items come from a per-user cache
// of the economy's Holdings view, so that keystrokes do not each read the
// database.

// Holdings cache bounds: an entry lives holdingsTTL, or until the user's
// own command that changes state forgets it; at most holdingsMaxUsers are
// kept.
const (
	holdingsTTL      = 15 * time.Second
	holdingsMaxUsers = 10000
	// holdingsLoadTimeout bounds one load, which callers share.
	holdingsLoadTimeout = 5 * time.Second
)

// holdingsLoader reads every kind of item a user owns; *economy.Service is one.
type holdingsLoader interface {
	Holdings(ctx context.Context, user int64) ([]economy.Stack, error)
}

// holdingsCache keeps users' holdings for holdingsTTL. Concurrent misses
// for one user share one load; a load that a write overtook (forget) is
// returned to its callers but not kept.
type holdingsCache struct {
	load holdingsLoader
	ttl  time.Duration
	max  int
	now  func() time.Time

	mu    sync.Mutex
	users map[int64]*holdingsEntry
}

// holdingsEntry is one user's holdings, or a load of them in progress
// until ready is closed.
type holdingsEntry struct {
	ready  chan struct{}
	stacks []economy.Stack
	err    error
	at     time.Time
}

func newHoldingsCache(load holdingsLoader) *holdingsCache {
	return &holdingsCache{load: load, ttl: holdingsTTL, max: holdingsMaxUsers, now: time.Now, users: map[int64]*holdingsEntry{}}
}

// get returns user's holdings, from the cache when fresh. The slice is
// shared: callers must not change it.
func (c *holdingsCache) get(ctx context.Context, user int64) ([]economy.Stack, error) {
	c.mu.Lock()
	e := c.users[user]
	if e != nil {
		select {
		case <-e.ready:
			if e.err != nil || c.now().Sub(e.at) >= c.ttl {
				e = nil
			}
		default: // loading: share it
		}
	}
	if e == nil {
		e = &holdingsEntry{ready: make(chan struct{})}
		c.evictLocked()
		c.users[user] = e
		c.mu.Unlock()
		// The load is not bound to this caller's context: others may
		// wait on it. holdingsLoadTimeout bounds it instead.
		lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), holdingsLoadTimeout)
		stacks, err := c.load.Holdings(lctx, user)
		cancel()
		c.mu.Lock()
		e.stacks, e.err, e.at = stacks, err, c.now()
		close(e.ready)
		if err != nil && c.users[user] == e {
			delete(c.users, user)
		}
		c.mu.Unlock()
		return stacks, err
	}
	c.mu.Unlock()
	select {
	case <-e.ready:
		return e.stacks, e.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// forget drops user's holdings, after a command of theirs that may have
// changed them.
func (c *holdingsCache) forget(user int64) {
	c.mu.Lock()
	delete(c.users, user)
	c.mu.Unlock()
}

// evictLocked makes room for one more user: expired entries go first,
// then any loaded one.
func (c *holdingsCache) evictLocked() {
	if len(c.users) < c.max {
		return
	}
	now := c.now()
	for u, e := range c.users {
		select {
		case <-e.ready:
			if now.Sub(e.at) >= c.ttl {
				delete(c.users, u)
			}
		default:
		}
	}
	for u, e := range c.users {
		if len(c.users) < c.max {
			return
		}
		select {
		case <-e.ready:
			delete(c.users, u)
		default:
		}
	}
}

// forgetAfter wraps the Run of every command in cmds that changes state,
// so that its user's cached holdings are dropped once it ran.
func (c *holdingsCache) forgetAfter(cmds []*Command) {
	for _, cmd := range cmds {
		c.forgetAfter(cmd.Subcommands)
		if !cmd.Writes || cmd.Run == nil {
			continue
		}
		run := cmd.Run
		cmd.Run = func(ctx context.Context, inv *Invocation) (Reply, error) {
			defer c.forget(userID(inv.User))
			return run(ctx, inv)
		}
	}
}

// free is how many of a stack the user can sell or use: vaulted ones are on show.
func free(st economy.Stack) int { return st.Count - st.Vaulted }

// ownedChoices ranks the stacks of inv's user that keep says, named by
// label, for partial.
func (e *econ) ownedChoices(ctx context.Context, inv *Invocation, partial string, keep func(economy.Stack, *economy.Item) bool, label func(economy.Stack, *economy.Item) string) ([]Choice, error) {
	stacks, err := e.holdings.get(ctx, userID(inv.User))
	if err != nil {
		return nil, err
	}
	cands := make([]candidate, 0, len(stacks))
	for _, st := range stacks {
		it, ok := e.cat.Item(st.Item)
		if !ok || !keep(st, it) {
			continue
		}
		cands = append(cands, candidate{choice: Choice{Name: label(st, it), Value: it.Key}, texts: []string{it.Name, it.Key}})
	}
	return rank(partial, cands), nil
}

// sellChoices suggests the items the user can sell: those not all vaulted.
func (e *econ) sellChoices(ctx context.Context, inv *Invocation, partial string) ([]Choice, error) {
	return e.ownedChoices(ctx, inv, partial,
		func(st economy.Stack, _ *economy.Item) bool { return free(st) > 0 },
		func(st economy.Stack, it *economy.Item) string {
			return fmt.Sprintf("%s ×%d · sells for %s each", it.Name, free(st), credits(it.Sell))
		})
}

// useChoices suggests the consumables and companion capsules the user has.
func (e *econ) useChoices(ctx context.Context, inv *Invocation, partial string) ([]Choice, error) {
	return e.ownedChoices(ctx, inv, partial,
		func(st economy.Stack, it *economy.Item) bool {
			return (it.Type == economy.TypeConsumable || it.Type == economy.TypeCapsule) && free(st) > 0
		},
		func(st economy.Stack, it *economy.Item) string { return fmt.Sprintf("%s ×%d", it.Name, free(st)) })
}

// vaultAddChoices suggests the user's finds rare enough for the vault and
// not all on show already.
func (e *econ) vaultAddChoices(ctx context.Context, inv *Invocation, partial string) ([]Choice, error) {
	minRank, _ := e.cat.RarityRank(e.cat.VaultMinRarity)
	return e.ownedChoices(ctx, inv, partial,
		func(st economy.Stack, it *economy.Item) bool {
			rank, _ := e.cat.RarityRank(it.Rarity)
			return it.Type == economy.TypeCollectible && rank >= minRank && free(st) > 0
		},
		func(st economy.Stack, it *economy.Item) string {
			return fmt.Sprintf("%s ×%d (%s)", it.Name, free(st), it.Rarity)
		})
}

// vaultRemoveChoices suggests the user's finds on show.
func (e *econ) vaultRemoveChoices(ctx context.Context, inv *Invocation, partial string) ([]Choice, error) {
	return e.ownedChoices(ctx, inv, partial,
		func(st economy.Stack, _ *economy.Item) bool { return st.Vaulted > 0 },
		func(st economy.Stack, it *economy.Item) string {
			return fmt.Sprintf("%s ×%d on show", it.Name, st.Vaulted)
		})
}

// toolSuggestions suggests the user's tools for /gather, with how many
// they have and the uses left on the most worn.
func (e *econ) toolSuggestions(ctx context.Context, inv *Invocation, partial string) ([]Choice, error) {
	return e.ownedChoices(ctx, inv, partial,
		func(st economy.Stack, it *economy.Item) bool { return it.Type == economy.TypeTool && free(st) > 0 },
		func(st economy.Stack, it *economy.Item) string {
			return fmt.Sprintf("%s ×%d · most worn: %s left", it.Name, free(st), nounCount(int64(st.Durability), "use", "uses"))
		})
}

// buyChoices suggests the shop's items with their price and how many the
// user has. Without the user's holdings (the economy is unreachable) it
// still suggests, without counts.
func (e *econ) buyChoices(ctx context.Context, inv *Invocation, partial string) ([]Choice, error) {
	owned := map[string]int{}
	if stacks, err := e.holdings.get(ctx, userID(inv.User)); err == nil {
		for _, st := range stacks {
			owned[st.Item] = st.Count
		}
	}
	var cands []candidate
	for _, it := range e.cat.Shop() {
		name := fmt.Sprintf("%s · %s", it.Name, credits(it.Price))
		if n := owned[it.Key]; n > 0 {
			name += fmt.Sprintf(" · you have %d", n)
		}
		cands = append(cands, candidate{choice: Choice{Name: name, Value: it.Key}, texts: []string{it.Name, it.Key}})
	}
	return rank(partial, cands), nil
}
