package economy

import "testing"

func TestAchievementCatalog(t *testing.T) {
	cat := achievementCatalog(DefaultCatalog().Rarities)
	if len(cat) < 30 {
		t.Fatalf("%d achievements, want at least 30", len(cat))
	}
	keys, hidden := map[string]bool{}, 0
	for _, a := range cat {
		if keys[a.Key] || a.Key == "" || a.Name == "" || a.Description == "" || a.Reward <= 0 {
			t.Errorf("bad or duplicate achievement %+v", a)
		}
		keys[a.Key] = true
		if a.Hidden {
			hidden++
		}
		if a.Metric != MetricTierMissing && a.Goal <= 0 {
			t.Errorf("%s: goal %d", a.Key, a.Goal)
		}
	}
	if hidden == 0 {
		t.Error("no hidden achievements")
	}
	for _, r := range DefaultCatalog().Rarities {
		if !keys["tier_"+r.Key] {
			t.Errorf("no achievement for completing the %s tier", r.Key)
		}
	}
}

func TestNewlyEarned(t *testing.T) {
	cat := []Achievement{
		{Key: "s1", Metric: MetricStreak, Goal: 1},
		{Key: "s7", Metric: MetricStreak, Goal: 7},
		{Key: "w", Metric: MetricNetWorth, Goal: 100},
		{Key: "tier", Metric: MetricTierMissing, Tier: "rare"},
		{Key: "tier_unknown", Metric: MetricTierMissing, Tier: "nope"},
	}
	for _, tc := range []struct {
		name string
		p    Progress
		have map[string]bool
		want []string
	}{
		{"nothing", Progress{Values: map[string]int64{}, Missing: map[string]int64{"rare": 2}}, nil, nil},
		{"streak and worth", Progress{Values: map[string]int64{MetricStreak: 7, MetricNetWorth: 100}, Missing: map[string]int64{"rare": 1}}, nil, []string{"s1", "s7", "w"}},
		{"already had one", Progress{Values: map[string]int64{MetricStreak: 7}}, map[string]bool{"s1": true}, []string{"s7"}},
		{"tier complete", Progress{Values: map[string]int64{}, Missing: map[string]int64{"rare": 0}}, nil, []string{"tier"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := newlyEarned(cat, tc.p, tc.have)
			if len(got) != len(tc.want) {
				t.Fatalf("earned %+v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i].Key != tc.want[i] {
					t.Fatalf("earned %+v, want %v", got, tc.want)
				}
			}
		})
	}
	p := Progress{Values: map[string]int64{MetricStreak: 9}, Missing: map[string]int64{"rare": 3}}
	if d := p.Describe(cat[1]); d != "7 / 7" {
		t.Errorf("describe capped progress: %q", d)
	}
	if d := p.Describe(cat[3]); d != "3 left to find" {
		t.Errorf("describe a tier: %q", d)
	}
}

func TestBestTitle(t *testing.T) {
	cat := []Achievement{
		{Key: "plain", Reward: 50_000},
		{Key: "small", Reward: 100, Title: "Small"},
		{Key: "big", Reward: 10_000, Title: "Big"},
		{Key: "tie", Reward: 10_000, Title: "Tie"},
	}
	for _, tc := range []struct {
		name string
		have []string
		want string
	}{
		{"nothing earned", nil, ""},
		{"only an untitled one", []string{"plain"}, ""},
		{"one title", []string{"plain", "small"}, "Small"},
		{"the largest reward wins", []string{"small", "big"}, "Big"},
		{"a tie goes to the later one", []string{"big", "tie"}, "Tie"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			have := map[string]bool{}
			for _, k := range tc.have {
				have[k] = true
			}
			if got := bestTitle(cat, have); got != tc.want {
				t.Fatalf("title %q, want %q", got, tc.want)
			}
		})
	}
	titled := 0
	for _, a := range achievementCatalog(DefaultCatalog().Rarities) {
		if a.Title != "" {
			titled++
		}
	}
	if titled < 5 {
		t.Fatalf("%d achievements give a title", titled)
	}
}
