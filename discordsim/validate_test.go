package discordsim

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"
)

// The validators are pure: these tests call them on decoded payloads,
// without a Sim, a server or a request. The HTTP tests (messages_test.go,
// components_test.go, embeds_test.go, commands_test.go and the rest) check
// the same rules through the endpoints.

// fieldError returns the path (keys joined by dots) and code of the one
// field error in e, a 50035 error; "" and "" for nil.
func fieldError(t *testing.T, e *APIError) (path, code string) {
	t.Helper()
	if e == nil {
		return "", ""
	}
	if e.Status != 400 || e.Code != 50035 {
		t.Fatalf("got %v, want a 400 with code 50035", e)
	}
	var keys []string
	tree, _ := e.Errors.(map[string]any)
	for tree != nil {
		if errs, ok := tree["_errors"].([]any); ok && len(errs) > 0 {
			return strings.Join(keys, "."), errs[0].(map[string]string)["code"]
		}
		if len(tree) != 1 {
			t.Fatalf("errors tree %v has %d branches", e.Errors, len(tree))
		}
		for k, v := range tree {
			keys = append(keys, k)
			tree, _ = v.(map[string]any)
		}
	}
	t.Fatalf("errors tree %v holds no _errors", e.Errors)
	return "", ""
}

// wantError fails t unless e is what a case expects: no error for code
// "", Cannot send an empty message for "50006", else the 50035 field error
// code at path.
func wantError(t *testing.T, e *APIError, path, code string) {
	t.Helper()
	if code == "50006" {
		if e != errEmptyMessage {
			t.Fatalf("got %v, want %v", e, errEmptyMessage)
		}
		return
	}
	if gotPath, gotCode := fieldError(t, e); gotPath != path || gotCode != code {
		t.Fatalf("got %q %q, want %q %q", gotPath, gotCode, path, code)
	}
}

// raws decodes a JSON array into its elements.
func raws(t *testing.T, list string) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	if err := json.Unmarshal([]byte(list), &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestValidateMessageBody(t *testing.T) {
	v2 := &Message{Flags: FlagComponentsV2}
	legacy := &Message{Content: "old"}
	cases := []struct {
		name   string
		body   string
		create bool
		old    *Message
		path   string // "" when the body is valid
		code   string // "50006" for Cannot send an empty message
	}{
		{"content", `{"content":"hi"}`, true, nil, "", ""},
		{"empty create", `{"content":""}`, true, nil, "", "50006"},
		{"content over 2000", `{"content":"` + strings.Repeat("a", 2001) + `"}`, true, nil, "content", "BASE_TYPE_MAX_LENGTH"},
		{"11 embeds", `{"embeds":[` + strings.Repeat(`{"title":"t"},`, 10) + `{"title":"t"}]}`, true, nil, "embeds", "BASE_TYPE_MAX_LENGTH"},
		{"flag not taken", `{"content":"x","flags":2}`, true, nil, "flags", "MESSAGE_FLAGS_INVALID"},
		{"v2 with content", `{"flags":32768,"content":"x"}`, true, nil, "content", "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2"},
		{"edit of a v2 message with embeds", `{"embeds":[{"title":"t"}]}`, false, v2, "embeds", "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2"},
		{"setting v2 keeps old content", `{"flags":32768,"components":[{"type":10,"content":"x"}]}`, false, legacy, "content", "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2"},
		{"setting v2 resets content", `{"flags":32768,"content":null,"components":[{"type":10,"content":"x"}]}`, false, legacy, "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var b messageBody
			if err := json.Unmarshal([]byte(tc.body), &b); err != nil {
				t.Fatal(err)
			}
			e := b.validate(nil, FlagEphemeral|FlagSuppressEmbeds|FlagComponentsV2, tc.create, tc.old)
			wantError(t, e, tc.path, tc.code)
		})
	}
}

func TestValidateComponents(t *testing.T) {
	row := `{"type":1,"components":[{"type":2,"style":1,"label":"b","custom_id":"%s"}]}`
	rows := func(n int) string {
		list := make([]string, n)
		for i := range list {
			list[i] = strings.Replace(row, "%s", "b"+string(rune('a'+i)), 1)
		}
		return "[" + strings.Join(list, ",") + "]"
	}
	texts := func(n int) string {
		return "[" + strings.TrimSuffix(strings.Repeat(`{"type":10,"content":"t"},`, n), ",") + "]"
	}
	cases := []struct {
		name  string
		comps string
		v2    bool
		path  string
		code  string
	}{
		{"5 rows", rows(5), false, "", ""},
		{"6 rows", rows(6), false, "components", "BASE_TYPE_MAX_LENGTH"},
		{"text display in a legacy message", texts(1), false, "components.0", "UNION_TYPE_CHOICES"},
		{"40 text displays", texts(40), true, "", ""},
		{"41 text displays", texts(41), true, "components", "COMPONENTS_TOTAL_MAX_EXCEEDED"},
		{"custom_id twice", `[` + strings.Replace(row, "%s", "x", 1) + `,` + strings.Replace(row, "%s", "x", 1) + `]`, false,
			"components.1.components.0.custom_id", "COMPONENT_CUSTOM_ID_DUPLICATED"},
		{"id twice", `[{"type":10,"id":7,"content":"a"},{"type":10,"id":7,"content":"b"}]`, true, "components.1.id", "COMPONENT_ID_DUPLICATED"},
		{"link button with a custom_id", `[{"type":1,"components":[{"type":2,"style":5,"url":"https://x.invalid","custom_id":"c"}]}]`, false,
			"components.0.components.0.custom_id", "COMPONENT_CUSTOM_ID_NOT_ALLOWED"},
		{"file by https", `[{"type":13,"file":{"url":"https://x.invalid/a.txt"}}]`, true, "components.0.file.url", "URL_TYPE_INVALID_SCHEME"},
		{"section without accessory", `[{"type":9,"components":[{"type":10,"content":"t"}]}]`, true, "components.0.accessory", "BASE_TYPE_REQUIRED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := validateComponents([]string{"components"}, raws(t, tc.comps), tc.v2)
			wantError(t, e, tc.path, tc.code)
		})
	}
}

func TestValidateEmbeds(t *testing.T) {
	field := func(name, value string) string { return `{"name":"` + name + `","value":"` + value + `"}` }
	cases := []struct {
		name   string
		embeds string
		path   string
		code   string
	}{
		{"title 256", `[{"title":"` + strings.Repeat("t", 256) + `"}]`, "", ""},
		{"title 257", `[{"title":"` + strings.Repeat("t", 257) + `"}]`, "embeds.0.title", "BASE_TYPE_MAX_LENGTH"},
		{"title 257 with spaces trimmed", `[{"title":"  ` + strings.Repeat("t", 256) + `  "}]`, "", ""},
		{"field name of spaces", `[{"fields":[` + field("   ", "v") + `]}]`, "embeds.0.fields.0.name", "BASE_TYPE_REQUIRED"},
		{"6001 characters in all", `[{"description":"` + strings.Repeat("d", 4096) + `"},{"description":"` + strings.Repeat("d", 1905) + `"}]`,
			"embeds", "MAX_EMBED_SIZE_EXCEEDED"},
		{"image by ftp", `[{"image":{"url":"ftp://x.invalid/a.png"}}]`, "embeds.0.image.url", "URL_TYPE_INVALID_SCHEME"},
		{"image attachment", `[{"image":{"url":"attachment://a.png"}}]`, "", ""},
		{"author url attachment", `[{"author":{"name":"a","url":"attachment://a.png"}}]`, "embeds.0.author.url", "URL_TYPE_INVALID_SCHEME"},
		{"timestamp", `[{"timestamp":"2026-12-07T14:00:00.5+01:00"}]`, "", ""},
		{"timestamp null", `[{"timestamp":null}]`, "embeds.0.timestamp", "DATE_TIME_TYPE_PARSE"},
		{"not an object", `[[]]`, "embeds.0", "MODEL_TYPE_CONVERT"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := func(more ...string) []string { return subPath(nil, more...) }
			e := validateEmbeds(p, raws(t, tc.embeds))
			wantError(t, e, tc.path, tc.code)
		})
	}
}

func TestISO8601(t *testing.T) {
	cases := map[string]bool{
		"2026-12-07": true, "20261207": true, "2026-341": true, "2026-W49-1": true, "2026W491": true,
		"2026-12-07T14": true, "2026-12-07T14:05": true, "2026-12-07T14:05:06,5Z": true, "20261207T140506-0130": true,
		"2026-12-07T24:00": true, "2026-12-31T23:59:60Z": true,
		"2026-02-29": false, "2026-366": false, "2026-W54-1": false, "2026-12-07T24:01": false,
		"2026-12-07T14:05+24": false, "2026-12-07 14:05": false, "+2026-12-07": false, "": false,
	}
	for s, want := range cases {
		if got := isISO8601(s); got != want {
			t.Errorf("isISO8601(%q) = %v, want %v", s, got, want)
		}
	}
}

func TestValidateCommand(t *testing.T) {
	opt := func(typ int, name string, extra string) string {
		return `{"type":` + string(rune('0'+typ)) + `,"name":"` + name + `","description":"d"` + extra + `}`
	}
	cases := []struct {
		name string
		cmd  string
		path string
		code string
	}{
		{"chat input", `{"name":"ping","description":"Ping"}`, "", ""},
		{"upper case chat name", `{"name":"Ping","description":"Ping"}`, "name", "APPLICATION_COMMAND_INVALID_NAME"},
		{"user command with a description", `{"type":2,"name":"Info","description":"d"}`, "description", "APPLICATION_COMMAND_DESCRIPTION_NOT_ALLOWED"},
		{"chat input without description", `{"name":"ping"}`, "description", "BASE_TYPE_REQUIRED"},
		{"unknown locale", `{"name":"ping","description":"d","name_localizations":{"xx":"p"}}`, "name_localizations.xx", "BASE_TYPE_CHOICES"},
		{"required after optional", `{"name":"c","description":"d","options":[` + opt(3, "a", "") + `,` + opt(3, "b", `,"required":true`) + `]}`,
			"options.1", "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID"},
		{"subcommand beside an option", `{"name":"c","description":"d","options":[` + opt(1, "a", "") + `,` + opt(3, "b", "") + `]}`,
			"options", "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID"},
		{"group of nothing", `{"name":"c","description":"d","options":[` + opt(2, "g", "") + `]}`, "options.0.options", "BASE_TYPE_MIN_LENGTH"},
		{"integer choice 1.5", `{"name":"c","description":"d","options":[` + opt(4, "n", `,"choices":[{"name":"x","value":1.5}]`) + `]}`,
			"options.0.choices.0.value", "BASE_TYPE_INVALID"},
		{"min over max", `{"name":"c","description":"d","options":[` + opt(4, "n", `,"min_value":2,"max_value":1`) + `]}`,
			"options.0.max_value", "NUMBER_TYPE_MIN"},
		{"length on an integer", `{"name":"c","description":"d","options":[` + opt(4, "n", `,"max_length":5`) + `]}`,
			"options.0.min_length", "APPLICATION_COMMAND_OPTION_LENGTH_INVALID"},
		{"option name twice", `{"name":"c","description":"d","options":[` + opt(3, "a", "") + `,` + opt(3, "a", "") + `]}`,
			"options.1.name", "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var in commandInput
			if err := json.Unmarshal([]byte(tc.cmd), &in); err != nil {
				t.Fatal(err)
			}
			c, e := validateCommand(in, nil)
			wantError(t, e, tc.path, tc.code)
			if e == nil && c.Name == "" {
				t.Fatalf("valid command came back without its name: %+v", c)
			}
		})
	}
}

func TestValidateCallback(t *testing.T) {
	v2 := &Message{Flags: FlagComponentsV2}
	cases := []struct {
		name        string
		interaction int
		body        string
		old         *Message
		path        string
		code        string // "50006" for Cannot send an empty message
	}{
		{"no type", InteractionCommand, `{}`, nil, "type", "BASE_TYPE_REQUIRED"},
		{"pong to a command", InteractionCommand, `{"type":1}`, nil, "type", "INTERACTION_RESPONSE_TYPE_INVALID"},
		{"update to a command", InteractionCommand, `{"type":7,"data":{"content":"x"}}`, nil, "type", "INTERACTION_RESPONSE_TYPE_INVALID"},
		{"message without data", InteractionCommand, `{"type":4}`, nil, "data", "BASE_TYPE_REQUIRED"},
		{"message with a list", InteractionCommand, `{"type":4,"data":[]}`, nil, "data", "MODEL_TYPE_CONVERT"},
		{"message", InteractionCommand, `{"type":4,"data":{"content":"x"}}`, nil, "", ""},
		{"empty message", InteractionCommand, `{"type":4,"data":{}}`, nil, "", "50006"},
		{"deferred without data", InteractionCommand, `{"type":5}`, nil, "", ""},
		{"deferred, suppressing embeds", InteractionCommand, `{"type":5,"data":{"flags":4}}`, nil, "data.flags", "MESSAGE_FLAGS_INVALID"},
		{"update of a v2 message with content", InteractionComponent, `{"type":7,"data":{"content":"x"}}`, v2, "data.content",
			"MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2"},
		{"modal", InteractionCommand, `{"type":9,"data":{"custom_id":"m","title":"T","components":[{"type":10,"content":"x"}]}}`, nil, "", ""},
		{"modal title 46", InteractionCommand, `{"type":9,"data":{"custom_id":"m","title":"` + strings.Repeat("t", 46) + `","components":[{}]}}`, nil,
			"data.title", "BASE_TYPE_MAX_LENGTH"},
		{"modal of 6 components", InteractionCommand, `{"type":9,"data":{"custom_id":"m","title":"T","components":[{},{},{},{},{},{}]}}`, nil,
			"data.components", "BASE_TYPE_BAD_LENGTH"},
		{"modal to a modal submit", InteractionModalSubmit, `{"type":9,"data":{"custom_id":"m","title":"T","components":[{}]}}`, nil,
			"type", "INTERACTION_RESPONSE_TYPE_INVALID"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cb callbackBody
			if err := json.Unmarshal([]byte(tc.body), &cb); err != nil {
				t.Fatal(err)
			}
			_, e := validateCallback(tc.interaction, cb, tc.old)
			wantError(t, e, tc.path, tc.code)
		})
	}
}

func TestValidateBulkCommands(t *testing.T) {
	chat := func(n int) string {
		list := make([]string, n)
		for i := range list {
			list[i] = `{"name":"c` + strconv.Itoa(i) + `","description":"d"}`
		}
		return "[" + strings.Join(list, ",") + "]"
	}
	cases := []struct {
		name string
		body string
		want *APIError // nil: valid; else compared by status and code
		path string    // with a 50035 error
		code string
	}{
		{"100 chat commands", chat(100), nil, "", ""},
		{"101 chat commands", chat(101), errMaxCommands, "", ""},
		{"one name for two types", `[{"name":"info","description":"d"},{"type":2,"name":"info"}]`, nil, "", ""},
		{"one name twice", `[{"type":2,"name":"Info"},{"type":2,"name":"Info"}]`, &APIError{Status: 400, Code: 50035}, "1.name", "APPLICATION_COMMANDS_DUPLICATE_NAME"},
		{"second command invalid", `[{"name":"ok","description":"d"},{"name":"Bad","description":"d"}]`, &APIError{Status: 400, Code: 50035}, "1.name", "APPLICATION_COMMAND_INVALID_NAME"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var in []commandInput
			if err := json.Unmarshal([]byte(tc.body), &in); err != nil {
				t.Fatal(err)
			}
			cmds, e := validateBulkCommands(in)
			switch {
			case tc.want == nil && e != nil:
				t.Fatalf("got %v, want none", e)
			case tc.want == nil && len(cmds) != len(in):
				t.Fatalf("got %d commands, want %d", len(cmds), len(in))
			case tc.want != nil && (e == nil || e.Status != tc.want.Status || e.Code != tc.want.Code):
				t.Fatalf("got %v, want %v", e, tc.want)
			case tc.path != "":
				wantError(t, e, tc.path, tc.code)
			}
		})
	}
}
