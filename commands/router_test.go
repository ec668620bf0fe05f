package commands

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
	ajson "github.com/diamondburned/arikawa/v3/utils/json"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// recorder is a Responder that keeps what the router sent. (Discord itself
// is exercised end to end in the node package against discordsim.)
type recorder struct {
	mu        sync.Mutex
	responses []api.InteractionResponse
	edits     []api.EditInteractionResponseData
	sent      chan struct{}
}

func newRecorder() *recorder { return &recorder{sent: make(chan struct{}, 16)} }

func (r *recorder) RespondInteraction(id discord.InteractionID, token string, resp api.InteractionResponse) error {
	r.mu.Lock()
	r.responses = append(r.responses, resp)
	r.mu.Unlock()
	r.sent <- struct{}{}
	return nil
}

func (r *recorder) EditInteractionResponse(app discord.AppID, token string, data api.EditInteractionResponseData) (*discord.Message, error) {
	r.mu.Lock()
	r.edits = append(r.edits, data)
	r.mu.Unlock()
	r.sent <- struct{}{}
	return &discord.Message{}, nil
}

// memClaims is a Claimer kept in memory; the Redis one is tested in claim_test.go.
type memClaims struct {
	mu   sync.Mutex
	seen map[discord.InteractionID]bool
	err  error
}

func (m *memClaims) Claim(ctx context.Context, id discord.InteractionID, holder string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return false, m.err
	}
	if m.seen == nil {
		m.seen = map[discord.InteractionID]bool{}
	}
	if m.seen[id] {
		return false, nil
	}
	m.seen[id] = true
	return true, nil
}

type fixedLimiter struct{ adm Admission }

func (f fixedLimiter) Admit(context.Context, discord.UserID, string, time.Time) (Admission, error) {
	return f.adm, nil
}

func float(f float64) *float64 { return &f }

func testCatalog(t *testing.T) *Catalog {
	t.Helper()
	cat, err := NewCatalog([]*Command{
		Ping(),
		{
			Name: "echo", Description: "Echo text",
			Options: []Option{
				{Name: "text", Description: "What to say", Type: String, Required: true, MaxLength: 10},
				{Name: "times", Description: "How often", Type: Integer, Min: float(1), Max: float(3)},
				{Name: "who", Description: "Someone", Type: User},
			},
			Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
				n, ok := inv.Int("times")
				if !ok {
					n = 1
				}
				text := strings.Repeat(inv.String("text"), int(n))
				if u, ok := inv.UserOption("who"); ok {
					text += " @" + u.Username
				}
				return Reply{Content: text}, nil
			},
		},
		{Name: "slow", Description: "Takes a while", Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			time.Sleep(150 * time.Millisecond)
			return Reply{Content: "done"}, nil
		}},
		{Name: "oops", Description: "Fails", Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			return Reply{}, errors.New("database on fire")
		}},
		{Name: "boom", Description: "Panics", Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			panic("nil map")
		}},
		{Name: "refuse", Description: "Refuses", Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			return Reply{}, Errorf("You can't do that.")
		}},
		{Name: "bank", Description: "Bank", Subcommands: []*Command{
			{Name: "view", Description: "View", Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
				return Reply{Content: "path=" + inv.Command}, nil
			}},
		}},
	}, []*Component{{Prefix: "page", Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
		return Reply{Content: "page " + strings.Join(inv.Args, ",") + " op " + inv.OperationID()}, nil
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

func commandEvent(id uint64, name string, opts ...discord.CommandInteractionOption) *discord.InteractionEvent {
	data := &discord.CommandInteraction{Name: name, Options: opts}
	data.Resolved.Users = map[discord.UserID]discord.User{42: {ID: 42, Username: "bob"}}
	return &discord.InteractionEvent{
		ID: freshID(id), AppID: 1, Token: "tok", GuildID: 7, ChannelID: 8,
		Member: &discord.Member{User: discord.User{ID: 99, Username: "alice"}},
		Data:   data,
	}
}

func opt(name string, typ discord.CommandOptionType, raw string) discord.CommandInteractionOption {
	return discord.CommandInteractionOption{Name: name, Type: typ, Value: ajson.Raw(raw)}
}

func newTestRouter(t *testing.T, cfg Config) (*Router, *recorder, *prometheus.Registry) {
	t.Helper()
	rec := newRecorder()
	reg := prometheus.NewRegistry()
	if cfg.Catalog == nil {
		cfg.Catalog = testCatalog(t)
	}
	cfg.Responder, cfg.Registerer, cfg.NodeID = rec, reg, "n1"
	if cfg.Claimer == nil {
		cfg.Claimer = &memClaims{}
	}
	r, err := NewRouter(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r, rec, reg
}

func content(resp api.InteractionResponse) string {
	if resp.Data == nil || resp.Data.Content == nil {
		return ""
	}
	return resp.Data.Content.Val
}

func TestRouterReplies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		ev            *discord.InteractionEvent
		wantType      api.InteractionResponseType
		wantContent   string
		wantEphemeral bool
		wantStatus    string
	}{
		{"plain reply", commandEvent(1, "echo", opt("text", discord.StringOptionType, `"hi"`), opt("times", discord.IntegerOptionType, `2`)),
			api.MessageInteractionWithSource, "hihi", false, "ok"},
		{"resolved user", commandEvent(2, "echo", opt("text", discord.StringOptionType, `"hi"`), opt("who", discord.UserOptionType, `"42"`)),
			api.MessageInteractionWithSource, "hi @bob", false, "ok"},
		{"subcommand", commandEvent(3, "bank", discord.CommandInteractionOption{Name: "view", Type: discord.SubcommandOptionType}),
			api.MessageInteractionWithSource, "path=bank view", false, "ok"},
		{"missing required option", commandEvent(4, "echo"),
			api.MessageInteractionWithSource, `needs the option "text"`, true, "invalid"},
		{"integer below minimum", commandEvent(5, "echo", opt("text", discord.StringOptionType, `"a"`), opt("times", discord.IntegerOptionType, `0`)),
			api.MessageInteractionWithSource, "must be between 1 and 3", true, "invalid"},
		{"integer past int64", commandEvent(6, "echo", opt("text", discord.StringOptionType, `"a"`), opt("times", discord.IntegerOptionType, `9223372036854775808`)),
			api.MessageInteractionWithSource, "expected a whole number", true, "invalid"},
		{"string too long", commandEvent(7, "echo", opt("text", discord.StringOptionType, `"abcdefghijk"`)),
			api.MessageInteractionWithSource, "at most 10 characters", true, "invalid"},
		{"wrong option type", commandEvent(8, "echo", opt("text", discord.IntegerOptionType, `5`)),
			api.MessageInteractionWithSource, "expected a text", true, "invalid"},
		{"unknown option", commandEvent(9, "echo", opt("text", discord.StringOptionType, `"a"`), opt("loud", discord.BooleanOptionType, `true`)),
			api.MessageInteractionWithSource, `has no option "loud"`, true, "invalid"},
		{"unknown command", commandEvent(10, "nope"),
			api.MessageInteractionWithSource, "I don't know the command /nope", true, "invalid"},
		{"user error", commandEvent(11, "refuse"),
			api.MessageInteractionWithSource, "You can't do that.", true, "rejected"},
		{"internal error is not shown", commandEvent(12, "oops"),
			api.MessageInteractionWithSource, "Something went wrong on our side", true, "error"},
		{"panic is contained", commandEvent(13, "boom"),
			api.MessageInteractionWithSource, "Something went wrong on our side", true, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, rec, reg := newTestRouter(t, Config{})
			r.Handle(context.Background(), tt.ev, 0)
			if len(rec.responses) != 1 || len(rec.edits) != 0 {
				t.Fatalf("sent %d responses and %d edits, want 1 response", len(rec.responses), len(rec.edits))
			}
			resp := rec.responses[0]
			if resp.Type != tt.wantType {
				t.Errorf("type = %d, want %d", resp.Type, tt.wantType)
			}
			if got := content(resp); !strings.Contains(got, tt.wantContent) {
				t.Errorf("content %q does not contain %q", got, tt.wantContent)
			}
			if strings.Contains(content(resp), "fire") {
				t.Errorf("internal error text leaked to the user: %q", content(resp))
			}
			if got := resp.Data.Flags&discord.EphemeralMessage != 0; got != tt.wantEphemeral {
				t.Errorf("ephemeral = %v, want %v", got, tt.wantEphemeral)
			}
			label := tt.ev.Data.(*discord.CommandInteraction).Name
			if label == "nope" {
				label = "other"
			}
			if n := testutil.ToFloat64(r.metrics.total.WithLabelValues(label, tt.wantStatus)); n != 1 {
				t.Errorf("chopsticks_commands_total{command=%q,status=%q} = %v, want 1", label, tt.wantStatus, n)
			}
			if _, err := reg.Gather(); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestRouterClaimsOnce(t *testing.T) {
	t.Parallel()
	claims := &memClaims{}
	r1, rec1, _ := newTestRouter(t, Config{Claimer: claims})
	r2, rec2, _ := newTestRouter(t, Config{Claimer: claims})
	ev := commandEvent(1, "ping")
	r1.Handle(context.Background(), ev, 0)
	r2.Handle(context.Background(), ev, 0)
	r1.Handle(context.Background(), ev, 0)
	if got := len(rec1.responses) + len(rec2.responses); got != 1 {
		t.Fatalf("%d responses to one interaction delivered three times, want 1", got)
	}
	if d := testutil.ToFloat64(r1.metrics.duplicates) + testutil.ToFloat64(r2.metrics.duplicates); d != 2 {
		t.Fatalf("duplicates counted %v, want 2", d)
	}

	t.Run("claim store down: handled anyway", func(t *testing.T) {
		r, rec, _ := newTestRouter(t, Config{Claimer: &memClaims{err: errors.New("redis down")}})
		r.Handle(context.Background(), commandEvent(2, "ping"), 0)
		if len(rec.responses) != 1 {
			t.Fatalf("%d responses, want 1", len(rec.responses))
		}
	})
}

// TestRouterDefersSlowHandlers: a handler still running at DeferAfter
// gets a deferred response first and its reply as an edit; one done
// before gets a direct reply. The handler takes 150 ms of the bubble's
// fake time.
func TestRouterDefersSlowHandlers(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name       string
		deferAfter time.Duration
		deferred   bool
	}{
		{"slow handler is deferred", 20 * time.Millisecond, true},
		{"fast handler is not deferred", time.Second, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			inBubble(t, func(t *testing.T) {
				r, rec, _ := newTestRouter(t, Config{DeferAfter: tt.deferAfter})
				r.Handle(context.Background(), commandEvent(1, "slow"), 0)
				switch {
				case tt.deferred && (len(rec.responses) != 1 || rec.responses[0].Type != api.DeferredMessageInteractionWithSource):
					t.Fatalf("responses %+v, want one deferred response", rec.responses)
				case tt.deferred && (len(rec.edits) != 1 || rec.edits[0].Content == nil || rec.edits[0].Content.Val != "done"):
					t.Fatalf("edits %+v, want the reply as an edit of the deferred response", rec.edits)
				case !tt.deferred && (len(rec.responses) != 1 || rec.responses[0].Type != api.MessageInteractionWithSource || len(rec.edits) != 0):
					t.Fatalf("responses %+v edits %+v, want one direct reply", rec.responses, rec.edits)
				}
			})
		})
	}
}

func TestRouterRateLimit(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		adm   Admission
		wantN int
	}{
		{"refusal is explained", Admission{Allowed: false, RetryAfter: 1500 * time.Millisecond}, 1},
		{"admitted", Admission{Allowed: true}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, rec, _ := newTestRouter(t, Config{Limiter: fixedLimiter{tt.adm}})
			r.Handle(context.Background(), commandEvent(1, "ping"), 0)
			if len(rec.responses) != tt.wantN {
				t.Fatalf("%d responses, want %d", len(rec.responses), tt.wantN)
			}
			if !tt.adm.Allowed && !strings.Contains(content(rec.responses[0]), "Try again in 2s") {
				t.Fatalf("refusal %q does not give the time left rounded up", content(rec.responses[0]))
			}
		})
	}
}

// TestRouterBlockedRepliesCapped: a blocked user gets an ephemeral reply
// with the time left on every attempt, up to 5 in 10 seconds; a flood
// beyond that is dropped silently, and another user is still told.
func TestRouterBlockedRepliesCapped(t *testing.T) {
	t.Parallel()
	r, rec, _ := newTestRouter(t, Config{Limiter: fixedLimiter{Admission{RetryAfter: 42 * time.Second}}})
	for i := range 8 {
		r.Handle(context.Background(), commandEvent(uint64(i), "ping"), 0)
	}
	if len(rec.responses) != noticeBurst {
		t.Fatalf("%d replies to 8 blocked attempts, want %d", len(rec.responses), noticeBurst)
	}
	for _, resp := range rec.responses {
		if !strings.Contains(content(resp), "Try again in 42s") || resp.Data.Flags&discord.EphemeralMessage == 0 {
			t.Fatalf("blocked reply %q (flags %v), want an ephemeral time left", content(resp), resp.Data.Flags)
		}
	}
	other := commandEvent(100, "ping")
	other.Member.User.ID = 100
	r.Handle(context.Background(), other, 0)
	if len(rec.responses) != noticeBurst+1 {
		t.Fatal("another user's refusal was not explained")
	}

	var ns notices
	now := time.Now()
	for range noticeBurst {
		ns.allow(1, now)
	}
	if ns.allow(1, now.Add(noticeWindow-time.Millisecond)) {
		t.Fatal("a sixth reply inside the window")
	}
	if !ns.allow(1, now.Add(noticeWindow)) {
		t.Fatal("no reply in the next window")
	}
}

func TestRouterButtons(t *testing.T) {
	t.Parallel()
	r, rec, _ := newTestRouter(t, Config{})
	ev := &discord.InteractionEvent{ID: freshID(5), AppID: 1, Token: "t", Member: &discord.Member{User: discord.User{ID: 9}},
		Data: &discord.ButtonInteraction{CustomID: "page:op123:2"}}
	r.Handle(context.Background(), ev, 0)
	if len(rec.responses) != 1 || rec.responses[0].Type != api.UpdateMessage {
		t.Fatalf("responses %+v, want one UPDATE_MESSAGE", rec.responses)
	}
	if got := content(rec.responses[0]); got != "page op123,2 op page:op123" {
		t.Fatalf("content %q", got)
	}
	ev2 := &discord.InteractionEvent{ID: freshID(6), AppID: 1, Token: "t", Member: &discord.Member{User: discord.User{ID: 9}},
		Data: &discord.ButtonInteraction{CustomID: "gone:1"}}
	r.Handle(context.Background(), ev2, 0)
	if got := rec.responses[1]; got.Type != api.MessageInteractionWithSource || got.Data.Flags&discord.EphemeralMessage == 0 {
		t.Fatalf("unknown button answered with %+v, want an ephemeral message", got)
	}
}

// TestDispatchAndShutdown: Dispatch runs an interaction once, and
// Shutdown waits for the one in flight (the slow handler, 150 ms of the
// bubble's fake time) before it returns; after it nothing is dispatched.
func TestDispatchAndShutdown(t *testing.T) {
	t.Parallel()
	inBubble(t, func(t *testing.T) {
		r, rec, _ := newTestRouter(t, Config{DeferAfter: time.Second})
		ev := commandEvent(1, "slow")
		if !r.Dispatch(context.Background(), ev, 0) {
			t.Fatal("dispatch refused")
		}
		if r.Dispatch(context.Background(), ev, 0) {
			t.Fatal("a duplicate was dispatched")
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := r.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		if len(rec.responses) != 1 {
			t.Fatalf("shutdown returned before the in-flight interaction was answered")
		}
		if r.Dispatch(context.Background(), commandEvent(2, "ping"), 0) {
			t.Fatal("dispatch accepted after shutdown")
		}
	})
}

func TestCatalogRejectsBadDefinitions(t *testing.T) {
	t.Parallel()
	run := func(context.Context, *Invocation) (Reply, error) { return Reply{}, nil }
	tests := []struct {
		name string
		cmd  *Command
		want string
	}{
		{"upper-case name", &Command{Name: "Ping", Description: "d", Run: run}, "name must be"},
		{"no description", &Command{Name: "ping", Run: run}, "description"},
		{"no handler", &Command{Name: "ping", Description: "d"}, "no handler"},
		{"required after optional", &Command{Name: "x", Description: "d", Run: run, Options: []Option{
			{Name: "a", Description: "a", Type: String}, {Name: "b", Description: "b", Type: String, Required: true}}}, "required options come before"},
		{"choice of wrong type", &Command{Name: "x", Description: "d", Run: run, Options: []Option{
			{Name: "a", Description: "a", Type: Integer, Choices: []Choice{{Name: "one", Value: "1"}}}}}, "wrong type"},
		{"subcommands and handler", &Command{Name: "x", Description: "d", Run: run, Subcommands: []*Command{{Name: "y", Description: "d", Run: run}}}, "no options or handler"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCatalog([]*Command{tt.cmd}, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	if _, err := NewCatalog([]*Command{Ping(), Ping()}, nil); err == nil {
		t.Fatal("duplicate command accepted")
	}
}

func TestDefinitionsMatchCatalog(t *testing.T) {
	t.Parallel()
	defs := testCatalog(t).Definitions()
	b, err := json.Marshal(defs)
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	byName := map[string]map[string]any{}
	for _, d := range got {
		byName[d["name"].(string)] = d
	}
	echo := byName["echo"]["options"].([]any)
	times := echo[1].(map[string]any)
	if times["type"].(float64) != 4 || times["min_value"].(float64) != 1 || times["max_value"].(float64) != 3 {
		t.Fatalf("echo times option = %v", times)
	}
	bank := byName["bank"]["options"].([]any)[0].(map[string]any)
	if bank["type"].(float64) != 1 || bank["name"] != "view" {
		t.Fatalf("bank subcommand = %v", bank)
	}
}
