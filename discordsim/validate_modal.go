package discordsim

import (
	"encoding/json"
	"slices"
	"strconv"
	"unicode/utf8"
)

// The rules of a MODAL response (interactions-receiving-and-responding.mdx,
// Modal; components-reference.mdx, Label, Text Input, the selects and Text
// Display): what a modal may hold and the limits of each part.

// Component types that only modals hold (components-reference.mdx).
const (
	componentTextInput     = 4
	componentLabel         = 18
	componentFileUpload    = 19
	componentRadioGroup    = 21
	componentCheckboxGroup = 22
	componentCheckbox      = 23
)

// Modal limits.
const (
	modalTitleMax      = 45   // Modal: "max 45 characters"
	modalComponentsMax = 5    // Modal: "Between 1 and 5 (inclusive) components"
	labelTextMax       = 45   // Label: "The label text; max 45 characters"
	labelDescMax       = 100  // Label: "max 100 characters"
	textInputMax       = 4000 // Text Input: min_length, max_length and value
	textPlaceholderMax = 100  // Text Input: "max 100 characters"
)

var (
	// modalTopLevel: a Label or a Text Display; an Action Row holding one
	// Text Input is deprecated but still taken.
	modalTopLevel = []int{componentLabel, componentTextDisplay, componentActionRow}
	// labelChildren are the Label Child Components the emulator can
	// submit. File Upload, Radio Group, Checkbox Group and Checkbox are
	// not emulated; a modal holding one is refused (the README says so).
	labelChildren = []int{componentTextInput, componentStringSelect, componentUserSelect, componentRoleSelect,
		componentMentionableSelect, componentChannelSelect}
	// selectTypes are the select menus.
	selectTypes = []int{componentStringSelect, componentUserSelect, componentRoleSelect, componentMentionableSelect, componentChannelSelect}
)

// modalData is the data of a MODAL response.
type modalData struct {
	CustomID   *string           `json:"custom_id"`
	Title      *string           `json:"title"`
	Components []json.RawMessage `json:"components"`
}

// validateModal checks the data of a MODAL response: a custom_id of 1 to
// 100 characters, a title of 1 to 45, and 1 to 5 components, each a Label
// (with a text input or a select), a Text Display or a legacy Action Row
// with one Text Input; custom_ids and ids unique within the modal, and
// nothing disabled.
func validateModal(data json.RawMessage) *APIError {
	var modal modalData
	if json.Unmarshal(data, &modal) != nil {
		return formError([]string{"data"}, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
	}
	switch {
	case modal.CustomID == nil || *modal.CustomID == "":
		return requiredField([]string{"data", "custom_id"})
	case utf8.RuneCountInString(*modal.CustomID) > 100:
		return maxLength([]string{"data", "custom_id"}, 100)
	case modal.Title == nil || *modal.Title == "":
		return requiredField([]string{"data", "title"})
	case utf8.RuneCountInString(*modal.Title) > modalTitleMax:
		return maxLength([]string{"data", "title"}, modalTitleMax)
	case len(modal.Components) < 1 || len(modal.Components) > modalComponentsMax:
		return badLength([]string{"data", "components"}, 1, modalComponentsMax)
	}
	w := componentCheck{customIDs: map[string]bool{}, ids: map[int64]bool{}}
	for k, raw := range modal.Components {
		if e := w.modalComponent([]string{"data", "components", strconv.Itoa(k)}, raw, modalTopLevel); e != nil {
			return e
		}
	}
	return nil
}

// decodeComponent decodes the component at path, which must be of one of
// the allowed types.
func decodeComponent(path []string, raw json.RawMessage, allowed []int) (component, *APIError) {
	var c component
	if err := json.Unmarshal(raw, &c); err != nil || c.Type == nil {
		return c, requiredField(subPath(path, "type"))
	}
	if !slices.Contains(allowed, *c.Type) {
		names := ""
		for i, t := range allowed {
			if i > 0 {
				names += ", "
			}
			names += strconv.Itoa(t)
		}
		return c, formError(path, "UNION_TYPE_CHOICES", "Value of field \"type\" must be one of ("+names+").")
	}
	return c, nil
}

// modalComponent checks one component of a modal at path.
func (w *componentCheck) modalComponent(path []string, raw json.RawMessage, allowed []int) *APIError {
	c, e := decodeComponent(path, raw, allowed)
	if e != nil {
		return e
	}
	if e := w.id(subPath(path, "id"), c.ID); e != nil {
		return e
	}
	if c.Disabled {
		// "Modals can not currently have disabled components in them."
		return formError(subPath(path, "disabled"), "COMPONENT_DISABLED_IN_MODAL", "Modals cannot have disabled components.")
	}
	switch *c.Type {
	case componentTextDisplay:
		if c.Content == nil {
			return requiredField(subPath(path, "content"))
		}
	case componentActionRow:
		// Deprecated, still accepted: one Text Input per row.
		if len(c.Components) != 1 {
			return badLength(subPath(path, "components"), 1, 1)
		}
		return w.modalComponent(subPath(path, "components", "0"), c.Components[0], []int{componentTextInput})
	case componentLabel:
		switch {
		case c.Label == nil || *c.Label == "":
			return requiredField(subPath(path, "label"))
		case utf8.RuneCountInString(*c.Label) > labelTextMax:
			return maxLength(subPath(path, "label"), labelTextMax)
		case c.Description != nil && utf8.RuneCountInString(*c.Description) > labelDescMax:
			return maxLength(subPath(path, "description"), labelDescMax)
		case len(c.Component) == 0 || string(c.Component) == "null":
			return requiredField(subPath(path, "component"))
		}
		return w.modalComponent(subPath(path, "component"), c.Component, labelChildren)
	case componentTextInput:
		return w.textInput(path, c, len(path) >= 2 && path[len(path)-2] == "components")
	default: // a select, inside a Label
		if c.CustomID == nil || *c.CustomID == "" {
			return requiredField(subPath(path, "custom_id"))
		}
		if *c.Type == componentStringSelect && (len(c.Options) < 1 || len(c.Options) > 25) {
			return badLength(subPath(path, "options"), 1, 25)
		}
		if e := validateSelect(path, c); e != nil {
			return e
		}
		// "min_values must be either omitted or at least 1 if required
		// is omitted or true."
		if (c.Required == nil || *c.Required) && c.MinValues != nil && *c.MinValues < 1 {
			return formError(subPath(path, "min_values"), "SELECT_COMPONENT_MIN_VALUES_REQUIRED", "min_values must be at least 1 when the select is required.")
		}
		return w.customID(path, c.CustomID)
	}
	return nil
}

// textInput checks a Text Input at path (Text Input Structure); inRow is
// true for the deprecated form inside an Action Row, where the input's own
// label is required.
func (w *componentCheck) textInput(path []string, c component, inRow bool) *APIError {
	at := func(more ...string) []string { return subPath(path, more...) }
	if c.CustomID == nil || *c.CustomID == "" {
		return requiredField(at("custom_id"))
	}
	if c.Style != 1 && c.Style != 2 {
		return formError(at("style"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2}.")
	}
	if inRow && (c.Label == nil || *c.Label == "") {
		return requiredField(at("label"))
	}
	if c.Label != nil && utf8.RuneCountInString(*c.Label) > labelTextMax {
		return maxLength(at("label"), labelTextMax)
	}
	if c.MinLength != nil && (*c.MinLength < 0 || *c.MinLength > textInputMax) {
		return formError(at("min_length"), "NUMBER_TYPE_MAX", "Must be between 0 and 4000.")
	}
	if c.MaxLength != nil && (*c.MaxLength < 1 || *c.MaxLength > textInputMax) {
		return formError(at("max_length"), "NUMBER_TYPE_MAX", "Must be between 1 and 4000.")
	}
	if c.MinLength != nil && c.MaxLength != nil && *c.MinLength > *c.MaxLength {
		return formError(at("min_length"), "TEXT_INPUT_MIN_LENGTH_TOO_LARGE", "min_length must be less than or equal to max_length.")
	}
	if c.Value != nil && utf8.RuneCountInString(*c.Value) > textInputMax {
		return maxLength(at("value"), textInputMax)
	}
	if c.Placeholder != nil && utf8.RuneCountInString(*c.Placeholder) > textPlaceholderMax {
		return maxLength(at("placeholder"), textPlaceholderMax)
	}
	return w.customID(path, c.CustomID)
}
