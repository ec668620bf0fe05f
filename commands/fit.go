package commands

import (
	"unicode/utf8"

	"github.com/diamondburned/arikawa/v3/discord"
)

// Discord's limits on a message's text (Create Message and Embed Limits).
const (
	maxContent          = 2000
	maxEmbeds           = 10
	maxEmbedTitle       = 256
	maxEmbedDescription = 4096
	maxEmbedFields      = 25
	maxFieldName        = 256
	maxFieldValue       = 1024
	maxFooterText       = 2048
	maxAuthorName       = 256
	maxEmbedsTotal      = 6000
)

// fit returns rep cut to Discord's limits, so that a long track title or a
// user's text shortens a reply instead of getting it refused (Discord
// answers 400 and the user sees "This interaction failed"). Cut text ends
// in "…". Descriptions give way first when the embeds together are too
// long, then trailing fields, then trailing embeds. The caller's embeds are
// not modified.
func (rep Reply) fit() Reply {
	rep.Content = clip(rep.Content, maxContent)
	if rep.Embeds == nil {
		return rep
	}
	embeds := make([]discord.Embed, min(len(rep.Embeds), maxEmbeds))
	total := 0
	for i := range embeds {
		e := rep.Embeds[i]
		e.Title = clip(e.Title, maxEmbedTitle)
		e.Description = clip(e.Description, maxEmbedDescription)
		e.Fields = append([]discord.EmbedField(nil), e.Fields[:min(len(e.Fields), maxEmbedFields)]...)
		for j := range e.Fields {
			e.Fields[j].Name = clip(e.Fields[j].Name, maxFieldName)
			e.Fields[j].Value = clip(e.Fields[j].Value, maxFieldValue)
		}
		if e.Footer != nil {
			f := *e.Footer
			f.Text = clip(f.Text, maxFooterText)
			e.Footer = &f
		}
		if e.Author != nil {
			a := *e.Author
			a.Name = clip(a.Name, maxAuthorName)
			e.Author = &a
		}
		embeds[i] = e
		total += embedLength(e)
	}
	for i := len(embeds) - 1; i >= 0 && total > maxEmbedsTotal; i-- {
		e := &embeds[i]
		n := utf8.RuneCountInString(e.Description)
		keep := max(n-(total-maxEmbedsTotal), 0)
		if keep < n {
			e.Description = clip(e.Description, keep)
			total -= n - utf8.RuneCountInString(e.Description)
		}
	}
	for i := len(embeds) - 1; i >= 0 && total > maxEmbedsTotal; i-- {
		e := &embeds[i]
		for len(e.Fields) > 0 && total > maxEmbedsTotal {
			f := e.Fields[len(e.Fields)-1]
			total -= utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
			e.Fields = e.Fields[:len(e.Fields)-1]
		}
	}
	for len(embeds) > 1 && total > maxEmbedsTotal {
		total -= embedLength(embeds[len(embeds)-1])
		embeds = embeds[:len(embeds)-1]
	}
	rep.Embeds = embeds
	return rep
}

// embedLength is what e counts toward the 6000 characters of a message's
// embeds.
func embedLength(e discord.Embed) int {
	n := utf8.RuneCountInString(e.Title) + utf8.RuneCountInString(e.Description)
	for _, f := range e.Fields {
		n += utf8.RuneCountInString(f.Name) + utf8.RuneCountInString(f.Value)
	}
	if e.Footer != nil {
		n += utf8.RuneCountInString(e.Footer.Text)
	}
	if e.Author != nil {
		n += utf8.RuneCountInString(e.Author.Name)
	}
	return n
}

// clip cuts s to at most max characters, ending a cut in "…".
func clip(s string, max int) string {
	if utf8.RuneCountInString(s) <= max {
		return s
	}
	if max <= 0 {
		return ""
	}
	r := []rune(s)
	return string(r[:max-1]) + "…"
}
