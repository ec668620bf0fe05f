package economy

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// testEvent is a valid event for the rules' tests.
func testEvent() Event {
	return Event{
		Key: "test_event", Name: "Test", Start: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
		End: time.Date(2030, 1, 8, 0, 0, 0, 0, time.UTC), WorkPercent: 150, GatherPercent: 200,
		Token: EventToken{Name: "Flake"}, Tokens: EventTokens{Work: 10, Gather: 5},
		Collectibles:        []EventCollectible{{Key: "globe", Name: "Globe", Rarity: "common", Weight: 3}, {Key: "shard", Name: "Shard", Rarity: "rare", Weight: 1}},
		CollectiblePerMille: 250,
		Shop:                []EventOffer{{Item: "coffee", Price: 40}, {Item: "globe", Price: 100}},
		Rewards: EventRewards{
			Top:       []RankReward{{UpTo: 1, Credits: 1000, Item: "skin_gilded"}, {UpTo: 3, Credits: 500}},
			Threshold: ThresholdReward{Tokens: 50, Credits: 100},
		},
	}
}

func TestDefaultCalendarIsValid(t *testing.T) {
	cal, err := DefaultCalendar(DefaultCatalog())
	if err != nil {
		t.Fatal(err)
	}
	var winter, spring bool
	for _, e := range cal.Events {
		m := e.Start.Month()
		winter = winter || m == time.December || m == time.January
		spring = spring || m >= time.March && m <= time.May
	}
	if !winter || !spring {
		t.Errorf("the shipped calendar needs a winter and a spring event: %+v", cal.Events)
	}
}

func TestParseCalendarRefuses(t *testing.T) {
	cat := DefaultCatalog()
	for _, tt := range []struct {
		name   string
		change func(c *Calendar)
		want   string
	}{
		{"bad key", func(c *Calendar) { c.Events[0].Key = "Bad Key" }, "key must be"},
		{"end before start", func(c *Calendar) { c.Events[0].End = c.Events[0].Start }, "end must be after start"},
		{"work multiplier below 100", func(c *Calendar) { c.Events[0].WorkPercent = 50 }, "work_percent"},
		{"negative tokens", func(c *Calendar) { c.Events[0].Tokens.Work = -1 }, "tokens per play"},
		{"collectible clashes with an item", func(c *Calendar) { c.Events[0].Collectibles[0].Key = "pebble" }, "already an item"},
		{"collectible of no rarity", func(c *Calendar) { c.Events[0].Collectibles[0].Rarity = "shiny" }, "unknown rarity"},
		{"shop sells a tool", func(c *Calendar) { c.Events[0].Shop[0].Item = "pickaxe" }, "other than a tool"},
		{"shop sells nothing known", func(c *Calendar) { c.Events[0].Shop[0].Item = "nope" }, "neither an event collectible"},
		{"free shop line", func(c *Calendar) { c.Events[0].Shop[0].Price = 0 }, "price must be"},
		{"tiers out of order", func(c *Calendar) { c.Events[0].Rewards.Top[1].UpTo = 1 }, "increasing up_to"},
		{"reward past the bound", func(c *Calendar) { c.Events[0].Rewards.Top[0].Credits = MaxEventReward + 1 }, "top tier credits"},
		{"threshold without reward", func(c *Calendar) { c.Events[0].Rewards.Threshold.Credits = 0 }, "threshold needs"},
		{"unknown reward item", func(c *Calendar) { c.Events[0].Rewards.Top[0].Item = "nope" }, "top tier item"},
		{"overlap", func(c *Calendar) {
			e := testEvent()
			e.Key, e.Start, e.End = "second", c.Events[0].End.Add(-time.Hour), c.Events[0].End.Add(time.Hour)
			c.Events = append(c.Events, e)
		}, "overlap"},
		{"duplicate key", func(c *Calendar) {
			e := testEvent()
			e.Start, e.End = c.Events[0].End, c.Events[0].End.Add(time.Hour)
			c.Events = append(c.Events, e)
		}, "used twice"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := &Calendar{Events: []Event{testEvent()}}
			if err := c.check(cat); err != nil {
				t.Fatalf("the valid calendar is refused: %v", err)
			}
			tt.change(c)
			err := c.check(cat)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want an error naming %q", err, tt.want)
			}
		})
	}
	if _, err := ParseCalendar([]byte(`{"events": [], "typo": 1}`), cat); err == nil {
		t.Error("an unknown field is accepted")
	}
}

func TestCalendarWhatRunsWhen(t *testing.T) {
	a := testEvent()
	b := testEvent()
	b.Key, b.Start, b.End = "later", a.End.Add(24*time.Hour), a.End.Add(48*time.Hour)
	cal := &Calendar{Events: []Event{a, b}}
	key := func(e *Event) string {
		if e == nil {
			return ""
		}
		return e.Key
	}
	for _, tt := range []struct {
		name                string
		at                  time.Time
		active, next, ended string
	}{
		{"before everything", a.Start.Add(-time.Second), "", "test_event", ""},
		{"at the first start", a.Start, "test_event", "later", ""},
		{"a nanosecond before the end", a.End.Add(-1), "test_event", "later", ""},
		{"at the end (exclusive)", a.End, "", "later", "test_event"},
		{"during the second", b.Start.Add(time.Hour), "later", "", "test_event"},
		{"after both", b.End, "", "", "test_event,later"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var ended []string
			for _, e := range cal.Ended(tt.at) {
				ended = append(ended, e.Key)
			}
			if got := key(cal.Active(tt.at)); got != tt.active {
				t.Errorf("active %q, want %q", got, tt.active)
			}
			if got := key(cal.Next(tt.at)); got != tt.next {
				t.Errorf("next %q, want %q", got, tt.next)
			}
			if got := strings.Join(ended, ","); got != tt.ended {
				t.Errorf("ended %q, want %q", got, tt.ended)
			}
		})
	}
	var none *Calendar
	if none.Active(a.Start) != nil || none.Ended(b.End) != nil {
		t.Error("a nil calendar runs something")
	}
}

func TestEventMultipliersAndTokens(t *testing.T) {
	ev := testEvent()
	for _, tt := range []struct {
		name string
		ev   *Event
		pay  int64
		want int64
	}{
		{"no event", nil, 300, 300},
		{"x1.5", &ev, 300, 450},
		{"rounds down", &ev, 301, 451},
		{"saturates", &ev, math.MaxInt64 / 2, math.MaxInt64},
	} {
		if got := eventWorkPay(tt.ev, tt.pay); got != tt.want {
			t.Errorf("%s: eventWorkPay(%d) = %d, want %d", tt.name, tt.pay, got, tt.want)
		}
	}
	if got := eventGatherLuck(&ev); got != 100 {
		t.Errorf("gather luck %d, want 100 (200%% odds)", got)
	}
	if got := eventGatherLuck(nil); got != 0 {
		t.Errorf("gather luck without an event %d", got)
	}
	for kind, want := range map[string]int64{PlayWork: 10, PlayGather: 5, "daily": 0} {
		if got := eventPlayTokens(&ev, kind); got != want {
			t.Errorf("%s earns %d, want %d", kind, got, want)
		}
	}
	if eventPlayTokens(nil, PlayWork) != 0 {
		t.Error("a play earns tokens without an event")
	}
}

func TestEventDraw(t *testing.T) {
	ev := testEvent()
	for _, tt := range []struct {
		name  string
		rolls []int64
		want  string
	}{
		{"miss", []int64{250}, ""},
		{"hit, first by weight", []int64{249, 2}, "globe"},
		{"hit, second by weight", []int64{0, 3}, "shard"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			i := 0
			roll := func(n int64) int64 { r := tt.rolls[i]; i++; return r }
			c, ok := eventDraw(&ev, roll)
			if got := c.Key; got != tt.want || ok != (tt.want != "") {
				t.Errorf("drew %q (%v), want %q", got, ok, tt.want)
			}
		})
	}
	if _, ok := eventDraw(nil, func(int64) int64 { return 0 }); ok {
		t.Error("drew without an event")
	}
}

func TestEventShopCost(t *testing.T) {
	o := EventOffer{Item: "coffee", Price: 40}
	for _, tt := range []struct {
		name string
		qty  int
		have int64
		want int64
		err  error
	}{
		{"one", 1, 40, 40, nil},
		{"three", 3, 200, 120, nil},
		{"short by one", 3, 119, 0, ErrNotEnoughTokens},
		{"zero", 0, 1000, 0, ErrBadQuantity},
		{"too many", MaxQuantity + 1, math.MaxInt64, 0, ErrBadQuantity},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := eventShopCost(o, tt.qty, tt.have)
			if got != tt.want || !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Errorf("got %d, %v; want %d, %v", got, err, tt.want, tt.err)
			}
		})
	}
}

func TestRankAndPayouts(t *testing.T) {
	t0 := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	board := []EventStanding{
		{User: 5, Earned: 40, Reached: t0},
		{User: 1, Earned: 90, Reached: t0.Add(time.Minute)},
		{User: 2, Earned: 90, Reached: t0}, // same score, reached first: ahead of 1
		{User: 4, Earned: 60, Reached: t0},
		{User: 3, Earned: 60, Reached: t0}, // same score and time: lower ID first
		{User: 6, Earned: 0, Reached: t0},  // earned nothing: never paid
	}
	ranked := rankStandings(board)
	var order []int64
	for i, s := range ranked {
		order = append(order, s.User)
		if s.Rank != i+1 {
			t.Errorf("rank %d at place %d", s.Rank, i+1)
		}
	}
	if want := []int64{2, 1, 3, 4, 5, 6}; !slices.Equal(order, want) {
		t.Fatalf("order %v, want %v", order, want)
	}
	ev := testEvent()
	got := map[int64]EventPayout{}
	for _, p := range eventPayouts(&ev, ranked) {
		got[p.User] = p
	}
	for _, tt := range []struct {
		user    int64
		credits int64
		items   string
	}{
		{2, 1000 + 100, "skin_gilded"}, // first, and past the threshold
		{1, 500 + 100, ""},             // second
		{3, 500 + 100, ""},             // third
		{4, 100, ""},                   // threshold only
	} {
		p, ok := got[tt.user]
		if !ok || p.Credits != tt.credits || strings.Join(p.Items, ",") != tt.items {
			t.Errorf("user %d: %+v, want %d credits and items %q", tt.user, p, tt.credits, tt.items)
		}
	}
	for _, u := range []int64{5, 6} {
		if p, ok := got[u]; ok {
			t.Errorf("user %d is paid %+v, qualifies for nothing", u, p)
		}
	}
	if len(got) != 4 {
		t.Errorf("%d payouts, want 4", len(got))
	}
}
