package economy

import (
	"math"
	"time"
)

// The game's rules as pure functions: no database, no clock, no randomness
// of their own (a draw is passed in as intn, which returns a number in
// [0, n)). The transactions read the state, call a rule and write what it
// decided, so a rule is tested with plain table-driven tests. New rules
// follow this pattern.

// dailyGap returns how many whole UTC days were missed between the last
// claim and now, and whether a claim is open (false: already claimed
// today). A first claim (last nil) misses nothing.
func dailyGap(last *time.Time, now time.Time) (missed int, open bool) {
	if last == nil {
		return 0, true
	}
	days := int(utcDay(now).Sub(utcDay(*last)).Hours() / 24)
	if days <= 0 {
		return 0, false
	}
	return days - 1, true
}

// dailyNext is when the next daily claim opens: the next UTC midnight.
func dailyNext(now time.Time) time.Time { return utcDay(now).AddDate(0, 0, 1) }

// streakClaim is what one daily claim does to the streak.
type streakClaim struct {
	Streak     int  // the streak after the claim
	SaversUsed int  // Streak Shield charges spent on missed days
	Decayed    bool // uncovered missed days cut the streak
}

// dailyStreak applies the streak rule to a claim: the first claim starts
// at 1; otherwise each missed day is covered by a shield charge while any
// are left (the streak survives as if claimed), every uncovered missed day
// halves the streak (rounding down), and the claim adds one.
func dailyStreak(kept int, first bool, missed, shields int) streakClaim {
	if first {
		return streakClaim{Streak: 1}
	}
	c := streakClaim{Streak: kept}
	if missed > 0 {
		c.SaversUsed = min(shields, missed)
		for i := c.SaversUsed; i < missed && c.Streak > 0; i++ {
			c.Streak /= 2
			c.Decayed = true
		}
	}
	c.Streak++
	return c
}

// dailyReward is the reward for a streak and its multiplier in percent.
func (c *Catalog) dailyReward(streak int) (reward, percent int64) {
	percent = c.DailyPercent(streak)
	return c.Daily.Base * percent / 100, percent
}

// workPay draws a shift's pay from the job's range and raises it by an
// active work-pay buff of bonus percent.
func workPay(j *Job, bonus int64, intn func(int64) int64) int64 {
	pay := j.MinPay + intn(j.MaxPay-j.MinPay+1)
	return pay + pay*bonus/100
}

// cooldownNext checks a cooldown that is ready at ready (found: one was
// ever set) and returns when it is ready again after a use now with
// duration d, or the cooldown refusal naming label.
func cooldownNext(ready time.Time, found bool, now time.Time, d time.Duration, label string) (time.Time, error) {
	if found && now.Before(ready) {
		return time.Time{}, cooldownRefusal(label, ready)
	}
	return now.Add(d), nil
}

// gatherOdds are the weights of the rarity tiers (in catalogue order) for
// one gather with tool: a tier the tool drops nothing of weighs 0, and luck
// raises rare-and-better tiers by luck percent.
func (c *Catalog) gatherOdds(tool *Item, luck int64) (weights []int64, total int64) {
	rareRank, _ := c.RarityRank("rare")
	weights = make([]int64, len(c.Rarities))
	for i, r := range c.Rarities {
		if len(tool.Drops[r.Key]) == 0 {
			continue
		}
		w := r.Weight
		if i >= rareRank {
			w += w * luck / 100
		}
		weights[i] = w
		total += w
	}
	return weights, total
}

// gatherDraw draws a rarity tier by the odds and then an item of that tier
// from tool's drop table.
func (c *Catalog) gatherDraw(tool *Item, luck int64, intn func(int64) int64) (rarity, item string) {
	weights, total := c.gatherOdds(tool, luck)
	x := intn(total)
	for i, w := range weights {
		if x < w {
			rarity = c.Rarities[i].Key
			drops := tool.Drops[rarity]
			return rarity, drops[intn(int64(len(drops)))]
		}
		x -= w
	}
	panic("economy: unreachable roll") // total > 0 is checked at catalogue load
}

// buyCost is the price of qty of it from the shop.
func buyCost(it *Item, qty int) (int64, error) {
	switch {
	case it.Price <= 0:
		return 0, ErrNotForSale
	case qty < 1 || qty > MaxQuantity:
		return 0, ErrBadQuantity
	case it.Price > math.MaxInt64/int64(qty):
		return 0, ErrOverflow
	}
	return it.Price * int64(qty), nil
}

// sellGain is what selling qty of it pays.
func sellGain(it *Item, qty int) (int64, error) {
	switch {
	case it.Sell <= 0:
		return 0, ErrNotSellable
	case qty < 1 || qty > MaxQuantity:
		return 0, ErrBadQuantity
	}
	return it.Sell * int64(qty), nil
}

// deposit is how much of amt moves from a's wallet into the bank: `all`
// deposits as much as fits, anything else must fit the room left.
func deposit(a Account, amt Amount) (int64, error) {
	room := a.BankCapacity - a.Bank
	n := amt.Resolve(a.Wallet)
	if amt.All && n > room {
		n = room
	}
	switch {
	case amt.All && a.Wallet > 0 && room <= 0:
		return 0, ErrBankFull
	case n <= 0:
		return 0, ErrNonPositive
	case n > a.Wallet:
		return 0, ErrInsufficientFunds
	case n > room:
		return 0, ErrBankFull
	}
	return n, nil
}

// withdrawal is how much of amt moves from a's bank into the wallet.
func withdrawal(a Account, amt Amount) (int64, error) {
	n := amt.Resolve(a.Bank)
	switch {
	case n <= 0:
		return 0, ErrNonPositive
	case n > a.Bank:
		return 0, ErrInsufficientBank
	case a.Wallet > math.MaxInt64-n:
		return 0, ErrOverflow
	}
	return n, nil
}

// vaultable reports whether it may go in the vault: a collectible of the
// vault's minimum rarity or better.
func (c *Catalog) vaultable(it *Item) bool {
	rank, _ := c.RarityRank(it.Rarity)
	minRank, _ := c.RarityRank(c.VaultMinRarity)
	return it.Type == TypeCollectible && rank >= minRank
}
