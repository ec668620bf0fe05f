package discordsim

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Modals and select menus as a user fills them: SubmitModal answers a
// modal the bot opened (MODAL_SUBMIT, interactions-receiving-and-responding.mdx,
// Modal Submit Data Structure), and selectValues checks and resolves what a
// user picked in a select of any type (components-reference.mdx, the
// Select Interaction Response Structures).

// ModalSubmit is a user filling in and submitting a modal that the bot
// opened in answer to Interaction.
type ModalSubmit struct {
	AppID       Snowflake // 0: the default app
	UserID      Snowflake
	Interaction Snowflake // the interaction the bot answered with MODAL
	// Text holds what the user typed, by the text input's custom_id.
	Text map[string]string
	// Values holds what the user picked, by the select's custom_id.
	Values map[string][]string
}

// SubmitModal creates the MODAL_SUBMIT interaction of a user submitting
// the modal the bot opened in answer to m.Interaction. Only the user who
// opened it can submit it, once; required inputs must be filled, typed
// text must fit the input's min_length and max_length, and picks must be
// what the select offers. The data mirrors the modal's layout (a Label's
// component, or a legacy Action Row's Text Input) with each component's
// id, and the selects' entities in resolved. A modal opened from a
// component carries that component's message.
func (s *Sim) SubmitModal(ctx context.Context, m ModalSubmit) (*Interaction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	a, i, body, err := s.modalSubmitLocked(m)
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return s.deliverInteraction(a, i, body), nil
}

// modalSubmitLocked builds SubmitModal's interaction and its payload.
func (s *Sim) modalSubmitLocked(m ModalSubmit) (*app, *Interaction, map[string]any, error) {
	a := s.defaultApp
	if m.AppID != 0 {
		a = s.apps[m.AppID]
	}
	orig := s.interactions[m.Interaction]
	if a == nil || orig == nil || orig.AppID != a.ID {
		return nil, nil, nil, fmt.Errorf("discordsim: unknown interaction %s", m.Interaction)
	}
	orig.mu.Lock()
	var modal modalData
	isModal := orig.response != nil && orig.response.Type == CallbackModal && json.Unmarshal(orig.response.Data, &modal) == nil
	submitted := orig.modalSubmitted
	orig.mu.Unlock()
	switch {
	case !isModal:
		return nil, nil, nil, fmt.Errorf("discordsim: interaction %s was not answered with a modal", orig.ID)
	case orig.UserID != m.UserID:
		return nil, nil, nil, fmt.Errorf("discordsim: the modal of interaction %s is open for user %s only", orig.ID, orig.UserID)
	case submitted:
		return nil, nil, nil, fmt.Errorf("discordsim: the modal of interaction %s was submitted already (it closed)", orig.ID)
	}
	g, ch, err := s.interactionPlaceLocked(a, orig.GuildID, orig.ChannelID, m.UserID)
	if err != nil {
		return nil, nil, nil, err
	}
	f := modalFill{s: s, g: g, text: m.Text, values: m.Values, used: map[string]bool{}, resolved: map[string]map[string]any{}, ids: map[int64]bool{}}
	f.reserveIDs(modal.Components)
	comps := make([]any, 0, len(modal.Components))
	for _, raw := range modal.Components {
		out, err := f.component(raw)
		if err != nil {
			return nil, nil, nil, err
		}
		comps = append(comps, out)
	}
	for id := range m.Text {
		if !f.used[id] {
			return nil, nil, nil, fmt.Errorf("discordsim: the modal has no text input %q", id)
		}
	}
	for id := range m.Values {
		if !f.used[id] {
			return nil, nil, nil, fmt.Errorf("discordsim: the modal has no select %q", id)
		}
	}
	data := map[string]any{"custom_id": *modal.CustomID, "components": comps}
	if len(f.resolved) > 0 {
		data["resolved"] = f.resolved
	}
	var msg *Message
	if orig.MessageID != 0 {
		if om := s.messages[orig.MessageID]; om != nil && !om.Deleted {
			msg = om
		}
	}
	orig.mu.Lock()
	orig.modalSubmitted = true
	orig.mu.Unlock()
	i := s.newInteractionLocked(a, InteractionModalSubmit, g, ch, m.UserID)
	i.CustomID = *modal.CustomID
	if msg != nil {
		i.MessageID = msg.ID
	}
	return a, i, s.interactionJSONLocked(i, g, ch, data, msg), nil
}

// modalFill builds the components of a modal submission from what the
// user entered.
type modalFill struct {
	s        *Sim
	g        *guild
	text     map[string]string
	values   map[string][]string
	used     map[string]bool
	resolved map[string]map[string]any
	ids      map[int64]bool
	next     int64
}

// reserveIDs notes the ids the modal set, so that the ones Discord
// generates for the others ("sequentially", "won't use another id that
// exists") do not collide with them.
func (f *modalFill) reserveIDs(comps []json.RawMessage) {
	for _, raw := range comps {
		var c component
		if json.Unmarshal(raw, &c) != nil {
			continue
		}
		if n, err := strconv.ParseInt(string(c.ID), 10, 32); err == nil && n != 0 {
			f.ids[n] = true
		}
		f.reserveIDs(c.Components)
		if len(c.Component) > 0 {
			f.reserveIDs([]json.RawMessage{c.Component})
		}
	}
}

// id returns c's id, or the next free one.
func (f *modalFill) id(c component) int64 {
	if n, err := strconv.ParseInt(string(c.ID), 10, 32); err == nil && n != 0 {
		return n
	}
	for {
		f.next++
		if !f.ids[f.next] {
			f.ids[f.next] = true
			return f.next
		}
	}
}

// component returns the submission of one modal component (validated
// when the bot sent it).
func (f *modalFill) component(raw json.RawMessage) (map[string]any, error) {
	var c component
	if err := json.Unmarshal(raw, &c); err != nil || c.Type == nil {
		return nil, fmt.Errorf("discordsim: bad modal component")
	}
	out := map[string]any{"type": *c.Type, "id": f.id(c)}
	switch *c.Type {
	case componentTextDisplay:
	case componentActionRow, componentLabel:
		children := c.Components
		if *c.Type == componentLabel {
			children = []json.RawMessage{c.Component}
		}
		var subs []any
		for _, sub := range children {
			o, err := f.component(sub)
			if err != nil {
				return nil, err
			}
			subs = append(subs, o)
		}
		if *c.Type == componentLabel {
			out["component"] = subs[0]
		} else {
			out["components"] = subs
		}
	case componentTextInput:
		v, err := f.textValue(c)
		if err != nil {
			return nil, err
		}
		out["custom_id"], out["value"] = *c.CustomID, v
	default:
		vals, err := f.selectValues(c)
		if err != nil {
			return nil, err
		}
		out["custom_id"], out["values"] = *c.CustomID, vals
	}
	return out, nil
}

// textValue checks what the user typed into a text input: a required
// input (the default) must be filled, and filled text must fit
// min_length and max_length (4000 at most). An input left alone keeps its
// pre-filled value.
func (f *modalFill) textValue(c component) (string, error) {
	id := *c.CustomID
	if _, picked := f.values[id]; picked {
		return "", fmt.Errorf("discordsim: %q is a text input; it takes text, not values", id)
	}
	v, typed := f.text[id]
	f.used[id] = true
	if !typed && c.Value != nil {
		v = *c.Value
	}
	n := utf8.RuneCountInString(v)
	lo, hi := 0, textInputMax
	if c.MinLength != nil {
		lo = *c.MinLength
	}
	if c.MaxLength != nil {
		hi = *c.MaxLength
	}
	switch {
	case n == 0 && (c.Required == nil || *c.Required):
		return "", fmt.Errorf("discordsim: text input %q is required", id)
	case n > 0 && (n < lo || n > hi):
		return "", fmt.Errorf("discordsim: text input %q takes %d to %d characters, not %d", id, lo, hi, n)
	}
	return v, nil
}

// selectValues checks what the user picked in a select of a modal; one
// not required (required: false) may be left empty.
func (f *modalFill) selectValues(c component) ([]string, error) {
	id := *c.CustomID
	if _, typed := f.text[id]; typed {
		return nil, fmt.Errorf("discordsim: %q is a select; it takes values, not text", id)
	}
	vals := f.values[id]
	f.used[id] = true
	if len(vals) == 0 && c.Required != nil && !*c.Required {
		return []string{}, nil
	}
	if err := f.s.selectValuesLocked(f.g, c, vals, f.resolved); err != nil {
		return nil, err
	}
	if vals == nil {
		vals = []string{}
	}
	return vals, nil
}

// selectValuesLocked checks the values a user picked in select c (of any
// type) in guild g: as many as min_values and max_values allow (1 and 1
// by default), none twice; a string select's must be its options; the
// others' must be what Discord would list: members of the guild for a
// user select, its roles for a role select, either for a mentionable
// select, and its channels of the channel_types asked for a channel
// select. The entities picked go into resolved (users with their
// members, roles, channels), as Discord sends them.
func (s *Sim) selectValuesLocked(g *guild, c component, values []string, resolved map[string]map[string]any) error {
	if err := checkValues(c, values); err != nil {
		return err
	}
	var opt CommandOption
	switch *c.Type {
	case componentStringSelect:
		return nil
	case componentUserSelect:
		opt.Type = OptionUser
	case componentRoleSelect:
		opt.Type = OptionRole
	case componentMentionableSelect:
		opt.Type = OptionMentionable
	case componentChannelSelect:
		opt = CommandOption{Type: OptionChannel, ChannelTypes: c.ChannelTypes}
	default:
		return fmt.Errorf("discordsim: component type %d is not a select", *c.Type)
	}
	seen := map[string]bool{}
	for _, v := range values {
		id, err := ParseSnowflake(v)
		if err != nil || seen[v] {
			return fmt.Errorf("discordsim: value %q of select %q is not a snowflake, or is chosen twice", v, *c.CustomID)
		}
		seen[v] = true
		if u := s.users[id]; u != nil && slices.Contains([]int{componentUserSelect, componentMentionableSelect}, *c.Type) {
			// A user select lists the server's members only.
			if _, member := g.members[id]; !member {
				return fmt.Errorf("discordsim: user %s is not a member of guild %s, so select %q does not offer them", id, g.id, *c.CustomID)
			}
		}
		if _, err := s.typedOptionLocked(g, opt, id, resolved); err != nil {
			return fmt.Errorf("discordsim: select %q does not offer %s: %w", *c.CustomID, v, err)
		}
	}
	return nil
}

// validateModalSubmitCallback refuses DEFERRED_UPDATE_MESSAGE and
// UPDATE_MESSAGE for a modal submit that has no message to update: they
// are "only valid for component-based interactions", so only for a modal
// opened from a component.
func validateModalSubmitCallback(i *Interaction, cb callbackBody) *APIError {
	if i.Type != InteractionModalSubmit || i.MessageID != 0 || cb.Type == nil {
		return nil
	}
	if *cb.Type == CallbackUpdateMessage || *cb.Type == CallbackDeferredUpdateMessage {
		return formError([]string{"type"}, "INTERACTION_RESPONSE_TYPE_INVALID", "Interaction response type is invalid for this interaction type")
	}
	return nil
}

// Payload returns the interaction as INTERACTION_CREATE carried it (nil
// before it was delivered).
func (i *Interaction) Payload() json.RawMessage {
	i.mu.Lock()
	p := i.payload
	i.mu.Unlock()
	if p == nil {
		return nil
	}
	b, _ := json.Marshal(p)
	return b
}
