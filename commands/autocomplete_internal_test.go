package commands

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
	ajson "github.com/diamondburned/arikawa/v3/utils/json"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/chopsticks-bot/chopsticks/economy"
)

func TestRank(t *testing.T) {
	cands := []candidate{
		{Choice{Name: "Iron Pickaxe ×2", Value: "iron_pickaxe"}, []string{"Iron Pickaxe", "iron_pickaxe"}},
		{Choice{Name: "Pickaxe ×1", Value: "pickaxe"}, []string{"Pickaxe", "pickaxe"}},
		{Choice{Name: "Coffee ×3", Value: "coffee"}, []string{"Coffee", "coffee"}},
		{Choice{Name: "Silver Nugget", Value: "silver_nugget"}, []string{"Silver Nugget", "silver_nugget"}},
	}
	many := make([]candidate, 40)
	for k := range many {
		many[k] = candidate{Choice{Name: fmt.Sprintf("Item %02d", k), Value: fmt.Sprint(k)}, []string{fmt.Sprintf("Item %02d", k)}}
	}
	cases := []struct {
		name    string
		partial string
		cands   []candidate
		want    []string // choice values
	}{
		{"nothing typed keeps the order", "", cands, []string{"iron_pickaxe", "pickaxe", "coffee", "silver_nugget"}},
		{"prefix before substring", "pick", cands, []string{"pickaxe", "iron_pickaxe"}},
		{"case and spaces ignored", "  PICK ", cands, []string{"pickaxe", "iron_pickaxe"}},
		{"a space matches a key's underscore", "silver n", cands, []string{"silver_nugget"}},
		{"key prefix", "iron_", cands, []string{"iron_pickaxe"}},
		{"substring only", "ff", cands, []string{"coffee"}},
		{"no match", "zzz", cands, nil},
		{"at most 25", "item", many, func() []string {
			var out []string
			for k := range 25 {
				out = append(out, fmt.Sprint(k))
			}
			return out
		}()},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, c := range rank(tc.partial, tc.cands) {
				got = append(got, c.Value.(string))
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("rank(%q) = %q, want %q", tc.partial, got, tc.want)
			}
		})
	}
}

func TestCatalogAutocompleteRules(t *testing.T) {
	suggest := func(context.Context, *Invocation, string) ([]Choice, error) { return nil, nil }
	run := func(context.Context, *Invocation) (Reply, error) { return Reply{}, nil }
	cases := []struct {
		name string
		opt  Option
		ok   bool
	}{
		{"text", Option{Name: "item", Description: "d", Type: String, Autocomplete: suggest}, true},
		{"whole number", Option{Name: "n", Description: "d", Type: Integer, Autocomplete: suggest}, true},
		{"number", Option{Name: "x", Description: "d", Type: Number, Autocomplete: suggest}, true},
		{"with choices", Option{Name: "item", Description: "d", Type: String, Autocomplete: suggest, Choices: []Choice{{Name: "a", Value: "a"}}}, false},
		{"boolean", Option{Name: "b", Description: "d", Type: Boolean, Autocomplete: suggest}, false},
		{"user", Option{Name: "u", Description: "d", Type: User, Autocomplete: suggest}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cat, err := NewCatalog([]*Command{{Name: "c", Description: "d", Options: []Option{tc.opt}, Run: run}}, nil)
			if (err == nil) != tc.ok {
				t.Fatalf("NewCatalog = %v, want ok=%v", err, tc.ok)
			}
			if err != nil {
				return
			}
			var flag bool
			switch o := cat.Definitions()[0].Options[0].(type) {
			case *discord.StringOption:
				flag = o.Autocomplete
			case *discord.IntegerOption:
				flag = o.Autocomplete
			case *discord.NumberOption:
				flag = o.Autocomplete
			}
			if !flag {
				t.Fatal("definition lacks autocomplete: true")
			}
		})
	}
}

// refuseClaims says every interaction was claimed already.
type refuseClaims struct{ calls atomic.Int32 }

func (r *refuseClaims) Claim(context.Context, discord.InteractionID, string) (bool, error) {
	r.calls.Add(1)
	return false, nil
}

// autocompleteCatalog has one command whose options suggest in every way
// the router must handle.
func autocompleteCatalog(t *testing.T) *Catalog {
	t.Helper()
	run := func(context.Context, *Invocation) (Reply, error) { return Reply{Content: "ran"}, nil }
	cat, err := NewCatalog([]*Command{{Name: "pick", Description: "d", Options: []Option{
		{Name: "fruit", Description: "d", Type: String, Required: true, Autocomplete: func(ctx context.Context, inv *Invocation, partial string) ([]Choice, error) {
			return []Choice{
				{Name: "typed " + partial + " after " + inv.String("colour") + " in /" + inv.Command, Value: "a"},
				{Name: strings.Repeat("n", 150), Value: "long name"},
				{Name: "value too long", Value: strings.Repeat("v", 101)},
				{Name: "wrong type", Value: int64(3)},
			}, nil
		}},
		{Name: "count", Description: "d", Type: Integer, Autocomplete: func(ctx context.Context, inv *Invocation, partial string) ([]Choice, error) {
			var out []Choice
			for k := range 30 {
				out = append(out, Choice{Name: partial + fmt.Sprint(k), Value: int64(k)})
			}
			return out, nil
		}},
		{Name: "broken", Description: "d", Type: String, Autocomplete: func(context.Context, *Invocation, string) ([]Choice, error) {
			return nil, errors.New("store down")
		}},
		{Name: "panics", Description: "d", Type: String, Autocomplete: func(context.Context, *Invocation, string) ([]Choice, error) {
			panic("nil map")
		}},
		{Name: "colour", Description: "d", Type: String},
	}, Run: run}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func autocompleteEvent(id uint64, focused, partial string, filled ...discord.AutocompleteOption) *discord.InteractionEvent {
	opts := append(discord.AutocompleteOptions{{Type: discord.StringOptionType, Name: focused, Value: ajson.Raw(fmt.Sprintf("%q", partial)), Focused: true}}, filled...)
	return &discord.InteractionEvent{
		ID: freshID(id), AppID: 1, Token: "tok", GuildID: 7, ChannelID: 8,
		Member: &discord.Member{User: discord.User{ID: 99, Username: "alice"}},
		Data:   &discord.AutocompleteInteraction{Name: "pick", Options: opts},
	}
}

func TestRouterAutocomplete(t *testing.T) {
	colour := discord.AutocompleteOption{Type: discord.StringOptionType, Name: "colour", Value: ajson.Raw(`"red"`)}
	halfTyped := discord.AutocompleteOption{Type: discord.StringOptionType, Name: "colour", Value: ajson.Raw(`12`)}
	cases := []struct {
		name    string
		limiter Limiter
		ev      *discord.InteractionEvent
		want    any    // the choices answered
		outcome string // of chopsticks_autocomplete_duration_seconds
	}{
		{"strings within Discord's limits", nil, autocompleteEvent(1, "fruit", "ap", colour), api.AutocompleteStringChoices{
			{Name: "typed ap after red in /pick", Value: "a"}, {Name: strings.Repeat("n", 99) + "…", Value: "long name"}}, "ok"},
		{"a filled option that does not decode is left out", nil, autocompleteEvent(2, "fruit", "ap", halfTyped), api.AutocompleteStringChoices{
			{Name: "typed ap after  in /pick", Value: "a"}, {Name: strings.Repeat("n", 99) + "…", Value: "long name"}}, "ok"},
		{"integers, at most 25", nil, autocompleteEvent(3, "count", "1"), func() api.AutocompleteIntegerChoices {
			out := api.AutocompleteIntegerChoices{}
			for k := range 25 {
				out = append(out, discord.IntegerChoice{Name: "1" + fmt.Sprint(k), Value: k})
			}
			return out
		}(), "ok"},
		{"handler error", nil, autocompleteEvent(4, "broken", "x"), api.AutocompleteStringChoices{}, "error"},
		{"handler panic", nil, autocompleteEvent(5, "panics", "x"), api.AutocompleteStringChoices{}, "error"},
		{"option without autocomplete", nil, autocompleteEvent(6, "colour", "x"), api.AutocompleteStringChoices{}, "unknown"},
		{"rate limited: no choices, no notice", fixedLimiter{Admission{RetryAfter: time.Second}}, autocompleteEvent(7, "fruit", "ap"), api.AutocompleteStringChoices{}, "rate_limited"},
		{"admitted", fixedLimiter{Admission{Allowed: true}}, autocompleteEvent(8, "fruit", ""), api.AutocompleteStringChoices{
			{Name: "typed  after  in /pick", Value: "a"}, {Name: strings.Repeat("n", 99) + "…", Value: "long name"}}, "ok"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			claims := &refuseClaims{}
			r, rec, _ := newTestRouter(t, Config{Catalog: autocompleteCatalog(t), Claimer: claims, Limiter: tc.limiter})
			// Autocomplete needs no claim: a claimer that refuses all
			// does not stop it, and it is never asked.
			r.Handle(context.Background(), tc.ev, 0)
			if len(rec.responses) != 1 || len(rec.edits) != 0 {
				t.Fatalf("%d responses and %d edits, want 1 response", len(rec.responses), len(rec.edits))
			}
			resp := rec.responses[0]
			if resp.Type != api.AutocompleteResult || resp.Data == nil {
				t.Fatalf("response %+v, want an autocomplete result", resp)
			}
			if fmt.Sprintf("%#v", resp.Data.Choices) != fmt.Sprintf("%#v", tc.want) {
				t.Fatalf("choices\n%#v\nwant\n%#v", resp.Data.Choices, tc.want)
			}
			if n := claims.calls.Load(); n != 0 {
				t.Fatalf("claimed %d times", n)
			}
			if n := testutil.CollectAndCount(r.autocompleteSeconds); n != len(autocompleteOutcomes) {
				t.Fatalf("%d outcome series, want %d", n, len(autocompleteOutcomes))
			}
			var m dto.Metric
			if err := r.autocompleteSeconds.WithLabelValues(tc.outcome).(prometheus.Histogram).Write(&m); err != nil || m.GetHistogram().GetSampleCount() != 1 {
				t.Fatalf("outcome %q counted %d times (%v), want 1", tc.outcome, m.GetHistogram().GetSampleCount(), err)
			}
		})
	}
	// Dispatch answers it too (claim-free), and a command is still claimed.
	claims := &refuseClaims{}
	r, rec, _ := newTestRouter(t, Config{Catalog: autocompleteCatalog(t), Claimer: claims})
	if !r.Dispatch(context.Background(), autocompleteEvent(9, "fruit", "x"), 0) {
		t.Fatal("Dispatch refused an autocomplete")
	}
	<-rec.sent
	if r.Dispatch(context.Background(), commandEvent(10, "pick", opt("fruit", discord.StringOptionType, `"apple"`)), 0) {
		t.Fatal("Dispatch ran a command its claim refused")
	}
	if err := r.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// countingLoader counts the loads of holdings and can be made to fail or
// to wait.
type countingLoader struct {
	loads   atomic.Int32
	err     error
	gate    chan struct{} // when set, loads wait for it to close
	started chan struct{} // when set, told of each load as it starts
	count   int
}

func (l *countingLoader) Holdings(ctx context.Context, user int64) ([]economy.Stack, error) {
	l.loads.Add(1)
	if l.started != nil {
		l.started <- struct{}{}
	}
	if l.gate != nil {
		<-l.gate
	}
	return []economy.Stack{{Item: "coffee", Count: l.count}}, l.err
}

func TestHoldingsCache(t *testing.T) {
	ctx := context.Background()
	t.Run("fresh entries are reused, forgotten and expired ones reloaded", func(t *testing.T) {
		l := &countingLoader{count: 1}
		c := newHoldingsCache(l)
		now := time.Unix(1000, 0)
		c.now = func() time.Time { return now }
		for range 3 {
			if _, err := c.get(ctx, 1); err != nil {
				t.Fatal(err)
			}
		}
		if n := l.loads.Load(); n != 1 {
			t.Fatalf("%d loads for three gets, want 1", n)
		}
		c.forget(1)
		l.count = 2
		if st, _ := c.get(ctx, 1); st[0].Count != 2 || l.loads.Load() != 2 {
			t.Fatalf("after forget: %+v, %d loads", st, l.loads.Load())
		}
		now = now.Add(holdingsTTL)
		if _, _ = c.get(ctx, 1); l.loads.Load() != 3 {
			t.Fatalf("after the TTL: %d loads, want 3", l.loads.Load())
		}
		if _, _ = c.get(ctx, 2); l.loads.Load() != 4 {
			t.Fatalf("another user: %d loads, want 4", l.loads.Load())
		}
	})
	t.Run("errors are not kept", func(t *testing.T) {
		l := &countingLoader{err: errors.New("down")}
		c := newHoldingsCache(l)
		for range 2 {
			if _, err := c.get(ctx, 1); err == nil {
				t.Fatal("no error")
			}
		}
		if n := l.loads.Load(); n != 2 {
			t.Fatalf("%d loads, want 2", n)
		}
	})
	t.Run("concurrent misses share one load", func(t *testing.T) {
		l := &countingLoader{gate: make(chan struct{}), started: make(chan struct{}, 8)}
		c := newHoldingsCache(l)
		var wg sync.WaitGroup
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := c.get(ctx, 1); err != nil {
					t.Error(err)
				}
			}()
		}
		<-l.started // the first get is loading; the others join or follow it
		close(l.gate)
		wg.Wait()
		if n := l.loads.Load(); n != 1 {
			t.Fatalf("%d loads, want 1", n)
		}
	})
	t.Run("a load a write overtook is not kept", func(t *testing.T) {
		l := &countingLoader{gate: make(chan struct{}), started: make(chan struct{}, 2)}
		c := newHoldingsCache(l)
		done := make(chan struct{})
		go func() { defer close(done); _, _ = c.get(ctx, 1) }()
		<-l.started
		c.forget(1)
		close(l.gate)
		<-done
		if _, _ = c.get(ctx, 1); l.loads.Load() != 2 {
			t.Fatalf("%d loads, want 2", l.loads.Load())
		}
	})
	t.Run("bounded", func(t *testing.T) {
		l := &countingLoader{}
		c := newHoldingsCache(l)
		c.max = 3
		for u := range int64(10) {
			_, _ = c.get(ctx, u+1)
		}
		if n := len(c.users); n > 3 {
			t.Fatalf("%d users kept, max 3", n)
		}
	})
}

func TestPlurals(t *testing.T) {
	cases := []struct {
		got, want string
	}{
		{credits(1), "1 credit"},
		{credits(-1), "-1 credit"},
		{credits(0), "0 credits"},
		{credits(2), "2 credits"},
		{credits(1500), "1,500 credits"},
		{nounCount(1, "day", "days"), "1 day"},
		{nounCount(0, "day", "days"), "0 days"},
		{nounCount(3, "use", "uses"), "3 uses"},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
