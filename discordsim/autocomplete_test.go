package discordsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestValidateFocus(t *testing.T) {
	maxLen := 5
	cases := []struct {
		name    string
		option  CommandOption
		partial string
		ok      bool
	}{
		{"string", CommandOption{Type: OptionString, Name: "item", Autocomplete: true}, "iron pi", true},
		{"empty string", CommandOption{Type: OptionString, Name: "item", Autocomplete: true}, "", true},
		{"no autocomplete", CommandOption{Type: OptionString, Name: "item"}, "iron", false},
		{"string over max_length", CommandOption{Type: OptionString, Name: "item", Autocomplete: true, MaxLength: &maxLen}, "abcdef", false},
		{"integer being typed", CommandOption{Type: OptionInteger, Name: "pos", Autocomplete: true}, "-1", true},
		{"integer sign only", CommandOption{Type: OptionInteger, Name: "pos", Autocomplete: true}, "-", true},
		{"integer with a point", CommandOption{Type: OptionInteger, Name: "pos", Autocomplete: true}, "1.5", false},
		{"integer with letters", CommandOption{Type: OptionInteger, Name: "pos", Autocomplete: true}, "1a", false},
		{"number with a trailing point", CommandOption{Type: OptionNumber, Name: "x", Autocomplete: true}, "3.", true},
		{"number twice a point", CommandOption{Type: OptionNumber, Name: "x", Autocomplete: true}, "3.1.", false},
		{"boolean", CommandOption{Type: OptionBoolean, Name: "b", Autocomplete: true}, "t", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := validateFocus(tc.option, tc.partial); (err == nil) != tc.ok {
				t.Fatalf("validateFocus(%q) = %v, want ok=%v", tc.partial, err, tc.ok)
			}
		})
	}
}

func TestValidateAutocompleteResult(t *testing.T) {
	str := CommandOption{Type: OptionString, Name: "item", Autocomplete: true}
	integer := CommandOption{Type: OptionInteger, Name: "pos", Autocomplete: true}
	number := CommandOption{Type: OptionNumber, Name: "x", Autocomplete: true}
	choices := func(n int) string {
		var parts []string
		for k := range n {
			parts = append(parts, fmt.Sprintf(`{"name":"c%d","value":"v%d"}`, k, k))
		}
		return `{"choices":[` + strings.Join(parts, ",") + `]}`
	}
	cases := []struct {
		name   string
		option CommandOption
		data   string
		path   string // "" when valid
		code   string
	}{
		{"empty choices", str, `{"choices":[]}`, "", ""},
		{"25 choices", str, choices(25), "", ""},
		{"26 choices", str, choices(26), "data.choices", "BASE_TYPE_MAX_LENGTH"},
		{"no data", str, ``, "data", "BASE_TYPE_REQUIRED"},
		{"no choices", str, `{}`, "data.choices", "BASE_TYPE_REQUIRED"},
		{"data not an object", str, `[1]`, "data", "MODEL_TYPE_CONVERT"},
		{"name missing", str, `{"choices":[{"value":"a"}]}`, "data.choices.0.name", "BASE_TYPE_REQUIRED"},
		{"name empty", str, `{"choices":[{"name":"","value":"a"}]}`, "data.choices.0.name", "BASE_TYPE_BAD_LENGTH"},
		{"name 100", str, `{"choices":[{"name":"` + strings.Repeat("n", 100) + `","value":"a"}]}`, "", ""},
		{"name 101", str, `{"choices":[{"name":"` + strings.Repeat("n", 101) + `","value":"a"}]}`, "data.choices.0.name", "BASE_TYPE_BAD_LENGTH"},
		{"localized name 101", str, `{"choices":[{"name":"n","name_localizations":{"fr":"` + strings.Repeat("n", 101) + `"},"value":"a"}]}`, "data.choices.0.name_localizations.fr", "BASE_TYPE_BAD_LENGTH"},
		{"value missing", str, `{"choices":[{"name":"n"}]}`, "data.choices.0.value", "BASE_TYPE_REQUIRED"},
		{"string value 100", str, `{"choices":[{"name":"n","value":"` + strings.Repeat("v", 100) + `"}]}`, "", ""},
		{"string value 101", str, `{"choices":[{"name":"n","value":"` + strings.Repeat("v", 101) + `"}]}`, "data.choices.0.value", "BASE_TYPE_INVALID"},
		{"number for a string option", str, `{"choices":[{"name":"n","value":1}]}`, "data.choices.0.value", "BASE_TYPE_INVALID"},
		{"integer", integer, `{"choices":[{"name":"first","value":1}]}`, "", ""},
		{"string for an integer option", integer, `{"choices":[{"name":"first","value":"1"}]}`, "data.choices.0.value", "BASE_TYPE_INVALID"},
		{"fraction for an integer option", integer, `{"choices":[{"name":"half","value":1.5}]}`, "data.choices.0.value", "BASE_TYPE_INVALID"},
		{"integer past 2^53", integer, `{"choices":[{"name":"big","value":9007199254740993}]}`, "data.choices.0.value", "BASE_TYPE_INVALID"},
		{"fraction for a number option", number, `{"choices":[{"name":"half","value":1.5}]}`, "", ""},
		{"string for a number option", number, `{"choices":[{"name":"half","value":"1.5"}]}`, "data.choices.0.value", "BASE_TYPE_INVALID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, e := validateAutocompleteResult(tc.option, json.RawMessage(tc.data))
			if tc.code == "" {
				if e != nil {
					t.Fatalf("refused: %v", e)
				}
				if got == nil {
					t.Fatal("accepted choices are nil")
				}
				return
			}
			wantError(t, e, tc.path, tc.code)
		})
	}
}

// TestAutocompleteInteraction drives the whole exchange: the driver sends
// an autocomplete only for an option with autocomplete, the bot's shard
// receives it with the focused option's text as a string, and the callback
// takes only a valid type 8 answer, which is recorded.
func TestAutocompleteInteraction(t *testing.T) {
	s := startSim(t, fastConfig())
	c, _, _ := identify(t, s, 0, 1, IntentGuilds)
	lastSeq(c, 8)
	registerCommand(t, s, map[string]any{"name": "sell", "description": "Sell", "options": []any{
		map[string]any{"type": 3, "name": "item", "description": "what", "required": true, "autocomplete": true},
		map[string]any{"type": 4, "name": "count", "description": "how many", "required": true, "autocomplete": true, "min_value": 1},
		map[string]any{"type": 3, "name": "note", "description": "why"},
	}})
	g := s.Guilds()[0]
	user := s.DefaultUsers()[0]
	sell := func(focused, partial string, filled map[string]any) Typing {
		return Typing{Invocation: Invocation{GuildID: g.ID, UserID: user, Command: "sell", Options: filled}, Focused: focused, Partial: partial}
	}
	unknown := sell("item", "x", nil)
	unknown.Command = "missing"
	bad := []Typing{
		sell("note", "x", nil),                             // no autocomplete
		sell("nope", "x", nil),                             // no such option
		sell("count", "2x", nil),                           // not a number
		sell("item", "x", map[string]any{"item": "y"}),     // focused and filled
		sell("item", "x", map[string]any{"count": "many"}), // filled option mistyped
		unknown, // unknown command
	}
	for k, ty := range bad {
		if _, err := s.Autocomplete(t.Context(), ty); err == nil {
			t.Errorf("bad typing %d accepted", k)
		}
	}
	// The integer option being typed arrives as a string; the filled
	// required "item" is typed, and nothing requires "count" to be filled.
	it, err := s.Autocomplete(t.Context(), sell("count", "1", map[string]any{"item": "pickaxe"}))
	if err != nil {
		t.Fatal(err)
	}
	f := c.mustRead()
	var ic struct {
		ID    Snowflake `json:"id"`
		Token string    `json:"token"`
		Type  int       `json:"type"`
		Data  struct {
			Name    string `json:"name"`
			Options []struct {
				Name    string `json:"name"`
				Type    int    `json:"type"`
				Value   any    `json:"value"`
				Focused *bool  `json:"focused"`
			} `json:"options"`
		} `json:"data"`
	}
	if err := json.Unmarshal(f.D, &ic); err != nil {
		t.Fatal(err)
	}
	if f.T != "INTERACTION_CREATE" || ic.ID != it.ID || ic.Type != InteractionAutocomplete || ic.Data.Name != "sell" || len(ic.Data.Options) != 2 {
		t.Fatalf("INTERACTION_CREATE = %s %+v", f.T, ic)
	}
	if o := ic.Data.Options[0]; o.Name != "item" || o.Value != "pickaxe" || o.Focused != nil {
		t.Errorf("filled option = %+v, want item=pickaxe without focused", o)
	}
	if o := ic.Data.Options[1]; o.Name != "count" || o.Type != OptionInteger || o.Value != "1" || o.Focused == nil || !*o.Focused {
		t.Errorf("focused option = %+v, want count=\"1\" focused", o)
	}
	cb := s.APIURL(10) + "/interactions/" + it.ID.String() + "/" + ic.Token + "/callback"
	refused := []map[string]any{
		{"type": 4, "data": map[string]any{"content": "hi"}},
		{"type": 5},
		{"type": 9, "data": map[string]any{"custom_id": "m", "title": "t", "components": []any{map[string]any{"type": 1}}}},
		{"type": 8, "data": map[string]any{"choices": []any{map[string]any{"name": "one", "value": "1"}}}}, // string for an integer
	}
	for k, body := range refused {
		var e apiErr
		if r := do(t, "POST", cb, "", body, &e); r.StatusCode != 400 || e.Code != 50035 {
			t.Errorf("refused answer %d: %d %+v", k, r.StatusCode, e)
		}
	}
	answer := map[string]any{"type": 8, "data": map[string]any{"choices": []any{map[string]any{"name": "1 (all you have)", "value": 1}}}}
	if r := do(t, "POST", cb, "", answer, nil); r.StatusCode != 204 {
		t.Fatalf("answer: %d", r.StatusCode)
	}
	got, err := it.WaitChoices(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Name != "1 (all you have)" || got[0].Value != float64(1) {
		t.Fatalf("choices = %+v", got)
	}
	if info := it.Info(); info.Focused != "count" || len(info.Choices) != 1 || info.Response.Type != CallbackAutocompleteResult {
		t.Fatalf("info = %+v", info)
	}
	// A second answer is a double acknowledgement, as for any interaction.
	if r := do(t, "POST", cb, "", answer, nil); r.StatusCode != 400 {
		t.Fatalf("second answer: %d", r.StatusCode)
	}
	// A command interaction cannot be answered with choices.
	inv, err := s.Invoke(t.Context(), Invocation{GuildID: g.ID, UserID: user, Command: "sell", Options: map[string]any{"item": "a", "count": 1}})
	if err != nil {
		t.Fatal(err)
	}
	if r := do(t, "POST", s.APIURL(10)+"/interactions/"+inv.ID.String()+"/"+inv.Token+"/callback", "", answer, nil); r.StatusCode != 400 {
		t.Fatalf("choices for a command: %d", r.StatusCode)
	}
	if _, err := inv.WaitChoices(t.Context()); err == nil || errors.Is(err, ErrInteractionFailed) {
		t.Fatalf("WaitChoices on a command = %v, want a refusal", err)
	}
}

// TestDriverAutocomplete checks POST /_sim/autocomplete: a bad typing is a
// 400, a good one answers with the interaction, whose choices are recorded.
func TestDriverAutocomplete(t *testing.T) {
	s := startSim(t, fastConfig())
	registerCommand(t, s, map[string]any{"name": "buy", "description": "Buy", "options": []any{
		map[string]any{"type": 3, "name": "item", "description": "what", "required": true, "autocomplete": true},
	}})
	g, user := s.Guilds()[0], s.DefaultUsers()[0]
	body := map[string]any{"guild_id": g.ID.String(), "user_id": user.String(), "command": "buy", "focused": "item", "partial": "pi"}
	if r := do(t, "POST", s.URL()+"/_sim/autocomplete", "", with(body, "focused", "nope"), nil); r.StatusCode != 400 {
		t.Fatalf("bad focus: %d", r.StatusCode)
	}
	var res interactionResult
	if r := do(t, "POST", s.URL()+"/_sim/autocomplete", "", body, &res); r.StatusCode != 200 {
		t.Fatalf("autocomplete: %d", r.StatusCode)
	}
	it, ok := s.InteractionByID(res.Interaction.ID)
	if !ok || res.Interaction.Type != InteractionAutocomplete || res.Interaction.Focused != "item" {
		t.Fatalf("interaction = %+v", res.Interaction)
	}
	answer := map[string]any{"type": 8, "data": map[string]any{"choices": []any{map[string]any{"name": "Pickaxe", "value": "pickaxe"}}}}
	if r := do(t, "POST", s.APIURL(10)+"/interactions/"+it.ID.String()+"/"+it.Token+"/callback", "", answer, nil); r.StatusCode != 204 {
		t.Fatalf("answer: %d", r.StatusCode)
	}
	var got InteractionInfo
	if r := do(t, "GET", s.URL()+"/_sim/interactions/"+it.ID.String()+"?wait=response", "", nil, &res); r.StatusCode != 200 {
		t.Fatalf("get: %d", r.StatusCode)
	}
	got = res.Interaction
	if len(got.Choices) != 1 || got.Choices[0].Value != "pickaxe" {
		t.Fatalf("recorded choices = %+v", got.Choices)
	}
}
