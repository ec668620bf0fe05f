package discordsim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// The rules of autocomplete (interactions-application-commands.mdx,
// Autocomplete, and interactions-receiving-and-responding.mdx, Interaction
// Response Object, Autocomplete): what a user can be typing into a focused
// option, and what the APPLICATION_COMMAND_AUTOCOMPLETE_RESULT answering it
// may hold. Pure functions; interactions.go and webhooks.go apply them.

// Partial input a client lets through for a number: "you may receive partial
// strings, but not invalid numbers" (Autocomplete). A sign alone or a
// trailing point is what a user types on the way to a number.
var (
	partialInteger = regexp.MustCompile(`^-?[0-9]*$`)
	partialNumber  = regexp.MustCompile(`^-?[0-9]*\.?[0-9]*$`)
)

// validateFocus checks the option a user is typing into: it must have
// autocomplete enabled ("If autocomplete interactions are enabled for this
// option"), and the text must pass the client's validation for its type and
// length. The text is sent as typed, a string whatever the option's type.
func validateFocus(o CommandOption, partial string) error {
	if !o.Autocomplete {
		return fmt.Errorf("option %q does not have autocomplete enabled", o.Name)
	}
	switch o.Type {
	case OptionString:
		if o.MaxLength != nil && utf8.RuneCountInString(partial) > *o.MaxLength {
			return fmt.Errorf("option %q takes at most %d characters", o.Name, *o.MaxLength)
		}
		if utf8.RuneCountInString(partial) > 6000 {
			return fmt.Errorf("option %q takes at most 6000 characters", o.Name)
		}
	case OptionInteger:
		if !partialInteger.MatchString(partial) {
			return fmt.Errorf("%q is not a whole number being typed", partial)
		}
	case OptionNumber:
		if !partialNumber.MatchString(partial) {
			return fmt.Errorf("%q is not a number being typed", partial)
		}
	default:
		return fmt.Errorf("option %q of type %d cannot autocomplete", o.Name, o.Type)
	}
	return nil
}

// autocompleteData is the data of an APPLICATION_COMMAND_AUTOCOMPLETE_RESULT.
type autocompleteData struct {
	Choices *[]choiceInput `json:"choices"`
}

// maxAutocompleteChoices is "max of 25 choices" (Autocomplete).
const maxAutocompleteChoices = 25

// validateAutocompleteResult checks data, the body of an autocomplete
// result answering the focused option o: a choices array of at most 25,
// each with a name of 1 to 100 characters (localizations alike) and a value
// of o's type (Application Command Option Choice Structure: "up to 100
// characters if string"; integers within the safe range). It returns the
// choices as they were accepted.
func validateAutocompleteResult(o CommandOption, data json.RawMessage) ([]CommandChoice, *APIError) {
	if len(data) == 0 || string(data) == "null" {
		return nil, requiredField([]string{"data"})
	}
	var d autocompleteData
	if json.Unmarshal(data, &d) != nil {
		return nil, formError([]string{"data"}, "MODEL_TYPE_CONVERT", "Only dictionaries may be used in a ModelType")
	}
	if d.Choices == nil {
		return nil, requiredField([]string{"data", "choices"})
	}
	if len(*d.Choices) > maxAutocompleteChoices {
		return nil, maxLength([]string{"data", "choices"}, maxAutocompleteChoices)
	}
	out := make([]CommandChoice, 0, len(*d.Choices))
	for j, ch := range *d.Choices {
		cp := []string{"data", "choices", strconv.Itoa(j)}
		if ch.Name == nil {
			return nil, requiredField(subPath(cp, "name"))
		}
		locs, e := checkLocalized(subPath(cp, "name"), subPath(cp, "name_localizations"), *ch.Name, ch.NameLoc, lengthRule(100))
		if e != nil {
			return nil, e
		}
		if len(ch.Value) == 0 {
			return nil, requiredField(subPath(cp, "value"))
		}
		v, ok := choiceValue(o.Type, ch.Value)
		if !ok {
			return nil, formError(subPath(cp, "value"), "BASE_TYPE_INVALID", "Value is not valid for the option type")
		}
		out = append(out, CommandChoice{Name: *ch.Name, NameLocalizations: locs, Value: v})
	}
	return out, nil
}
