package economy_test

import (
	"context"
	"errors"
	"testing"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// Only the two players may close a challenge: the challenged declines it,
// the challenger withdraws it; a third user is refused and nothing
// changes. Either way nobody pays and the challenger's companion is free;
// an accepted battle can no longer be declined.
func TestDeclineBattle(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name     string
		presser  int64
		want     error
		note     string
		accepted bool
	}{
		{"a third user", grey, economy.ErrNotYourBattle, "", false},
		{"the challenged declines", blue, nil, "", false},
		{"the challenger withdraws", red, nil, "Withdrawn by the challenger.", false},
		{"after the accept", blue, economy.ErrChallengeClosed, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			b := e.duel(t, 500)
			if tc.accepted {
				if _, err := e.svc.AcceptBattle(ctx, op(), b.ID, blue, ""); err != nil {
					t.Fatal(err)
				}
			}
			got, err := e.svc.DeclineBattle(ctx, op(), b.ID, tc.presser)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("got %v, want %v", err, tc.want)
				}
				now, _ := e.svc.GetBattle(ctx, b.ID)
				if want := map[bool]string{false: economy.BattleChallenged, true: economy.BattleActive}[tc.accepted]; now.State != want {
					t.Fatalf("state %s after a refused decline, want %s", now.State, want)
				}
				e.audit(t)
				return
			}
			if err != nil || got.State != economy.BattleDeclined || got.Note != tc.note {
				t.Fatalf("decline: %+v, %v", got, err)
			}
			for _, u := range []int64{red, blue} {
				if w := e.balance(t, u).Wallet; w != 10000 {
					t.Errorf("user %d's wallet %d: someone paid", u, w)
				}
			}
			if all, _ := e.svc.Companions(ctx, red); all[0].BattleID != 0 {
				t.Error("the challenger's companion is still held")
			}
			e.audit(t)
		})
	}
}
