package discordsim

import (
	"encoding/json"
	"strings"
	"unicode/utf8"
)

// The rules of a message body, shared by Create and Edit Message, Execute
// Webhook, follow-ups and interaction responses (resources-message.mdx,
// resources-webhook.mdx). Like every validate_*.go file, these are pure
// functions over a decoded payload that return Discord's error: they read
// no state of the Sim, whose handlers call them before changing anything.

// messageBody is the create/edit body shared by channel messages, interaction
// responses and webhooks.
type messageBody struct {
	Content           *string           `json:"content"`
	Embeds            []json.RawMessage `json:"embeds"`
	Components        []json.RawMessage `json:"components"`
	Flags             *int              `json:"flags"`
	TTS               bool              `json:"tts"`
	StickerIDs        []Snowflake       `json:"sticker_ids"`
	Attachments       []json.RawMessage `json:"attachments"`
	Poll              json.RawMessage   `json:"poll"`
	SharedClientTheme json.RawMessage   `json:"shared_client_theme"`
	AllowedMentions   json.RawMessage   `json:"allowed_mentions"`
	Nonce             json.RawMessage   `json:"nonce"`
	EnforceNonce      bool              `json:"enforce_nonce"`

	// contentNull and embedsNull record an explicit null, with which an
	// edit that sets IS_COMPONENTS_V2 resets those fields.
	contentNull, embedsNull bool
}

// UnmarshalJSON decodes a body and notes whether it sets content or embeds
// to null, which otherwise decodes like an absent field.
func (b *messageBody) UnmarshalJSON(data []byte) error {
	type plain messageBody
	if err := json.Unmarshal(data, (*plain)(b)); err != nil {
		return err
	}
	var raw struct {
		Content json.RawMessage `json:"content"`
		Embeds  json.RawMessage `json:"embeds"`
	}
	if json.Unmarshal(data, &raw) == nil {
		b.contentNull, b.embedsNull = string(raw.Content) == "null", string(raw.Embeds) == "null"
	}
	return nil
}

func (b *messageBody) empty() bool {
	return (b.Content == nil || *b.Content == "") && len(b.Embeds) == 0 && len(b.Components) == 0 &&
		len(b.StickerIDs) == 0 && len(b.Poll) == 0 && len(b.Attachments) == 0
}

// validate checks b as Discord does; allowedFlags are the flags the
// endpoint accepts, create says the message must not end up empty, and old
// is the message an edit changes (nil when b makes a message).
func (b *messageBody) validate(prefix []string, allowedFlags int, create bool, old *Message) *APIError {
	p := func(more ...string) []string { return subPath(prefix, more...) }
	if b.Content != nil && utf8.RuneCountInString(*b.Content) > 2000 {
		return maxLength(p("content"), 2000)
	}
	if len(b.Embeds) > 10 {
		return maxLength(p("embeds"), 10)
	}
	if e := validateEmbeds(p, b.Embeds); e != nil {
		return e
	}
	if b.Flags != nil && *b.Flags&^allowedFlags != 0 {
		return formError(p("flags"), "MESSAGE_FLAGS_INVALID", "Invalid flags.")
	}
	// Once a message has the flag, "it can't be removed from that message".
	v2 := b.Flags != nil && *b.Flags&FlagComponentsV2 != 0 || old != nil && old.Flags&FlagComponentsV2 != 0
	if v2 {
		if e := b.validateV2Fields(p, old); e != nil {
			return e
		}
	}
	if e := validateComponents(p("components"), b.Components, v2); e != nil {
		return e
	}
	if create && b.empty() {
		return errEmptyMessage
	}
	return nil
}

// validateV2Fields refuses what an IS_COMPONENTS_V2 message cannot carry
// besides components: content, embeds and a poll (resources-message.mdx,
// Create Message; resources-webhook.mdx, Execute Webhook). An edit that sets
// the flag must reset the content and embeds the message has, content to
// null and embeds to [] or null (Edit Message, Edit Webhook Message).
func (b *messageBody) validateV2Fields(p func(...string) []string, old *Message) *APIError {
	switch {
	case b.Content != nil:
		return v2FieldError(p("content"), "content")
	case len(b.Embeds) > 0:
		return v2FieldError(p("embeds"), "embeds")
	case len(b.Poll) > 0 && string(b.Poll) != "null":
		return v2FieldError(p("poll"), "poll")
	case old == nil || old.Flags&FlagComponentsV2 != 0:
		return nil
	case old.Content != "" && !b.contentNull:
		return formError(p("content"), "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
			"The message's content must be reset to null when setting MessageFlags.IS_COMPONENTS_V2")
	case len(old.Embeds) > 0 && b.Embeds == nil && !b.embedsNull:
		return formError(p("embeds"), "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
			"The message's embeds must be reset to empty when setting MessageFlags.IS_COMPONENTS_V2")
	}
	return nil
}

// v2FieldError is the error for a field an IS_COMPONENTS_V2 message
// cannot carry.
func v2FieldError(path []string, field string) *APIError {
	return formError(path, "MESSAGE_CANNOT_USE_LEGACY_FIELDS_WITH_COMPONENTS_V2",
		"The '"+field+"' field cannot be used when using MessageFlags.IS_COMPONENTS_V2")
}

// Create Message limits (resources-message.mdx, Create Message, JSON/Form
// Params): a nonce is an integer or a string of at most 25 characters, and
// sticker_ids holds at most 3 IDs.
const (
	nonceMax      = 25
	stickerIDsMax = 3
)

// validateCreateOnly checks the fields only Create Message takes, nonce and
// sticker_ids (Execute Webhook and interaction responses have neither). It
// returns the nonce in a canonical form (a string re-encoded, an integer as
// written), or nil when there is none; null counts as none.
func (b *messageBody) validateCreateOnly() (json.RawMessage, *APIError) {
	if len(b.StickerIDs) > stickerIDsMax {
		return nil, maxLength([]string{"sticker_ids"}, stickerIDsMax)
	}
	// With IS_COMPONENTS_V2, "Providing content, embeds, sticker_ids, poll,
	// or shared_client_theme will fail" (validate checks the first three).
	if b.Flags != nil && *b.Flags&FlagComponentsV2 != 0 {
		switch {
		case len(b.StickerIDs) > 0:
			return nil, v2FieldError([]string{"sticker_ids"}, "sticker_ids")
		case len(b.SharedClientTheme) > 0 && string(b.SharedClientTheme) != "null":
			return nil, v2FieldError([]string{"shared_client_theme"}, "shared_client_theme")
		}
	}
	raw := b.Nonce
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var text string
	if json.Unmarshal(raw, &text) == nil {
		raw, _ = json.Marshal(text)
	} else if text = string(raw); strings.Trim(strings.TrimPrefix(text, "-"), "0123456789") != "" {
		// Not a string and not an integer: a fraction, an exponent, a
		// boolean, an object or an array.
		return nil, formError([]string{"nonce"}, "BASE_TYPE_INVALID", "Invalid type")
	}
	if utf8.RuneCountInString(text) > nonceMax {
		return nil, maxLength([]string{"nonce"}, nonceMax)
	}
	return raw, nil
}
