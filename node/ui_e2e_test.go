package node_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordsim"
)

// controlIDs returns the custom IDs of a message's buttons (by label) and
// selects (by placeholder).
func controlIDs(t *testing.T, m discordsim.Message) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, raw := range m.Components {
		var row struct {
			Components []struct {
				Label       string `json:"label"`
				Placeholder string `json:"placeholder"`
				CustomID    string `json:"custom_id"`
			} `json:"components"`
		}
		if err := json.Unmarshal(raw, &row); err != nil {
			t.Fatal(err)
		}
		for _, c := range row.Components {
			out[c.Label+c.Placeholder] = c.CustomID
		}
	}
	return out
}

// messageText is a message's content and embeds as text.
func messageText(m discordsim.Message) string {
	var b strings.Builder
	b.WriteString(m.Content)
	for _, e := range m.Embeds {
		b.Write(e)
	}
	return b.String()
}

// TestNodeShopHelpAndModal: end to end against discordsim, which holds the
// bot's selects, buttons and modal to Discord's rules: /shop's category
// and item selects, the Quantity… modal and its submission, which buys;
// /help's category select on its ephemeral message; /cooldowns.
func TestNodeShopHelpAndModal(t *testing.T) {
	s := newStack(t, 1)
	s.startNode(t, "n1")
	guild, user := guildAndUser(t, s.sim)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	invoke(t, s.sim, discordsim.Invocation{GuildID: guild, UserID: user, Command: "daily"})
	click := func(m discordsim.Message, control string, values ...string) *discordsim.Interaction {
		t.Helper()
		id := controlIDs(t, m)[control]
		if id == "" {
			t.Fatalf("no %q on %s: %v", control, messageText(m), controlIDs(t, m))
		}
		i, err := s.sim.Click(ctx, discordsim.Click{UserID: user, MessageID: m.ID, CustomID: id, Values: values})
		if err != nil {
			t.Fatalf("click %q: %v", control, err)
		}
		return i
	}
	updated := func(i *discordsim.Interaction, want string) discordsim.Message {
		t.Helper()
		m, err := i.WaitMessage(ctx)
		if err != nil {
			t.Fatalf("%v (%+v)", err, i.Info())
		}
		if r := i.Info().Response; r == nil || r.Type != discordsim.CallbackUpdateMessage || !strings.Contains(messageText(m), want) {
			t.Fatalf("answer %+v, message %q, want an update with %q", r, messageText(m), want)
		}
		return m
	}

	_, shop := invoke(t, s.sim, discordsim.Invocation{GuildID: guild, UserID: user, Command: "shop"})
	shop = updated(click(shop, "Browse a category", "companions"), "Companion gear")
	shop = updated(click(shop, "Pick an item to buy", "power_cell"), "Power Cell")
	qty := click(shop, "Quantity…")
	r, err := qty.Wait(ctx)
	if err != nil || r.Type != discordsim.CallbackModal {
		t.Fatalf("Quantity… answered %+v, %v; want a modal", r, err)
	}
	sub, err := s.sim.SubmitModal(ctx, discordsim.ModalSubmit{UserID: user, Interaction: qty.ID, Text: map[string]string{"quantity": "1"}})
	if err != nil {
		t.Fatal(err)
	}
	updated(sub, "You bought 1× **Power Cell**")

	_, help := invoke(t, s.sim, discordsim.Invocation{GuildID: guild, UserID: user, Command: "help"})
	if !help.Ephemeral() {
		t.Fatal("/help is public")
	}
	help = updated(click(help, "Choose a category", "economy"), "/cooldowns")
	updated(click(help, "Choose a command", "cooldowns"), "Examples")

	if _, m := invoke(t, s.sim, discordsim.Invocation{GuildID: guild, UserID: user, Command: "cooldowns"}); !strings.Contains(messageText(m), "Daily reward") {
		t.Fatalf("/cooldowns: %q", messageText(m))
	}
	for _, v := range s.sim.Violations() {
		switch v.Kind {
		case discordsim.ViolationInteractionFailed, discordsim.ViolationInteractionTwice, discordsim.ViolationInteractionLate:
			t.Errorf("violation: %+v", v)
		}
	}
}
