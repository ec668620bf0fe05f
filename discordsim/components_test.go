package discordsim

import (
	"strings"
	"testing"
)

// TestComponentFields: which fields each button style may carry, and the
// limits of select menus, on a channel message (Button Styles, String and
// User Select Structures).
func TestComponentFields(t *testing.T) {
	s := startSim(t, fastConfig())
	bot := "Bot " + s.Token()
	text, _ := s.TextChannel(s.Guilds()[0].ID)
	row := func(cs ...map[string]any) map[string]any {
		list := make([]any, len(cs))
		for i, c := range cs {
			list[i] = c
		}
		return map[string]any{"type": 1, "components": list}
	}
	button := map[string]any{"type": 2, "style": 1, "label": "ok", "custom_id": "b"}
	link := map[string]any{"type": 2, "style": 5, "label": "site", "url": "https://example.com"}
	premium := map[string]any{"type": 2, "style": 6, "sku_id": "1234"}
	option := func(label, value string) map[string]any { return map[string]any{"label": label, "value": value} }
	sel := map[string]any{"type": 3, "custom_id": "s", "options": []any{option("A", "a"), option("B", "b")}}
	users := map[string]any{"type": 5, "custom_id": "u"}
	cases := []struct {
		name string
		c    map[string]any
		ok   bool
	}{
		{"plain button", button, true},
		{"plain button with a url", with(button, "url", "https://example.com"), false},
		{"plain button with an sku", with(button, "sku_id", "1234"), false},
		{"link at 512", with(link, "url", "https://example.com/"+strings.Repeat("a", 492)), true},
		{"link over 512", with(link, "url", "https://example.com/"+strings.Repeat("a", 493)), false},
		{"premium", premium, true},
		{"premium with a label", with(premium, "label", "buy"), false},
		{"premium with an emoji", with(premium, "emoji", map[string]any{"name": "🙂"}), false},
		{"select, 0 to 2 of 2, placeholder 150", with(sel, "min_values", 0, "max_values", 2, "placeholder", strings.Repeat("p", 150)), true},
		{"placeholder over 150", with(sel, "placeholder", strings.Repeat("p", 151)), false},
		{"min_values over max_values", with(sel, "min_values", 3, "max_values", 2), false},
		{"max_values 26", with(sel, "max_values", 26), false},
		{"max_values 0", with(sel, "max_values", 0), false},
		{"option without a value", with(sel, "options", []any{map[string]any{"label": "A"}}), false},
		{"option label over 100", with(sel, "options", []any{option(strings.Repeat("l", 101), "a")}), false},
		{"option description over 100", with(sel, "options", []any{with(option("A", "a"), "description", strings.Repeat("d", 101))}), false},
		{"user select with one default", with(users, "default_values", []any{map[string]any{"id": "1", "type": "user"}}), true},
		{"more defaults than max_values", with(users, "default_values", []any{map[string]any{"id": "1", "type": "user"}, map[string]any{"id": "2", "type": "user"}}), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e apiErr
			r := do(t, "POST", s.APIURL(10)+"/channels/"+text.String()+"/messages", bot, map[string]any{"content": "x", "components": []any{row(tc.c)}}, &e)
			switch {
			case tc.ok && r.StatusCode != 200:
				t.Fatalf("got %d %+v, want 200", r.StatusCode, e)
			case !tc.ok && (r.StatusCode != 400 || e.Code != 50035 || len(e.Errors) == 0):
				t.Fatalf("got %d %+v, want 400 code 50035", r.StatusCode, e)
			}
		})
	}
}

// TestClickValues: the driver refuses clicks Discord could not send.
func TestClickValues(t *testing.T) {
	s := startSim(t, fastConfig())
	bot := "Bot " + s.Token()
	text, _ := s.TextChannel(s.Guilds()[0].ID)
	var m struct {
		ID Snowflake `json:"id"`
	}
	body := map[string]any{"content": "pick", "components": []any{
		map[string]any{"type": 1, "components": []any{map[string]any{"type": 3, "custom_id": "s", "min_values": 1, "max_values": 2,
			"options": []any{map[string]any{"label": "A", "value": "a"}, map[string]any{"label": "B", "value": "b"}}}}},
		map[string]any{"type": 1, "components": []any{map[string]any{"type": 2, "style": 1, "label": "go", "custom_id": "go"}}},
	}}
	if r := do(t, "POST", s.APIURL(10)+"/channels/"+text.String()+"/messages", bot, body, &m); r.StatusCode != 200 {
		t.Fatalf("post: %d", r.StatusCode)
	}
	cases := []struct {
		name     string
		customID string
		values   []string
		ok       bool
	}{
		{"one option", "s", []string{"a"}, true},
		{"two options", "s", []string{"a", "b"}, true},
		{"none, below min_values", "s", nil, false},
		{"not an option", "s", []string{"c"}, false},
		{"the same twice", "s", []string{"a", "a"}, false},
		{"button", "go", nil, true},
		{"button with values", "go", []string{"a"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := s.Click(t.Context(), Click{UserID: s.DefaultUsers()[0], MessageID: m.ID, CustomID: tc.customID, Values: tc.values})
			if (err == nil) != tc.ok {
				t.Fatalf("click: %v, want ok %v", err, tc.ok)
			}
		})
	}
}
