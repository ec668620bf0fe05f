package discordsim

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestEmbedLimits: Discord's Embed Limits, each at its edge, on a channel
// message; errors name the field as Discord's do.
func TestEmbedLimits(t *testing.T) {
	s := startSim(t, fastConfig())
	bot := "Bot " + s.Token()
	text, _ := s.TextChannel(s.Guilds()[0].ID)
	a := func(n int) string { return strings.Repeat("a", n) }
	field := func(name, value string) map[string]any { return map[string]any{"name": name, "value": value} }
	cases := []struct {
		name    string
		embeds  []any
		wantErr string // the error's path in errors, "" when accepted
	}{
		{"title at 256", []any{map[string]any{"title": a(256)}}, ""},
		{"title over 256", []any{map[string]any{"title": a(257)}}, "embeds.0.title"},
		{"whitespace does not count", []any{map[string]any{"title": "  " + a(256) + "\n"}}, ""},
		{"field value at 1024", []any{map[string]any{"fields": []any{field("n", a(1024))}}}, ""},
		{"field value over 1024", []any{map[string]any{"fields": []any{field("n", a(1025))}}}, "embeds.0.fields.0.value"},
		{"field name over 256", []any{map[string]any{"fields": []any{field(a(257), "v")}}}, "embeds.0.fields.0.name"},
		{"field name of spaces", []any{map[string]any{"fields": []any{field("   ", "v")}}}, "embeds.0.fields.0.name"},
		{"footer at 2048", []any{map[string]any{"footer": map[string]any{"text": a(2048)}}}, ""},
		{"footer over 2048", []any{map[string]any{"footer": map[string]any{"text": a(2049)}}}, "embeds.0.footer.text"},
		{"footer without text", []any{map[string]any{"title": "t", "footer": map[string]any{}}}, "embeds.0.footer.text"},
		{"author over 256", []any{map[string]any{"author": map[string]any{"name": a(257)}}}, "embeds.0.author.name"},
		{"6000 in all", []any{map[string]any{"description": a(4000)}, map[string]any{"description": a(2000)}}, ""},
		{"over 6000 in all", []any{map[string]any{"description": a(4000)}, map[string]any{"description": a(1999), "footer": map[string]any{"text": "ab"}}}, "embeds"},
		{"null embed", []any{nil}, "embeds.0"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e apiErr
			r := do(t, "POST", s.APIURL(10)+"/channels/"+text.String()+"/messages", bot, map[string]any{"embeds": tc.embeds}, &e)
			if tc.wantErr == "" {
				if r.StatusCode != 200 {
					t.Fatalf("got %d %+v, want 200", r.StatusCode, e)
				}
				return
			}
			if r.StatusCode != 400 || e.Code != 50035 {
				t.Fatalf("got %d %+v, want 400 code 50035", r.StatusCode, e)
			}
			var tree any
			if err := json.Unmarshal(e.Errors, &tree); err != nil {
				t.Fatal(err)
			}
			for _, k := range strings.Split(tc.wantErr, ".") {
				m, ok := tree.(map[string]any)
				if !ok || m[k] == nil {
					t.Fatalf("errors %s: no %s on the path %s", e.Errors, k, tc.wantErr)
				}
				tree = m[k]
			}
			if m, ok := tree.(map[string]any); !ok || m["_errors"] == nil {
				t.Fatalf("errors %s: nothing at %s", e.Errors, tc.wantErr)
			}
		})
	}
}
