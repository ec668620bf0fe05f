package discordsim

import (
	"encoding/json"
	"strings"
	"testing"
)

// Modal building blocks for the tests.
func textInput(id string, kv ...any) map[string]any {
	return with(map[string]any{"type": 4, "custom_id": id, "style": 1}, kv...)
}

func label(text string, child map[string]any, kv ...any) map[string]any {
	return with(map[string]any{"type": 18, "label": text, "component": child}, kv...)
}

func modalWith(comps ...any) map[string]any {
	return map[string]any{"custom_id": "m", "title": "Quantity", "components": comps}
}

// TestModalRules: what a MODAL response may hold (Modal; Label, Text
// Input, the selects and Text Display in components-reference.mdx).
func TestModalRules(t *testing.T) {
	opts := []any{map[string]any{"label": "A", "value": "a"}}
	str := map[string]any{"type": 3, "custom_id": "s", "options": opts}
	cases := []struct {
		name  string
		modal map[string]any
		path  string // "" when valid
		code  string
	}{
		{"label with a text input", modalWith(label("How many?", textInput("q"))), "", ""},
		{"text display and a label", modalWith(map[string]any{"type": 10, "content": "Buy"}, label("How many?", textInput("q"))), "", ""},
		{"deprecated row with a labelled input", modalWith(map[string]any{"type": 1, "components": []any{textInput("q", "label", "How many?")}}), "", ""},
		{"label with each select", modalWith(label("s", str), label("u", map[string]any{"type": 5, "custom_id": "u"}),
			label("r", map[string]any{"type": 6, "custom_id": "r"}), label("m", map[string]any{"type": 7, "custom_id": "mn"}),
			label("c", map[string]any{"type": 8, "custom_id": "c", "channel_types": []any{0}})), "", ""},
		{"optional select with min_values 0", modalWith(label("s", with(str, "required", false, "min_values", 0))), "", ""},
		{"required select with min_values 0", modalWith(label("s", with(str, "min_values", 0))), "data.components.0.component.min_values", "SELECT_COMPONENT_MIN_VALUES_REQUIRED"},
		{"string select without options", modalWith(label("s", with(str, "options", []any{}))), "data.components.0.component.options", "BASE_TYPE_BAD_LENGTH"},
		{"disabled select", modalWith(label("s", with(str, "disabled", true))), "data.components.0.component.disabled", "COMPONENT_DISABLED_IN_MODAL"},
		{"label without text", modalWith(label("", textInput("q"))), "data.components.0.label", "BASE_TYPE_REQUIRED"},
		{"label of 46", modalWith(label(strings.Repeat("l", 46), textInput("q"))), "data.components.0.label", "BASE_TYPE_MAX_LENGTH"},
		{"label description of 101", modalWith(label("l", textInput("q"), "description", strings.Repeat("d", 101))), "data.components.0.description", "BASE_TYPE_MAX_LENGTH"},
		{"label without a component", modalWith(map[string]any{"type": 18, "label": "l"}), "data.components.0.component", "BASE_TYPE_REQUIRED"},
		{"label holding a button", modalWith(label("l", map[string]any{"type": 2, "style": 1, "custom_id": "b", "label": "b"})), "data.components.0.component", "UNION_TYPE_CHOICES"},
		{"label holding a file upload (not emulated)", modalWith(label("l", map[string]any{"type": 19, "custom_id": "f"})), "data.components.0.component", "UNION_TYPE_CHOICES"},
		{"top-level text input", modalWith(textInput("q")), "data.components.0", "UNION_TYPE_CHOICES"},
		{"top-level button row", modalWith(map[string]any{"type": 1, "components": []any{map[string]any{"type": 2, "style": 1, "custom_id": "b", "label": "b"}}}),
			"data.components.0.components.0", "UNION_TYPE_CHOICES"},
		{"row of two inputs", modalWith(map[string]any{"type": 1, "components": []any{textInput("a", "label", "a"), textInput("b", "label", "b")}}),
			"data.components.0.components", "BASE_TYPE_BAD_LENGTH"},
		{"row input without a label", modalWith(map[string]any{"type": 1, "components": []any{textInput("q")}}), "data.components.0.components.0.label", "BASE_TYPE_REQUIRED"},
		{"text display without content", modalWith(map[string]any{"type": 10}), "data.components.0.content", "BASE_TYPE_REQUIRED"},
		{"input without custom_id", modalWith(label("l", map[string]any{"type": 4, "style": 1})), "data.components.0.component.custom_id", "BASE_TYPE_REQUIRED"},
		{"input of style 3", modalWith(label("l", textInput("q", "style", 3))), "data.components.0.component.style", "BASE_TYPE_CHOICES"},
		{"min_length 4001", modalWith(label("l", textInput("q", "min_length", 4001))), "data.components.0.component.min_length", "NUMBER_TYPE_MAX"},
		{"max_length 0", modalWith(label("l", textInput("q", "max_length", 0))), "data.components.0.component.max_length", "NUMBER_TYPE_MAX"},
		{"min_length over max_length", modalWith(label("l", textInput("q", "min_length", 5, "max_length", 4))), "data.components.0.component.min_length", "TEXT_INPUT_MIN_LENGTH_TOO_LARGE"},
		{"value of 4001", modalWith(label("l", textInput("q", "value", strings.Repeat("v", 4001)))), "data.components.0.component.value", "BASE_TYPE_MAX_LENGTH"},
		{"placeholder of 101", modalWith(label("l", textInput("q", "placeholder", strings.Repeat("p", 101)))), "data.components.0.component.placeholder", "BASE_TYPE_MAX_LENGTH"},
		{"custom_id twice", modalWith(label("a", textInput("q")), label("b", textInput("q"))), "data.components.1.component.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED"},
		{"id twice", modalWith(label("a", textInput("a"), "id", 7), label("b", textInput("b", "id", 7))), "data.components.1.component.id", "COMPONENT_ID_DUPLICATED"},
		{"no components", modalWith(), "data.components", "BASE_TYPE_BAD_LENGTH"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data, _ := json.Marshal(tc.modal)
			e := validateModal(data)
			if tc.path == "" {
				if e != nil {
					t.Fatalf("refused: %v %v", e, e.Errors)
				}
				return
			}
			if e == nil {
				t.Fatalf("accepted, want %s at %s", tc.code, tc.path)
			}
			errs, _ := json.Marshal(e.Errors)
			if got := errorCodeAt(t, errs, tc.path); got != tc.code {
				t.Fatalf("code at %s = %s, want %s (%s)", tc.path, got, tc.code, errs)
			}
		})
	}
}

// errorCodeAt returns the first error code at path (keys joined by dots)
// of a form error tree.
func errorCodeAt(t *testing.T, errs json.RawMessage, path string) string {
	t.Helper()
	var tree any
	if err := json.Unmarshal(errs, &tree); err != nil {
		t.Fatal(err)
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := tree.(map[string]any)
		if !ok || m[k] == nil {
			t.Fatalf("errors %s: no %s on the path %s", errs, k, path)
		}
		tree = m[k]
	}
	var leaf struct {
		Errors []struct{ Code string } `json:"_errors"`
	}
	b, _ := json.Marshal(tree)
	if json.Unmarshal(b, &leaf) != nil || len(leaf.Errors) == 0 {
		t.Fatalf("errors %s: nothing at %s", errs, path)
	}
	return leaf.Errors[0].Code
}

// openModal invokes /feedback as user and answers it with modal; it
// returns the interaction the modal belongs to.
func openModal(t *testing.T, s *Sim, user Snowflake, modal map[string]any) *Interaction {
	t.Helper()
	it, err := s.Invoke(t.Context(), Invocation{GuildID: s.Guilds()[0].ID, UserID: user, Command: "feedback"})
	if err != nil {
		t.Fatal(err)
	}
	var e apiErr
	if r := do(t, "POST", s.APIURL(10)+"/interactions/"+it.ID.String()+"/"+it.Token+"/callback", "", map[string]any{"type": 9, "data": modal}, &e); r.StatusCode != 204 {
		t.Fatalf("modal: %d %+v", r.StatusCode, e)
	}
	return it
}

// submission is the part of a MODAL_SUBMIT payload the tests read.
type submission struct {
	Type    int       `json:"type"`
	Message *struct{} `json:"message"`
	Data    struct {
		CustomID   string `json:"custom_id"`
		Components []struct {
			Type      int `json:"type"`
			ID        int `json:"id"`
			Component *struct {
				Type     int      `json:"type"`
				ID       int      `json:"id"`
				CustomID string   `json:"custom_id"`
				Value    *string  `json:"value"`
				Values   []string `json:"values"`
			} `json:"component"`
			Components []struct {
				Type     int    `json:"type"`
				CustomID string `json:"custom_id"`
				Value    string `json:"value"`
			} `json:"components"`
		} `json:"components"`
		Resolved map[string]map[string]json.RawMessage `json:"resolved"`
	} `json:"data"`
}

// TestSubmitModal: who may submit a modal, what it must be filled with, the
// payload the bot receives, and the responses a submit takes.
func TestSubmitModal(t *testing.T) {
	s := startSim(t, fastConfig())
	registerCommand(t, s, map[string]any{"name": "feedback", "description": "Feedback"})
	users := s.DefaultUsers()
	g := s.Guilds()[0]
	voiceCh, _ := s.VoiceChannel(g.ID)
	modal := modalWith(
		map[string]any{"type": 10, "content": "Tell us"},
		label("Quantity", textInput("qty", "min_length", 1, "max_length", 3), "id", 5),
		label("Note", textInput("note", "required", false, "max_length", 10)),
		label("Friend", map[string]any{"type": 5, "custom_id": "who"}),
		label("Where", map[string]any{"type": 8, "custom_id": "where", "channel_types": []any{2}, "required": false, "min_values": 0}),
	)
	it := openModal(t, s, users[0], modal)
	bad := []struct {
		name string
		m    ModalSubmit
	}{
		{"another user", ModalSubmit{UserID: users[1], Interaction: it.ID, Text: map[string]string{"qty": "5"}, Values: map[string][]string{"who": {users[1].String()}}}},
		{"required input empty", ModalSubmit{UserID: users[0], Interaction: it.ID, Values: map[string][]string{"who": {users[1].String()}}}},
		{"input over max_length", ModalSubmit{UserID: users[0], Interaction: it.ID, Text: map[string]string{"qty": "1000"}, Values: map[string][]string{"who": {users[1].String()}}}},
		{"unknown input", ModalSubmit{UserID: users[0], Interaction: it.ID, Text: map[string]string{"qty": "5", "x": "1"}, Values: map[string][]string{"who": {users[1].String()}}}},
		{"values for a text input", ModalSubmit{UserID: users[0], Interaction: it.ID, Values: map[string][]string{"qty": {"5"}, "who": {users[1].String()}}}},
		{"required select empty", ModalSubmit{UserID: users[0], Interaction: it.ID, Text: map[string]string{"qty": "5"}}},
		{"channel of a type not asked", ModalSubmit{UserID: users[0], Interaction: it.ID, Text: map[string]string{"qty": "5"},
			Values: map[string][]string{"who": {users[1].String()}, "where": {g.Channels[0].ID.String()}}}},
		{"a command answered without a modal", ModalSubmit{UserID: users[0], Interaction: 12345}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := s.SubmitModal(t.Context(), tc.m); err == nil {
				t.Fatal("submitted")
			}
		})
	}
	sub, err := s.SubmitModal(t.Context(), ModalSubmit{UserID: users[0], Interaction: it.ID, Text: map[string]string{"qty": "12"},
		Values: map[string][]string{"who": {users[1].String()}, "where": {voiceCh.String()}}})
	if err != nil {
		t.Fatal(err)
	}
	var p submission
	if err := json.Unmarshal(sub.Payload(), &p); err != nil {
		t.Fatal(err)
	}
	c := p.Data.Components
	if p.Type != InteractionModalSubmit || p.Data.CustomID != "m" || len(c) != 5 || p.Message != nil {
		t.Fatalf("payload = %+v", p)
	}
	if c[0].Type != 10 || c[1].Type != 18 || c[1].ID != 5 || c[1].Component.CustomID != "qty" || *c[1].Component.Value != "12" {
		t.Errorf("text display and quantity = %+v %+v", c[0], c[1].Component)
	}
	if v := c[2].Component.Value; v == nil || *v != "" {
		t.Errorf("the optional note = %v, want an empty value", v)
	}
	if got := c[3].Component.Values; len(got) != 1 || got[0] != users[1].String() || c[3].Component.Type != 5 {
		t.Errorf("user select = %+v", c[3].Component)
	}
	ids := map[int]bool{}
	for _, x := range c {
		if ids[x.ID] || x.ID == 0 {
			t.Errorf("component id %d missing or twice", x.ID)
		}
		ids[x.ID] = true
		if x.Component != nil {
			if ids[x.Component.ID] || x.Component.ID == 0 {
				t.Errorf("component id %d missing or twice", x.Component.ID)
			}
			ids[x.Component.ID] = true
		}
	}
	r := p.Data.Resolved
	if r["users"][users[1].String()] == nil || r["members"][users[1].String()] == nil || r["channels"][voiceCh.String()] == nil {
		t.Errorf("resolved = %v", r)
	}
	if _, err := s.SubmitModal(t.Context(), ModalSubmit{UserID: users[0], Interaction: it.ID, Text: map[string]string{"qty": "12"},
		Values: map[string][]string{"who": {users[1].String()}}}); err == nil {
		t.Error("a modal was submitted twice")
	}
	// Opened from a command, a submit has no message to update.
	cb := s.APIURL(10) + "/interactions/" + sub.ID.String() + "/" + sub.Token + "/callback"
	var e apiErr
	for _, typ := range []int{6, 7} {
		if r := do(t, "POST", cb, "", map[string]any{"type": typ, "data": map[string]any{"content": "x"}}, &e); r.StatusCode != 400 || e.Code != 50035 {
			t.Errorf("type %d to a submit without a message: %d %+v", typ, r.StatusCode, e)
		}
	}
	if r := do(t, "POST", cb, "", map[string]any{"type": 9, "data": modal}, &e); r.StatusCode != 400 {
		t.Errorf("a modal in answer to a submit: %d", r.StatusCode)
	}
	if r := do(t, "POST", cb, "", map[string]any{"type": 4, "data": map[string]any{"content": "thanks"}}, &e); r.StatusCode != 204 {
		t.Errorf("message in answer to a submit: %d %+v", r.StatusCode, e)
	}
}

// TestSubmitModalFromButton: a modal opened by a button carries the
// button's message, and the submit may update that message; the HTTP
// driver submits too.
func TestSubmitModalFromButton(t *testing.T) {
	s := startSim(t, fastConfig())
	users := s.DefaultUsers()
	text, _ := s.TextChannel(s.Guilds()[0].ID)
	var m struct {
		ID Snowflake `json:"id"`
	}
	body := map[string]any{"content": "shop", "components": []any{map[string]any{"type": 1, "components": []any{
		map[string]any{"type": 2, "style": 1, "label": "Buy…", "custom_id": "qty"}}}}}
	if r := do(t, "POST", s.APIURL(10)+"/channels/"+text.String()+"/messages", "Bot "+s.Token(), body, &m); r.StatusCode != 200 {
		t.Fatalf("post: %d", r.StatusCode)
	}
	click, err := s.Click(t.Context(), Click{UserID: users[0], MessageID: m.ID, CustomID: "qty"})
	if err != nil {
		t.Fatal(err)
	}
	if r := do(t, "POST", s.APIURL(10)+"/interactions/"+click.ID.String()+"/"+click.Token+"/callback", "",
		map[string]any{"type": 9, "data": modalWith(map[string]any{"type": 1, "components": []any{textInput("q", "label", "How many?")}})}, nil); r.StatusCode != 204 {
		t.Fatalf("modal: %d", r.StatusCode)
	}
	var res struct {
		Interaction InteractionInfo `json:"interaction"`
		Error       string          `json:"error"`
	}
	if r := do(t, "POST", s.URL()+"/_sim/submit", "", map[string]any{"user_id": users[0], "interaction_id": click.ID, "text": map[string]string{}}, &res); r.StatusCode != 400 {
		t.Fatalf("an empty required input submitted over HTTP: %d", r.StatusCode)
	}
	if r := do(t, "POST", s.URL()+"/_sim/submit", "", map[string]any{"user_id": users[0], "interaction_id": click.ID, "text": map[string]string{"q": "3"}}, &res); r.StatusCode != 200 {
		t.Fatalf("submit: %d %+v", r.StatusCode, res)
	}
	sub, ok := s.InteractionByID(res.Interaction.ID)
	if !ok {
		t.Fatal("no submit interaction")
	}
	var p submission
	if err := json.Unmarshal(sub.Payload(), &p); err != nil {
		t.Fatal(err)
	}
	if p.Message == nil || len(p.Data.Components) != 1 || p.Data.Components[0].Type != 1 || p.Data.Components[0].Components[0].Value != "3" {
		t.Fatalf("payload = %+v", p)
	}
	if r := do(t, "POST", s.APIURL(10)+"/interactions/"+sub.ID.String()+"/"+sub.Token+"/callback", "",
		map[string]any{"type": 7, "data": map[string]any{"content": "bought 3", "components": []any{}}}, nil); r.StatusCode != 204 {
		t.Fatalf("update from a submit: %d", r.StatusCode)
	}
	if got, _ := s.Message(m.ID); got.Content != "bought 3" {
		t.Errorf("message = %q, want it updated", got.Content)
	}
}

// TestSelectMenuTypes: what a user can pick in user, role, mentionable
// and channel selects, and the resolved data the bot receives.
func TestSelectMenuTypes(t *testing.T) {
	s := startSim(t, fastConfig())
	users := s.DefaultUsers()
	g, other := s.Guilds()[0], s.Guilds()[1]
	text, _ := s.TextChannel(g.ID)
	voiceCh, _ := s.VoiceChannel(g.ID)
	otherText, _ := s.TextChannel(other.ID)
	stranger, err := s.CreateUser(UserOptions{Username: "stranger"})
	if err != nil {
		t.Fatal(err)
	}
	row := func(c map[string]any) map[string]any { return map[string]any{"type": 1, "components": []any{c}} }
	var m struct {
		ID Snowflake `json:"id"`
	}
	body := map[string]any{"content": "pick", "components": []any{
		row(map[string]any{"type": 5, "custom_id": "u", "max_values": 2}),
		row(map[string]any{"type": 6, "custom_id": "r"}),
		row(map[string]any{"type": 7, "custom_id": "m", "max_values": 2}),
		row(map[string]any{"type": 8, "custom_id": "c", "channel_types": []any{2}}),
		row(map[string]any{"type": 8, "custom_id": "any"}),
	}}
	if r := do(t, "POST", s.APIURL(10)+"/channels/"+text.String()+"/messages", "Bot "+s.Token(), body, &m); r.StatusCode != 200 {
		t.Fatalf("post: %d", r.StatusCode)
	}
	everyone := g.ID.String()
	cases := []struct {
		name     string
		customID string
		values   []string
		resolved string // the resolved kind the first value lands in; "" when refused
	}{
		{"a member", "u", []string{users[1].String()}, "members"},
		{"two members", "u", []string{users[1].String(), users[2].String()}, "users"},
		{"a member twice", "u", []string{users[1].String(), users[1].String()}, ""},
		{"not a member", "u", []string{stranger.ID.String()}, ""},
		{"not a snowflake", "u", []string{"alice"}, ""},
		{"more than max_values", "u", []string{users[0].String(), users[1].String(), users[2].String()}, ""},
		{"none, below min_values", "u", nil, ""},
		{"the @everyone role", "r", []string{everyone}, "roles"},
		{"a user in a role select", "r", []string{users[1].String()}, ""},
		{"a user and a role", "m", []string{users[1].String(), everyone}, "users"},
		{"a stranger as a mentionable", "m", []string{stranger.ID.String()}, ""},
		{"a voice channel", "c", []string{voiceCh.String()}, "channels"},
		{"a text channel where voice is asked", "c", []string{text.String()}, ""},
		{"any channel of the guild", "any", []string{text.String()}, "channels"},
		{"a channel of another guild", "any", []string{otherText.String()}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it, err := s.Click(t.Context(), Click{UserID: users[0], MessageID: m.ID, CustomID: tc.customID, Values: tc.values})
			if tc.resolved == "" {
				if err == nil {
					t.Fatal("click accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var p struct {
				Data struct {
					ComponentType int                                   `json:"component_type"`
					Values        []string                              `json:"values"`
					Resolved      map[string]map[string]json.RawMessage `json:"resolved"`
				} `json:"data"`
			}
			if err := json.Unmarshal(it.Payload(), &p); err != nil {
				t.Fatal(err)
			}
			if len(p.Data.Values) != len(tc.values) || p.Data.Resolved[tc.resolved][tc.values[0]] == nil {
				t.Fatalf("data = %+v, want %v resolved in %s", p.Data, tc.values, tc.resolved)
			}
			if tc.resolved == "members" && p.Data.Resolved["users"][tc.values[0]] == nil {
				t.Errorf("a member resolved without its user: %v", p.Data.Resolved)
			}
		})
	}
}

// TestSelectDefaultValues: the default_values of auto-populated selects
// (Select Default Value Structure): an id and a type the select lists.
func TestSelectDefaultValues(t *testing.T) {
	dv := func(id any, typ string) map[string]any { return map[string]any{"id": id, "type": typ} }
	cases := []struct {
		name string
		c    map[string]any
		path string // "" when valid
		code string
	}{
		{"user select, a user", map[string]any{"type": 5, "custom_id": "u", "default_values": []any{dv("12", "user")}}, "", ""},
		{"user select, a numeric id", map[string]any{"type": 5, "custom_id": "u", "default_values": []any{dv(12, "user")}}, "", ""},
		{"mentionable select, a user and a role", map[string]any{"type": 7, "custom_id": "m", "max_values": 2, "default_values": []any{dv("12", "user"), dv("13", "role")}}, "", ""},
		{"channel select, a channel", map[string]any{"type": 8, "custom_id": "c", "default_values": []any{dv("12", "channel")}}, "", ""},
		{"user select, a role", map[string]any{"type": 5, "custom_id": "u", "default_values": []any{dv("12", "role")}}, "components.0.components.0.default_values.0.type", "BASE_TYPE_CHOICES"},
		{"role select, a channel", map[string]any{"type": 6, "custom_id": "r", "default_values": []any{dv("12", "channel")}}, "components.0.components.0.default_values.0.type", "BASE_TYPE_CHOICES"},
		{"no id", map[string]any{"type": 5, "custom_id": "u", "default_values": []any{map[string]any{"type": "user"}}}, "components.0.components.0.default_values.0.id", "BASE_TYPE_REQUIRED"},
		{"an id that is no snowflake", map[string]any{"type": 5, "custom_id": "u", "default_values": []any{dv("bob", "user")}}, "components.0.components.0.default_values.0.id", "NUMBER_TYPE_COERCE"},
		{"the same id twice", map[string]any{"type": 5, "custom_id": "u", "max_values": 2, "default_values": []any{dv("12", "user"), dv("12", "user")}},
			"components.0.components.0.default_values.1.id", "SELECT_COMPONENT_DEFAULT_VALUE_DUPLICATED"},
		{"a string select", map[string]any{"type": 3, "custom_id": "s", "options": []any{map[string]any{"label": "A", "value": "a"}}, "default_values": []any{dv("12", "user")}},
			"components.0.components.0.default_values", "SELECT_COMPONENT_DEFAULT_VALUES_NOT_ALLOWED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, _ := json.Marshal(tc.c)
			row, _ := json.Marshal(map[string]any{"type": 1, "components": []json.RawMessage{raw}})
			e := validateComponents([]string{"components"}, []json.RawMessage{row}, false)
			if tc.path == "" {
				if e != nil {
					t.Fatalf("refused: %v %v", e, e.Errors)
				}
				return
			}
			if e == nil {
				t.Fatalf("accepted, want %s at %s", tc.code, tc.path)
			}
			errs, _ := json.Marshal(e.Errors)
			if got := errorCodeAt(t, errs, tc.path); got != tc.code {
				t.Fatalf("code at %s = %s, want %s (%s)", tc.path, got, tc.code, errs)
			}
		})
	}
}
