package discordsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Channel messages: the stored Message, the REST endpoints that create,
// read, edit and delete them, and the driver's SendMessage. What a body may
// hold is checked by validate_message.go before anything is stored.

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
	if skus := premiumSKUs(m.Components); len(skus) > 0 {
		if a := s.appsByBotLocked(m.AuthorID); a != nil {
			s.rec.violations = append(s.rec.violations, s.premiumButtonViolationsLocked(a.ID, skus)...)
		}
	}
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
