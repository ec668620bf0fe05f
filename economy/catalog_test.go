package economy_test

import (
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/economy"
)

func TestDefaultCatalog(t *testing.T) {
	c := economy.DefaultCatalog()
	for _, k := range []string{"code_review", "dj_gig", "data_mining", "market_trading"} {
		if _, ok := c.Job(k); !ok {
			t.Errorf("job %s missing", k)
		}
	}
	if len(c.Tools()) == 0 || len(c.Shop()) == 0 {
		t.Fatal("no tools or shop")
	}
	// Every rarity tier can drop from some tool.
	for _, r := range c.Rarities {
		found := false
		for _, tool := range c.Tools() {
			found = found || len(tool.Drops[r.Key]) > 0
		}
		if !found {
			t.Errorf("rarity %s never drops", r.Key)
		}
	}
}

func TestLoadCatalogRejects(t *testing.T) {
	base := `{"daily": {"base": 500, "step_percent": 10, "max_percent": 300}, "bank": {"default_capacity": 1},
	  "gather_cooldown_seconds": 1, "rarities": [{"key": "common", "weight": 1}], "vault_min_rarity": "common", "vault_capacity": 1,
	  "jobs": [%JOBS%], "items": [%ITEMS%]}`
	job := `{"key": "j", "name": "J", "min_pay": 1, "max_pay": 2, "cooldown_seconds": 1, "flavour": ["x"]}`
	rock := `{"key": "rock", "name": "Rock", "type": "collectible", "kind": "mineral", "rarity": "common", "sell": 1}`
	tool := `{"key": "pick", "name": "Pick", "type": "tool", "price": 10, "sell": 1, "durability": 2, "drops": {"common": ["rock"]}}`
	build := func(jobs, items string) string {
		return strings.NewReplacer("%JOBS%", jobs, "%ITEMS%", items).Replace(base)
	}
	if _, err := economy.LoadCatalog([]byte(build(job, rock+","+tool))); err != nil {
		t.Fatalf("valid catalogue refused: %v", err)
	}
	cases := map[string]string{
		"unknown field":        strings.Replace(build(job, rock), `"bank"`, `"bonk": 1, "bank"`, 1),
		"bad pay range":        build(strings.Replace(job, `"max_pay": 2`, `"max_pay": 0`, 1), rock),
		"duplicate job":        build(job+","+job, rock),
		"duplicate item":       build(job, rock+","+rock),
		"drop not in catalog":  build(job, strings.Replace(tool, `["rock"]`, `["gold"]`, 1)),
		"drop wrong rarity":    build(job, rock+","+strings.Replace(tool, `{"common": ["rock"]}`, `{"rare": ["rock"]}`, 1)),
		"tool no durability":   build(job, rock+","+strings.Replace(tool, `"durability": 2`, `"durability": 0`, 1)),
		"sells above price":    build(job, rock+","+strings.Replace(tool, `"sell": 1`, `"sell": 11`, 1)),
		"unknown type":         build(job, strings.Replace(rock, "collectible", "gizmo", 1)),
		"consumable no effect": build(job, `{"key": "c", "name": "C", "type": "consumable", "price": 1, "sell": 0}`),
		"not json":             "{",
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := economy.LoadCatalog([]byte(data)); err == nil {
				t.Fatal("accepted")
			}
		})
	}
}
