package discordsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Application commands: the registered Command, and the REST endpoints
// that create, list, edit and delete them with Discord's per-app limits.
// What a definition may hold is checked by validate_command.go.

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

// dailyCreateLimit is how many commands an application may create a day
// in one scope (global, or one guild).
const dailyCreateLimit = 200

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
		return errMaxCommands
	}
	if !s.dailyCreateOK(rc.app, gid) {
		return errDailyCreates
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
	cmds, e := validateBulkCommands(in)
	if e != nil {
		return e
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
		return errDailyCreates
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
			return duplicateCommandName([]string{"name"})
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
