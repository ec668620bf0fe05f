package dashboard

import (
	"context"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// companionLister is the companion read side of the economy, shown on the
// profile page when the economy offers it (*economy.Service does).
type companionLister interface {
	Companions(ctx context.Context, user int64) ([]economy.Companion, error)
	Catalog() *economy.Catalog
}

// CompanionView is one companion on the profile page.
type CompanionView struct {
	ID           int64
	Name         string
	Model        string
	Rarity       string
	Level        int
	Charge, Mood int
	Status       string
	Skin         string
	Chassis      string
}

// companions lists user's companions for the profile page, or nil when the
// economy has no companion game.
func (s *Server) companions(ctx context.Context, user int64) ([]CompanionView, error) {
	cl, ok := s.deps.Economy.(companionLister)
	if !ok {
		return nil, nil
	}
	all, err := cl.Companions(ctx, user)
	if err != nil {
		return nil, err
	}
	cat := cl.Catalog()
	name := func(key string) string {
		if key == "" {
			return "none"
		}
		if it, ok := cat.Item(key); ok {
			return it.Name
		}
		return key
	}
	out := make([]CompanionView, 0, len(all))
	for _, c := range all {
		v := CompanionView{ID: c.ID, Name: c.Name, Model: c.Model, Level: c.Level, Charge: c.Charge, Mood: c.Mood,
			Status: "ready", Skin: name(c.Skin), Chassis: name(c.Chassis)}
		if m, ok := cat.Model(c.Model); ok {
			v.Model, v.Rarity = m.Name, m.Rarity
		}
		switch {
		case c.Stasis:
			v.Status = "in stasis"
		case c.BattleID != 0:
			v.Status = "in battle"
		case c.Breeding:
			v.Status = "breeding"
		case c.Charge == 0:
			v.Status = "empty"
		}
		out = append(out, v)
	}
	return out, nil
}
