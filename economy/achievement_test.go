package economy_test

import (
	"context"
	"sync"
	"testing"

	"github.com/chopsticks-bot/chopsticks/economy"
)

func (e *env) achievements(t testing.TB, user int64) map[string]bool {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT key FROM economy.achievements WHERE user_id = $1`, user)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		out[k] = true
	}
	return out
}

func TestAchievementsAwardedOnce(t *testing.T) {
	e := newEnv(t)
	other := e.secondNode(t)
	ctx := context.Background()
	const u = 201
	e.fund(t, u, 10_000)
	if _, err := e.svc.Daily(ctx, op(), u); err != nil {
		t.Fatal(err)
	}
	// The same operation delivered twice, and checks from two nodes at once.
	dup := op()
	var wg sync.WaitGroup
	results := make([]economy.Earned, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc, o := e.svc, dup
			if i%2 == 1 {
				svc, o = other, op()
			}
			r, err := svc.CheckAchievements(ctx, o, u)
			if err != nil {
				t.Error(err)
			}
			results[i] = r
		}()
	}
	wg.Wait()
	total := map[string]int{}
	for _, r := range results {
		for _, a := range r.New {
			total[a.Key]++
		}
	}
	// Each achievement is announced by the one check that awarded it (and
	// again by the replays of that same operation).
	for _, k := range []string{"first_daily", "worth_10k"} {
		if total[k] == 0 {
			t.Errorf("%s not awarded: %v", k, total)
		}
	}
	have := e.achievements(t, u)
	if len(have) != 2 || !have["first_daily"] || !have["worth_10k"] {
		t.Fatalf("achievements %v", have)
	}
	// Rewards paid once: 10,000 + the daily + 100 + 500.
	daily := e.balance(t, u).Wallet - 10_000 - 600
	if daily != 500 {
		t.Fatalf("wallet %d: rewards paid more than once (daily part %d)", e.balance(t, u).Wallet, daily)
	}
	if r, _ := e.svc.CheckAchievements(ctx, op(), u); len(r.New) != 0 {
		t.Fatalf("a later check awarded again: %+v", r)
	}
	e.audit(t)
}

func TestAchievementsBackfill(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for u := int64(301); u <= 305; u++ {
		e.fund(t, u, 200_000) // worth_10k and worth_100k
	}
	giveItem(t, e, 303, "ruby", 1)
	if _, err := e.svc.VaultAdd(ctx, op(), 303, "ruby"); err != nil {
		t.Fatal(err)
	}
	n, err := e.svc.BackfillAchievements(ctx)
	if err != nil || n != 11 {
		t.Fatalf("backfill awarded %d (%v), want 11", n, err)
	}
	if n, err := e.svc.BackfillAchievements(ctx); err != nil || n != 0 {
		t.Fatalf("second backfill awarded %d (%v)", n, err)
	}
	if got := e.achievements(t, 303); !got["first_vault"] || !got["worth_100k"] {
		t.Fatalf("user 303: %v", got)
	}
	// A backfill cut short and run again awards nothing twice.
	if _, err := e.pool.Exec(ctx, `DELETE FROM economy.achievement_backfills`); err != nil {
		t.Fatal(err)
	}
	if n, err := e.svc.BackfillAchievements(ctx); err != nil || n != 0 {
		t.Fatalf("rerun backfill awarded %d (%v)", n, err)
	}
	if w := e.balance(t, 301).Wallet; w != 200_000+500+2000 {
		t.Fatalf("wallet %d, want the two rewards once", w)
	}
	list, err := e.svc.AchievementList(ctx, 301)
	if err != nil || len(list) < 30 {
		t.Fatalf("list: %d %v", len(list), err)
	}
	for _, st := range list {
		if (st.Key == "worth_100k") != (st.Earned != nil) && st.Key != "worth_10k" {
			t.Errorf("%s earned %v", st.Key, st.Earned)
		}
		if st.Key == "worth_1m" && st.Progress != "202500 / 1000000" {
			t.Errorf("progress %q", st.Progress)
		}
	}
	e.audit(t)
}
