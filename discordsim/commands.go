package discordsim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"regexp"
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
	Type         int             `json:"type"`
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	Required     bool            `json:"required,omitempty"`
	Choices      []CommandChoice `json:"choices,omitempty"`
	Options      []CommandOption `json:"options,omitempty"`
	ChannelTypes []int           `json:"channel_types,omitempty"`
	MinValue     *float64        `json:"min_value,omitempty"`
	MaxValue     *float64        `json:"max_value,omitempty"`
	MinLength    *int            `json:"min_length,omitempty"`
	MaxLength    *int            `json:"max_length,omitempty"`
	Autocomplete bool            `json:"autocomplete,omitempty"`
}

// CommandChoice is one choice of an option; Value is a string or a float64.
type CommandChoice struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// Command is a registered application command.
type Command struct {
	ID                       Snowflake       `json:"id"`
	ApplicationID            Snowflake       `json:"application_id"`
	GuildID                  Snowflake       `json:"guild_id,omitempty"`
	Type                     int             `json:"type"`
	Name                     string          `json:"name"`
	Description              string          `json:"description"`
	Options                  []CommandOption `json:"options,omitempty"`
	DefaultMemberPermissions *string         `json:"default_member_permissions"`
	NSFW                     bool            `json:"nsfw"`
	Version                  Snowflake       `json:"version"`
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
	Name  *string         `json:"name"`
	Value json.RawMessage `json:"value"`
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
	if !validName(c.Name, chat) {
		return c, formError(p("name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
	}
	if chat {
		if in.Description == nil {
			return c, formError(p("description"), "BASE_TYPE_REQUIRED", "This field is required")
		}
		if n := utf8.RuneCountInString(*in.Description); n < 1 || n > 100 {
			return c, formError(p("description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		}
		c.Description = *in.Description
	} else {
		if in.Description != nil && *in.Description != "" {
			return c, formError(p("description"), "APPLICATION_COMMAND_DESCRIPTION_NOT_ALLOWED", "Description is not allowed for this command type")
		}
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

func commandSize(c Command) int {
	n := utf8.RuneCountInString(c.Name) + utf8.RuneCountInString(c.Description)
	var walk func([]CommandOption)
	walk = func(os []CommandOption) {
		for _, o := range os {
			n += utf8.RuneCountInString(o.Name) + utf8.RuneCountInString(o.Description)
			for _, ch := range o.Choices {
				n += utf8.RuneCountInString(ch.Name) + utf8.RuneCountInString(fmt.Sprint(ch.Value))
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
		if !validName(o.Name, true) {
			return nil, formError(ipp("name"), "APPLICATION_COMMAND_INVALID_NAME", "Command name is invalid")
		}
		if names[o.Name] {
			return nil, formError(ipp("name"), "APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS", "Option name "+o.Name+" is already used in these options")
		}
		names[o.Name] = true
		if oi.Description == nil {
			return nil, formError(ipp("description"), "BASE_TYPE_REQUIRED", "This field is required")
		}
		if n := utf8.RuneCountInString(*oi.Description); n < 1 || n > 100 {
			return nil, formError(ipp("description"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
		}
		o.Description = *oi.Description
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
				cp := append(ipp("choices"), strconv.Itoa(j))
				if ch.Name == nil {
					return nil, formError(append(cp, "name"), "BASE_TYPE_REQUIRED", "This field is required")
				}
				if n := utf8.RuneCountInString(*ch.Name); n < 1 || n > 100 {
					return nil, formError(append(cp, "name"), "BASE_TYPE_BAD_LENGTH", "Must be between 1 and 100 in length.")
				}
				v, ok := choiceValue(o.Type, ch.Value)
				if !ok {
					return nil, formError(append(cp, "value"), "BASE_TYPE_INVALID", "Value is not valid for the option type")
				}
				o.Choices = append(o.Choices, CommandChoice{Name: *ch.Name, Value: v})
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
	return out, nil
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
	m["name_localizations"] = nil
	m["description_localizations"] = nil
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
	out := []any{}
	for _, c := range sortedCommands(m) {
		out = append(out, commandJSON(c))
	}
	writeJSON(w, 200, out)
	return nil
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
