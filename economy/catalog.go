package economy

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

//go:embed catalog.json
var catalogJSON []byte

// Item types in the catalogue.
const (
	TypeTool        = "tool"
	TypeConsumable  = "consumable"
	TypeCollectible = "collectible"
)

// Buff kinds given by consumables.
const (
	BuffWorkPay     = "work_pay"
	BuffGatherLuck  = "gather_luck"
	BuffStreakSaver = "streak_saver"
)

// Catalog is the game data: items, jobs, drop tables and reward rules. It
// is loaded from an embedded JSON file and validated, so the game is tuned
// by editing data, not code.
type Catalog struct {
	Daily                 DailyRule `json:"daily"`
	Bank                  BankRule  `json:"bank"`
	GatherCooldownSeconds int       `json:"gather_cooldown_seconds"`
	Jobs                  []Job     `json:"jobs"`
	Rarities              []Rarity  `json:"rarities"`
	VaultMinRarity        string    `json:"vault_min_rarity"`
	VaultCapacity         int       `json:"vault_capacity"`
	Items                 []Item    `json:"items"`
	// Companions is the companion game (companion_catalog.go).
	Companions CompanionRules `json:"companions"`
	// Premium is every premium perk, in one place (premium_rules.go).
	Premium PremiumRules `json:"premium"`

	items    map[string]*Item
	jobs     map[string]*Job
	rarities map[string]int // rarity key -> rank (0 = common)
}

// DailyRule sets the /daily reward: Base credits times a multiplier that
// grows by StepPercent per streak day up to MaxPercent.
type DailyRule struct {
	Base        int64 `json:"base"`
	StepPercent int64 `json:"step_percent"`
	MaxPercent  int64 `json:"max_percent"`
}

// BankRule sets the bank defaults.
type BankRule struct {
	DefaultCapacity int64 `json:"default_capacity"`
}

// Job is one /work choice with its pay range, cooldown and flavour lines.
type Job struct {
	Key             string   `json:"key"`
	Name            string   `json:"name"`
	MinPay          int64    `json:"min_pay"`
	MaxPay          int64    `json:"max_pay"`
	CooldownSeconds int      `json:"cooldown_seconds"`
	Flavour         []string `json:"flavour"`
}

// Cooldown is the time between two shifts of the job.
func (j *Job) Cooldown() time.Duration { return time.Duration(j.CooldownSeconds) * time.Second }

// Rarity is a drop tier with its base weight.
type Rarity struct {
	Key    string `json:"key"`
	Weight int64  `json:"weight"`
}

// Effect is what using a consumable does.
type Effect struct {
	Buff         string `json:"buff,omitempty"`
	Percent      int    `json:"percent,omitempty"`
	Minutes      int    `json:"minutes,omitempty"`
	Charges      int    `json:"charges,omitempty"`
	BankCapacity int64  `json:"bank_capacity,omitempty"`
}

// Item is a catalogue entry: a tool (with durability and drop table), a
// consumable (with an effect) or a collectible (with a rarity and kind).
type Item struct {
	Key        string              `json:"key"`
	Name       string              `json:"name"`
	Type       string              `json:"type"`
	Kind       string              `json:"kind,omitempty"`
	Rarity     string              `json:"rarity,omitempty"`
	Price      int64               `json:"price,omitempty"` // 0: not sold in the shop
	Sell       int64               `json:"sell"`
	Durability int                 `json:"durability,omitempty"`
	Drops      map[string][]string `json:"drops,omitempty"`
	Effect     *Effect             `json:"effect,omitempty"`
}

// LoadCatalog parses and validates a catalogue in the JSON format of the
// embedded catalog.json.
func LoadCatalog(data []byte) (*Catalog, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Catalog
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	if err := c.index(); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	return &c, nil
}

// DefaultCatalog returns the embedded catalogue.
func DefaultCatalog() *Catalog {
	c, err := LoadCatalog(catalogJSON)
	if err != nil {
		// The embedded file is checked by the tests; a broken build is a bug.
		panic(err)
	}
	return c
}

func (c *Catalog) index() error {
	var errs []error
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if c.Daily.Base <= 0 || c.Daily.StepPercent < 0 || c.Daily.MaxPercent < 100 {
		bad("daily: base must be > 0, step >= 0, max >= 100")
	}
	if c.Bank.DefaultCapacity < 0 {
		bad("bank: negative default capacity")
	}
	if c.GatherCooldownSeconds < 0 {
		bad("negative gather cooldown")
	}
	c.rarities = map[string]int{}
	for i, r := range c.Rarities {
		if r.Key == "" || r.Weight <= 0 {
			bad("rarity %d: needs a key and a positive weight", i)
		}
		if _, dup := c.rarities[r.Key]; dup {
			bad("rarity %q twice", r.Key)
		}
		c.rarities[r.Key] = i
	}
	if _, ok := c.rarities[c.VaultMinRarity]; !ok {
		bad("vault_min_rarity %q is not a rarity", c.VaultMinRarity)
	}
	if c.VaultCapacity <= 0 {
		bad("vault_capacity must be > 0")
	}
	c.jobs = map[string]*Job{}
	for i := range c.Jobs {
		j := &c.Jobs[i]
		switch {
		case j.Key == "" || j.Name == "":
			bad("job %d: needs key and name", i)
		case j.MinPay <= 0 || j.MaxPay < j.MinPay:
			bad("job %q: pay range %d..%d", j.Key, j.MinPay, j.MaxPay)
		case j.CooldownSeconds <= 0:
			bad("job %q: cooldown must be > 0", j.Key)
		case len(j.Flavour) == 0:
			bad("job %q: needs flavour", j.Key)
		}
		if _, dup := c.jobs[j.Key]; dup {
			bad("job %q twice", j.Key)
		}
		c.jobs[j.Key] = j
	}
	c.items = map[string]*Item{}
	for i := range c.Items {
		it := &c.Items[i]
		if it.Key == "" || it.Name == "" {
			bad("item %d: needs key and name", i)
		}
		if _, dup := c.items[it.Key]; dup {
			bad("item %q twice", it.Key)
		}
		c.items[it.Key] = it
		if it.Price < 0 || it.Sell < 0 {
			bad("item %q: negative price", it.Key)
		}
		if it.Price > 0 && it.Sell > it.Price {
			bad("item %q: sells for more than it costs", it.Key)
		}
		switch it.Type {
		case TypeTool:
			if it.Durability <= 0 || len(it.Drops) == 0 {
				bad("tool %q: needs durability and drops", it.Key)
			}
		case TypeConsumable:
			e := it.Effect
			if e == nil {
				bad("consumable %q: needs an effect", it.Key)
				continue
			}
			switch e.Buff {
			case BuffWorkPay, BuffGatherLuck:
				if e.Percent <= 0 || e.Minutes <= 0 {
					bad("consumable %q: needs percent and minutes", it.Key)
				}
			case BuffStreakSaver:
				if e.Charges <= 0 {
					bad("consumable %q: needs charges", it.Key)
				}
			case "":
				if e.BankCapacity <= 0 {
					bad("consumable %q: no effect", it.Key)
				}
			default:
				bad("consumable %q: unknown buff %q", it.Key, e.Buff)
			}
		case TypeCollectible:
			if _, ok := c.rarities[it.Rarity]; !ok {
				bad("collectible %q: unknown rarity %q", it.Key, it.Rarity)
			}
			if it.Kind == "" {
				bad("collectible %q: needs a kind", it.Key)
			}
			if it.Price != 0 {
				bad("collectible %q: collectibles are found, not bought", it.Key)
			}
		case TypeCapsule, TypeSkin, TypeChassis, TypeCell:
			// Checked by indexCompanions.
		default:
			bad("item %q: unknown type %q", it.Key, it.Type)
		}
	}
	errs = append(errs, c.indexCompanions())
	errs = append(errs, c.Premium.validate(c)...)
	for _, it := range c.Items {
		for rarity, keys := range it.Drops {
			if _, ok := c.rarities[rarity]; !ok {
				bad("tool %q: unknown rarity %q", it.Key, rarity)
			}
			for _, k := range keys {
				d, ok := c.items[k]
				if !ok || d.Type != TypeCollectible || d.Rarity != rarity {
					bad("tool %q: drop %q is not a %s collectible", it.Key, k, rarity)
				}
			}
		}
	}
	return errors.Join(errs...)
}

// Item returns the catalogue entry for key.
func (c *Catalog) Item(key string) (*Item, bool) { it, ok := c.items[key]; return it, ok }

// Job returns the job for key.
func (c *Catalog) Job(key string) (*Job, bool) { j, ok := c.jobs[key]; return j, ok }

// RarityRank orders rarities: 0 for the most common.
func (c *Catalog) RarityRank(key string) (int, bool) { r, ok := c.rarities[key]; return r, ok }

// Shop lists the items for sale, cheapest first.
func (c *Catalog) Shop() []*Item {
	var out []*Item
	for i := range c.Items {
		if c.Items[i].Price > 0 {
			out = append(out, &c.Items[i])
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Price < out[b].Price })
	return out
}

// Tools lists the tools in catalogue order.
func (c *Catalog) Tools() []*Item {
	var out []*Item
	for i := range c.Items {
		if c.Items[i].Type == TypeTool {
			out = append(out, &c.Items[i])
		}
	}
	return out
}

// DailyPercent is the reward multiplier, in percent, for a streak of s days
// (s >= 1): 100% on the first day, StepPercent more each day, capped at
// MaxPercent.
func (c *Catalog) DailyPercent(s int) int64 {
	if s < 1 {
		s = 1
	}
	p := 100 + int64(s-1)*c.Daily.StepPercent
	if p > c.Daily.MaxPercent || p < 100 {
		p = c.Daily.MaxPercent
	}
	return p
}
