package discordsim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
)

// Interactions as the driver makes them: a user invokes a command (Invoke)
// or clicks a component (Click), the Interaction is delivered to the bot's
// shard, and tests wait on its response. The bot's side, the callback and
// follow-ups, is in webhooks.go.

// Interaction types (Discord's values).
const (
	InteractionPing         = 1
	InteractionCommand      = 2
	InteractionComponent    = 3
	InteractionAutocomplete = 4
	InteractionModalSubmit  = 5
)

// Interaction callback types (Discord's values).
const (
	CallbackPong                     = 1
	CallbackChannelMessageWithSource = 4
	CallbackDeferredChannelMessage   = 5
	CallbackDeferredUpdateMessage    = 6
	CallbackUpdateMessage            = 7
	CallbackAutocompleteResult       = 8
	CallbackModal                    = 9
)

// ErrInteractionFailed is returned by Wait when no initial response arrived
// within the deadline (the user sees "This interaction failed").
var ErrInteractionFailed = errors.New("discordsim: interaction failed (no response within the deadline)")

// Response is the initial response to an interaction.
type Response struct {
	Type int             `json:"type"`
	Data json.RawMessage `json:"data,omitempty"`
	At   time.Time       `json:"at"`
	// Latency is the time from the interaction's creation to the response.
	Latency time.Duration `json:"latency"`
}

// Interaction is one interaction the emulator created (a slash command or a
// button click). Its methods wait for and read the bot's responses.
type Interaction struct {
	sim         *Sim
	ID          Snowflake `json:"id"`
	Token       string    `json:"token"`
	AppID       Snowflake `json:"application_id"`
	Type        int       `json:"type"`
	GuildID     Snowflake `json:"guild_id"`
	ChannelID   Snowflake `json:"channel_id"`
	UserID      Snowflake `json:"user_id"`
	CommandName string    `json:"command_name,omitempty"`
	CustomID    string    `json:"custom_id,omitempty"`
	MessageID   Snowflake `json:"message_id,omitempty"` // the message a component was on
	Created     time.Time `json:"created"`
	// Delivered is how many gateway sessions INTERACTION_CREATE was dispatched to.
	Delivered int `json:"delivered"`

	mu        sync.Mutex
	acked     bool // an initial response was accepted (set before its effects apply)
	response  *Response
	failed    bool
	late      int
	twice     int
	original  Snowflake
	followups []Snowflake
	focused   *CommandOption  // the option an autocomplete is for
	choices   []CommandChoice // what an autocomplete was answered
	// modalSubmitted: the modal this interaction was answered with was
	// submitted (and so closed).
	modalSubmitted bool
	// payload is the interaction as INTERACTION_CREATE carried it.
	payload map[string]any
	changed chan struct{}
	timer   *time.Timer
}

// InteractionInfo is a snapshot of an interaction's outcome.
type InteractionInfo struct {
	ID          Snowflake   `json:"id"`
	Type        int         `json:"type"`
	GuildID     Snowflake   `json:"guild_id"`
	UserID      Snowflake   `json:"user_id"`
	CommandName string      `json:"command_name,omitempty"`
	CustomID    string      `json:"custom_id,omitempty"`
	Created     time.Time   `json:"created"`
	Delivered   int         `json:"delivered"`
	Response    *Response   `json:"response"`
	Failed      bool        `json:"failed"`       // no initial response within the deadline
	LateAnswers int         `json:"late_answers"` // responses rejected as too late
	DoubleAcks  int         `json:"double_acks"`  // second initial responses (40060)
	OriginalID  Snowflake   `json:"original_id,omitempty"`
	FollowupIDs []Snowflake `json:"followup_ids,omitempty"`
	// Focused and Choices are an autocomplete's option and the choices
	// its answer offered.
	Focused string          `json:"focused,omitempty"`
	Choices []CommandChoice `json:"choices,omitempty"`
}

func (i *Interaction) notifyLocked() {
	close(i.changed)
	i.changed = make(chan struct{})
}

// Info returns a snapshot of the interaction.
func (i *Interaction) Info() InteractionInfo {
	i.mu.Lock()
	defer i.mu.Unlock()
	var resp *Response
	if i.response != nil {
		r := *i.response
		resp = &r
	}
	info := InteractionInfo{ID: i.ID, Type: i.Type, GuildID: i.GuildID, UserID: i.UserID, CommandName: i.CommandName,
		CustomID: i.CustomID, Created: i.Created, Delivered: i.Delivered, Response: resp, Failed: i.failed,
		LateAnswers: i.late, DoubleAcks: i.twice, OriginalID: i.original, FollowupIDs: slices.Clone(i.followups)}
	if i.focused != nil {
		info.Focused = i.focused.Name
		info.Choices = slices.Clone(i.choices)
	}
	return info
}

func (i *Interaction) waitFor(ctx context.Context, cond func() (bool, error)) error {
	for {
		i.mu.Lock()
		ok, err := cond()
		ch := i.changed
		i.mu.Unlock()
		if ok || err != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("discordsim: waiting for interaction %s: %w", i.ID, ctx.Err())
		case <-ch:
		}
	}
}

// Wait returns the initial response, or ErrInteractionFailed once the
// deadline passed without one.
func (i *Interaction) Wait(ctx context.Context) (Response, error) {
	var out Response
	err := i.waitFor(ctx, func() (bool, error) {
		if i.response != nil {
			out = *i.response
			return true, nil
		}
		if i.failed {
			return false, ErrInteractionFailed
		}
		return false, nil
	})
	return out, err
}

// WaitMessage waits for the visible reply: the original message once it is
// no longer loading (after type 4, or type 5 followed by an edit of
// @original), or the updated component message (type 7, or 6 then an edit).
func (i *Interaction) WaitMessage(ctx context.Context) (Message, error) {
	for {
		// i.mu and the Sim's lock are taken one after the other, never
		// one inside the other: the REST handlers hold the Sim's lock
		// while they take i.mu.
		i.mu.Lock()
		failed := i.failed && i.response == nil
		orig, resp, ch := i.original, i.response, i.changed
		i.mu.Unlock()
		if failed {
			return Message{}, ErrInteractionFailed
		}
		if orig != 0 {
			i.sim.mu.Lock()
			m, ok := i.sim.messages[orig], false
			var out Message
			if m != nil && m.Flags&FlagLoading == 0 &&
				(resp == nil || resp.Type != CallbackDeferredUpdateMessage || !m.Edited.Before(resp.At)) {
				out, ok = *m, true
			}
			i.sim.mu.Unlock()
			if ok {
				return out, nil
			}
		}
		select {
		case <-ctx.Done():
			return Message{}, fmt.Errorf("discordsim: waiting for interaction %s: %w", i.ID, ctx.Err())
		case <-ch:
		}
	}
}

// WaitFollowups waits until at least n follow-up messages exist and returns them all.
func (i *Interaction) WaitFollowups(ctx context.Context, n int) ([]Message, error) {
	var ids []Snowflake
	err := i.waitFor(ctx, func() (bool, error) {
		ids = slices.Clone(i.followups)
		return len(ids) >= n, nil
	})
	if err != nil {
		return nil, err
	}
	// Not under i.mu: see WaitMessage.
	i.sim.mu.Lock()
	defer i.sim.mu.Unlock()
	out := make([]Message, 0, len(ids))
	for _, id := range ids {
		out = append(out, *i.sim.messages[id])
	}
	return out, nil
}

// Interactions returns every interaction created so far, oldest first.
func (s *Sim) Interactions() []InteractionInfo {
	s.mu.Lock()
	list := make([]*Interaction, 0, len(s.interactions))
	for _, i := range s.interactions {
		list = append(list, i)
	}
	s.mu.Unlock()
	slices.SortFunc(list, func(a, b *Interaction) int { return compareID(a.ID, b.ID) })
	out := make([]InteractionInfo, 0, len(list))
	for _, i := range list {
		out = append(out, i.Info())
	}
	return out
}

func compareID(a, b Snowflake) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// InteractionByID returns a live interaction handle.
func (s *Sim) InteractionByID(id Snowflake) (*Interaction, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i, ok := s.interactions[id]
	return i, ok
}

// Invocation is a user running a slash command.
type Invocation struct {
	// AppID is the application whose command runs (0: the default app).
	AppID   Snowflake
	GuildID Snowflake
	// ChannelID defaults to the guild's first text channel.
	ChannelID Snowflake
	UserID    Snowflake
	Command   string
	// SubcommandGroup and Subcommand select a nested subcommand.
	SubcommandGroup string
	Subcommand      string
	// Options by name: strings, bools, numbers (int, int64, float64) and
	// Snowflakes (for user, channel, role and mentionable options).
	Options map[string]any
}

// Click is a user clicking a button (or choosing in a select menu) on a message.
type Click struct {
	AppID     Snowflake // 0: the default app
	UserID    Snowflake
	MessageID Snowflake
	CustomID  string
	// Values are the selected values for a select menu.
	Values []string
}

// Invoke creates an APPLICATION_COMMAND interaction as Discord would when the
// user runs the command: the command must be registered for the app
// (globally or in the guild) and the options are validated and typed against
// it. INTERACTION_CREATE goes to the shard that owns the guild.
func (s *Sim) Invoke(ctx context.Context, inv Invocation) (*Interaction, error) {
	return s.commandInteraction(ctx, inv, nil)
}

// commandInteraction creates the interaction of a user using a command:
// APPLICATION_COMMAND, or APPLICATION_COMMAND_AUTOCOMPLETE while they type
// into the option f names (f nil for a command).
func (s *Sim) commandInteraction(ctx context.Context, inv Invocation, f *focus) (*Interaction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	a := s.defaultApp
	if inv.AppID != 0 {
		a = s.apps[inv.AppID]
	}
	if a == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordsim: unknown application %s", inv.AppID)
	}
	g, ch, err := s.interactionPlaceLocked(a, inv.GuildID, inv.ChannelID, inv.UserID)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	cmd, err := chatCommandLocked(a, g, inv.Command)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	resolved := map[string]map[string]any{}
	opts, err := s.buildOptionsLocked(g, cmd.Options, inv, resolved, f)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	typ := InteractionCommand
	if f != nil {
		typ = InteractionAutocomplete
	}
	i := s.newInteractionLocked(a, typ, g, ch, inv.UserID)
	i.CommandName = cmd.Name
	if f != nil {
		i.focused = &f.option
	}
	body := s.interactionJSONLocked(i, g, ch, commandData(cmd, opts, resolved), nil)
	s.mu.Unlock()
	return s.deliverInteraction(a, i, body), nil
}

// commandData is the Application Command Data of an interaction for cmd.
func commandData(cmd *command, opts []any, resolved map[string]map[string]any) map[string]any {
	data := map[string]any{"id": cmd.ID, "name": cmd.Name, "type": cmd.Type}
	if cmd.GuildID != 0 {
		data["guild_id"] = cmd.GuildID
	}
	if len(opts) > 0 {
		data["options"] = opts
	}
	if len(resolved) > 0 {
		data["resolved"] = resolved
	}
	return data
}

// chatCommandLocked returns a's CHAT_INPUT command name as g's members see
// it: the guild's own command before a global one.
func chatCommandLocked(a *app, g *guild, name string) (*command, error) {
	for _, list := range []map[Snowflake]*command{a.guildCommands[g.id], a.commands} {
		var cmd *command
		for _, c := range list {
			if c.Name == name && c.Type == CommandChatInput {
				cmd = c
			}
		}
		if cmd != nil {
			return cmd, nil
		}
	}
	return nil, fmt.Errorf("discordsim: command %q is not registered for application %s in guild %s", name, a.ID, g.id)
}

func (s *Sim) interactionPlaceLocked(a *app, guildID, channelID, userID Snowflake) (*guild, *channel, error) {
	g := s.guilds[guildID]
	if g == nil {
		return nil, nil, fmt.Errorf("discordsim: unknown guild %s", guildID)
	}
	if _, in := g.members[a.BotUserID]; !in {
		return nil, nil, fmt.Errorf("discordsim: application %s is not in guild %s", a.ID, guildID)
	}
	if _, in := g.members[userID]; !in {
		return nil, nil, fmt.Errorf("discordsim: user %s is not a member of guild %s", userID, guildID)
	}
	if channelID == 0 {
		for _, c := range g.channels {
			if s.channels[c].Type == ChannelGuildText {
				channelID = c
				break
			}
		}
	}
	ch := s.channels[channelID]
	if ch == nil || ch.GuildID != g.id {
		return nil, nil, fmt.Errorf("discordsim: channel %s is not in guild %s", channelID, guildID)
	}
	return g, ch, nil
}

// focus is the option a user is typing into for an autocomplete
// interaction, and what they typed so far.
type focus struct {
	name, partial string
	option        CommandOption // set by buildOptionsLocked
}

// buildOptionsLocked validates inv's options against the command and returns
// the interaction's data.options. With f (autocomplete) required options
// may be missing, and f's option is added as typed, marked focused.
func (s *Sim) buildOptionsLocked(g *guild, defs []CommandOption, inv Invocation, resolved map[string]map[string]any, f *focus) ([]any, error) {
	level := defs
	var wrap func([]any) []any = func(o []any) []any { return o }
	if inv.SubcommandGroup != "" {
		grp := findOption(level, inv.SubcommandGroup, OptionSubCommandGroup)
		if grp == nil {
			return nil, fmt.Errorf("discordsim: command %q has no subcommand group %q", inv.Command, inv.SubcommandGroup)
		}
		level = grp.Options
		name := grp.Name
		prev := wrap
		wrap = func(o []any) []any {
			return prev([]any{map[string]any{"name": name, "type": OptionSubCommandGroup, "options": o}})
		}
	}
	if inv.Subcommand != "" {
		sub := findOption(level, inv.Subcommand, OptionSubCommand)
		if sub == nil {
			return nil, fmt.Errorf("discordsim: command %q has no subcommand %q", inv.Command, inv.Subcommand)
		}
		level = sub.Options
		name := sub.Name
		prev := wrap
		wrap = func(o []any) []any {
			return prev([]any{map[string]any{"name": name, "type": OptionSubCommand, "options": o}})
		}
	}
	for _, d := range level {
		if d.Type == OptionSubCommand || d.Type == OptionSubCommandGroup {
			return nil, fmt.Errorf("discordsim: command %q needs a subcommand", inv.Command)
		}
	}
	for name := range inv.Options {
		if findOption(level, name, 0) == nil {
			return nil, fmt.Errorf("discordsim: command %q has no option %q", inv.Command, name)
		}
	}
	if f != nil {
		d := findOption(level, f.name, 0)
		if d == nil {
			return nil, fmt.Errorf("discordsim: command %q has no option %q", inv.Command, f.name)
		}
		if _, also := inv.Options[f.name]; also {
			return nil, fmt.Errorf("discordsim: option %q is focused and cannot also be filled", f.name)
		}
		if err := validateFocus(*d, f.partial); err != nil {
			return nil, fmt.Errorf("discordsim: %w", err)
		}
		f.option = *d
	}
	out := []any{}
	for _, d := range level {
		if f != nil && d.Name == f.name {
			out = append(out, map[string]any{"name": d.Name, "type": d.Type, "value": f.partial, "focused": true})
			continue
		}
		v, ok := inv.Options[d.Name]
		if !ok {
			if d.Required && f == nil {
				return nil, fmt.Errorf("discordsim: option %q is required", d.Name)
			}
			continue
		}
		val, err := s.typedOptionLocked(g, d, v, resolved)
		if err != nil {
			return nil, fmt.Errorf("discordsim: option %q: %w", d.Name, err)
		}
		out = append(out, map[string]any{"name": d.Name, "type": d.Type, "value": val})
	}
	return wrap(out), nil
}

func findOption(opts []CommandOption, name string, typ int) *CommandOption {
	for k := range opts {
		if opts[k].Name == name && (typ == 0 || opts[k].Type == typ) {
			return &opts[k]
		}
	}
	return nil
}

func asFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint64:
		return float64(n), true
	case float64:
		return n, true
	case float32:
		return float64(n), true
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	}
	return 0, false
}

func asSnowflake(v any) (Snowflake, bool) {
	switch x := v.(type) {
	case Snowflake:
		return x, true
	case string:
		id, err := ParseSnowflake(x)
		return id, err == nil
	case uint64:
		return Snowflake(x), true
	case float64:
		return Snowflake(x), x > 0 && x == math.Trunc(x)
	case json.Number:
		id, err := ParseSnowflake(x.String())
		return id, err == nil
	}
	return 0, false
}

func (s *Sim) typedOptionLocked(g *guild, d CommandOption, v any, resolved map[string]map[string]any) (any, error) {
	put := func(kind string, id Snowflake, val any) {
		if resolved[kind] == nil {
			resolved[kind] = map[string]any{}
		}
		resolved[kind][id.String()] = val
	}
	checkChoice := func(val any) error {
		if len(d.Choices) == 0 {
			return nil
		}
		for _, c := range d.Choices {
			if fmt.Sprint(c.Value) == fmt.Sprint(val) {
				return nil
			}
		}
		return fmt.Errorf("value %v is not one of the choices", val)
	}
	switch d.Type {
	case OptionString:
		str, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("want a string, got %T", v)
		}
		n := utf8.RuneCountInString(str)
		if (d.MinLength != nil && n < *d.MinLength) || (d.MaxLength != nil && n > *d.MaxLength) || n > 6000 {
			return nil, fmt.Errorf("length %d out of range", n)
		}
		return str, checkChoice(str)
	case OptionInteger, OptionNumber:
		f, ok := asFloat(v)
		if !ok || (d.Type == OptionInteger && f != math.Trunc(f)) {
			return nil, fmt.Errorf("want a number, got %v", v)
		}
		if (d.MinValue != nil && f < *d.MinValue) || (d.MaxValue != nil && f > *d.MaxValue) || math.Abs(f) > 1<<53 {
			return nil, fmt.Errorf("value %v out of range", f)
		}
		if d.Type == OptionInteger {
			return int64(f), checkChoice(f)
		}
		return f, checkChoice(f)
	case OptionBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, fmt.Errorf("want a bool, got %T", v)
		}
		return b, nil
	case OptionUser, OptionMentionable:
		id, ok := asSnowflake(v)
		if !ok {
			return nil, fmt.Errorf("want a snowflake, got %v", v)
		}
		if u := s.users[id]; u != nil {
			put("users", id, userJSON(u))
			if joined, in := g.members[id]; in {
				mj := memberJSON(u, joined)
				delete(mj, "user")
				mj["permissions"] = "104324673"
				put("members", id, mj)
			}
			return id, nil
		}
		if d.Type == OptionMentionable && id == g.id {
			put("roles", id, map[string]any{"id": id, "name": "@everyone", "permissions": "104324673", "position": 0, "color": 0, "hoist": false, "managed": false, "mentionable": false, "flags": 0})
			return id, nil
		}
		return nil, fmt.Errorf("unknown user %s", id)
	case OptionChannel:
		id, ok := asSnowflake(v)
		c := s.channels[id]
		if !ok || c == nil || c.GuildID != g.id {
			return nil, fmt.Errorf("unknown channel %v in guild %s", v, g.id)
		}
		if len(d.ChannelTypes) > 0 && !slices.Contains(d.ChannelTypes, c.Type) {
			return nil, fmt.Errorf("channel type %d not allowed", c.Type)
		}
		put("channels", id, map[string]any{"id": id, "type": c.Type, "name": c.Name, "permissions": "104324673"})
		return id, nil
	case OptionRole:
		id, ok := asSnowflake(v)
		if !ok || id != g.id {
			return nil, fmt.Errorf("unknown role %v (only @everyone exists)", v)
		}
		put("roles", id, map[string]any{"id": id, "name": "@everyone", "permissions": "104324673", "position": 0, "color": 0, "hoist": false, "managed": false, "mentionable": false, "flags": 0})
		return id, nil
	}
	return nil, fmt.Errorf("option type %d cannot be invoked by discordsim", d.Type)
}

func (s *Sim) newInteractionLocked(a *app, typ int, g *guild, ch *channel, userID Snowflake) *Interaction {
	i := &Interaction{sim: s, ID: s.ids.next(false), Token: "aW50ZXJhY3Rpb246" + randToken("") + randHex(20), AppID: a.ID, Type: typ,
		GuildID: g.id, ChannelID: ch.ID, UserID: userID, Created: time.Now(), changed: make(chan struct{})}
	s.interactions[i.ID] = i
	s.byToken[i.Token] = i
	i.timer = time.AfterFunc(s.cfg.InteractionDeadline, func() {
		i.mu.Lock()
		if i.acked {
			i.mu.Unlock()
			return
		}
		i.failed = true
		i.notifyLocked()
		i.mu.Unlock()
		s.recordViolation(Violation{Kind: ViolationInteractionFailed, AppID: a.ID, Code: 10062, Detail: "interaction " + i.ID.String() + " not answered within the deadline"})
	})
	return i
}

func (s *Sim) interactionJSONLocked(i *Interaction, g *guild, ch *channel, data map[string]any, msg *Message) map[string]any {
	u := s.users[i.UserID]
	member := memberJSON(u, g.members[i.UserID])
	member["permissions"] = "104324673"
	if g.ownerID == i.UserID {
		member["permissions"] = "2248473465835073"
	}
	cj := channelJSON(ch)
	out := map[string]any{
		"id": i.ID, "application_id": i.AppID, "type": i.Type, "data": data, "guild_id": g.id,
		"guild":   map[string]any{"id": g.id, "locale": "en-US", "features": []string{}},
		"channel": cj, "channel_id": ch.ID, "member": member, "token": i.Token, "version": 1,
		"app_permissions": "2248473465835073", "locale": "en-US", "guild_locale": "en-US", "entitlements": s.interactionEntitlementsLocked(s.apps[i.AppID], i.UserID, g.id),
		"authorizing_integration_owners": map[string]any{"0": g.id}, "context": 0, "attachment_size_limit": 10485760,
	}
	if msg != nil {
		out["message"] = s.messageJSONLocked(msg)
	}
	return out
}

func (s *Sim) deliverInteraction(a *app, i *Interaction, body map[string]any) *Interaction {
	i.mu.Lock()
	i.payload = body
	i.mu.Unlock()
	n := s.dispatchToApp(a, i.GuildID, "INTERACTION_CREATE", 0, func() any { return body })
	i.mu.Lock()
	i.Delivered = n
	i.mu.Unlock()
	return i
}

// Click creates a MESSAGE_COMPONENT interaction for a button (or select menu)
// with CustomID on a message the app sent.
func (s *Sim) Click(ctx context.Context, c Click) (*Interaction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	a := s.defaultApp
	if c.AppID != 0 {
		a = s.apps[c.AppID]
	}
	m := s.messages[c.MessageID]
	if a == nil || m == nil || m.Deleted {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordsim: unknown application or message %s", c.MessageID)
	}
	if m.AuthorID != a.BotUserID {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordsim: message %s was not sent by application %s", m.ID, a.ID)
	}
	if m.Ephemeral() {
		if orig := s.interactions[m.InteractionID]; orig == nil || orig.UserID != c.UserID {
			s.mu.Unlock()
			return nil, fmt.Errorf("discordsim: user %s cannot see ephemeral message %s", c.UserID, m.ID)
		}
	}
	comp, err := findComponent(m.Components, c.CustomID)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	ctype := *comp.Type
	g, ch, err := s.interactionPlaceLocked(a, m.GuildID, m.ChannelID, c.UserID)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	data := map[string]any{"custom_id": c.CustomID, "component_type": ctype}
	resolved := map[string]map[string]any{}
	if ctype == componentButton {
		err = checkValues(comp, c.Values)
	} else {
		err = s.selectValuesLocked(g, comp, c.Values, resolved)
	}
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	if ctype != componentButton {
		vals := c.Values
		if vals == nil {
			vals = []string{}
		}
		data["values"] = vals
	}
	if len(resolved) > 0 {
		data["resolved"] = resolved
	}
	i := s.newInteractionLocked(a, InteractionComponent, g, ch, c.UserID)
	i.CustomID = c.CustomID
	i.MessageID = m.ID
	body := s.interactionJSONLocked(i, g, ch, data, m)
	s.mu.Unlock()
	return s.deliverInteraction(a, i, body), nil
}

// findComponent returns the enabled button or select with customID among
// comps, looking inside action rows, sections and containers.
func findComponent(comps []json.RawMessage, customID string) (component, error) {
	c, ok := lookupComponent(comps, customID)
	switch {
	case !ok:
		return component{}, fmt.Errorf("discordsim: no enabled component with custom_id %q on the message", customID)
	case c.Disabled:
		return component{}, fmt.Errorf("discordsim: component %q is disabled", customID)
	}
	return c, nil
}

func lookupComponent(comps []json.RawMessage, customID string) (component, bool) {
	for _, raw := range comps {
		var c component
		if json.Unmarshal(raw, &c) != nil || c.Type == nil {
			continue
		}
		if c.CustomID != nil && *c.CustomID == customID && slices.Contains(rowChildren, *c.Type) {
			return c, true
		}
		if found, ok := lookupComponent(c.children(), customID); ok {
			return found, true
		}
	}
	return component{}, false
}

// checkValues refuses a click Discord could not send: values on a button,
// fewer or more values than the select's min_values and max_values allow
// (1 and 1 by default), or, on a string select, a value that is not one of
// its options or is chosen twice.
func checkValues(c component, values []string) error {
	if *c.Type == 2 {
		if len(values) > 0 {
			return fmt.Errorf("discordsim: a button click carries no values")
		}
		return nil
	}
	lo, hi := 1, 1
	if c.MinValues != nil {
		lo = *c.MinValues
	}
	if c.MaxValues != nil {
		hi = *c.MaxValues
	}
	if len(values) < lo || len(values) > hi {
		return fmt.Errorf("discordsim: %d values chosen in select %q, which takes %d to %d", len(values), *c.CustomID, lo, hi)
	}
	if *c.Type != 3 {
		return nil
	}
	offered := map[string]bool{}
	for _, raw := range c.Options {
		var o selectOption
		if json.Unmarshal(raw, &o) == nil && o.Value != nil {
			offered[*o.Value] = true
		}
	}
	chosen := map[string]bool{}
	for _, v := range values {
		if !offered[v] || chosen[v] {
			return fmt.Errorf("discordsim: value %q is not an option of select %q, or is chosen twice", v, *c.CustomID)
		}
		chosen[v] = true
	}
	return nil
}
