package economy_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// TestHoldings checks that Holdings lists every kind a user owns in one
// read, past Inventory's page size, with counts, vaulted counts and names,
// and agrees with Inventory's pages.
func TestHoldings(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const admin, user = 900, 11
	if got, err := e.svc.Holdings(ctx, user); err != nil || len(got) != 0 {
		t.Fatalf("no items: %+v %v", got, err)
	}
	if _, err := e.svc.Holdings(ctx, 0); !errors.Is(err, economy.ErrBadUser) {
		t.Fatalf("user 0: %v", err)
	}
	var kinds []string
	for _, it := range e.svc.Catalog().Items {
		kinds = append(kinds, it.Key)
	}
	for k, key := range kinds {
		if err := e.svc.AdjustItems(ctx, economy.Op(fmt.Sprintf("holdings-%d", k)), admin, user, key, 1+k%3, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.VaultAdd(ctx, op(), user, "silver_nugget"); err != nil {
		t.Fatal(err)
	}
	got, err := e.svc.Holdings(ctx, user)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(kinds) || len(got) <= economy.PageSize {
		t.Fatalf("%d stacks, want %d (more than a page)", len(got), len(kinds))
	}
	var paged []economy.Stack
	for page := 0; ; page++ {
		p, err := e.svc.Inventory(ctx, user, page)
		if errors.Is(err, economy.ErrBadPage) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		paged = append(paged, p.Rows...)
	}
	if fmt.Sprint(paged) != fmt.Sprint(got) {
		t.Fatalf("holdings %+v\ndiffer from inventory pages %+v", got, paged)
	}
	for _, st := range got {
		if st.Item == "silver_nugget" && (st.Vaulted != 1 || st.Name != "Silver Nugget" || st.Rarity != "rare") {
			t.Fatalf("silver nugget: %+v", st)
		}
	}
	e.audit(t)
}
