package economy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"time"
)

// The seasonal events' rules, pure functions of the calendar and the
// players' standings: which event runs at an instant, what a play earns
// during it, what the shop charges, and who is paid what when it ends.
// season.go reads the state in a transaction, asks these and writes what
// they decided.

// Plays that earn event tokens.
const (
	PlayWork   = "work"
	PlayGather = "gather"
)

// Calendar is the operator's calendar of seasonal events (events.json):
// when each runs, what it multiplies, what playing earns, what its shop
// sells and what its board pays at the end. Events never overlap.
type Calendar struct {
	Events []Event `json:"events"`
}

// Event is one seasonal event.
type Event struct {
	Key         string    `json:"key"`
	Name        string    `json:"name"`
	Description string    `json:"description"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"` // exclusive
	// WorkPercent multiplies /work pay (100: unchanged, 150: ×1.5).
	WorkPercent int64 `json:"work_percent"`
	// GatherPercent multiplies the weights of rare and better finds as a
	// luck buff of GatherPercent−100 percent does (100: unchanged).
	GatherPercent int64      `json:"gather_percent"`
	Token         EventToken `json:"token"`
	// Tokens is what one play of each kind earns.
	Tokens EventTokens `json:"tokens"`
	// Collectibles are found only during the event, by gathering, each
	// gather with CollectiblePerMille chance, drawn by weight.
	Collectibles        []EventCollectible `json:"collectibles"`
	CollectiblePerMille int64              `json:"collectible_per_mille"`
	Shop                []EventOffer       `json:"shop"`
	Rewards             EventRewards       `json:"rewards"`
}

// EventToken names the event's currency.
type EventToken struct {
	Name  string `json:"name"`
	Emoji string `json:"emoji"`
}

// EventTokens is what one play earns, by kind.
type EventTokens struct {
	Work   int64 `json:"work"`
	Gather int64 `json:"gather"`
}

// EventCollectible is an item that exists only in its event's collection.
type EventCollectible struct {
	Key    string `json:"key"`
	Name   string `json:"name"`
	Rarity string `json:"rarity"`
	Weight int64  `json:"weight"`
}

// EventOffer is one line of the event shop: a catalogue item (not a tool)
// or one of the event's collectibles, for Price tokens each.
type EventOffer struct {
	Item  string `json:"item"`
	Price int64  `json:"price"`
}

// EventRewards are paid once when the event ends: each player ranked
// within a Top tier gets that tier's reward (the first tier whose UpTo
// covers the rank), and every player whose earned tokens reach
// Threshold.Tokens gets Threshold's reward as well.
type EventRewards struct {
	Top       []RankReward    `json:"top"`
	Threshold ThresholdReward `json:"threshold"`
}

// RankReward pays the ranks up to UpTo not covered by an earlier tier.
type RankReward struct {
	UpTo    int    `json:"up_to"`
	Credits int64  `json:"credits"`
	Item    string `json:"item,omitempty"` // a catalogue item, optional
}

// ThresholdReward pays everyone who earned at least Tokens.
type ThresholdReward struct {
	Tokens  int64  `json:"tokens"`
	Credits int64  `json:"credits"`
	Item    string `json:"item,omitempty"`
}

var eventKeyPattern = regexp.MustCompile(`^[a-z0-9_]{1,48}$`)

// MaxEventReward bounds one reward's credits, so that a typo in the
// calendar cannot mint without limit.
const MaxEventReward = 100_000_000

// ParseCalendar parses and validates a calendar in the JSON format of the
// embedded events.json against cat: unknown fields, overlapping events,
// unknown items, tools in the shop (they would lack durability) and
// out-of-range numbers are refused, every problem named.
func ParseCalendar(data []byte, cat *Catalog) (*Calendar, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Calendar
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	if err := c.check(cat); err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	slices.SortFunc(c.Events, func(a, b Event) int { return a.Start.Compare(b.Start) })
	return &c, nil
}

func (c *Calendar) check(cat *Catalog) error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	seen := map[string]bool{}
	for i := range c.Events {
		e := &c.Events[i]
		name := fmt.Sprintf("event %d (%q)", i, e.Key)
		if !eventKeyPattern.MatchString(e.Key) {
			bad("%s: key must be 1-48 of a-z, 0-9 and _", name)
		}
		if seen[e.Key] {
			bad("%s: key used twice", name)
		}
		seen[e.Key] = true
		if e.Name == "" || e.Token.Name == "" {
			bad("%s: needs a name and a token name", name)
		}
		if e.Start.IsZero() || !e.End.After(e.Start) {
			bad("%s: end must be after start", name)
		}
		if e.WorkPercent < 100 || e.WorkPercent > 1000 || e.GatherPercent < 100 || e.GatherPercent > 1000 {
			bad("%s: work_percent and gather_percent must be 100-1000", name)
		}
		if e.Tokens.Work < 0 || e.Tokens.Gather < 0 || e.Tokens.Work > 1_000_000 || e.Tokens.Gather > 1_000_000 {
			bad("%s: tokens per play must be 0-1000000", name)
		}
		if e.CollectiblePerMille < 0 || e.CollectiblePerMille > 1000 {
			bad("%s: collectible_per_mille must be 0-1000", name)
		}
		if e.CollectiblePerMille > 0 && len(e.Collectibles) == 0 {
			bad("%s: collectible_per_mille without collectibles", name)
		}
		own := map[string]bool{}
		for _, col := range e.Collectibles {
			if !eventKeyPattern.MatchString(col.Key) || col.Name == "" || col.Weight <= 0 {
				bad("%s: collectible %q needs a key, a name and a positive weight", name, col.Key)
			}
			if _, ok := cat.RarityRank(col.Rarity); !ok {
				bad("%s: collectible %q: unknown rarity %q", name, col.Key, col.Rarity)
			}
			if _, clash := cat.Item(col.Key); clash || own[col.Key] {
				bad("%s: collectible %q is already an item", name, col.Key)
			}
			own[col.Key] = true
		}
		offered := map[string]bool{}
		for _, o := range e.Shop {
			if o.Price <= 0 || o.Price > 1_000_000_000 {
				bad("%s: shop %q: price must be 1-1000000000", name, o.Item)
			}
			if offered[o.Item] {
				bad("%s: shop %q listed twice", name, o.Item)
			}
			offered[o.Item] = true
			if own[o.Item] {
				continue
			}
			if it, ok := cat.Item(o.Item); !ok || it.Type == TypeTool {
				bad("%s: shop %q is neither an event collectible nor a catalogue item other than a tool", name, o.Item)
			}
		}
		rewardItem := func(what, key string) {
			if key == "" {
				return
			}
			if it, ok := cat.Item(key); !ok || it.Type == TypeTool {
				bad("%s: %s item %q is not a catalogue item other than a tool", name, what, key)
			}
		}
		prev := 0
		for _, t := range e.Rewards.Top {
			if t.UpTo <= prev || t.UpTo > 1000 {
				bad("%s: top tiers need increasing up_to, at most 1000", name)
			}
			if t.Credits < 0 || t.Credits > MaxEventReward {
				bad("%s: top tier credits must be 0-%d", name, MaxEventReward)
			}
			rewardItem("top tier", t.Item)
			prev = t.UpTo
		}
		th := e.Rewards.Threshold
		if th.Tokens < 0 || th.Credits < 0 || th.Credits > MaxEventReward || (th.Tokens == 0) != (th.Credits == 0 && th.Item == "") {
			bad("%s: threshold needs tokens > 0 with credits (0-%d) or an item, or neither", name, MaxEventReward)
		}
		rewardItem("threshold", th.Item)
	}
	byStart := slices.Clone(c.Events)
	slices.SortFunc(byStart, func(a, b Event) int { return a.Start.Compare(b.Start) })
	for i := 1; i < len(byStart); i++ {
		if byStart[i].Start.Before(byStart[i-1].End) {
			bad("events %q and %q overlap", byStart[i-1].Key, byStart[i].Key)
		}
	}
	return errors.Join(errs...)
}

// Event returns the event with key.
func (c *Calendar) Event(key string) (*Event, bool) {
	for i := range c.Events {
		if c.Events[i].Key == key {
			return &c.Events[i], true
		}
	}
	return nil, false
}

// Active returns the event running at now (start <= now < end), or nil.
func (c *Calendar) Active(now time.Time) *Event {
	if c == nil {
		return nil
	}
	for i := range c.Events {
		if e := &c.Events[i]; !now.Before(e.Start) && now.Before(e.End) {
			return e
		}
	}
	return nil
}

// Next returns the first event that starts after now, or nil.
func (c *Calendar) Next(now time.Time) *Event {
	if c == nil {
		return nil
	}
	for i := range c.Events {
		if e := &c.Events[i]; e.Start.After(now) {
			return e
		}
	}
	return nil
}

// Ended returns the events over at now, in calendar order.
func (c *Calendar) Ended(now time.Time) []*Event {
	if c == nil {
		return nil
	}
	var out []*Event
	for i := range c.Events {
		if e := &c.Events[i]; !now.Before(e.End) {
			out = append(out, e)
		}
	}
	return out
}

// Collectible returns the event's collectible with key.
func (e *Event) Collectible(key string) (EventCollectible, bool) {
	for _, c := range e.Collectibles {
		if c.Key == key {
			return c, true
		}
	}
	return EventCollectible{}, false
}

// Offer returns the shop line selling item.
func (e *Event) Offer(item string) (EventOffer, bool) {
	for _, o := range e.Shop {
		if o.Item == item {
			return o, true
		}
	}
	return EventOffer{}, false
}

// eventWorkPay is pay under ev's work multiplier (ev nil: unchanged),
// saturating at MaxInt64.
func eventWorkPay(ev *Event, pay int64) int64 {
	if ev == nil || ev.WorkPercent == 100 {
		return pay
	}
	if pay > math.MaxInt64/ev.WorkPercent {
		return math.MaxInt64
	}
	return pay * ev.WorkPercent / 100
}

// eventGatherLuck is the luck percent ev adds to a gather (0 without one).
func eventGatherLuck(ev *Event) int64 {
	if ev == nil {
		return 0
	}
	return ev.GatherPercent - 100
}

// eventPlayTokens is what one play of kind earns during ev.
func eventPlayTokens(ev *Event, kind string) int64 {
	if ev == nil {
		return 0
	}
	switch kind {
	case PlayWork:
		return ev.Tokens.Work
	case PlayGather:
		return ev.Tokens.Gather
	}
	return 0
}

// eventDraw decides whether a gather during ev also finds one of its
// collectibles, and which: roll(n) returns a uniform value in [0, n).
func eventDraw(ev *Event, roll func(int64) int64) (EventCollectible, bool) {
	if ev == nil || ev.CollectiblePerMille <= 0 || len(ev.Collectibles) == 0 {
		return EventCollectible{}, false
	}
	if roll(1000) >= ev.CollectiblePerMille {
		return EventCollectible{}, false
	}
	var total int64
	for _, c := range ev.Collectibles {
		total += c.Weight
	}
	r := roll(total)
	for _, c := range ev.Collectibles {
		if r < c.Weight {
			return c, true
		}
		r -= c.Weight
	}
	return ev.Collectibles[len(ev.Collectibles)-1], true
}

// eventShopCost is the token price of qty of offer for a player holding
// have tokens.
func eventShopCost(o EventOffer, qty int, have int64) (int64, error) {
	if qty < 1 || qty > MaxQuantity {
		return 0, ErrBadQuantity
	}
	cost := o.Price * int64(qty) // Price <= 1e9 and qty <= 100: no overflow
	if cost > have {
		return 0, ErrNotEnoughTokens.Withf("That costs %d tokens; you have %d.", cost, have)
	}
	return cost, nil
}

// EventStanding is one player's place on an event's board.
type EventStanding struct {
	User    int64     `json:"user"`
	Earned  int64     `json:"earned"`  // tokens earned in all (spending does not lower it)
	Reached time.Time `json:"reached"` // when Earned last grew: the earlier ranks first on a tie
	Rank    int       `json:"rank"`    // 1 = first
}

// rankStandings orders the board: most earned first, then who reached
// it first, then the lower user ID, and numbers the ranks from 1. The
// order is total, so every node ranks the same rows the same way.
func rankStandings(s []EventStanding) []EventStanding {
	out := slices.Clone(s)
	slices.SortFunc(out, func(a, b EventStanding) int {
		switch {
		case a.Earned != b.Earned:
			if a.Earned > b.Earned {
				return -1
			}
			return 1
		case !a.Reached.Equal(b.Reached):
			return a.Reached.Compare(b.Reached)
		case a.User < b.User:
			return -1
		case a.User > b.User:
			return 1
		}
		return 0
	})
	for i := range out {
		out[i].Rank = i + 1
	}
	return out
}

// EventPayout is what one player is paid when an event ends.
type EventPayout struct {
	User    int64    `json:"user"`
	Rank    int      `json:"rank"`
	Earned  int64    `json:"earned"`
	Credits int64    `json:"credits"`
	Items   []string `json:"items,omitempty"`
}

// eventPayouts decides the end-of-event rewards from the ranked board:
// the top tiers by rank, the threshold by tokens earned, both when a
// player qualifies for both. Players who qualify for nothing are left out;
// a player with nothing earned qualifies for nothing.
func eventPayouts(ev *Event, ranked []EventStanding) []EventPayout {
	var out []EventPayout
	for _, s := range ranked {
		if s.Earned <= 0 {
			continue
		}
		p := EventPayout{User: s.User, Rank: s.Rank, Earned: s.Earned}
		for _, t := range ev.Rewards.Top {
			if s.Rank <= t.UpTo {
				p.Credits += t.Credits
				if t.Item != "" {
					p.Items = append(p.Items, t.Item)
				}
				break
			}
		}
		if th := ev.Rewards.Threshold; th.Tokens > 0 && s.Earned >= th.Tokens {
			p.Credits += th.Credits
			if th.Item != "" {
				p.Items = append(p.Items, th.Item)
			}
		}
		if p.Credits > 0 || len(p.Items) > 0 {
			out = append(out, p)
		}
	}
	return out
}
