package discordsim

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The rules of embeds (resources-message.mdx, Embed Structure and Embed
// Limits): per-field and total lengths, the URL schemes each url field
// takes, and the timestamp.

// Discord's Embed Limits: per field, and the most characters all of a
// message's embeds may hold together.
const (
	embedTitleMax       = 256
	embedDescriptionMax = 4096
	embedFieldsMax      = 25
	embedFieldNameMax   = 256
	embedFieldValueMax  = 1024
	embedFooterTextMax  = 2048
	embedAuthorNameMax  = 256
	embedTotalMax       = 6000
)

// validateEmbeds checks embeds against Discord's Embed Limits. Leading and
// trailing whitespace does not count (Discord trims it), so a field of only
// spaces is missing.
func validateEmbeds(p func(...string) []string, embeds []json.RawMessage) *APIError {
	total := 0
	// text measures an optional string, adding it to the total; it reports
	// whether s holds more than max characters.
	text := func(s *string, max int) (n int, over bool) {
		if s == nil {
			return 0, false
		}
		n = utf8.RuneCountInString(strings.TrimSpace(*s))
		total += n
		return n, n > max
	}
	tooLong := func(max int, path ...string) *APIError { return maxLength(p(path...), max) }
	required := func(path ...string) *APIError { return requiredField(p(path...)) }
	for i, raw := range embeds {
		// urls are the embed's url fields the docs restrict to some schemes
		// (resources-message.mdx: Embed Image, Author and Footer
		// Structures). They state none for the embed's own url.
		var urls []embedURL
		var em struct {
			Title       *string `json:"title"`
			Description *string `json:"description"`
			Fields      []struct {
				Name  *string `json:"name"`
				Value *string `json:"value"`
			} `json:"fields"`
			Timestamp json.RawMessage `json:"timestamp"`
			Footer    *struct {
				Text    *string `json:"text"`
				IconURL *string `json:"icon_url"`
			} `json:"footer"`
			Author *struct {
				Name    *string `json:"name"`
				URL     *string `json:"url"`
				IconURL *string `json:"icon_url"`
			} `json:"author"`
			Image     *embedImage `json:"image"`
			Thumbnail *embedImage `json:"thumbnail"`
		}
		ei := strconv.Itoa(i)
		if string(raw) == "null" || json.Unmarshal(raw, &em) != nil {
			return formError(p("embeds", ei), "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
		}
		if _, over := text(em.Title, embedTitleMax); over {
			return tooLong(embedTitleMax, "embeds", ei, "title")
		}
		if _, over := text(em.Description, embedDescriptionMax); over {
			return tooLong(embedDescriptionMax, "embeds", ei, "description")
		}
		if len(em.Fields) > embedFieldsMax {
			return tooLong(embedFieldsMax, "embeds", ei, "fields")
		}
		for j, f := range em.Fields {
			fj := strconv.Itoa(j)
			if n, over := text(f.Name, embedFieldNameMax); n == 0 {
				return required("embeds", ei, "fields", fj, "name")
			} else if over {
				return tooLong(embedFieldNameMax, "embeds", ei, "fields", fj, "name")
			}
			if n, over := text(f.Value, embedFieldValueMax); n == 0 {
				return required("embeds", ei, "fields", fj, "value")
			} else if over {
				return tooLong(embedFieldValueMax, "embeds", ei, "fields", fj, "value")
			}
		}
		if em.Footer != nil {
			if n, over := text(em.Footer.Text, embedFooterTextMax); n == 0 {
				return required("embeds", ei, "footer", "text")
			} else if over {
				return tooLong(embedFooterTextMax, "embeds", ei, "footer", "text")
			}
			urls = append(urls, embedURL{em.Footer.IconURL, true, "footer", "icon_url"})
		}
		if em.Author != nil {
			if n, over := text(em.Author.Name, embedAuthorNameMax); n == 0 {
				return required("embeds", ei, "author", "name")
			} else if over {
				return tooLong(embedAuthorNameMax, "embeds", ei, "author", "name")
			}
			urls = append(urls, embedURL{em.Author.URL, false, "author", "url"}, embedURL{em.Author.IconURL, true, "author", "icon_url"})
		}
		for _, m := range []struct {
			name string
			img  *embedImage
		}{{"image", em.Image}, {"thumbnail", em.Thumbnail}} {
			if m.img != nil {
				if m.img.URL == nil {
					return required("embeds", ei, m.name, "url")
				}
				urls = append(urls, embedURL{m.img.URL, true, m.name, "url"})
			}
		}
		for _, u := range urls {
			if e := u.check(p, ei); e != nil {
				return e
			}
		}
		if e := validateEmbedTimestamp(p("embeds", ei, "timestamp"), em.Timestamp); e != nil {
			return e
		}
	}
	if total > embedTotalMax {
		return formError(p("embeds"), "MAX_EMBED_SIZE_EXCEEDED", "Embed size exceeds maximum size of "+strconv.Itoa(embedTotalMax))
	}
	return nil
}

// embedImage is the Embed Image Structure, used by an embed's image and
// thumbnail; its url is not optional and "only supports http(s) and
// attachments".
type embedImage struct {
	URL *string `json:"url"`
}

// embedURL is one url field of an embed (object, field) whose scheme the
// docs restrict to http and https ("only supports http(s)"), and also
// attachment:// where attachments is set ("http(s) and attachments";
// reference.mdx, Uploading Files: "attachment://filename").
type embedURL struct {
	s             *string
	attachments   bool
	object, field string
}

// check refuses a set URL whose scheme is not allowed, with Discord's
// URL_TYPE_INVALID_SCHEME. An absent or null field is not checked; an empty
// string has the empty scheme and is refused, as Discord does.
func (u embedURL) check(p func(...string) []string, ei string) *APIError {
	if u.s == nil {
		return nil
	}
	scheme := urlScheme(*u.s)
	allowed := "('http', 'https')"
	switch {
	case scheme == "http" || scheme == "https":
		return nil
	case u.attachments && scheme == "attachment":
		return nil
	case u.attachments:
		allowed = "('http', 'https', 'attachment')"
	}
	return schemeError(p("embeds", ei, u.object, u.field), scheme, allowed)
}

// urlScheme returns the lower-cased scheme of raw (RFC 3986: a letter, then
// letters, digits, "+", "-" or "." up to the first ":"), or "" if it has none.
func urlScheme(raw string) string {
	scheme, _, ok := strings.Cut(raw, ":")
	if !ok || scheme == "" {
		return ""
	}
	for i, c := range scheme {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return ""
		}
	}
	return strings.ToLower(scheme)
}

// validateEmbedTimestamp checks an embed's timestamp, an "ISO8601 timestamp"
// (resources-message.mdx, Embed Structure; reference.mdx, ISO8601
// Date/Time). The field is optional, not nullable: absent is accepted, and
// null is refused as Discord's validator refuses it, naming Python's None.
func validateEmbedTimestamp(path []string, raw json.RawMessage) *APIError {
	if len(raw) == 0 {
		return nil
	}
	if string(raw) == "null" {
		return formError(path, "DATE_TIME_TYPE_PARSE", "Could not parse None. Should be ISO8601.")
	}
	text := string(raw)
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if isISO8601(s) {
			return nil
		}
		text = s
	}
	return formError(path, "DATE_TIME_TYPE_PARSE", "Could not parse "+text+". Should be ISO8601.")
}
