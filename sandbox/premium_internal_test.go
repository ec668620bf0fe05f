package sandbox

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/discordsim"
)

// TestPlaygroundPremium: the playground's subscription controls subscribe,
// cancel, lapse and renew the chosen user through discordsim, and its
// premium buttons buy what they offer; bad requests are refused.
func TestPlaygroundPremium(t *testing.T) {
	api := newPlayground(t)
	s, sim, post := api.s, api.sim, api.post
	if err := s.setupPremium(); err != nil {
		t.Fatal(err)
	}
	if env := s.premiumEnv(); !strings.HasPrefix(env, "PREMIUM_SKUS=subscription="+s.premium.Subscription.ID.String()+",pack=") {
		t.Fatalf("env %q", env)
	}
	guild := sim.Guilds()[0].ID.String()
	alice, bob := sim.DefaultUsers()[1].String(), sim.DefaultUsers()[2].String()
	for _, step := range []struct {
		user, action string
		code         int
		status       string
	}{
		{bob, "lapse", 400, ""}, // no subscription yet
		{alice, "subscribe", 200, "active"},
		{alice, "subscribe", 400, ""}, // already subscribed
		{alice, "cancel", 200, "ending"},
		{alice, "lapse", 200, "inactive"},
		{alice, "renew", 200, "active"},
		{alice, "pause", 400, ""},
	} {
		code, out := post("/api/subscription", map[string]any{"user_id": step.user, "guild_id": guild, "action": step.action})
		if code != step.code || (step.status != "" && out["status"] != step.status) {
			t.Fatalf("%s: %d %v, want %d %s", step.action, code, out, step.code, step.status)
		}
	}
	var active int
	for _, e := range sim.Entitlements() {
		if e.UserID.String() == alice && e.EndsAt == nil {
			active++
		}
	}
	if active != 1 {
		t.Fatalf("alice holds %d running entitlements, want 1", active)
	}

	// A premium button the bot sent, pressed in the playground.
	text, _ := sim.TextChannel(sim.Guilds()[0].ID)
	body, _ := json.Marshal(map[string]any{"components": []any{map[string]any{"type": 1, "components": []any{
		map[string]any{"type": 2, "style": 6, "sku_id": s.premium.Pack.ID}}}}})
	req, _ := http.NewRequest("POST", sim.APIURL(10)+"/channels/"+text.String()+"/messages", strings.NewReader(string(body)))
	req.Header.Set("Authorization", "Bot "+sim.Token())
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "DiscordBot (https://example.invalid, 1)")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var msg discordsim.Message
	_ = json.NewDecoder(resp.Body).Decode(&msg)
	resp.Body.Close()
	if code, out := post("/api/premium-click", map[string]any{"user_id": bob, "guild_id": guild, "message_id": msg.ID.String(), "sku_id": s.premium.Pack.ID.String()}); code != 200 || out["bought"] != "Cosmetic Pack" {
		t.Fatalf("premium click: %d %v", code, out)
	}
	if code, _ := post("/api/premium-click", map[string]any{"user_id": bob, "guild_id": guild, "message_id": msg.ID.String(), "sku_id": s.premium.Boost.ID.String()}); code != 400 {
		t.Fatalf("a button the message lacks: %d", code)
	}
	if code, _ := post("/api/premium-click", map[string]any{"user_id": bob, "guild_id": guild}); code != 400 {
		t.Fatalf("no message: %d", code)
	}
	r, err := http.Get(api.url + "/api/premium")
	if err != nil {
		t.Fatal(err)
	}
	var names struct {
		SKUs map[string]string `json:"skus"`
	}
	_ = json.NewDecoder(r.Body).Decode(&names)
	r.Body.Close()
	if names.SKUs[s.premium.Boost.ID.String()] != "Coffee Boost" {
		t.Fatalf("SKU names %v", names.SKUs)
	}
}
