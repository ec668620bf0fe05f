package discordsim

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

// The REST side of interactions: the initial response (callback), and
// follow-ups and edits through the interaction's webhook.

// interactionCallback implements POST
// /interactions/{interaction}/{token}/callback, the initial response: one
// only, within the deadline, of a type the interaction takes.
func (s *Sim) interactionCallback(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	id, err := ParseSnowflake(r.PathValue("interaction"))
	if err != nil {
		return errUnknownInteraction
	}
	s.mu.Lock()
	i := s.interactions[id]
	s.mu.Unlock()
	if i == nil {
		return errUnknownInteraction
	}
	if r.PathValue("token") != i.Token {
		return errInvalidWebhookTok
	}
	var cb callbackBody
	if e := decodeBody(r, &cb); e != nil {
		return e
	}
	var old *Message // the message an update edits
	if cb.Type != nil && *cb.Type == CallbackUpdateMessage {
		s.mu.Lock()
		if m := s.messages[i.MessageID]; m != nil {
			snapshot := *m
			old = &snapshot
		}
		s.mu.Unlock()
	}
	if e := validateModalSubmitCallback(i, cb); e != nil {
		return e
	}
	body, e := validateCallback(i.Type, cb, old)
	if e != nil {
		return e
	}
	var choices []CommandChoice
	if i.focused != nil {
		if choices, e = validateAutocompleteResult(*i.focused, cb.Data); e != nil {
			return e
		}
	}
	now := time.Now()
	if e := s.acknowledge(i, now); e != nil {
		return e
	}
	typ := *cb.Type
	resp := &Response{Type: typ, Data: cb.Data, At: now, Latency: now.Sub(i.Created)}
	// Apply the effect on messages, then publish the response.
	original, msg, event, ev := s.applyCallback(i, typ, &body, now)
	i.mu.Lock()
	i.response = resp
	i.original = original
	i.choices = choices
	i.notifyLocked()
	i.mu.Unlock()
	if event != "" {
		s.dispatchPayload(i.GuildID, event, messageIntent(i.GuildID), ev)
	}
	if r.URL.Query().Get("with_response") == "true" {
		writeJSON(w, 200, callbackResponse(i, typ, &body, original, msg))
		return nil
	}
	w.WriteHeader(204)
	return nil
}

// acknowledge marks i answered at now, or records the violation and
// returns Discord's error when it was answered before or too late.
func (s *Sim) acknowledge(i *Interaction, now time.Time) *APIError {
	i.mu.Lock()
	switch {
	case i.acked:
		i.twice++
		i.notifyLocked()
		i.mu.Unlock()
		s.recordViolation(Violation{Kind: ViolationInteractionTwice, AppID: i.AppID, Code: 40060, Detail: "interaction " + i.ID.String()})
		return errAlreadyAcked
	case i.failed || now.Sub(i.Created) > s.cfg.InteractionDeadline:
		i.late++
		i.failed = true
		i.notifyLocked()
		i.mu.Unlock()
		s.recordViolation(Violation{Kind: ViolationInteractionLate, AppID: i.AppID, Code: 10062, Detail: "interaction " + i.ID.String() + " answered after " + now.Sub(i.Created).String()})
		return errUnknownInteraction
	}
	i.acked = true
	i.timer.Stop()
	i.mu.Unlock()
	return nil
}

// applyCallback applies a response of type typ with body to the messages:
// a new message (loading when deferred), an edit of the message clicked,
// or nothing. It returns the interaction's original message, its wire form
// (nil when none was made or edited) and the event to dispatch ("" when the
// message is ephemeral or there is none).
func (s *Sim) applyCallback(i *Interaction, typ int, body *messageBody, now time.Time) (original Snowflake, msg *messageWire, event string, ev payload) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch typ {
	case CallbackChannelMessageWithSource, CallbackDeferredChannelMessage:
		m := &Message{ChannelID: i.ChannelID, GuildID: i.GuildID, AuthorID: s.apps[i.AppID].BotUserID, WebhookID: i.AppID, InteractionID: i.ID}
		body.apply(m)
		if typ == CallbackDeferredChannelMessage {
			m.Content, m.Embeds, m.Components = "", nil, nil
			m.Flags |= FlagLoading
		}
		ev = s.storeMessageLocked(m)
		if !m.Ephemeral() {
			event = "MESSAGE_CREATE"
		}
		return m.ID, s.messageJSONLocked(m), event, ev
	case CallbackUpdateMessage:
		m := s.messages[i.MessageID]
		body.applyEdit(m)
		m.Edited = now
		ev = s.messageEventLocked(m)
		if !m.Ephemeral() {
			event = "MESSAGE_UPDATE"
		}
		return m.ID, s.messageJSONLocked(m), event, ev
	case CallbackDeferredUpdateMessage:
		return i.MessageID, nil, "", ev
	}
	return 0, nil, "", ev
}

// callbackResponse is the Interaction Callback Response Object that
// with_response=true asks for.
func callbackResponse(i *Interaction, typ int, body *messageBody, original Snowflake, msg *messageWire) map[string]any {
	interaction := map[string]any{"id": i.ID, "type": i.Type, "activity_instance_id": nil,
		"response_message_id": nil, "response_message_loading": typ == CallbackDeferredChannelMessage, "response_message_ephemeral": body.Flags != nil && *body.Flags&FlagEphemeral != 0}
	out := map[string]any{"interaction": interaction}
	if msg != nil {
		interaction["response_message_id"] = original
		out["resource"] = map[string]any{"type": typ, "message": msg}
	} else {
		out["resource"] = map[string]any{"type": typ}
	}
	return out
}

// webhookInteraction resolves /webhooks/{app}/{token} for an interaction.
func (s *Sim) webhookInteraction(r *http.Request) (*Interaction, *APIError) {
	appID, err := ParseSnowflake(r.PathValue("app"))
	if err != nil {
		return nil, errUnknownWebhook
	}
	s.mu.Lock()
	i := s.byToken[r.PathValue("token")]
	s.mu.Unlock()
	if i == nil || i.AppID != appID {
		return nil, errUnknownWebhook
	}
	if time.Since(i.Created) > s.cfg.InteractionTokenTTL {
		return nil, errInvalidWebhookTok
	}
	i.mu.Lock()
	acked := i.acked
	i.mu.Unlock()
	if !acked {
		return nil, errUnknownWebhook
	}
	return i, nil
}

func (s *Sim) postFollowup(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	i, e := s.webhookInteraction(r)
	if e != nil {
		return e
	}
	var body messageBody
	if e := decodeBody(r, &body); e != nil {
		return e
	}
	if e := body.validate(nil, FlagEphemeral|FlagSuppressEmbeds|FlagSuppressNotifications|FlagComponentsV2, true, nil); e != nil {
		return e
	}
	s.mu.Lock()
	i.mu.Lock()
	orig := s.messages[i.original]
	i.mu.Unlock()
	if orig != nil && orig.Flags&FlagLoading != 0 {
		// Straight after a deferred response, a follow-up edits the
		// loading message instead, keeping its ephemeral state (a
		// deprecated behaviour Discord keeps for old clients).
		return s.editWebhookMessageLocked(w, i, orig, &body)
	}
	m := &Message{ChannelID: i.ChannelID, GuildID: i.GuildID, AuthorID: s.apps[i.AppID].BotUserID, WebhookID: i.AppID, InteractionID: i.ID}
	body.apply(m)
	ev := s.storeMessageLocked(m)
	j := s.messageJSONLocked(m)
	s.mu.Unlock()
	i.mu.Lock()
	i.followups = append(i.followups, m.ID)
	i.notifyLocked()
	i.mu.Unlock()
	if !m.Ephemeral() {
		s.dispatchPayload(i.GuildID, "MESSAGE_CREATE", messageIntent(i.GuildID), ev)
	}
	writeJSON(w, 200, j)
	return nil
}

// webhookMessageLocked resolves {message} (@original or a follow-up ID).
func (s *Sim) webhookMessageLocked(i *Interaction, ref string) (*Message, *APIError) {
	i.mu.Lock()
	orig, follow := i.original, slices.Clone(i.followups)
	i.mu.Unlock()
	var id Snowflake
	if ref == "@original" {
		id = orig
	} else {
		v, err := strconv.ParseUint(ref, 10, 64)
		if err != nil {
			return nil, formError([]string{"message_id"}, "NUMBER_TYPE_COERCE", "Value is not snowflake.")
		}
		id = Snowflake(v)
		if id != orig && !slices.Contains(follow, id) {
			return nil, errUnknownMessage
		}
	}
	m := s.messages[id]
	if id == 0 || m == nil || m.Deleted {
		return nil, errUnknownMessage
	}
	return m, nil
}

func (s *Sim) getWebhookMessage(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	i, e := s.webhookInteraction(r)
	if e != nil {
		return e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	m, e := s.webhookMessageLocked(i, r.PathValue("message"))
	if e != nil {
		return e
	}
	writeJSON(w, 200, s.messageJSONLocked(m))
	return nil
}

func (s *Sim) patchWebhookMessage(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	i, e := s.webhookInteraction(r)
	if e != nil {
		return e
	}
	var body messageBody
	if e := decodeBody(r, &body); e != nil {
		return e
	}
	s.mu.Lock()
	m, e := s.webhookMessageLocked(i, r.PathValue("message"))
	if e == nil {
		e = body.validate(nil, FlagSuppressEmbeds|FlagComponentsV2, false, m)
	}
	if e != nil {
		s.mu.Unlock()
		return e
	}
	return s.editWebhookMessageLocked(w, i, m, &body)
}

// editWebhookMessageLocked edits m, a message of interaction i, with body
// and answers with it; a loading message must end up with something in it.
// s.mu is held on entry and released on return.
func (s *Sim) editWebhookMessageLocked(w http.ResponseWriter, i *Interaction, m *Message, body *messageBody) *APIError {
	wasLoading := m.Flags&FlagLoading != 0
	body.applyEdit(m)
	m.Flags &^= FlagLoading
	if wasLoading && m.Content == "" && len(m.Embeds) == 0 && len(m.Components) == 0 {
		m.Flags |= FlagLoading
		s.mu.Unlock()
		return errEmptyMessage
	}
	m.Edited = time.Now()
	ev := s.messageEventLocked(m)
	j := s.messageJSONLocked(m)
	public, guild := !m.Ephemeral(), m.GuildID // m is the Sim's: read it under its lock
	s.mu.Unlock()
	i.mu.Lock()
	i.notifyLocked()
	i.mu.Unlock()
	if public {
		s.dispatchPayload(guild, "MESSAGE_UPDATE", messageIntent(guild), ev)
	}
	writeJSON(w, 200, j)
	return nil
}

func (s *Sim) deleteWebhookMessage(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	i, e := s.webhookInteraction(r)
	if e != nil {
		return e
	}
	s.mu.Lock()
	m, e := s.webhookMessageLocked(i, r.PathValue("message"))
	if e != nil {
		s.mu.Unlock()
		return e
	}
	m.Deleted = true
	s.mu.Unlock()
	i.mu.Lock()
	i.notifyLocked()
	i.mu.Unlock()
	if !m.Ephemeral() {
		s.dispatchGuild(m.GuildID, "MESSAGE_DELETE", messageIntent(m.GuildID), map[string]any{"id": m.ID, "channel_id": m.ChannelID, "guild_id": m.GuildID})
	}
	w.WriteHeader(204)
	return nil
}
