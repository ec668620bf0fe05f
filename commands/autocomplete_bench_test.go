package commands_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
)

// discardResponder accepts every response and keeps none.
type discardResponder struct{}

func (discardResponder) RespondInteraction(discord.InteractionID, string, api.InteractionResponse) error {
	return nil
}

func (discardResponder) EditInteractionResponse(discord.AppID, string, api.EditInteractionResponseData) (*discord.Message, error) {
	return &discord.Message{}, nil
}

// benchCatalog is the default catalogue with n more collectibles, so that
// one user can hold n distinct items.
func benchCatalog(tb testing.TB, n int) *economy.Catalog {
	tb.Helper()
	raw, err := json.Marshal(economy.DefaultCatalog())
	if err != nil {
		tb.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		tb.Fatal(err)
	}
	items := doc["items"].([]any)
	for k := range n {
		items = append(items, map[string]any{"key": fmt.Sprintf("gem_%03d", k), "name": fmt.Sprintf("Gem No. %03d", k),
			"type": "collectible", "kind": "gem", "rarity": "rare", "sell": 10 + k})
	}
	doc["items"] = items
	if raw, err = json.Marshal(doc); err != nil {
		tb.Fatal(err)
	}
	cat, err := economy.LoadCatalog(raw)
	if err != nil {
		tb.Fatal(err)
	}
	return cat
}

// percentile returns the q-th quantile (0..1) of sorted durations.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(len(sorted)-1, int(q*float64(len(sorted))))]
}

// BenchmarkAutocompleteBesideBalance measures /sell's item autocomplete
// for a user holding 500 distinct items, beside /balance in the same run:
// each iteration starts one of each, paced at 200 requests/s of each
// (open loop: a slow answer does not slow the pace), through the router as
// a node runs them, against a real PostgreSQL. It reports p50 and p99 of
// both and the cold load of the 500 holdings (a cache miss) measured alone.
//
//	go test -run '^$' -bench AutocompleteBesideBalance -benchtime 2000x ./commands/
func BenchmarkAutocompleteBesideBalance(b *testing.B) {
	const items, rate = 500, 200
	ctx := context.Background()
	svc := newEconEnvWith(b, economy.Config{Catalog: benchCatalog(b, items), Rand: rand.NewPCG(1, 2)}).svc
	holder := discord.User{ID: discord.UserID(5000 + rand.Int64N(1_000_000)), Username: "hoarder"}
	for k := range items {
		if err := svc.AdjustItems(ctx, economy.Op(fmt.Sprintf("bench-give-%d-%d", holder.ID, k)), 1, int64(holder.ID), fmt.Sprintf("gem_%03d", k), 1+k%3, "bench"); err != nil {
			b.Fatal(err)
		}
	}
	if got, err := svc.Holdings(ctx, int64(holder.ID)); err != nil || len(got) != items {
		b.Fatalf("holdings: %d, %v", len(got), err)
	}
	// The cold figure: one read of all 500 holdings, as a cache miss does.
	var cold []time.Duration
	for range 50 {
		start := time.Now()
		if _, err := svc.Holdings(ctx, int64(holder.ID)); err != nil {
			b.Fatal(err)
		}
		cold = append(cold, time.Since(start))
	}
	slices.Sort(cold)

	// A router of its own, whose responder keeps nothing.
	catalog, err := commands.NewCatalog(commands.Economy(svc), commands.EconomyComponents(svc))
	if err != nil {
		b.Fatal(err)
	}
	router, err := commands.NewRouter(commands.Config{Catalog: catalog, Responder: discardResponder{}, Claimer: everyClaim{}, NodeID: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	partials := []string{"", "g", "gem", "Gem No. 1", "gem_4", "No. 25", "9", "zzz"}
	var (
		mu              sync.Mutex
		suggest, balRun []time.Duration
		wg              sync.WaitGroup
		id              = uint64(1 << 42)
	)
	timed := func(into *[]time.Duration, ev *discord.InteractionEvent) {
		defer wg.Done()
		start := time.Now()
		router.Handle(ctx, ev, 0)
		d := time.Since(start)
		mu.Lock()
		*into = append(*into, d)
		mu.Unlock()
	}
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	b.ResetTimer()
	for k := range b.N {
		<-tick.C
		id += 2
		wg.Add(2)
		go timed(&suggest, autocompleteEvent(commands.FreshID(id), holder, "sell", "item", partials[k%len(partials)]))
		bal := &discord.InteractionEvent{ID: commands.FreshID(id + 1), AppID: 1, Token: "tok", GuildID: 5, ChannelID: 6, User: &holder,
			Data: &discord.CommandInteraction{Name: "balance"}}
		go timed(&balRun, bal)
	}
	wg.Wait()
	b.StopTimer()
	slices.Sort(suggest)
	slices.Sort(balRun)
	ms := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
	b.ReportMetric(ms(percentile(suggest, 0.99)), "autocomplete-p99-ms")
	b.ReportMetric(ms(percentile(balRun, 0.99)), "balance-p99-ms")
	b.Logf("%d rounds at %d/s each, user with %d distinct items:", b.N, rate, items)
	b.Logf("  autocomplete /sell item: p50 %.2f ms  p99 %.2f ms  max %.2f ms (target p99 < 100 ms)",
		ms(percentile(suggest, 0.5)), ms(percentile(suggest, 0.99)), ms(suggest[len(suggest)-1]))
	b.Logf("  /balance (baseline):     p50 %.2f ms  p99 %.2f ms  max %.2f ms",
		ms(percentile(balRun, 0.5)), ms(percentile(balRun, 0.99)), ms(balRun[len(balRun)-1]))
	b.Logf("  autocomplete p99 / balance p99 = %.2f", ms(percentile(suggest, 0.99))/max(ms(percentile(balRun, 0.99)), 0.001))
	b.Logf("  cold load of the 500 holdings (a cache miss, alone): p50 %.2f ms  p99 %.2f ms", ms(percentile(cold, 0.5)), ms(percentile(cold, 0.99)))
}
