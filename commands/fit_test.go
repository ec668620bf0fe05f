package commands

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/diamondburned/arikawa/v3/discord"
)

func TestReplyFitsDiscordLimits(t *testing.T) {
	t.Parallel()
	a := func(n int) string { return strings.Repeat("é", n) } // 2 bytes, 1 character
	field := func(name, value string) discord.EmbedField { return discord.EmbedField{Name: name, Value: value} }
	fields := func(n int, value string) []discord.EmbedField {
		fs := make([]discord.EmbedField, n)
		for i := range fs {
			fs[i] = field("f", value)
		}
		return fs
	}
	tests := []struct {
		name  string
		in    Reply
		check func(t *testing.T, got Reply)
	}{
		{"within limits: unchanged", Reply{Content: a(2000), Embeds: []discord.Embed{{Title: a(256), Description: a(4096), Fields: []discord.EmbedField{field(a(256), a(1024))}}}},
			func(t *testing.T, got Reply) {
				if runes(got.Content) != 2000 || runes(got.Embeds[0].Description) != 4096 || runes(got.Embeds[0].Fields[0].Value) != 1024 {
					t.Errorf("changed: %d %d %d", runes(got.Content), runes(got.Embeds[0].Description), runes(got.Embeds[0].Fields[0].Value))
				}
			}},
		{"each text cut to its limit", Reply{Content: a(2001), Embeds: []discord.Embed{{Title: a(300), Fields: []discord.EmbedField{field(a(300), a(2000))},
			Footer: &discord.EmbedFooter{Text: a(3000)}, Author: &discord.EmbedAuthor{Name: a(300)}}}},
			func(t *testing.T, got Reply) {
				e := got.Embeds[0]
				for _, c := range []struct {
					what string
					s    string
					max  int
				}{{"content", got.Content, 2000}, {"title", e.Title, 256}, {"field name", e.Fields[0].Name, 256},
					{"field value", e.Fields[0].Value, 1024}, {"footer", e.Footer.Text, 2048}, {"author", e.Author.Name, 256}} {
					if runes(c.s) != c.max || !strings.HasSuffix(c.s, "…") {
						t.Errorf("%s: %d characters, want %d ending in …", c.what, runes(c.s), c.max)
					}
				}
			}},
		{"12 embeds", Reply{Embeds: make([]discord.Embed, 12)},
			func(t *testing.T, got Reply) {
				if len(got.Embeds) != 10 {
					t.Errorf("%d embeds", len(got.Embeds))
				}
			}},
		{"26 fields", Reply{Embeds: []discord.Embed{{Fields: fields(26, "v")}}},
			func(t *testing.T, got Reply) {
				if len(got.Embeds[0].Fields) != 25 {
					t.Errorf("%d fields", len(got.Embeds[0].Fields))
				}
			}},
		{"descriptions give way to the total", Reply{Embeds: []discord.Embed{{Title: "one", Description: a(4096)}, {Title: "two", Description: a(4096)}}},
			func(t *testing.T, got Reply) {
				if n := embedLength(got.Embeds[0]) + embedLength(got.Embeds[1]); n != 6000 {
					t.Errorf("total %d, want 6000", n)
				}
				if runes(got.Embeds[0].Description) != 4096 {
					t.Errorf("the first description was cut to %d; the last should give way first", runes(got.Embeds[0].Description))
				}
			}},
		{"then trailing embeds", Reply{Embeds: func() []discord.Embed {
			es := make([]discord.Embed, 4)
			for i := range es {
				es[i] = discord.Embed{Title: a(256), Footer: &discord.EmbedFooter{Text: a(2048)}}
			}
			return es
		}()},
			func(t *testing.T, got Reply) {
				total := 0
				for _, e := range got.Embeds {
					total += embedLength(e)
				}
				if total > 6000 || len(got.Embeds) != 2 {
					t.Errorf("%d embeds, %d characters; want 2 within 6000", len(got.Embeds), total)
				}
			}},
		{"then trailing fields", Reply{Embeds: []discord.Embed{{Fields: fields(25, a(1024))}}},
			func(t *testing.T, got Reply) {
				if n := embedLength(got.Embeds[0]); n > 6000 || len(got.Embeds[0].Fields) != 5 {
					t.Errorf("total %d with %d fields, want at most 6000 with 5", n, len(got.Embeds[0].Fields))
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.in
			var origValue string
			if len(before.Embeds) > 0 && len(before.Embeds[0].Fields) > 0 {
				origValue = before.Embeds[0].Fields[0].Value
			}
			got := tt.in.fit()
			tt.check(t, got)
			if origValue != "" && tt.in.Embeds[0].Fields[0].Value != origValue {
				t.Error("fit modified the caller's fields")
			}
		})
	}
}

func runes(s string) int { return utf8.RuneCountInString(s) }
