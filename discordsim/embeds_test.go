package discordsim

import (
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
			formErrorAt(t, r, e, tc.wantErr)
		})
	}
}

// TestEmbedURLsAndTimestamp: the url fields whose schemes the Embed Image,
// Author and Footer Structures restrict, and the ISO8601 timestamp, each
// at its edge and past it, on a channel message.
func TestEmbedURLsAndTimestamp(t *testing.T) {
	s := startSim(t, fastConfig())
	bot := "Bot " + s.Token()
	text, _ := s.TextChannel(s.Guilds()[0].ID)
	// in is an embed with object (author and footer with their required
	// name and text) holding kv.
	in := func(object string, kv ...any) map[string]any {
		required := map[string]map[string]any{"author": {"name": "x"}, "footer": {"text": "x"}}
		return map[string]any{"title": "t", object: with(required[object], kv...)}
	}
	stamp := func(v any) map[string]any { return map[string]any{"title": "t", "timestamp": v} }
	cases := []struct {
		name     string
		embed    map[string]any
		wantErr  string // the error's path in errors, "" when accepted
		wantCode string
	}{
		{"image https", in("image", "url", "https://example.com/a.png"), "", ""},
		{"image attachment", in("image", "url", "attachment://a.png"), "", ""},
		{"thumbnail HTTP in capitals", in("thumbnail", "url", "HTTP://example.com/a.png"), "", ""},
		{"author url https", in("author", "url", "https://example.com"), "", ""},
		{"author icon attachment", in("author", "icon_url", "attachment://me.png"), "", ""},
		{"footer icon http", in("footer", "icon_url", "http://example.com/i.png"), "", ""},
		{"embed url of another scheme (docs state none)", map[string]any{"title": "t", "url": "steam://run/1"}, "", ""},
		{"image ftp", in("image", "url", "ftp://example.com/a.png"), "embeds.0.image.url", "URL_TYPE_INVALID_SCHEME"},
		{"image without url", in("image"), "embeds.0.image.url", "BASE_TYPE_REQUIRED"},
		{"thumbnail empty url", in("thumbnail", "url", ""), "embeds.0.thumbnail.url", "URL_TYPE_INVALID_SCHEME"},
		{"author url attachment", in("author", "url", "attachment://a.png"), "embeds.0.author.url", "URL_TYPE_INVALID_SCHEME"},
		{"author icon javascript", in("author", "icon_url", "javascript:alert(1)"), "embeds.0.author.icon_url", "URL_TYPE_INVALID_SCHEME"},
		{"footer icon without scheme", in("footer", "icon_url", "//cdn.example.com/i.png"), "embeds.0.footer.icon_url", "URL_TYPE_INVALID_SCHEME"},
		{"timestamp RFC 3339", stamp("2024-02-29T23:59:59.999Z"), "", ""},
		{"timestamp offset, comma fraction", stamp("2024-01-01T12:00:00,5-03:30"), "", ""},
		{"timestamp leap second", stamp("2016-12-31T23:59:60Z"), "", ""},
		{"timestamp end of day", stamp("2024-01-01T24:00:00+01"), "", ""},
		{"timestamp basic format", stamp("20240101T1230Z"), "", ""},
		{"timestamp date only", stamp("2024-12-31"), "", ""},
		{"timestamp ordinal date", stamp("2024-366T00:00Z"), "", ""},
		{"timestamp week date", stamp("2020-W53-7"), "", ""},
		{"timestamp null", stamp(nil), "embeds.0.timestamp", "DATE_TIME_TYPE_PARSE"},
		{"timestamp words", stamp("yesterday"), "embeds.0.timestamp", "DATE_TIME_TYPE_PARSE"},
		{"timestamp month 13", stamp("2024-13-01T00:00:00Z"), "embeds.0.timestamp", "DATE_TIME_TYPE_PARSE"},
		{"timestamp February 29 of 2023", stamp("2023-02-29"), "embeds.0.timestamp", "DATE_TIME_TYPE_PARSE"},
		{"timestamp with a space", stamp("2024-01-01 12:00:00Z"), "embeds.0.timestamp", "DATE_TIME_TYPE_PARSE"},
		{"timestamp past the end of day", stamp("2024-01-01T24:00:01Z"), "embeds.0.timestamp", "DATE_TIME_TYPE_PARSE"},
		{"timestamp offset 24 hours", stamp("2024-01-01T12:00:00+24:00"), "embeds.0.timestamp", "DATE_TIME_TYPE_PARSE"},
		{"timestamp day 367", stamp("2024-367"), "embeds.0.timestamp", "DATE_TIME_TYPE_PARSE"},
		{"timestamp week 53 of 2021", stamp("2021-W53-1"), "embeds.0.timestamp", "DATE_TIME_TYPE_PARSE"},
		{"timestamp expanded year", stamp("+6351130-11-22T20:12:29.056"), "embeds.0.timestamp", "DATE_TIME_TYPE_PARSE"},
		{"timestamp as a number", stamp(1500218461229), "embeds.0.timestamp", "DATE_TIME_TYPE_PARSE"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e apiErr
			r := do(t, "POST", s.APIURL(10)+"/channels/"+text.String()+"/messages", bot, map[string]any{"embeds": []any{tc.embed}}, &e)
			if code := formErrorAt(t, r, e, tc.wantErr); code != tc.wantCode {
				t.Fatalf("code %q, want %q (%s)", code, tc.wantCode, e.Errors)
			}
		})
	}
}
