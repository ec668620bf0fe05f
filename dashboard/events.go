package dashboard

import (
	"context"
	"net/http"
	"time"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// Events is the seasonal events' calendar with its state, for the admin
// page (economy.Service).
type Events interface {
	EventSummaries(ctx context.Context) ([]economy.EventSummary, error)
}

// EventView is one event of the calendar as the admin page and
// /api/admin/events show it.
type EventView struct {
	Key           string    `json:"key"`
	Name          string    `json:"name"`
	Start         time.Time `json:"start"`
	End           time.Time `json:"end"`
	State         string    `json:"state"` // upcoming, running, paying, paid
	WorkPercent   int64     `json:"work_percent"`
	GatherPercent int64     `json:"gather_percent"`
	Token         string    `json:"token"`
	Collectibles  int       `json:"collectibles"`
	ShopLines     int       `json:"shop_lines"`
	TopRanks      int       `json:"top_ranks"`        // ranks the top tiers pay
	Threshold     int64     `json:"threshold_tokens"` // 0: no threshold reward
	Players       int64     `json:"players"`
	Winners       int64     `json:"winners"`
	Paid          int64     `json:"paid"`
	CreditsPaid   int64     `json:"credits_paid"`
	Worker        string    `json:"worker,omitempty"` // the node paying, or that paid
}

func eventViews(sums []economy.EventSummary) []EventView {
	out := []EventView{}
	for _, s := range sums {
		e := s.Event
		v := EventView{Key: e.Key, Name: e.Name, Start: e.Start, End: e.End, State: s.State, WorkPercent: e.WorkPercent,
			GatherPercent: e.GatherPercent, Token: e.Token.Name, Collectibles: len(e.Collectibles), ShopLines: len(e.Shop),
			Threshold: e.Rewards.Threshold.Tokens, Players: s.Players, Winners: s.Winners, Paid: s.Paid,
			CreditsPaid: s.Credits, Worker: s.Worker}
		if n := len(e.Rewards.Top); n > 0 {
			v.TopRanks = e.Rewards.Top[n-1].UpTo
		}
		out = append(out, v)
	}
	return out
}

type eventsData struct {
	Available bool
	Events    []EventView
}

func (s *Server) pageEvents(w http.ResponseWriter, r *http.Request, sess *Session) {
	d := eventsData{Available: s.deps.Events != nil}
	if d.Available {
		sums, err := s.deps.Events.EventSummaries(r.Context())
		if err != nil {
			s.pageErr(w, r, err)
			return
		}
		d.Events = eventViews(sums)
	}
	s.render(w, r, http.StatusOK, "events.html", view{Title: "Events", Active: "events", Session: sess, Data: d})
}

func (s *Server) apiEvents(w http.ResponseWriter, r *http.Request, sess *Session) {
	if s.deps.Events == nil {
		s.answer(w, r, []EventView{}, nil)
		return
	}
	sums, err := s.deps.Events.EventSummaries(r.Context())
	s.answer(w, r, eventViews(sums), err)
}
