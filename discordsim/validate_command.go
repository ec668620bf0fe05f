package discordsim

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The rules of application command definitions
// (interactions-application-commands.mdx): names, descriptions and their
// localizations, options nested up to subcommands in groups, choices,
// ranges and the size limit. validateCommand turns a decoded definition
// into a Command or Discord's error; it reads no state of the Sim.

var commandNameRE = regexp.MustCompile(`^[-_'\p{L}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`)

type optionInput struct {
	Type         *int            `json:"type"`
	Name         *string         `json:"name"`
	Description  *string         `json:"description"`
	Required     *bool           `json:"required"`
	Choices      []choiceInput   `json:"choices"`
	Options      []optionInput   `json:"options"`
	ChannelTypes []int           `json:"channel_types"`
	MinValue     *float64        `json:"min_value"`
	MaxValue     *float64        `json:"max_value"`
	MinLength    *int            `json:"min_length"`
	MaxLength    *int            `json:"max_length"`
	Autocomplete *bool           `json:"autocomplete"`
	NameLoc      json.RawMessage `json:"name_localizations"`
	DescLoc      json.RawMessage `json:"description_localizations"`
}

type choiceInput struct {
	Name    *string         `json:"name"`
	NameLoc json.RawMessage `json:"name_localizations"`
	Value   json.RawMessage `json:"value"`
}

type commandInput struct {
	Name                     *string         `json:"name"`
	Description              *string         `json:"description"`
	Type                     *int            `json:"type"`
	Options                  []optionInput   `json:"options"`
	DefaultMemberPermissions *string         `json:"default_member_permissions"`
	NSFW                     *bool           `json:"nsfw"`
	DMPermission             *bool           `json:"dm_permission"`
	NameLoc                  json.RawMessage `json:"name_localizations"`
	DescLoc                  json.RawMessage `json:"description_localizations"`
	Contexts                 []int           `json:"contexts"`
	IntegrationTypes         []int           `json:"integration_types"`
}

// A textRule checks one value of a name or description at path: the
// field's own value or one of its localizations, which "follow the same
// restrictions" (Application Command Structure).
type textRule func(path []string, v string) *APIError

// nameRule is Application Command Naming for CHAT_INPUT commands and all
// options (chatInput), or for USER and MESSAGE commands.
func nameRule(chatInput bool) textRule {
	return func(path []string, v string) *APIError {
		if !validName(v, chatInput) {
			return formError(path, "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
		}
		return nil
	}
}

// lengthRule requires 1 to max characters: 100 for descriptions and choice names.
func lengthRule(max int) textRule {
	return func(path []string, v string) *APIError {
		if n := utf8.RuneCountInString(v); n < 1 || n > max {
			return formError(path, "BASE_TYPE_BAD_LENGTH", "Must be between 1 and "+strconv.Itoa(max)+" in length.")
		}
		return nil
	}
}

// noDescription is the description of USER and MESSAGE commands: "Empty
// string for USER and MESSAGE commands".
func noDescription(path []string, v string) *APIError {
	if v != "" {
		return formError(path, "APPLICATION_COMMAND_DESCRIPTION_NOT_ALLOWED", "Description is not allowed for this command type")
	}
	return nil
}

// locales are the keys a localization dictionary may have (reference.mdx,
// Locales), in the docs' order.
var locales = []string{"id", "da", "de", "en-GB", "en-US", "es-ES", "es-419", "fr", "hr", "it", "lt", "hu", "nl", "no", "pl",
	"pt-BR", "ro", "fi", "sv-SE", "vi", "tr", "cs", "el", "bg", "ru", "uk", "hi", "th", "zh-CN", "ja", "zh-TW", "ko"}

// checkLocalized checks def, the value of the field at path, with rule, then
// the field's localization dictionary raw at locPath
// (interactions-application-commands.mdx, Application Command Structure and
// Localization): "?dictionary with keys in available locales" whose
// "Values follow the same restrictions" as the field. It returns the
// localizations without the values identical to def ("Any localized values
// that are identical to the default will be ignored"), nil if none are left.
func checkLocalized(path, locPath []string, def string, raw json.RawMessage, rule textRule) (map[string]string, *APIError) {
	if e := rule(path, def); e != nil {
		return nil, e
	}
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var dict map[string]string
	if json.Unmarshal(raw, &dict) != nil {
		return nil, formError(locPath, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
	}
	out := map[string]string{}
	for _, loc := range sortedKeys(dict) {
		at := append(locPath[:len(locPath):len(locPath)], loc)
		if !slices.Contains(locales, loc) {
			return nil, formError(at, "BASE_TYPE_CHOICES", "Value must be one of ('"+strings.Join(locales, "', '")+"').")
		}
		if v := dict[loc]; v != def {
			if e := rule(at, v); e != nil {
				return nil, e
			}
			out[loc] = v
		}
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func validName(name string, chatInput bool) bool {
	if chatInput {
		return commandNameRE.MatchString(name) && strings.ToLower(name) == name
	}
	n := utf8.RuneCountInString(name)
	return n >= 1 && n <= 32 && strings.TrimSpace(name) != ""
}

// validateCommand turns input into a Command or a 50035 error, as Discord does.
func validateCommand(in commandInput, prefix []string) (Command, *APIError) {
	p := func(more ...string) []string { return append(append([]string(nil), prefix...), more...) }
	var c Command
	c.Type = CommandChatInput
	if in.Type != nil {
		c.Type = *in.Type
	}
	if c.Type < 1 || c.Type > 3 {
		return c, formError(p("type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3}.")
	}
	if in.Name == nil {
		return c, formError(p("name"), "BASE_TYPE_REQUIRED", "This field is required")
	}
	c.Name = *in.Name
	chat := c.Type == CommandChatInput
	var e *APIError
	if c.NameLocalizations, e = checkLocalized(p("name"), p("name_localizations"), c.Name, in.NameLoc, nameRule(chat)); e != nil {
		return c, e
	}
	description := textRule(noDescription)
	if chat {
		if in.Description == nil {
			return c, formError(p("description"), "BASE_TYPE_REQUIRED", "This field is required")
		}
		description = lengthRule(100)
	}
	if in.Description != nil {
		c.Description = *in.Description
	}
	if c.DescriptionLocalizations, e = checkLocalized(p("description"), p("description_localizations"), c.Description, in.DescLoc, description); e != nil {
		return c, e
	}
	if !chat {
		if len(in.Options) > 0 {
			return c, formError(p("options"), "APPLICATION_COMMAND_OPTIONS_NOT_ALLOWED", "Options are not allowed for this command type")
		}
	}
	if in.DefaultMemberPermissions != nil {
		if _, err := strconv.ParseUint(*in.DefaultMemberPermissions, 10, 64); err != nil {
			return c, formError(p("default_member_permissions"), "NUMBER_TYPE_COERCE", "Value is not an integer.")
		}
		v := *in.DefaultMemberPermissions
		c.DefaultMemberPermissions = &v
	}
	if in.NSFW != nil {
		c.NSFW = *in.NSFW
	}
	opts, e := validateOptions(in.Options, p("options"), 0)
	if e != nil {
		return c, e
	}
	c.Options = opts
	if size := commandSize(c); size > 8000 {
		return c, &APIError{Status: 400, Code: 50035, Message: "Invalid Form Body",
			Errors: map[string]any{"_errors": []any{map[string]string{"code": "APPLICATION_COMMAND_TOO_LARGE", "message": "Command exceeds maximum size (8000)"}}}}
	}
	return c, nil
}

// commandSize counts the characters of a command's names, descriptions and
// choice values; of a localized field only its longest value, the default
// included, counts (Slash Commands).
func commandSize(c Command) int {
	longest := func(def string, locs map[string]string) int {
		n := utf8.RuneCountInString(def)
		for _, v := range locs {
			n = max(n, utf8.RuneCountInString(v))
		}
		return n
	}
	n := longest(c.Name, c.NameLocalizations) + longest(c.Description, c.DescriptionLocalizations)
	var walk func([]CommandOption)
	walk = func(os []CommandOption) {
		for _, o := range os {
			n += longest(o.Name, o.NameLocalizations) + longest(o.Description, o.DescriptionLocalizations)
			for _, ch := range o.Choices {
				n += longest(ch.Name, ch.NameLocalizations) + utf8.RuneCountInString(fmt.Sprint(ch.Value))
			}
			walk(o.Options)
		}
	}
	walk(c.Options)
	return n
}

// validateOptions checks one level of options; depth 0 is the command, 1 a
// subcommand or group, 2 a subcommand in a group.
func validateOptions(in []optionInput, prefix []string, depth int) ([]CommandOption, *APIError) {
	if len(in) > 25 {
		return nil, maxLength(prefix, 25)
	}
	l := optionList{depth: depth, names: map[string]bool{}}
	var out []CommandOption
	for i, oi := range in {
		o, e := l.option(oi, subPath(prefix, strconv.Itoa(i)))
		if e != nil {
			return nil, e
		}
		out = append(out, o)
	}
	if l.subs > 0 && l.plain > 0 {
		return nil, formError(prefix, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-command and sub-command group option types are mutually exclusive to all other types")
	}
	if e := localizedNamesDistinct(prefix, out); e != nil {
		return nil, e
	}
	return out, nil
}

// optionList checks the options of one list in order, remembering what
// the rules compare between siblings.
type optionList struct {
	depth        int             // as validateOptions'
	names        map[string]bool // the names so far, which must differ
	subs, plain  int             // subcommands and groups, and other options
	seenOptional bool            // an option that is not required came before
}

// option checks the option oi at path ip and returns it validated: its
// name and description, its place in the list, then the fields that depend
// on its type, in that order (the first rule broken is the one reported).
func (l *optionList) option(oi optionInput, ip []string) (CommandOption, *APIError) {
	at := func(f string) []string { return subPath(ip, f) }
	if oi.Type == nil {
		return CommandOption{}, requiredField(at("type"))
	}
	o := CommandOption{Type: *oi.Type}
	if o.Type < 1 || o.Type > 11 {
		return o, formError(at("type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.")
	}
	if oi.Name == nil {
		return o, requiredField(at("name"))
	}
	o.Name = *oi.Name
	var e *APIError
	if o.NameLocalizations, e = checkLocalized(at("name"), at("name_localizations"), o.Name, oi.NameLoc, nameRule(true)); e != nil {
		return o, e
	}
	if l.names[o.Name] {
		return o, formError(at("name"), "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option name "+o.Name+" is already used in these options")
	}
	l.names[o.Name] = true
	if oi.Description == nil {
		return o, requiredField(at("description"))
	}
	o.Description = *oi.Description
	if o.DescriptionLocalizations, e = checkLocalized(at("description"), at("description_localizations"), o.Description, oi.DescLoc, lengthRule(100)); e != nil {
		return o, e
	}
	if o.Type == OptionSubCommand || o.Type == OptionSubCommandGroup {
		l.subs++
		e = l.subcommand(&o, oi, ip)
	} else {
		l.plain++
		e = l.value(&o, oi, ip)
	}
	for _, check := range []func(*CommandOption, optionInput, func(string) []string) *APIError{
		optionChoices, optionRange, optionLength, optionChannelTypes, optionAutocomplete,
	} {
		if e != nil {
			return o, e
		}
		e = check(&o, oi, at)
	}
	return o, e
}

// subcommand checks a subcommand or group o at ip: never required, nested
// no deeper than a subcommand in a group, and a group holds subcommands
// only, at least one.
func (l *optionList) subcommand(o *CommandOption, oi optionInput, ip []string) *APIError {
	at := func(f string) []string { return subPath(ip, f) }
	if oi.Required != nil && *oi.Required {
		return formError(at("required"), "APPLICATION_COMMAND_OPTION_REQUIRED_INVALID", "Sub-command and sub-command group options cannot be required")
	}
	if l.depth == 2 || l.depth == 1 && o.Type == OptionSubCommandGroup {
		return formError(at("type"), "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Sub-command groups can only contain sub-commands; sub-commands cannot be nested")
	}
	nested, e := validateOptions(oi.Options, at("options"), l.depth+1)
	if e != nil {
		return e
	}
	if o.Type == OptionSubCommandGroup {
		if len(nested) == 0 {
			return formError(at("options"), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
		}
		for j, n := range nested {
			if n.Type != OptionSubCommand {
				return formError(subPath(ip, "options", strconv.Itoa(j), "type"), "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Sub-command groups can only contain sub-commands")
			}
		}
	}
	o.Options = nested
	return nil
}

// value checks an option that takes a value, o at ip: it has no options,
// and the required ones come before the others.
func (l *optionList) value(o *CommandOption, oi optionInput, ip []string) *APIError {
	if len(oi.Options) > 0 {
		return formError(subPath(ip, "options"), "APPLICATION_COMMAND_OPTIONS_NOT_ALLOWED", "Only sub-commands and groups may have options")
	}
	if oi.Required == nil || !*oi.Required {
		l.seenOptional = true
		return nil
	}
	if l.seenOptional {
		return formError(ip, "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options")
	}
	o.Required = true
	return nil
}

// optionChoices checks the choices of o: up to 25, for string, integer and
// number options without autocomplete, each a name and a value of the
// option's type.
func optionChoices(o *CommandOption, oi optionInput, at func(string) []string) *APIError {
	if len(oi.Choices) == 0 {
		return nil
	}
	if o.Type != OptionString && o.Type != OptionInteger && o.Type != OptionNumber {
		return formError(at("choices"), "APPLICATION_COMMAND_OPTION_CHOICES_INVALID", "Choices are only allowed for string, integer and number options")
	}
	if len(oi.Choices) > 25 {
		return maxLength(at("choices"), 25)
	}
	if oi.Autocomplete != nil && *oi.Autocomplete {
		return formError(at("autocomplete"), "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES", "Autocomplete cannot be set on options with choices")
	}
	for j, ch := range oi.Choices {
		cp := subPath(at("choices"), strconv.Itoa(j))
		if ch.Name == nil {
			return requiredField(subPath(cp, "name"))
		}
		locs, e := checkLocalized(subPath(cp, "name"), subPath(cp, "name_localizations"), *ch.Name, ch.NameLoc, lengthRule(100))
		if e != nil {
			return e
		}
		v, ok := choiceValue(o.Type, ch.Value)
		if !ok {
			return formError(subPath(cp, "value"), "BASE_TYPE_INVALID", "Value is not valid for the option type")
		}
		o.Choices = append(o.Choices, CommandChoice{Name: *ch.Name, NameLocalizations: locs, Value: v})
	}
	return nil
}

// optionRange checks min_value and max_value: for integer and number
// options only, integers within the safe range on an integer option, and
// in order.
func optionRange(o *CommandOption, oi optionInput, at func(string) []string) *APIError {
	if oi.MinValue == nil && oi.MaxValue == nil {
		return nil
	}
	if o.Type != OptionInteger && o.Type != OptionNumber {
		return formError(at("min_value"), "APPLICATION_COMMAND_OPTION_MIN_MAX_INVALID", "min_value and max_value are only allowed for integer and number options")
	}
	for _, b := range []struct {
		name string
		v    *float64
	}{{"min_value", oi.MinValue}, {"max_value", oi.MaxValue}} {
		if o.Type == OptionInteger && b.v != nil && (*b.v != math.Trunc(*b.v) || math.Abs(*b.v) > maxSafeInteger) {
			return formError(at(b.name), "NUMBER_TYPE_COERCE", "Value \""+strconv.FormatFloat(*b.v, 'f', -1, 64)+"\" is not int.")
		}
	}
	if oi.MinValue != nil && oi.MaxValue != nil && *oi.MinValue > *oi.MaxValue {
		return formError(at("max_value"), "NUMBER_TYPE_MIN", "max_value must be greater than or equal to min_value")
	}
	o.MinValue, o.MaxValue = oi.MinValue, oi.MaxValue
	return nil
}

// optionLength checks min_length (0 to 6000) and max_length (1 to 6000):
// for string options only, and in order.
func optionLength(o *CommandOption, oi optionInput, at func(string) []string) *APIError {
	if oi.MinLength == nil && oi.MaxLength == nil {
		return nil
	}
	switch {
	case o.Type != OptionString:
		return formError(at("min_length"), "APPLICATION_COMMAND_OPTION_LENGTH_INVALID", "min_length and max_length are only allowed for string options")
	case oi.MinLength != nil && (*oi.MinLength < 0 || *oi.MinLength > 6000):
		return formError(at("min_length"), "NUMBER_TYPE_MAX", "Must be between 0 and 6000.")
	case oi.MaxLength != nil && (*oi.MaxLength < 1 || *oi.MaxLength > 6000):
		return formError(at("max_length"), "NUMBER_TYPE_MAX", "Must be between 1 and 6000.")
	case oi.MinLength != nil && oi.MaxLength != nil && *oi.MinLength > *oi.MaxLength:
		return formError(at("max_length"), "NUMBER_TYPE_MIN", "max_length must be greater than or equal to min_length")
	}
	o.MinLength, o.MaxLength = oi.MinLength, oi.MaxLength
	return nil
}

// optionChannelTypes checks channel_types, which only channel options take.
func optionChannelTypes(o *CommandOption, oi optionInput, at func(string) []string) *APIError {
	if len(oi.ChannelTypes) == 0 {
		return nil
	}
	if o.Type != OptionChannel {
		return formError(at("channel_types"), "APPLICATION_COMMAND_OPTION_CHANNEL_TYPES_INVALID", "channel_types is only allowed for channel options")
	}
	o.ChannelTypes = oi.ChannelTypes
	return nil
}

// optionAutocomplete checks autocomplete, which only string, integer and
// number options take.
func optionAutocomplete(o *CommandOption, oi optionInput, at func(string) []string) *APIError {
	if oi.Autocomplete == nil || !*oi.Autocomplete {
		return nil
	}
	if o.Type != OptionString && o.Type != OptionInteger && o.Type != OptionNumber {
		return formError(at("autocomplete"), "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_INVALID", "Autocomplete is only allowed for string, integer and number options")
	}
	o.Autocomplete = true
	return nil
}

// localizedNamesDistinct checks the localized names of one list of options:
// they "must be distinct from all other default option names of that
// command, as well as all other option names within that locale on that
// command" (Localization). Only options of the same list are compared: the
// same option in two subcommands may carry the same localized name.
func localizedNamesDistinct(prefix []string, opts []CommandOption) *APIError {
	defaults := map[string]bool{}
	for _, o := range opts {
		defaults[o.Name] = true
	}
	seen := map[[2]string]bool{} // {locale, name}
	for i, o := range opts {
		for _, loc := range sortedKeys(o.NameLocalizations) {
			v := o.NameLocalizations[loc]
			if defaults[v] || seen[[2]string{loc, v}] {
				return formError(append(prefix[:len(prefix):len(prefix)], strconv.Itoa(i), "name_localizations", loc),
					"APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option name "+v+" is already used in these options")
			}
			seen[[2]string{loc, v}] = true
		}
	}
	return nil
}

// maxSafeInteger bounds INTEGER option values, choices and limits:
// -2^53+1 to 2^53-1 (Application Command Option Type).
const maxSafeInteger = 1<<53 - 1

func choiceValue(typ int, raw json.RawMessage) (any, bool) {
	switch typ {
	case OptionString:
		var s string
		if json.Unmarshal(raw, &s) != nil || utf8.RuneCountInString(s) > 100 {
			return nil, false
		}
		return s, true
	case OptionInteger:
		var f float64
		if json.Unmarshal(raw, &f) != nil || f != math.Trunc(f) || math.Abs(f) > maxSafeInteger {
			return nil, false
		}
		return f, true
	case OptionNumber:
		var f float64
		if json.Unmarshal(raw, &f) != nil || math.Abs(f) > 1<<53 {
			return nil, false
		}
		return f, true
	}
	return nil, false
}

// validateBulkCommands checks the body of a bulk overwrite: each command
// as validateCommand does, no two of one type with the same name, and no
// more of a type than an application may have.
func validateBulkCommands(in []commandInput) ([]Command, *APIError) {
	var cmds []Command
	seen := map[string]bool{}
	counts := map[int]int{}
	for i, ci := range in {
		c, e := validateCommand(ci, []string{strconv.Itoa(i)})
		if e != nil {
			return nil, e
		}
		key := strconv.Itoa(c.Type) + "/" + c.Name
		if seen[key] {
			return nil, duplicateCommandName([]string{strconv.Itoa(i), "name"})
		}
		seen[key] = true
		counts[c.Type]++
		if counts[c.Type] > typeLimit(c.Type) {
			return nil, errMaxCommands
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

// duplicateCommandName is the error for a command named as another of its
// type at path.
func duplicateCommandName(path []string) *APIError {
	return formError(path, "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
}

// An application may have up to 100 CHAT_INPUT commands, and 15 of each
// of USER and MESSAGE, in each scope.
const (
	maxChatCommands  = 100
	maxOtherCommands = 15
)

// typeLimit returns how many commands of type typ an application may have.
func typeLimit(typ int) int {
	if typ == CommandChatInput {
		return maxChatCommands
	}
	return maxOtherCommands
}
