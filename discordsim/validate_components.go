package discordsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The rules of message components, legacy action rows and
// IS_COMPONENTS_V2 layouts alike (components-reference.mdx): which
// component may hold which, their limits, and the ids and custom_ids that
// must be unique within a message.

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
	// Channel Select, and the modal components: Text Input, Label, and
	// the "required" of a select in a modal.
	ChannelTypes []int           `json:"channel_types"`
	Required     *bool           `json:"required"`
	MinLength    *int            `json:"min_length"`
	MaxLength    *int            `json:"max_length"`
	Value        *string         `json:"value"`
	Component    json.RawMessage `json:"component"`
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

// validateSelect checks a select menu at path cp against the String and
// User Select Structures: placeholder 150, min_values 0-25, max_values
// 1-25 and no fewer than min_values, a string select's options (label and
// value required, each text 100 at most), and as many default values as
// min_values and max_values allow, each of a type the select lists.
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
	return validateDefaultValues(at("default_values"), *c.Type, c.DefaultValues)
}

// defaultValueTypes are the Select Default Value types each auto-populated
// select takes: "user", "role" or "channel", as the select lists them. A
// string select has none (its options carry "default").
var defaultValueTypes = map[int][]string{
	componentUserSelect:        {"user"},
	componentRoleSelect:        {"role"},
	componentMentionableSelect: {"user", "role"},
	componentChannelSelect:     {"channel"},
}

// validateDefaultValues checks a select's default_values at path (Select
// Default Value Structure): each an id (a snowflake) and a type its select
// lists, none twice.
func validateDefaultValues(path []string, typ int, values []json.RawMessage) *APIError {
	if len(values) == 0 {
		return nil
	}
	allowed, ok := defaultValueTypes[typ]
	if !ok {
		return formError(path, "SELECT_COMPONENT_DEFAULT_VALUES_NOT_ALLOWED", "Only user, role, mentionable and channel selects have default values.")
	}
	seen := map[Snowflake]bool{}
	for k, raw := range values {
		at := subPath(path, strconv.Itoa(k))
		var dv struct {
			ID   json.RawMessage `json:"id"`
			Type *string         `json:"type"`
		}
		if string(raw) == "null" || json.Unmarshal(raw, &dv) != nil {
			return formError(at, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
		}
		if len(dv.ID) == 0 || string(dv.ID) == "null" {
			return requiredField(subPath(at, "id"))
		}
		id, ok := asSnowflake(json.Number(strings.Trim(string(dv.ID), `"`)))
		if !ok || id == 0 {
			return formError(subPath(at, "id"), "NUMBER_TYPE_COERCE", "Value "+strconv.Quote(string(dv.ID))+" is not snowflake.")
		}
		if dv.Type == nil {
			return requiredField(subPath(at, "type"))
		}
		if !slices.Contains(allowed, *dv.Type) {
			return formError(subPath(at, "type"), "BASE_TYPE_CHOICES", "Value must be one of {"+strings.Join(quoteAll(allowed), ", ")+"}.")
		}
		if seen[id] {
			return formError(subPath(at, "id"), "SELECT_COMPONENT_DEFAULT_VALUE_DUPLICATED", "Default values cannot be duplicated.")
		}
		seen[id] = true
	}
	return nil
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strconv.Quote(s)
	}
	return out
}
