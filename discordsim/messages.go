package discordsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Message flags (Discord's values).
const (
	FlagSuppressEmbeds        = 1 << 2
	FlagEphemeral             = 1 << 6
	FlagLoading               = 1 << 7
	FlagSuppressNotifications = 1 << 12
	FlagComponentsV2          = 1 << 15
)

// Message is a message stored by the emulator.
type Message struct {
	ID            Snowflake         `json:"id"`
	ChannelID     Snowflake         `json:"channel_id"`
	GuildID       Snowflake         `json:"guild_id,omitempty"`
	AuthorID      Snowflake         `json:"author_id"`
	Content       string            `json:"content"`
	Embeds        []json.RawMessage `json:"embeds"`
	Components    []json.RawMessage `json:"components"`
	Flags         int               `json:"flags"`
	WebhookID     Snowflake         `json:"webhook_id,omitempty"`
	InteractionID Snowflake         `json:"interaction_id,omitempty"`
	Timestamp     time.Time         `json:"timestamp"`
	Edited        time.Time         `json:"edited_timestamp,omitzero"`
	Deleted       bool              `json:"deleted,omitempty"`
	// Nonce is the nonce the message was created with (a JSON string or
	// integer), or nil.
	Nonce json.RawMessage `json:"nonce,omitempty"`
}

// Ephemeral reports whether the message carries the EPHEMERAL flag.
func (m Message) Ephemeral() bool { return m.Flags&FlagEphemeral != 0 }

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

// component is a message component as sent, with the fields of every type
// the emulator checks (components-reference.mdx).
type component struct {
	Type          *int              `json:"type"`
	ID            json.RawMessage   `json:"id"`
	Style         int               `json:"style"`
	CustomID      *string           `json:"custom_id"`
	URL           *string           `json:"url"`
	Label         *string           `json:"label"`
	Emoji         json.RawMessage   `json:"emoji"`
	Disabled      bool              `json:"disabled"`
	SKUID         *Snowflake        `json:"sku_id"`
	Components    []json.RawMessage `json:"components"`
	Options       []json.RawMessage `json:"options"`
	Placeholder   *string           `json:"placeholder"`
	MinValues     *int              `json:"min_values"`
	MaxValues     *int              `json:"max_values"`
	DefaultValues []json.RawMessage `json:"default_values"`
	// Section, Text Display, Thumbnail, Media Gallery, File, Separator and
	// Container (IS_COMPONENTS_V2 messages only).
	Accessory   json.RawMessage `json:"accessory"`
	Content     *string         `json:"content"`
	Media       *mediaItem      `json:"media"`
	Description *string         `json:"description"`
	Spoiler     bool            `json:"spoiler"`
	Items       []galleryItem   `json:"items"`
	File        *mediaItem      `json:"file"`
	Divider     bool            `json:"divider"`
	Spacing     *int            `json:"spacing"`
	AccentColor *int64          `json:"accent_color"`
}

// children returns the components nested in c: those of an action row,
// section or container, and a section's accessory.
func (c component) children() []json.RawMessage {
	if len(c.Accessory) == 0 {
		return c.Components
	}
	return append(slices.Clip(c.Components), c.Accessory)
}

// mediaItem is an Unfurled Media Item as sent: "only the url field is
// settable by developers".
type mediaItem struct {
	URL *string `json:"url"`
}

// galleryItem is a Media Gallery Item.
type galleryItem struct {
	Media       *mediaItem `json:"media"`
	Description *string    `json:"description"`
	Spoiler     bool       `json:"spoiler"`
}

// selectOption is one choice of a string select.
type selectOption struct {
	Label       *string `json:"label"`
	Value       *string `json:"value"`
	Description *string `json:"description"`
}

// Component types (components-reference.mdx, Component Types) that
// messages may hold.
const (
	componentActionRow         = 1
	componentButton            = 2
	componentStringSelect      = 3
	componentUserSelect        = 5
	componentRoleSelect        = 6
	componentMentionableSelect = 7
	componentChannelSelect     = 8
	componentSection           = 9
	componentTextDisplay       = 10
	componentThumbnail         = 11
	componentMediaGallery      = 12
	componentFile              = 13
	componentSeparator         = 14
	componentContainer         = 17
)

// Where each component may be placed in a message (components-reference.mdx).
var (
	// "Legacy messages allow up to 5 action rows as top-level components".
	legacyTopLevel = []int{componentActionRow}
	// The components the reference calls top-level whose usage includes
	// messages (Label is top-level in modals only).
	v2TopLevel = []int{componentActionRow, componentSection, componentTextDisplay, componentMediaGallery,
		componentFile, componentSeparator, componentContainer}
	// Action Row Child Components.
	rowChildren = []int{componentButton, componentStringSelect, componentUserSelect, componentRoleSelect,
		componentMentionableSelect, componentChannelSelect}
	// Section Child Components and Section Accessory Components; a
	// Thumbnail is "only available in messages as an accessory in a section".
	sectionChildren    = []int{componentTextDisplay}
	sectionAccessories = []int{componentButton, componentThumbnail}
	// Container Child Components.
	containerChildren = []int{componentActionRow, componentTextDisplay, componentSection, componentMediaGallery,
		componentSeparator, componentFile}
)

// Component limits (components-reference.mdx).
const (
	legacyRowsMax       = 5        // Legacy Message Component Behavior
	rowButtonsMax       = 5        // Action Row: "Up to 5 ... buttons"
	v2ComponentsMax     = 40       // "Messages allow up to 40 total components"
	sectionChildrenMax  = 3        // Section: "One to three child components"
	galleryItemsMax     = 10       // Media Gallery: "1 to 10 media gallery items"
	mediaDescriptionMax = 1024     // Thumbnail and Media Gallery Item: alt text
	accentColorMax      = 0xFFFFFF // Container: "from 0x000000 to 0xFFFFFF"
)

// subPath returns path followed by more, in a new slice.
func subPath(path []string, more ...string) []string {
	return append(append([]string(nil), path...), more...)
}

// requiredField, maxLength and badLength are Discord's errors for a
// missing field, a value over max characters or items, and a list whose
// length is not within lo and hi.
func requiredField(path []string) *APIError {
	return formError(path, "BASE_TYPE_REQUIRED", "This field is required")
}

func maxLength(path []string, max int) *APIError {
	return formError(path, "BASE_TYPE_MAX_LENGTH", "Must be "+strconv.Itoa(max)+" or fewer in length.")
}

func badLength(path []string, lo, hi int) *APIError {
	return formError(path, "BASE_TYPE_BAD_LENGTH", "Must be between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi)+" in length.")
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

// componentCheck validates the components of one message, remembering what
// must be unique within it and how many components it holds.
type componentCheck struct {
	customIDs map[string]bool
	ids       map[int64]bool
	total     int
}

// validateComponents checks the components of a message at path. A legacy
// message holds up to 5 action rows; an IS_COMPONENTS_V2 message holds the
// top-level components, each nesting what it allows, 40 in all. In both a
// custom_id and a non-zero id are unique within the message.
func validateComponents(path []string, comps []json.RawMessage, v2 bool) *APIError {
	w := componentCheck{customIDs: map[string]bool{}, ids: map[int64]bool{}}
	top := v2TopLevel
	if !v2 {
		if len(comps) > legacyRowsMax {
			return maxLength(path, legacyRowsMax)
		}
		top = legacyTopLevel
	}
	if e := w.list(path, comps, top); e != nil {
		return e
	}
	if v2 && w.total > v2ComponentsMax {
		return formError(path, "COMPONENTS_TOTAL_MAX_EXCEEDED", "A message may hold at most "+strconv.Itoa(v2ComponentsMax)+" components in all.")
	}
	return nil
}

// list checks the components of the list at path, each of the allowed types.
func (w *componentCheck) list(path []string, comps []json.RawMessage, allowed []int) *APIError {
	for i, raw := range comps {
		if e := w.component(subPath(path, strconv.Itoa(i)), raw, allowed, len(comps)); e != nil {
			return e
		}
	}
	return nil
}

// component checks the component at path, which must be of one of the
// allowed types; siblings is the length of the list it is in.
func (w *componentCheck) component(path []string, raw json.RawMessage, allowed []int, siblings int) *APIError {
	var c component
	if err := json.Unmarshal(raw, &c); err != nil || c.Type == nil {
		var te *json.UnmarshalTypeError
		if err != nil && asType(err, &te) && te.Field != "" {
			return formError(subPath(path, strings.Split(te.Field, ".")...), "BASE_TYPE_INVALID", "Invalid type")
		}
		return requiredField(subPath(path, "type"))
	}
	if !slices.Contains(allowed, *c.Type) {
		names := make([]string, len(allowed))
		for i, t := range allowed {
			names[i] = strconv.Itoa(t)
		}
		choices := strings.Join(names, ", ")
		if len(allowed) == 1 {
			choices += ","
		}
		return formError(path, "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of ("+choices+").")
	}
	w.total++
	if e := w.id(subPath(path, "id"), c.ID); e != nil {
		return e
	}
	switch *c.Type {
	case componentActionRow:
		if n := len(c.Components); n < 1 || n > rowButtonsMax {
			return badLength(subPath(path, "components"), 1, rowButtonsMax)
		}
		return w.list(subPath(path, "components"), c.Components, rowChildren)
	case componentButton:
		return w.button(path, c)
	case componentStringSelect, componentUserSelect, componentRoleSelect, componentMentionableSelect, componentChannelSelect:
		if c.CustomID == nil || *c.CustomID == "" {
			return requiredField(subPath(path, "custom_id"))
		}
		if siblings != 1 {
			return formError(path[:len(path)-1], "COMPONENT_LAYOUT_WIDTH_EXCEEDED", "The specified component exceeds the maximum width")
		}
		if *c.Type == componentStringSelect && (len(c.Options) < 1 || len(c.Options) > 25) {
			return badLength(subPath(path, "options"), 1, 25)
		}
		if e := validateSelect(path, c); e != nil {
			return e
		}
		return w.customID(path, c.CustomID)
	case componentSection:
		if n := len(c.Components); n < 1 || n > sectionChildrenMax {
			return badLength(subPath(path, "components"), 1, sectionChildrenMax)
		}
		if e := w.list(subPath(path, "components"), c.Components, sectionChildren); e != nil {
			return e
		}
		if len(c.Accessory) == 0 || string(c.Accessory) == "null" {
			return requiredField(subPath(path, "accessory"))
		}
		return w.component(subPath(path, "accessory"), c.Accessory, sectionAccessories, 1)
	case componentTextDisplay:
		if c.Content == nil {
			return requiredField(subPath(path, "content"))
		}
	case componentThumbnail:
		return validateMedia(path, "media", c.Media, c.Description)
	case componentMediaGallery:
		if n := len(c.Items); n < 1 || n > galleryItemsMax {
			return badLength(subPath(path, "items"), 1, galleryItemsMax)
		}
		for k, item := range c.Items {
			if e := validateMedia(subPath(path, "items", strconv.Itoa(k)), "media", item.Media, item.Description); e != nil {
				return e
			}
		}
	case componentFile:
		// "only supports attachment references using the
		// attachment://<filename> syntax"
		if e := validateMedia(path, "file", c.File, nil); e != nil {
			return e
		}
		if scheme := urlScheme(*c.File.URL); scheme != "attachment" {
			return schemeError(subPath(path, "file", "url"), scheme, "('attachment',)")
		}
	case componentSeparator:
		if c.Spacing != nil && *c.Spacing != 1 && *c.Spacing != 2 {
			return formError(subPath(path, "spacing"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2}.")
		}
	case componentContainer:
		if c.AccentColor != nil && (*c.AccentColor < 0 || *c.AccentColor > accentColorMax) {
			return formError(subPath(path, "accent_color"), "NUMBER_TYPE_MAX", "Must be between 0 and "+strconv.Itoa(accentColorMax)+".")
		}
		if c.Components == nil {
			return requiredField(subPath(path, "components"))
		}
		return w.list(subPath(path, "components"), c.Components, containerChildren)
	}
	return nil
}

// validateMedia checks the Unfurled Media Item in field of the component
// or gallery item at path, whose url is required, and the alt text beside
// it (nil where there is none).
func validateMedia(path []string, field string, m *mediaItem, description *string) *APIError {
	switch {
	case m == nil:
		return requiredField(subPath(path, field))
	case m.URL == nil:
		return requiredField(subPath(path, field, "url"))
	case description != nil && utf8.RuneCountInString(*description) > mediaDescriptionMax:
		return maxLength(subPath(path, "description"), mediaDescriptionMax)
	}
	return nil
}

// id checks a component's optional id (Anatomy of a Component): a 32-bit
// integer unique within the message; 0 "will be treated as empty".
func (w *componentCheck) id(path []string, raw json.RawMessage) *APIError {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	n, err := strconv.ParseInt(string(raw), 10, 32)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return formError(path, "NUMBER_TYPE_MAX", fmt.Sprintf("int value should be between %d and %d.", math.MinInt32, math.MaxInt32))
	case err != nil:
		return formError(path, "NUMBER_TYPE_COERCE", "Value "+strconv.Quote(string(raw))+" is not int.")
	case n == 0:
		return nil
	case w.ids[n]:
		return formError(path, "COMPONENT_ID_DUPLICATED", "Component id cannot be duplicated")
	}
	w.ids[n] = true
	return nil
}

// button checks a button at path against Button Structure and Button
// Styles: which fields each style needs and which it may not carry.
func (w *componentCheck) button(path []string, c component) *APIError {
	if c.Style < 1 || c.Style > 6 {
		return formError(subPath(path, "style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6}.")
	}
	if c.Label != nil && utf8.RuneCountInString(*c.Label) > 80 {
		return maxLength(subPath(path, "label"), 80)
	}
	notAllowed := func(field string) *APIError {
		return formError(subPath(path, field), "BUTTON_COMPONENT_INVALID_FIELD", "This field is not allowed on a button of style "+strconv.Itoa(c.Style)+".")
	}
	switch c.Style {
	case 5:
		if c.URL == nil || *c.URL == "" {
			return requiredField(subPath(path, "url"))
		}
		if utf8.RuneCountInString(*c.URL) > 512 {
			return maxLength(subPath(path, "url"), 512)
		}
		if c.CustomID != nil {
			return formError(subPath(path, "custom_id"), "COMPONENT_CUSTOM_ID_NOT_ALLOWED", "A custom id is not allowed on link buttons.")
		}
	case 6:
		if c.SKUID == nil {
			return requiredField(subPath(path, "sku_id"))
		}
		switch {
		case c.CustomID != nil:
			return notAllowed("custom_id")
		case c.Label != nil:
			return notAllowed("label")
		case c.URL != nil:
			return notAllowed("url")
		case len(c.Emoji) > 0 && string(c.Emoji) != "null":
			return notAllowed("emoji")
		}
	default:
		if c.CustomID == nil || *c.CustomID == "" {
			return requiredField(subPath(path, "custom_id"))
		}
		if c.URL != nil {
			return notAllowed("url")
		}
		if c.SKUID != nil {
			return notAllowed("sku_id")
		}
	}
	return w.customID(path, c.CustomID)
}

// customID checks the custom_id of an interactive component at path, if it
// has one: at most 100 characters, and unique within the message.
func (w *componentCheck) customID(path []string, id *string) *APIError {
	if id == nil {
		return nil
	}
	if utf8.RuneCountInString(*id) > 100 {
		return maxLength(subPath(path, "custom_id"), 100)
	}
	if w.customIDs[*id] {
		return formError(subPath(path, "custom_id"), "COMPONENT_CUSTOM_ID_DUPLICATED", "Component custom id cannot be duplicated")
	}
	w.customIDs[*id] = true
	return nil
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

// validateSelect checks a select menu at path cp against the String and
// User Select Structures: placeholder 150, min_values 0-25, max_values
// 1-25 and no fewer than min_values, a string select's options (label and
// value required, each text 100 at most), and as many default values as
// min_values and max_values allow.
func validateSelect(cp []string, c component) *APIError {
	at := func(more ...string) []string { return subPath(cp, more...) }
	if c.Placeholder != nil && utf8.RuneCountInString(*c.Placeholder) > 150 {
		return maxLength(at("placeholder"), 150)
	}
	lo, hi := 1, 1
	if c.MinValues != nil {
		if lo = *c.MinValues; lo < 0 || lo > 25 {
			return formError(at("min_values"), "NUMBER_TYPE_MAX", "Must be between 0 and 25.")
		}
	}
	if c.MaxValues != nil {
		if hi = *c.MaxValues; hi < 1 || hi > 25 {
			return formError(at("max_values"), "NUMBER_TYPE_MAX", "Must be between 1 and 25.")
		}
	}
	if lo > hi {
		return formError(at("min_values"), "SELECT_COMPONENT_MIN_VALUES_TOO_LARGE", "min_values must be less than or equal to max_values.")
	}
	for k, raw := range c.Options {
		op := at("options", strconv.Itoa(k))
		var o selectOption
		if string(raw) == "null" || json.Unmarshal(raw, &o) != nil {
			return formError(op, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
		}
		for _, f := range []struct {
			name     string
			s        *string
			required bool
		}{{"label", o.Label, true}, {"value", o.Value, true}, {"description", o.Description, false}} {
			switch {
			case f.s == nil || *f.s == "":
				if f.required {
					return requiredField(subPath(op, f.name))
				}
			case utf8.RuneCountInString(*f.s) > 100:
				return maxLength(subPath(op, f.name), 100)
			}
		}
	}
	if n := len(c.DefaultValues); n > 0 && (n < lo || n > hi) {
		return badLength(at("default_values"), lo, hi)
	}
	return nil
}

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

// schemeError is Discord's error for a url at path whose scheme is not one
// of allowed (a Python tuple, as Discord writes it).
func schemeError(path []string, scheme, allowed string) *APIError {
	return formError(path, "URL_TYPE_INVALID_SCHEME",
		"Scheme "+strconv.Quote(scheme)+" is not supported. Scheme must be one of "+allowed+".")
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

// isISO8601 reports whether s is one of ISO 8601's complete representations
// of a date, or of a date and time of day: a calendar (YYYY-MM-DD), ordinal
// (YYYY-DDD) or week (YYYY-Www-D) date, in extended or basic format,
// optionally followed by "T", the time of day hh, hh:mm or hh:mm:ss (or
// hhmm, hhmmss) with an optional decimal fraction of its last part, and an
// optional zone: Z, ±hh, ±hh:mm or ±hhmm. Expanded years (beyond 9999 or
// signed) need an agreement between the parties and are refused.
func isISO8601(s string) bool {
	date, clock, hasTime := strings.Cut(s, "T")
	if !isoDate(date) {
		return false
	}
	return !hasTime || isoTime(clock)
}

// digits returns the value of s if it is made of n ASCII digits.
func digits(s string, n int) (int, bool) {
	if len(s) != n {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		v = v*10 + int(s[i]-'0')
	}
	return v, true
}

func isoDate(d string) bool {
	if len(d) < 7 {
		return false
	}
	year, ok := digits(d[:4], 4)
	if !ok {
		return false
	}
	rest, extended := strings.CutPrefix(d[4:], "-")
	var x, y string // month and day, or week and weekday
	switch {
	case strings.HasPrefix(rest, "W"):
		if w := rest[1:]; extended {
			x, y, _ = strings.Cut(w, "-")
		} else if len(w) == 3 {
			x, y = w[:2], w[2:]
		}
		week, ok1 := digits(x, 2)
		weekday, ok2 := digits(y, 1)
		_, weeks := time.Date(year, 12, 28, 0, 0, 0, 0, time.UTC).ISOWeek()
		return ok1 && ok2 && week >= 1 && week <= weeks && weekday >= 1 && weekday <= 7
	case len(rest) == 3:
		yd, ok := digits(rest, 3)
		return ok && yd >= 1 && yd <= time.Date(year, 12, 31, 0, 0, 0, 0, time.UTC).YearDay()
	case extended:
		x, y, _ = strings.Cut(rest, "-")
	case len(rest) == 4:
		x, y = rest[:2], rest[2:]
	}
	month, ok1 := digits(x, 2)
	day, ok2 := digits(y, 2)
	return ok1 && ok2 && month >= 1 && month <= 12 && day >= 1 &&
		day <= time.Date(year, time.Month(month)+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

func isoTime(c string) bool {
	if z := strings.IndexAny(c, "Z+-"); z >= 0 {
		if !isoZone(c[z:]) {
			return false
		}
		c = c[:z]
	}
	frac := ""
	if f := strings.IndexAny(c, ".,"); f >= 0 {
		c, frac = c[:f], c[f+1:]
		if frac == "" || strings.Trim(frac, "0123456789") != "" {
			return false
		}
	}
	var parts []string
	if strings.Contains(c, ":") {
		parts = strings.Split(c, ":")
	} else {
		for len(c) > 2 {
			parts, c = append(parts, c[:2]), c[2:]
		}
		parts = append(parts, c)
	}
	if len(parts) > 3 {
		return false
	}
	for i, part := range parts {
		// hour 24 is the end of the day; second 60 a leap second
		if v, ok := digits(part, 2); !ok || v > [...]int{24, 59, 60}[i] {
			return false
		}
	}
	return parts[0] != "24" || strings.Trim(strings.Join(parts[1:], "")+frac, "0") == ""
}

// isoZone reports whether z is Z or an offset ±hh, ±hh:mm or ±hhmm.
func isoZone(z string) bool {
	if z[0] == 'Z' {
		return z == "Z"
	}
	var hh, mm string
	switch rest := z[1:]; {
	case len(rest) == 2:
		hh = rest
	case len(rest) == 4:
		hh, mm = rest[:2], rest[2:]
	case len(rest) == 5 && rest[2] == ':':
		hh, mm = rest[:2], rest[3:]
	default:
		return false
	}
	h, ok := digits(hh, 2)
	if !ok || h > 23 {
		return false
	}
	m, ok := digits(mm, 2)
	return mm == "" || ok && m <= 59
}

// apply copies the set fields of b into m, a message being created.
func (b *messageBody) apply(m *Message) {
	if b.Content != nil {
		m.Content = *b.Content
	}
	if b.Embeds != nil {
		m.Embeds = b.Embeds
	}
	if b.Components != nil {
		m.Components = b.Components
	}
	if b.Flags != nil {
		m.Flags = m.Flags&(FlagEphemeral|FlagLoading) | *b.Flags
	}
}

// applyEdit copies the set fields of b into m, an existing message. Of its
// flags an edit can set or unset SUPPRESS_EMBEDS and set IS_COMPONENTS_V2
// (Edit Message); the rest stay, and above all a message's ephemeral state
// cannot change (Create Followup Message).
func (b *messageBody) applyEdit(m *Message) {
	flags := m.Flags
	b.apply(m)
	m.Flags = flags
	if b.Flags != nil {
		m.Flags = flags&^FlagSuppressEmbeds | *b.Flags&(FlagSuppressEmbeds|FlagComponentsV2)
	}
	if m.Flags&FlagComponentsV2 != 0 {
		// validate saw to it that the edit resets them.
		m.Content, m.Embeds = "", nil
	}
}

// Wire forms of users, members and messages (structs: the hot dispatch path).
type userWire struct {
	ID            Snowflake `json:"id"`
	Username      string    `json:"username"`
	Discriminator string    `json:"discriminator"`
	GlobalName    *string   `json:"global_name"`
	Avatar        *string   `json:"avatar"`
	Bot           bool      `json:"bot,omitempty"`
}

type memberWire struct {
	Nick     *string     `json:"nick"`
	Roles    []Snowflake `json:"roles"`
	JoinedAt string      `json:"joined_at"`
	Deaf     bool        `json:"deaf"`
	Mute     bool        `json:"mute"`
	Flags    int         `json:"flags"`
}

type messageWire struct {
	ID                  Snowflake         `json:"id"`
	Type                int               `json:"type"`
	ChannelID           Snowflake         `json:"channel_id"`
	GuildID             Snowflake         `json:"guild_id,omitempty"`
	Author              userWire          `json:"author"`
	Member              *memberWire       `json:"member,omitempty"`
	Content             string            `json:"content"`
	Timestamp           string            `json:"timestamp"`
	EditedTimestamp     *string           `json:"edited_timestamp"`
	TTS                 bool              `json:"tts"`
	MentionEveryone     bool              `json:"mention_everyone"`
	Mentions            []any             `json:"mentions"`
	MentionRoles        []any             `json:"mention_roles"`
	Attachments         []any             `json:"attachments"`
	Embeds              []json.RawMessage `json:"embeds"`
	Components          []json.RawMessage `json:"components"`
	Pinned              bool              `json:"pinned"`
	Flags               int               `json:"flags"`
	WebhookID           Snowflake         `json:"webhook_id,omitempty"`
	ApplicationID       Snowflake         `json:"application_id,omitempty"`
	InteractionMetadata map[string]any    `json:"interaction_metadata,omitempty"`
	Nonce               json.RawMessage   `json:"nonce,omitempty"`
}

func userWireOf(u *User, id Snowflake) userWire {
	if u == nil {
		return userWire{ID: id, Username: "unknown", Discriminator: "0"}
	}
	w := userWire{ID: u.ID, Username: u.Username, Discriminator: "0", Bot: u.Bot}
	if u.GlobalName != "" {
		g := u.GlobalName
		w.GlobalName = &g
	}
	return w
}

var emptyList = []any{}

func (s *Sim) messageJSONLocked(m *Message) *messageWire {
	out := &messageWire{
		ID: m.ID, ChannelID: m.ChannelID, Author: userWireOf(s.users[m.AuthorID], m.AuthorID), Content: m.Content,
		Timestamp: m.Timestamp.UTC().Format(time.RFC3339Nano), Mentions: emptyList, MentionRoles: emptyList,
		Attachments: emptyList, Embeds: m.Embeds, Components: m.Components, Flags: m.Flags,
		WebhookID: m.WebhookID, ApplicationID: m.WebhookID, Nonce: m.Nonce,
	}
	if out.Embeds == nil {
		out.Embeds = []json.RawMessage{}
	}
	if out.Components == nil {
		out.Components = []json.RawMessage{}
	}
	if !m.Edited.IsZero() {
		e := m.Edited.UTC().Format(time.RFC3339Nano)
		out.EditedTimestamp = &e
	}
	if m.InteractionID != 0 {
		if i := s.interactions[m.InteractionID]; i != nil {
			out.Type = 20
			if i.Type == InteractionComponent {
				out.Type = 0
			}
			meta := map[string]any{"id": i.ID, "type": i.Type, "user": userJSON(s.users[i.UserID]),
				"authorizing_integration_owners": map[string]any{"0": i.GuildID}}
			if i.CommandName != "" {
				meta["name"] = i.CommandName
			}
			out.InteractionMetadata = meta
		}
	}
	return out
}

// messageEventLocked returns the gateway form of m (with guild_id and member),
// and the same without content for sessions lacking MESSAGE_CONTENT.
func (s *Sim) messageEventLocked(m *Message) payload {
	j := s.messageJSONLocked(m)
	if m.GuildID != 0 {
		j.GuildID = m.GuildID
		if g := s.guilds[m.GuildID]; g != nil {
			if joined, in := g.members[m.AuthorID]; in {
				j.Member = &memberWire{Roles: []Snowflake{}, JoinedAt: joined.UTC().Format(time.RFC3339Nano)}
			}
		}
	}
	full, _ := json.Marshal(j)
	j.Content, j.Embeds, j.Components, j.Attachments = "", []json.RawMessage{}, []json.RawMessage{}, emptyList
	stripped, _ := json.Marshal(j)
	return payload{full: full, stripped: stripped, author: m.AuthorID}
}

// createMessageLocked stores m and returns the MESSAGE_CREATE payload.
func (s *Sim) storeMessageLocked(m *Message) payload {
	if m.ID == 0 {
		m.ID = s.ids.next(false)
	}
	m.Timestamp = time.Now()
	s.messages[m.ID] = m
	if c := s.channels[m.ChannelID]; c != nil {
		c.lastMessage = m.ID
	}
	return s.messageEventLocked(m)
}

func messageIntent(guildID Snowflake) uint64 {
	if guildID == 0 {
		return IntentDirectMessages
	}
	return IntentGuildMessages
}

// MessageOptions describe a message a user sends (driver API).
type MessageOptions struct {
	ChannelID Snowflake
	AuthorID  Snowflake
	Content   string
}

// SendMessage posts a message as a user and dispatches MESSAGE_CREATE
// (GUILD_MESSAGES; content only with MESSAGE_CONTENT).
func (s *Sim) SendMessage(o MessageOptions) (Message, error) { return s.sendMessage(o, true) }

// sendMessage dispatches a user's message; the firehose does not store its
// messages so that long runs do not grow the heap.
func (s *Sim) sendMessage(o MessageOptions, store bool) (Message, error) {
	if o.Content == "" {
		return Message{}, errors.New("discordsim: empty message")
	}
	s.mu.Lock()
	c := s.channels[o.ChannelID]
	if c == nil || c.Type != ChannelGuildText {
		s.mu.Unlock()
		return Message{}, fmt.Errorf("discordsim: %s is not a text channel", o.ChannelID)
	}
	g := s.guilds[c.GuildID]
	if _, in := g.members[o.AuthorID]; !in {
		s.mu.Unlock()
		return Message{}, fmt.Errorf("discordsim: user %s is not a member of guild %s", o.AuthorID, c.GuildID)
	}
	m := &Message{ChannelID: c.ID, GuildID: c.GuildID, AuthorID: o.AuthorID, Content: o.Content}
	var p payload
	if store {
		p = s.storeMessageLocked(m)
	} else {
		m.ID = s.ids.next(false)
		m.Timestamp = time.Now()
		p = s.messageEventLocked(m)
	}
	out := *m
	s.mu.Unlock()
	s.dispatchPayload(c.GuildID, "MESSAGE_CREATE", messageIntent(c.GuildID), p)
	return out, nil
}

// Message returns a stored message by ID.
func (s *Sim) Message(id Snowflake) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.messages[id]
	if m == nil {
		return Message{}, false
	}
	return *m, true
}

// ChannelMessages returns the (non-deleted) messages of a channel in order.
func (s *Sim) ChannelMessages(channelID Snowflake) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.messages {
		if m.ChannelID == channelID && !m.Deleted {
			out = append(out, *m)
		}
	}
	sortMessages(out)
	return out
}

func sortMessages(ms []Message) {
	for i := 1; i < len(ms); i++ {
		for j := i; j > 0 && ms[j].ID < ms[j-1].ID; j-- {
			ms[j], ms[j-1] = ms[j-1], ms[j]
		}
	}
}

func (s *Sim) postMessage(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	var b messageBody
	if e := decodeBody(r, &b); e != nil {
		return e
	}
	s.mu.Lock()
	c, e := s.botChannelLocked(rc.app, r.PathValue("channel"))
	if e != nil {
		s.mu.Unlock()
		return e
	}
	if c.Type != ChannelGuildText && c.Type != ChannelDM {
		s.mu.Unlock()
		return errStatus(400, 50008, "Cannot send messages in a non-text channel")
	}
	s.mu.Unlock()
	if e := b.validate(nil, FlagSuppressEmbeds|FlagSuppressNotifications|FlagComponentsV2, true, nil); e != nil {
		return e
	}
	nonce, e := b.validateCreateOnly()
	if e != nil {
		return e
	}
	s.mu.Lock()
	if b.EnforceNonce && nonce != nil {
		if old := s.messageByNonceLocked(rc.app.BotUserID, nonce); old != nil {
			j := s.messageJSONLocked(old)
			s.mu.Unlock()
			writeJSON(w, 200, j)
			return nil
		}
	}
	m := &Message{ChannelID: c.ID, GuildID: c.GuildID, AuthorID: rc.app.BotUserID, Nonce: nonce}
	b.apply(m)
	p := s.storeMessageLocked(m)
	j := s.messageJSONLocked(m)
	s.mu.Unlock()
	s.dispatchPayload(c.GuildID, "MESSAGE_CREATE", messageIntent(c.GuildID), p)
	writeJSON(w, 200, j)
	return nil
}

// nonceWindow is how long enforce_nonce finds an earlier message with the
// same nonce. The docs say "the past few minutes" (resources-message.mdx,
// Create Message); two minutes is the emulator's reading.
const nonceWindow = 2 * time.Minute

// messageByNonceLocked returns the newest message author created with nonce
// within nonceWindow that is not deleted, or nil (enforce_nonce: "If another
// message was created by the same author with the same nonce, that message
// will be returned and no new message will be created.").
func (s *Sim) messageByNonceLocked(author Snowflake, nonce json.RawMessage) *Message {
	var found *Message
	since := time.Now().Add(-nonceWindow)
	for _, m := range s.messages {
		if m.AuthorID == author && !m.Deleted && m.Timestamp.After(since) && string(m.Nonce) == string(nonce) &&
			(found == nil || m.ID > found.ID) {
			found = m
		}
	}
	return found
}

func (s *Sim) channelMessageLocked(rc *reqCtx, r *http.Request) (*Message, *APIError) {
	c, e := s.botChannelLocked(rc.app, r.PathValue("channel"))
	if e != nil {
		return nil, e
	}
	id, err := ParseSnowflake(r.PathValue("message"))
	if err != nil {
		return nil, formError([]string{"message_id"}, "NUMBER_TYPE_COERCE", "Value is not snowflake.")
	}
	m := s.messages[id]
	if m == nil || m.Deleted || m.ChannelID != c.ID || m.Ephemeral() {
		return nil, errUnknownMessage
	}
	return m, nil
}

func (s *Sim) getMessage(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.channelMessageLocked(rc, r)
	if e != nil {
		return e
	}
	writeJSON(w, 200, s.messageJSONLocked(m))
	return nil
}

func (s *Sim) patchMessage(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	var b messageBody
	if e := decodeBody(r, &b); e != nil {
		return e
	}
	s.mu.Lock()
	m, e := s.channelMessageLocked(rc, r)
	if e == nil && m.AuthorID != rc.app.BotUserID {
		e = errStatus(403, 50005, "Cannot edit a message authored by another user")
	}
	if e == nil {
		e = b.validate(nil, FlagSuppressEmbeds|FlagComponentsV2, false, m)
	}
	if e != nil {
		s.mu.Unlock()
		return e
	}
	b.applyEdit(m)
	m.Edited = time.Now()
	p := s.messageEventLocked(m)
	j := s.messageJSONLocked(m)
	s.mu.Unlock()
	s.dispatchPayload(m.GuildID, "MESSAGE_UPDATE", messageIntent(m.GuildID), p)
	writeJSON(w, 200, j)
	return nil
}

func (s *Sim) deleteMessage(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	m, e := s.channelMessageLocked(rc, r)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	m.Deleted = true
	s.mu.Unlock()
	s.dispatchGuild(m.GuildID, "MESSAGE_DELETE", messageIntent(m.GuildID), map[string]any{"id": m.ID, "channel_id": m.ChannelID, "guild_id": m.GuildID})
	w.WriteHeader(204)
	return nil
}

// listMessages implements GET /channels/{id}/messages (newest first, limit 1-100, default 50).
func (s *Sim) listMessages(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100 {
			return formError([]string{"limit"}, "NUMBER_TYPE_MAX", "int value should be between 1 and 100.")
		}
		limit = n
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.botChannelLocked(rc.app, r.PathValue("channel"))
	if e != nil {
		return e
	}
	var ms []Message
	for _, m := range s.messages {
		if m.ChannelID == c.ID && !m.Deleted && !m.Ephemeral() {
			ms = append(ms, *m)
		}
	}
	sortMessages(ms)
	out := []any{}
	for k := len(ms) - 1; k >= 0 && len(out) < limit; k-- {
		out = append(out, s.messageJSONLocked(&ms[k]))
	}
	writeJSON(w, 200, out)
	return nil
}
