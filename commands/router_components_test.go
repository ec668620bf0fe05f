package commands

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
)

// memOnce is memClaims with operation claims, as RedisClaimer has.
type memOnce struct {
	memClaims
	omu  sync.Mutex
	keys map[string]bool
}

func (m *memOnce) ClaimOnce(ctx context.Context, key, holder string) (bool, error) {
	m.omu.Lock()
	defer m.omu.Unlock()
	if m.keys == nil {
		m.keys = map[string]bool{}
	}
	if m.keys[key] {
		return false, nil
	}
	m.keys[key] = true
	return true, nil
}

func (m *memOnce) ReleaseOnce(ctx context.Context, key string) error {
	m.omu.Lock()
	defer m.omu.Unlock()
	delete(m.keys, key)
	return nil
}

// TestRouterModalsSelectsAndOnce: a component that opens a modal, the
// modal's submission (type 7 only when a component opened it), the values
// of a user select, and Invocation.Once: a second press is refused, and a
// press whose handler failed may be pressed again.
func TestRouterModalsSelectsAndOnce(t *testing.T) {
	t.Parallel()
	comps := []*Component{
		{Prefix: "form", Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			return Reply{Modal: &Modal{CustomID: "sub:1", Title: "T", Inputs: []TextInput{{CustomID: "q", Label: "How many?", Required: true, MaxLength: 3}}}}, nil
		}},
		{Prefix: "sub", Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			return Reply{Content: "got " + inv.Fields["q"]}, nil
		}},
		{Prefix: "who", Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			return Reply{Content: "picked " + strings.Join(inv.Values, ",")}, nil
		}},
		{Prefix: "once", Writes: true, Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			if err := inv.Once(ctx); err != nil {
				return Reply{}, err
			}
			if inv.Args[1] == "fail" {
				return Reply{}, errors.New("the database went away")
			}
			return Reply{Content: "done"}, nil
		}},
	}
	cat, err := NewCatalog(nil, comps)
	if err != nil {
		t.Fatal(err)
	}
	r, rec, _ := newTestRouter(t, Config{Catalog: cat, Claimer: &memOnce{}})
	n := uint64(100)
	handle := func(data discord.InteractionData, onMessage bool) api.InteractionResponse {
		t.Helper()
		n++
		ev := &discord.InteractionEvent{ID: freshID(n), AppID: 1, Token: "t", Member: &discord.Member{User: discord.User{ID: 9}}, Data: data}
		if onMessage {
			ev.Message = &discord.Message{ID: 5}
		}
		before := len(rec.responses)
		r.Handle(context.Background(), ev, 0)
		if len(rec.responses) != before+1 {
			t.Fatalf("%d responses, want 1", len(rec.responses)-before)
		}
		return rec.responses[before]
	}
	modal := handle(&discord.ButtonInteraction{CustomID: "form:x"}, true)
	if modal.Type != api.ModalResponse || modal.Data.CustomID.Val != "sub:1" || modal.Data.Components == nil || len(*modal.Data.Components) != 1 {
		t.Fatalf("modal response %+v", modal)
	}
	row := (*modal.Data.Components)[0].(*discord.ActionRowComponent)
	if in, ok := (*row)[0].(*discord.TextInputComponent); !ok || in.CustomID != "q" || in.LengthLimits != [2]int{0, 3} {
		t.Fatalf("modal input %+v", (*row)[0])
	}
	fields := discord.ContainerComponents{&discord.ActionRowComponent{&discord.TextInputComponent{CustomID: "q", Value: "12"}}}
	for _, onMessage := range []bool{false, true} {
		got := handle(&discord.ModalInteraction{CustomID: "sub:1", Components: fields}, onMessage)
		want := api.MessageInteractionWithSource
		if onMessage {
			want = api.UpdateMessage
		}
		if got.Type != want || content(got) != "got 12" {
			t.Errorf("submit (from a message: %v) answered type %d %q, want type %d", onMessage, got.Type, content(got), want)
		}
	}
	if got := handle(&discord.UserSelectInteraction{CustomID: "who", Values: []discord.UserID{7, 8}}, true); content(got) != "picked 7,8" {
		t.Errorf("user select: %q", content(got))
	}
	steps := []struct {
		id, want string
	}{
		{"once:r1:ok", "done"},
		{"once:r1:ok", "already done"},
		{"once:r2:fail", "Something went wrong"},
		{"once:r2:ok", "done"}, // the failed press released its claim
	}
	for _, s := range steps {
		if got := content(handle(&discord.ButtonInteraction{CustomID: discord.ComponentID(s.id)}, true)); !strings.Contains(got, s.want) {
			t.Errorf("%s: %q, want %q", s.id, got, s.want)
		}
	}
}
