package discordsim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Application command and option types (Discord's values).
const (
	CommandChatInput = 1
	CommandUser      = 2
	CommandMessage   = 3

	OptionSubCommand      = 1
	OptionSubCommandGroup = 2
	OptionString          = 3
	OptionInteger         = 4
	OptionBoolean         = 5
	OptionUser            = 6
	OptionChannel         = 7
	OptionRole            = 8
	OptionMentionable     = 9
	OptionNumber          = 10
	OptionAttachment      = 11
)

var commandNameRE = regexp.MustCompile(`^[-_'\p{L}\p{N}\p{Devanagari}\p{Thai}]{1,32}$`)

// CommandOption is a validated application command option.
type CommandOption struct {
	Type                     int               `json:"type"`
	Name                     string            `json:"name"`
	NameLocalizations        map[string]string `json:"name_localizations,omitempty"`
	Description              string            `json:"description"`
	DescriptionLocalizations map[string]string `json:"description_localizations,omitempty"`
	Required                 bool              `json:"required,omitempty"`
	Choices                  []CommandChoice   `json:"choices,omitempty"`
	Options                  []CommandOption   `json:"options,omitempty"`
	ChannelTypes             []int             `json:"channel_types,omitempty"`
	MinValue                 *float64          `json:"min_value,omitempty"`
	MaxValue                 *float64          `json:"max_value,omitempty"`
	MinLength                *int              `json:"min_length,omitempty"`
	MaxLength                *int              `json:"max_length,omitempty"`
	Autocomplete             bool              `json:"autocomplete,omitempty"`
}

// CommandChoice is one choice of an option; Value is a string or a float64.
type CommandChoice struct {
	Name              string            `json:"name"`
	NameLocalizations map[string]string `json:"name_localizations,omitempty"`
	Value             any               `json:"value"`
}

// Command is a registered application command.
type Command struct {
	ID                       Snowflake         `json:"id"`
	ApplicationID            Snowflake         `json:"application_id"`
	GuildID                  Snowflake         `json:"guild_id,omitempty"`
	Type                     int               `json:"type"`
	Name                     string            `json:"name"`
	NameLocalizations        map[string]string `json:"name_localizations,omitempty"`
	Description              string            `json:"description"`
	DescriptionLocalizations map[string]string `json:"description_localizations,omitempty"`
	Options                  []CommandOption   `json:"options,omitempty"`
	DefaultMemberPermissions *string           `json:"default_member_permissions"`
	NSFW                     bool              `json:"nsfw"`
	Version                  Snowflake         `json:"version"`
}

type command = Command

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
	p := func(more ...string) []string { return append(append([]string(nil), prefix...), more...) }
	if len(in) > 25 {
		return nil, formError(prefix, "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
	}
	var out []CommandOption
	names := map[string]bool{}
	subs, plain := 0, 0
	seenOptional := false
	for i, oi := range in {
		ip := p(strconv.Itoa(i))
		ipp := func(f string) []string { return append(append([]string(nil), ip...), f) }
		if oi.Type == nil {
			return nil, formError(ipp("type"), "BASE_TYPE_REQUIRED", "This field is required")
		}
		o := CommandOption{Type: *oi.Type}
		if o.Type < 1 || o.Type > 11 {
			return nil, formError(ipp("type"), "BASE_TYPE_CHOICES", "Value must be one of {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}.")
		}
		if oi.Name == nil {
			return nil, formError(ipp("name"), "BASE_TYPE_REQUIRED", "This field is required")
		}
		o.Name = *oi.Name
		var e *APIError
		if o.NameLocalizations, e = checkLocalized(ipp("name"), ipp("name_localizations"), o.Name, oi.NameLoc, nameRule(true)); e != nil {
			return nil, e
		}
		if names[o.Name] {
			return nil, formError(ipp("name"), "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option name "+o.Name+" is already used in these options")
		}
		names[o.Name] = true
		if oi.Description == nil {
			return nil, formError(ipp("description"), "BASE_TYPE_REQUIRED", "This field is required")
		}
		o.Description = *oi.Description
		if o.DescriptionLocalizations, e = checkLocalized(ipp("description"), ipp("description_localizations"), o.Description, oi.DescLoc, lengthRule(100)); e != nil {
			return nil, e
		}
		isSub := o.Type == OptionSubCommand || o.Type == OptionSubCommandGroup
		if isSub {
			subs++
			if oi.Required != nil && *oi.Required {
				return nil, formError(ipp("required"), "APPLICATION_COMMAND_OPTION_REQUIRED_INVALID", "Sub-command and sub-command group options cannot be required")
			}
			switch {
			case depth == 2, depth == 1 && o.Type == OptionSubCommandGroup:
				return nil, formError(ipp("type"), "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Sub-command groups can only contain sub-commands; sub-commands cannot be nested")
			}
			nested, e := validateOptions(oi.Options, ipp("options"), depth+1)
			if e != nil {
				return nil, e
			}
			if o.Type == OptionSubCommandGroup {
				if len(nested) == 0 {
					return nil, formError(ipp("options"), "BASE_TYPE_MIN_LENGTH", "Must be 1 or more in length.")
				}
				for j, n := range nested {
					if n.Type != OptionSubCommand {
						return nil, formError(append(ipp("options"), strconv.Itoa(j), "type"), "APPLICATION_COMMAND_OPTION_TYPE_INVALID", "Sub-command groups can only contain sub-commands")
					}
				}
			}
			o.Options = nested
		} else {
			plain++
			if len(oi.Options) > 0 {
				return nil, formError(ipp("options"), "APPLICATION_COMMAND_OPTIONS_NOT_ALLOWED", "Only sub-commands and groups may have options")
			}
			if oi.Required != nil && *oi.Required {
				if seenOptional {
					return nil, formError(ip, "APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID", "Required options must be placed before non-required options")
				}
				o.Required = true
			} else {
				seenOptional = true
			}
		}
		if len(oi.Choices) > 0 {
			if o.Type != OptionString && o.Type != OptionInteger && o.Type != OptionNumber {
				return nil, formError(ipp("choices"), "APPLICATION_COMMAND_OPTION_CHOICES_INVALID", "Choices are only allowed for string, integer and number options")
			}
			if len(oi.Choices) > 25 {
				return nil, formError(ipp("choices"), "BASE_TYPE_MAX_LENGTH", "Must be 25 or fewer in length.")
			}
			if oi.Autocomplete != nil && *oi.Autocomplete {
				return nil, formError(ipp("autocomplete"), "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_CHOICES", "Autocomplete cannot be set on options with choices")
			}
			for j, ch := range oi.Choices {
				cp := slices.Clip(append(ipp("choices"), strconv.Itoa(j)))
				if ch.Name == nil {
					return nil, formError(append(cp, "name"), "BASE_TYPE_REQUIRED", "This field is required")
				}
				locs, e := checkLocalized(append(cp, "name"), append(cp, "name_localizations"), *ch.Name, ch.NameLoc, lengthRule(100))
				if e != nil {
					return nil, e
				}
				v, ok := choiceValue(o.Type, ch.Value)
				if !ok {
					return nil, formError(append(cp, "value"), "BASE_TYPE_INVALID", "Value is not valid for the option type")
				}
				o.Choices = append(o.Choices, CommandChoice{Name: *ch.Name, NameLocalizations: locs, Value: v})
			}
		}
		if oi.MinValue != nil || oi.MaxValue != nil {
			if o.Type != OptionInteger && o.Type != OptionNumber {
				return nil, formError(ipp("min_value"), "APPLICATION_COMMAND_OPTION_MIN_MAX_INVALID", "min_value and max_value are only allowed for integer and number options")
			}
			for _, b := range []struct {
				name string
				v    *float64
			}{{"min_value", oi.MinValue}, {"max_value", oi.MaxValue}} {
				if o.Type == OptionInteger && b.v != nil && (*b.v != math.Trunc(*b.v) || math.Abs(*b.v) > maxSafeInteger) {
					return nil, formError(ipp(b.name), "NUMBER_TYPE_COERCE", "Value \""+strconv.FormatFloat(*b.v, 'f', -1, 64)+"\" is not int.")
				}
			}
			if oi.MinValue != nil && oi.MaxValue != nil && *oi.MinValue > *oi.MaxValue {
				return nil, formError(ipp("max_value"), "NUMBER_TYPE_MIN", "max_value must be greater than or equal to min_value")
			}
			o.MinValue, o.MaxValue = oi.MinValue, oi.MaxValue
		}
		if oi.MinLength != nil || oi.MaxLength != nil {
			if o.Type != OptionString {
				return nil, formError(ipp("min_length"), "APPLICATION_COMMAND_OPTION_LENGTH_INVALID", "min_length and max_length are only allowed for string options")
			}
			if oi.MinLength != nil && (*oi.MinLength < 0 || *oi.MinLength > 6000) {
				return nil, formError(ipp("min_length"), "NUMBER_TYPE_MAX", "Must be between 0 and 6000.")
			}
			if oi.MaxLength != nil && (*oi.MaxLength < 1 || *oi.MaxLength > 6000) {
				return nil, formError(ipp("max_length"), "NUMBER_TYPE_MAX", "Must be between 1 and 6000.")
			}
			if oi.MinLength != nil && oi.MaxLength != nil && *oi.MinLength > *oi.MaxLength {
				return nil, formError(ipp("max_length"), "NUMBER_TYPE_MIN", "max_length must be greater than or equal to min_length")
			}
			o.MinLength, o.MaxLength = oi.MinLength, oi.MaxLength
		}
		if len(oi.ChannelTypes) > 0 {
			if o.Type != OptionChannel {
				return nil, formError(ipp("channel_types"), "APPLICATION_COMMAND_OPTION_CHANNEL_TYPES_INVALID", "channel_types is only allowed for channel options")
			}
			o.ChannelTypes = oi.ChannelTypes
		}
		if oi.Autocomplete != nil && *oi.Autocomplete {
			if o.Type != OptionString && o.Type != OptionInteger && o.Type != OptionNumber {
				return nil, formError(ipp("autocomplete"), "APPLICATION_COMMAND_OPTION_AUTOCOMPLETE_INVALID", "Autocomplete is only allowed for string, integer and number options")
			}
			o.Autocomplete = true
		}
		out = append(out, o)
	}
	if subs > 0 && plain > 0 {
		return nil, formError(prefix, "APPLICATION_COMMAND_OPTIONS_TYPE_INVALID", "Sub-command and sub-command group option types are mutually exclusive to all other types")
	}
	if e := localizedNamesDistinct(prefix, out); e != nil {
		return nil, e
	}
	return out, nil
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

const (
	maxChatCommands  = 100
	maxOtherCommands = 15
	dailyCreateLimit = 200
)

// commandScope resolves the app and optional guild of a commands route.
func (s *Sim) commandScopeLocked(r *http.Request, rc *reqCtx) (map[Snowflake]*command, Snowflake, *APIError) {
	appID, err := ParseSnowflake(r.PathValue("app"))
	if err != nil || appID != rc.app.ID {
		return nil, 0, errNotAuthorizedApp
	}
	if gs := r.PathValue("guild"); gs != "" {
		g, e := s.botGuildLocked(rc.app, gs)
		if e != nil {
			return nil, 0, e
		}
		m := rc.app.guildCommands[g.id]
		if m == nil {
			m = map[Snowflake]*command{}
			rc.app.guildCommands[g.id] = m
		}
		return m, g.id, nil
	}
	return rc.app.commands, 0, nil
}

func sortedCommands(m map[Snowflake]*command) []Command {
	out := make([]Command, 0, len(m))
	for _, c := range m {
		out = append(out, *c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func commandJSON(c Command) map[string]any {
	b, _ := json.Marshal(c)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	for _, k := range []string{"name_localizations", "description_localizations"} {
		if _, ok := m[k]; !ok {
			m[k] = nil
		}
	}
	m["integration_types"] = []int{0}
	m["contexts"] = nil
	if c.GuildID == 0 {
		m["dm_permission"] = true
	}
	if _, ok := m["options"]; !ok && c.Type == CommandChatInput {
		m["options"] = []any{}
	}
	return m
}

func (s *Sim) listCommands(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, _, e := s.commandScopeLocked(r, rc)
	if e != nil {
		return e
	}
	// Retrieving localized commands: without with_localizations (a
	// Boolean Query String) the dictionaries give way to name_localized and
	// description_localized for the requester's locale, taken from
	// X-Discord-Locale, else Accept-Language (its first language tag).
	full := slices.Contains([]string{"True", "true", "1"}, r.URL.Query().Get("with_localizations"))
	locale := r.Header.Get("X-Discord-Locale")
	if locale == "" {
		locale, _, _ = strings.Cut(r.Header.Get("Accept-Language"), ",")
		locale, _, _ = strings.Cut(locale, ";")
		locale = strings.TrimSpace(locale)
	}
	out := []any{}
	for _, c := range sortedCommands(m) {
		j := commandJSON(c)
		if !full {
			localizedJSON(j, locale)
		}
		out = append(out, j)
	}
	writeJSON(w, 200, out)
	return nil
}

// localizedJSON replaces the localization dictionaries of a command, an
// option or a choice (JSON, as commandJSON makes it) and of everything
// below it by name_localized and description_localized for locale, set only
// where the dictionary has that locale.
func localizedJSON(m map[string]any, locale string) {
	for _, f := range []string{"name", "description"} {
		if d, ok := m[f+"_localizations"].(map[string]any); ok && d[locale] != nil {
			m[f+"_localized"] = d[locale]
		}
		delete(m, f+"_localizations")
	}
	for _, k := range []string{"options", "choices"} {
		list, _ := m[k].([]any)
		for _, x := range list {
			if sub, ok := x.(map[string]any); ok {
				localizedJSON(sub, locale)
			}
		}
	}
}

func (s *Sim) dailyCreateOK(a *app, guildID Snowflake) bool {
	return s.reserveDailyCreates(a, guildID, 1)
}

// reserveDailyCreates counts n command creates against the day's limit in
// the scope, all or none.
func (s *Sim) reserveDailyCreates(a *app, guildID Snowflake, n int) bool {
	key := fmt.Sprintf("%d/%d/%s", a.ID, guildID, time.Now().UTC().Format("2006-01-02"))
	if s.oauth.dailyCreates == nil {
		s.oauth.dailyCreates = map[string]int{}
	}
	if s.oauth.dailyCreates[key]+n > dailyCreateLimit {
		return false
	}
	s.oauth.dailyCreates[key] += n
	return true
}

func countType(m map[Snowflake]*command, typ int) int {
	n := 0
	for _, c := range m {
		if c.Type == typ {
			n++
		}
	}
	return n
}

func typeLimit(typ int) int {
	if typ == CommandChatInput {
		return maxChatCommands
	}
	return maxOtherCommands
}

func (s *Sim) createCommand(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	var in commandInput
	if e := decodeBody(r, &in); e != nil {
		return e
	}
	c, e := validateCommand(in, nil)
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, gid, e := s.commandScopeLocked(r, rc)
	if e != nil {
		return e
	}
	for _, old := range m {
		if old.Name == c.Name && old.Type == c.Type {
			c.ID, c.ApplicationID, c.GuildID, c.Version = old.ID, rc.app.ID, gid, s.ids.next(false)
			*old = c
			writeJSON(w, 200, commandJSON(c))
			return nil
		}
	}
	if countType(m, c.Type) >= typeLimit(c.Type) {
		return errStatus(400, 30032, "Maximum number of application commands reached")
	}
	if !s.dailyCreateOK(rc.app, gid) {
		return errStatus(429, 30034, "Maximum number of daily application command creates has been reached (200)")
	}
	c.ID, c.ApplicationID, c.GuildID = s.ids.next(false), rc.app.ID, gid
	c.Version = c.ID
	m[c.ID] = &c
	writeJSON(w, 201, commandJSON(c))
	return nil
}

func (s *Sim) bulkCommands(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	var in []commandInput
	if e := decodeBody(r, &in); e != nil {
		return e
	}
	var cmds []Command
	seen := map[string]bool{}
	counts := map[int]int{}
	for i, ci := range in {
		c, e := validateCommand(ci, []string{strconv.Itoa(i)})
		if e != nil {
			return e
		}
		key := strconv.Itoa(c.Type) + "/" + c.Name
		if seen[key] {
			return formError([]string{strconv.Itoa(i), "name"}, "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
		}
		seen[key] = true
		counts[c.Type]++
		if counts[c.Type] > typeLimit(c.Type) {
			return errStatus(400, 30032, "Maximum number of application commands reached")
		}
		cmds = append(cmds, c)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, gid, e := s.commandScopeLocked(r, rc)
	if e != nil {
		return e
	}
	byName := map[string]*command{}
	for _, old := range m {
		byName[strconv.Itoa(old.Type)+"/"+old.Name] = old
	}
	// Commands that do not exist yet count toward the daily creates.
	created := 0
	for _, c := range cmds {
		if byName[strconv.Itoa(c.Type)+"/"+c.Name] == nil {
			created++
		}
	}
	if !s.reserveDailyCreates(rc.app, gid, created) {
		return errStatus(429, 30034, "Maximum number of daily application command creates has been reached (200)")
	}
	next := map[Snowflake]*command{}
	out := []any{}
	for _, c := range cmds {
		c.ApplicationID, c.GuildID = rc.app.ID, gid
		if old := byName[strconv.Itoa(c.Type)+"/"+c.Name]; old != nil {
			c.ID = old.ID
			c.Version = old.Version
			if fmt.Sprint(commandJSON(*old)) != fmt.Sprint(commandJSON(c)) {
				c.Version = s.ids.next(false)
			}
		} else {
			c.ID = s.ids.next(false)
			c.Version = c.ID
		}
		cc := c
		next[c.ID] = &cc
		out = append(out, commandJSON(c))
	}
	clear(m)
	for k, v := range next {
		m[k] = v
	}
	writeJSON(w, 200, out)
	return nil
}

func (s *Sim) findCommandLocked(r *http.Request, rc *reqCtx) (map[Snowflake]*command, *command, *APIError) {
	m, _, e := s.commandScopeLocked(r, rc)
	if e != nil {
		return nil, nil, e
	}
	id, err := ParseSnowflake(r.PathValue("command"))
	if err != nil {
		return nil, nil, formError([]string{"command_id"}, "NUMBER_TYPE_COERCE", "Value is not snowflake.")
	}
	c := m[id]
	if c == nil {
		return nil, nil, errUnknownCommand
	}
	return m, c, nil
}

func (s *Sim) getCommand(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, c, e := s.findCommandLocked(r, rc)
	if e != nil {
		return e
	}
	writeJSON(w, 200, commandJSON(*c))
	return nil
}

func (s *Sim) patchCommand(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	var patch map[string]json.RawMessage
	if e := decodeBody(r, &patch); e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, c, e := s.findCommandLocked(r, rc)
	if e != nil {
		return e
	}
	cur, _ := json.Marshal(commandJSON(*c))
	var merged map[string]json.RawMessage
	_ = json.Unmarshal(cur, &merged)
	for k, v := range patch {
		if k == "type" || k == "id" {
			continue
		}
		merged[k] = v
	}
	mb, _ := json.Marshal(merged)
	var in commandInput
	if err := json.Unmarshal(mb, &in); err != nil {
		return formError(nil, "BASE_TYPE_INVALID", "Invalid type")
	}
	t := c.Type
	in.Type = &t
	nc, e := validateCommand(in, nil)
	if e != nil {
		return e
	}
	for _, other := range m {
		if other != c && other.Name == nc.Name && other.Type == nc.Type {
			return formError([]string{"name"}, "APPLICATION_COMMANDS_DUPLICATE_NAME", "Application command names must be unique")
		}
	}
	nc.ID, nc.ApplicationID, nc.GuildID, nc.Version = c.ID, c.ApplicationID, c.GuildID, s.ids.next(false)
	*c = nc
	writeJSON(w, 200, commandJSON(nc))
	return nil
}

func (s *Sim) deleteCommand(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, c, e := s.findCommandLocked(r, rc)
	if e != nil {
		return e
	}
	delete(m, c.ID)
	w.WriteHeader(204)
	return nil
}

// Commands returns the application's commands: global when guildID is 0,
// otherwise that guild's.
func (s *Sim) Commands(appID, guildID Snowflake) []Command {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[appID]
	if a == nil {
		return nil
	}
	if guildID == 0 {
		return sortedCommands(a.commands)
	}
	return sortedCommands(a.guildCommands[guildID])
}
