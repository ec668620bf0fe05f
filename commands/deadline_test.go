package commands

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// journal is a Responder, and a place for handlers to write, that keeps
// one ordered log of both, so that a test sees whether the state changed
// before or after Discord accepted a response. refuse makes every
// response Discord would refuse (an expired token) fail.
type journal struct {
	mu      sync.Mutex
	entries []string
	refuse  bool
}

var errUnknownInteraction = errors.New("404 Unknown interaction")

func (j *journal) add(e string) {
	j.mu.Lock()
	j.entries = append(j.entries, e)
	j.mu.Unlock()
}

func (j *journal) log() []string {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]string(nil), j.entries...)
}

func (j *journal) RespondInteraction(id discord.InteractionID, token string, resp api.InteractionResponse) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.refuse {
		j.entries = append(j.entries, "refused")
		return errUnknownInteraction
	}
	switch resp.Type {
	case api.DeferredMessageInteractionWithSource:
		j.entries = append(j.entries, "deferred")
	case api.DeferredMessageUpdate:
		j.entries = append(j.entries, "deferred-update")
	default:
		j.entries = append(j.entries, "reply")
	}
	return nil
}

func (j *journal) EditInteractionResponse(discord.AppID, string, api.EditInteractionResponseData) (*discord.Message, error) {
	j.add("edit")
	return &discord.Message{}, nil
}

// stampLimiter admits everything and keeps the time it was told the user acted.
type stampLimiter struct {
	mu sync.Mutex
	at []time.Time
}

func (s *stampLimiter) Admit(_ context.Context, _ discord.UserID, _ string, at time.Time) (Admission, error) {
	s.mu.Lock()
	s.at = append(s.at, at)
	s.mu.Unlock()
	return Admission{Allowed: true}, nil
}

func deadlineRouter(t *testing.T, j *journal, lim Limiter) *Router {
	t.Helper()
	write := func(name string) Handler {
		return func(ctx context.Context, inv *Invocation) (Reply, error) {
			j.add("applied " + name)
			return Reply{Content: "done"}, nil
		}
	}
	cat, err := NewCatalog([]*Command{
		{Name: "pay", Description: "Changes state", Writes: true, Run: write("pay")},
		{Name: "look", Description: "Reads", Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			j.add("read")
			return Reply{Content: "seen"}, nil
		}},
		{Name: "slowlook", Description: "Reads slowly", Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			time.Sleep(200 * time.Millisecond)
			j.add("read")
			return Reply{Content: "seen"}, nil
		}},
	}, []*Component{{Prefix: "buy", Writes: true, Run: write("buy")}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Catalog: cat, Responder: j, Claimer: &memClaims{}, NodeID: "n1"}
	if lim != nil {
		cfg.Limiter = lim
	}
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// inBubble runs f in a synctest bubble whose fake clock has first moved
// to the present day: the bubble's clock starts in 2000, before Discord's
// snowflake epoch, and a sleep there takes no real time. The router's
// deadlines and deferral timers then fire exactly when due, however busy
// the machine is.
func inBubble(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, func(t *testing.T) {
		time.Sleep(time.Until(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
		f(t)
	})
}

func eventAt(created time.Time, n uint64, data discord.InteractionData) *discord.InteractionEvent {
	return &discord.InteractionEvent{ID: idAt(created, n), AppID: 1, Token: "tok", GuildID: 7, ChannelID: 8,
		Member: &discord.Member{User: discord.User{ID: 99, Username: "alice"}}, Data: data}
}

// TestRouterAcknowledgesBeforeApplying covers issue 17's "money moved, no
// answer": the age of an interaction is read from its snowflake, and a
// command that changes state runs only once its answer is sure to be
// accepted.
func TestRouterAcknowledgesBeforeApplying(t *testing.T) {
	t.Parallel()
	cmd := func(name string) discord.InteractionData { return &discord.CommandInteraction{Name: name} }
	tests := []struct {
		name        string
		age         time.Duration
		data        discord.InteractionData
		refuse      bool
		want        []string
		wantExpired string // the reason counted, if any
	}{
		{"fresh write replies directly", 0, cmd("pay"), false, []string{"applied pay", "reply"}, ""},
		{"write near the deadline is deferred first", 1700 * time.Millisecond, cmd("pay"), false,
			[]string{"deferred", "applied pay", "edit"}, ""},
		{"button near the deadline is deferred as an update", 1700 * time.Millisecond,
			&discord.ButtonInteraction{CustomID: "buy:op1"}, false, []string{"deferred-update", "applied buy", "edit"}, ""},
		{"refused deferral runs nothing", 1700 * time.Millisecond, cmd("pay"), true, []string{"refused"}, ExpiredDeferRefused},
		{"write past the deadline is dropped", 2900 * time.Millisecond, cmd("pay"), false, nil, ExpiredDeadline},
		{"replayed write long past the deadline is dropped", 40 * time.Second, cmd("pay"), false, nil, ExpiredDeadline},
		{"read past the deadline still tries", 5 * time.Second, cmd("look"), true, []string{"read", "refused"}, ""},
		{"read near the deadline is not deferred first", 1700 * time.Millisecond, cmd("look"), false, []string{"read", "reply"}, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inBubble(t, func(t *testing.T) {
				j := &journal{refuse: tt.refuse}
				r := deadlineRouter(t, j, nil)
				r.Handle(context.Background(), eventAt(time.Now().Add(-tt.age), uint64(i), tt.data), 0)
				got := j.log()
				if len(got) != len(tt.want) {
					t.Fatalf("journal %q, want %q", got, tt.want)
				}
				for k := range tt.want {
					if got[k] != tt.want[k] {
						t.Fatalf("journal %q, want %q", got, tt.want)
					}
				}
				for _, reason := range expiredReasons {
					want := 0.0
					if reason == tt.wantExpired {
						want = 1
					}
					if n := testutil.ToFloat64(r.metrics.expired.WithLabelValues(reason)); n != want {
						t.Errorf("chopsticks_interactions_expired_total{reason=%q} = %v, want %v", reason, n, want)
					}
				}
			})
		})
	}
}

// TestRouterDeferTimerCountsFromCreation: the deferral of a slow handler
// is due DeferAfter after the interaction's creation, not after its
// arrival, so a late arrival is deferred sooner.
func TestRouterDeferTimerCountsFromCreation(t *testing.T) {
	t.Parallel()
	inBubble(t, testDeferTimerCountsFromCreation)
}

func testDeferTimerCountsFromCreation(t *testing.T) {
	j := &journal{}
	r := deadlineRouter(t, j, nil)
	// Created 1.9 s ago, a 200 ms read ends past DeferAfter (2 s).
	r.Handle(context.Background(), eventAt(time.Now().Add(-1900*time.Millisecond), 1, &discord.CommandInteraction{Name: "slowlook"}), 0)
	got := j.log()
	want := []string{"deferred", "read", "edit"}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] || got[2] != want[2] {
		t.Fatalf("journal %q, want %q", got, want)
	}
}

// TestRouterLimitsByCreation: the limiter is told when the user acted
// (the snowflake's time), not when the event arrived.
func TestRouterLimitsByCreation(t *testing.T) {
	t.Parallel()
	lim := &stampLimiter{}
	r := deadlineRouter(t, &journal{}, lim)
	created := time.Now().Add(-1200 * time.Millisecond).Truncate(time.Millisecond)
	r.Handle(context.Background(), eventAt(created, 1, &discord.CommandInteraction{Name: "look"}), 0)
	if len(lim.at) != 1 || !lim.at[0].Equal(created) {
		t.Fatalf("limiter told %v, want the creation time %v", lim.at, created)
	}
	// A snowflake from the future (clock skew) counts as now.
	r.Handle(context.Background(), eventAt(time.Now().Add(time.Hour), 2, &discord.CommandInteraction{Name: "look"}), 0)
	if len(lim.at) != 2 || lim.at[1].After(time.Now()) {
		t.Fatalf("limiter told %v for a snowflake from the future", lim.at)
	}
}

// TestRouterCancelsWriteWhenDeferralRefused: a fresh command that changes
// state runs at once; if it is still running at DeferAfter and Discord
// refuses the deferred response, its context is cancelled so that it does
// not commit a change nobody will hear of.
func TestRouterCancelsWriteWhenDeferralRefused(t *testing.T) {
	t.Parallel()
	inBubble(t, testCancelsWriteWhenDeferralRefused)
}

func testCancelsWriteWhenDeferralRefused(t *testing.T) {
	j := &journal{refuse: true}
	cat, err := NewCatalog([]*Command{{Name: "pay", Description: "Changes state", Writes: true,
		Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			select {
			case <-ctx.Done():
				j.add("cancelled")
				return Reply{}, ctx.Err()
			case <-time.After(5 * time.Second):
				j.add("applied pay")
				return Reply{Content: "done"}, nil
			}
		}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRouter(Config{Catalog: cat, Responder: j, Claimer: &memClaims{}, NodeID: "n1",
		DeferAfter: 300 * time.Millisecond, WriteBudget: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	r.Handle(context.Background(), eventAt(time.Now(), 1, &discord.CommandInteraction{Name: "pay"}), 0)
	got := j.log()
	if len(got) < 2 || got[0] != "refused" || got[1] != "cancelled" {
		t.Fatalf("journal %q, want the refused deferral, then the handler cancelled", got)
	}
}
