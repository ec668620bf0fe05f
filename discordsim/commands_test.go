package discordsim

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestCommandLocalizations: name_localizations and description_localizations
// of commands, options and choices take only the Locales table's keys, and
// values under the rules of the field they localize; localized option names
// stay distinct; the longest localization counts towards the 8000
// characters.
func TestCommandLocalizations(t *testing.T) {
	s := startSim(t, fastConfig())
	bot := "Bot " + s.Token()
	base := s.APIURL(10) + "/applications/" + s.AppID().String() + "/commands"
	loc := func(kv ...any) map[string]any { return with(nil, kv...) }
	cmd := func(kv ...any) map[string]any { return with(map[string]any{"name": "ping", "description": "d"}, kv...) }
	opt := func(name string, kv ...any) map[string]any {
		return with(map[string]any{"type": 3, "name": name, "description": "d"}, kv...)
	}
	choice := func(nameLoc map[string]any) map[string]any {
		return map[string]any{"name": "c", "value": "v", "name_localizations": nameLoc}
	}
	// big is a command of exactly 8000 characters counted as Discord
	// counts them, then 8001, because of its localizations: "big" (3), the
	// longest description (85 + extra), 4 options (2 + 1 each) of 25
	// choices whose longest name is 78 and value 1.
	big := func(extra int) map[string]any {
		var opts []any
		for i := 0; i < 4; i++ {
			var cs []any
			for j := 0; j < 25; j++ {
				cs = append(cs, choice(loc("de", strings.Repeat("x", 78))))
			}
			opts = append(opts, opt(fmt.Sprintf("o%d", i), "choices", cs))
		}
		return cmd("name", "big", "description_localizations", loc("de", strings.Repeat("d", 85+extra)), "options", opts)
	}
	long := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct {
		name    string
		body    map[string]any
		wantErr string // the error's path in errors, "" when accepted
	}{
		{"names and descriptions in two locales", cmd("name_localizations", loc("de", "hallo", "zh-CN", "生日"), "description_localizations", loc("es-419", long(100))), ""},
		{"null dictionaries", cmd("name_localizations", nil, "description_localizations", nil), ""},
		{"locale with an underscore", cmd("name_localizations", loc("pt_BR", "ola")), "name_localizations.pt_BR"},
		{"language without its region", cmd("name_localizations", loc("en", "ping")), "name_localizations.en"},
		{"dictionary that is a string", cmd("name_localizations", "de"), "name_localizations"},
		{"name localization of 32", cmd("name_localizations", loc("de", long(32))), ""},
		{"name localization of 33", cmd("name_localizations", loc("de", long(33))), "name_localizations.de"},
		{"name localization in capitals", cmd("name_localizations", loc("de", "Hallo")), "name_localizations.de"},
		{"name localization with a space", cmd("name_localizations", loc("fr", "le ping")), "name_localizations.fr"},
		{"empty name localization", cmd("name_localizations", loc("fr", "")), "name_localizations.fr"},
		{"description localization of 101", cmd("description_localizations", loc("de", long(101))), "description_localizations.de"},
		{"empty description localization", cmd("description_localizations", loc("de", "")), "description_localizations.de"},
		{"user command, mixed case with a space", map[string]any{"type": 2, "name": "Info", "name_localizations": loc("de", "Info Benutzer")}, ""},
		{"user command, description localization", map[string]any{"type": 2, "name": "Info", "description_localizations": loc("de", "Zeigt")}, "description_localizations.de"},
		{"user command, name localization of 33", map[string]any{"type": 2, "name": "Info", "name_localizations": loc("de", long(33))}, "name_localizations.de"},
		{"option localizations", cmd("options", []any{opt("user", "name_localizations", loc("de", "benutzer"), "description_localizations", loc("de", long(100)))}), ""},
		{"option name localization invalid", cmd("options", []any{opt("user", "name_localizations", loc("de", "Benutzer"))}), "options.0.name_localizations.de"},
		{"option description localization of 101", cmd("options", []any{opt("user", "description_localizations", loc("de", long(101)))}), "options.0.description_localizations.de"},
		{"option locale unknown", cmd("options", []any{opt("user", "description_localizations", loc("xx", "d"))}), "options.0.description_localizations.xx"},
		{"choice name localization of 100", cmd("options", []any{opt("a", "choices", []any{choice(loc("ja", long(100)))})}), ""},
		{"choice name localization of 101", cmd("options", []any{opt("a", "choices", []any{choice(loc("ja", long(101)))})}), "options.0.choices.0.name_localizations.ja"},
		{"empty choice name localization", cmd("options", []any{opt("a", "choices", []any{choice(loc("ja", ""))})}), "options.0.choices.0.name_localizations.ja"},
		{"localized option name equal to its own name", cmd("options", []any{opt("a", "name_localizations", loc("de", "a"))}), ""},
		{"localized option names in two locales", cmd("options", []any{opt("a", "name_localizations", loc("de", "x")), opt("b", "name_localizations", loc("fr", "x"))}), ""},
		{"same localized name in two subcommands", cmd("options", []any{
			map[string]any{"type": 1, "name": "s1", "description": "d", "options": []any{opt("user", "name_localizations", loc("de", "benutzer"))}},
			map[string]any{"type": 1, "name": "s2", "description": "d", "options": []any{opt("user", "name_localizations", loc("de", "benutzer"))}},
		}), ""},
		{"localized option name equal to another's name", cmd("options", []any{opt("a", "name_localizations", loc("de", "b")), opt("b")}), "options.0.name_localizations.de"},
		{"two options with one localized name", cmd("options", []any{opt("a", "name_localizations", loc("de", "x")), opt("b", "name_localizations", loc("de", "x"))}), "options.1.name_localizations.de"},
		{"localized subcommand names collide", cmd("options", []any{
			map[string]any{"type": 1, "name": "s1", "description": "d", "name_localizations": loc("de", "eins")},
			map[string]any{"type": 1, "name": "s2", "description": "d", "name_localizations": loc("de", "eins")},
		}), "options.1.name_localizations.de"},
		{"8000 characters with localizations", big(0), ""},
		{"8001 characters with localizations", big(1), "_errors"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e apiErr
			r := do(t, "POST", base, bot, tc.body, &e)
			if tc.wantErr == "_errors" { // a whole-body error: the errors tree is only _errors
				if r.StatusCode != 400 || e.Code != 50035 || !strings.Contains(string(e.Errors), "APPLICATION_COMMAND_TOO_LARGE") {
					t.Fatalf("got %d %+v, want 400 50035 APPLICATION_COMMAND_TOO_LARGE", r.StatusCode, e)
				}
				return
			}
			formErrorAt(t, r, e, tc.wantErr)
		})
	}
}

// TestCommandLocalizationsReturned: localizations come back on the command,
// without values identical to the default; GET of all commands gives
// name_localized and description_localized for the requester's locale
// unless with_localizations is true.
func TestCommandLocalizationsReturned(t *testing.T) {
	s := startSim(t, fastConfig())
	bot := "Bot " + s.Token()
	base := s.APIURL(10) + "/applications/" + s.AppID().String() + "/commands"
	body := map[string]any{"name": "birthday", "description": "Wish a friend a happy birthday",
		"name_localizations":        map[string]any{"zh-CN": "生日", "el": "γενέθλια", "de": "birthday"},
		"description_localizations": map[string]any{"zh-CN": "祝你朋友生日快乐"},
		"options": []any{map[string]any{"type": 4, "name": "age", "description": "Your friend's age",
			"name_localizations": map[string]any{"zh-CN": "岁数"}}},
	}
	var c map[string]any
	if r := do(t, "POST", base, bot, body, &c); r.StatusCode != 201 {
		t.Fatalf("create: %d %v", r.StatusCode, c)
	}
	if got := fmt.Sprint(c["name_localizations"]); got != "map[el:γενέθλια zh-CN:生日]" {
		t.Errorf("name_localizations %s, want el and zh-CN (de equals the name)", got)
	}
	list := func(query string, header http.Header) map[string]any {
		t.Helper()
		var out []map[string]any
		if r := doHeader(t, "GET", base+query, bot, header, nil, &out); r.StatusCode != 200 || len(out) != 1 {
			t.Fatalf("list: %d %v", r.StatusCode, out)
		}
		return out[0]
	}
	cases := []struct {
		name   string
		query  string
		header http.Header
		want   string // the command and its option, as name/name_localized/name_localizations
	}{
		{"X-Discord-Locale", "", http.Header{"X-Discord-Locale": {"zh-CN"}}, "birthday 生日 <nil> 祝你朋友生日快乐 | age 岁数 <nil>"},
		{"Accept-Language", "", http.Header{"Accept-Language": {"el;q=0.9, en"}}, "birthday γενέθλια <nil> <nil> | age <nil> <nil>"},
		{"no locale", "", http.Header{}, "birthday <nil> <nil> <nil> | age <nil> <nil>"},
		{"with_localizations", "?with_localizations=true", http.Header{"X-Discord-Locale": {"zh-CN"}}, "birthday <nil> map[el:γενέθλια zh-CN:生日] <nil> | age <nil> map[zh-CN:岁数]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := list(tc.query, tc.header)
			o := got["options"].([]any)[0].(map[string]any)
			s := fmt.Sprint(got["name"], " ", got["name_localized"], " ", got["name_localizations"], " ", got["description_localized"],
				" | ", o["name"], " ", o["name_localized"], " ", o["name_localizations"])
			if s != tc.want {
				t.Fatalf("got %q, want %q", s, tc.want)
			}
		})
	}
}
