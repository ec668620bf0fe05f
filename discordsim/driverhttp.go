package discordsim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"
)

// The HTTP driver API under /_sim/ mirrors the Go driver API so that clients
// in other languages (the discord.js conformance test) can drive the emulator.
// It is documented in README.md.

// driverErr answers with status and {"error": err}, the driver API's error.
func driverErr(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

// driverReply answers err with errStatus; else v, or 204 No Content when v
// is nil.
func driverReply(w http.ResponseWriter, errStatus int, v any, err error) {
	switch {
	case err != nil:
		driverErr(w, errStatus, err)
	case v == nil:
		w.WriteHeader(204)
	default:
		writeJSON(w, 200, v)
	}
}

// decodeDriver decodes the JSON body into v (numbers as json.Number), or
// answers 400 and reports false.
func decodeDriver(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		driverErr(w, 400, errors.New("invalid JSON body: "+err.Error()))
		return false
	}
	return true
}

// pathID returns the snowflake in the path value name, or answers 400 and
// reports false.
func pathID(w http.ResponseWriter, r *http.Request, name string) (Snowflake, bool) {
	id, err := ParseSnowflake(r.PathValue(name))
	if err != nil {
		driverErr(w, 400, err)
		return 0, false
	}
	return id, true
}

// waitSpec is what an invoke, click or interaction request waits for
// before it answers.
type waitSpec struct {
	Wait      string `json:"wait"`      // "", "response" or "message"
	Followups int    `json:"followups"` // wait for this many follow-ups too
	TimeoutMS int    `json:"timeout_ms"`
}

// interactionResult is the answer of an invoke, click or interaction
// request: the interaction and what was awaited, or why the wait ended.
type interactionResult struct {
	Interaction InteractionInfo `json:"interaction"`
	Response    *Response       `json:"response,omitempty"`
	Message     *Message        `json:"message,omitempty"`
	Followups   []Message       `json:"followups,omitempty"`
	Error       string          `json:"error,omitempty"`
}

// waitResult waits on i as ws asks, at most ws.TimeoutMS (by default the
// interaction deadline and 2s more), and reports what came.
func (s *Sim) waitResult(ctx context.Context, i *Interaction, ws waitSpec) interactionResult {
	timeout := time.Duration(ws.TimeoutMS) * time.Millisecond
	if timeout <= 0 {
		timeout = s.cfg.InteractionDeadline + 2*time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var res interactionResult
	var err error
	switch ws.Wait {
	case "response":
		var r Response
		if r, err = i.Wait(ctx); err == nil {
			res.Response = &r
		}
	case "message":
		var m Message
		if m, err = i.WaitMessage(ctx); err == nil {
			res.Message = &m
		}
	}
	if err == nil && ws.Followups > 0 {
		res.Followups, err = i.WaitFollowups(ctx, ws.Followups)
	}
	if err != nil {
		res.Error = err.Error()
	}
	res.Interaction = i.Info()
	return res
}

// driverRoutes registers the driver API on mux: one named handler per
// route, as routes does for REST.
func (s *Sim) driverRoutes(mux *http.ServeMux) {
	for _, rt := range []struct {
		pattern string
		handler http.HandlerFunc
	}{
		{"GET /_sim/info", s.driverInfo},
		{"POST /_sim/applications", s.driverCreateApp},
		{"PUT /_sim/applications/{app}/redirect_uris", s.driverSetRedirectURIs},
		{"POST /_sim/applications/{app}/guilds", s.driverGrow},
		{"POST /_sim/users", s.driverCreateUser},
		{"GET /_sim/guilds", s.driverGuilds},
		{"POST /_sim/guilds", s.driverCreateGuild},
		{"POST /_sim/guilds/{guild}/channels", s.driverCreateChannel},
		{"POST /_sim/guilds/{guild}/members", s.driverAddMember},
		{"PUT /_sim/guilds/{guild}/bots/{app}", s.driverAddBot},
		{"DELETE /_sim/guilds/{guild}/bots/{app}", s.driverRemoveBot},
		{"POST /_sim/messages", s.driverSendMessage},
		{"GET /_sim/messages/{message}", s.driverMessage},
		{"GET /_sim/channels/{channel}/messages", s.driverChannelMessages},
		{"POST /_sim/invoke", s.driverInvoke},
		{"POST /_sim/click", s.driverClick},
		{"POST /_sim/submit", s.driverSubmit},
		{"POST /_sim/autocomplete", s.driverAutocomplete},
		{"GET /_sim/interactions", s.driverInteractions},
		{"GET /_sim/interactions/{interaction}", s.driverInteraction},
		{"POST /_sim/voice", s.driverVoice},
		{"POST /_sim/inject", s.driverInject},
		{"GET /_sim/identifies", s.driverIdentifies},
		{"GET /_sim/resumes", s.driverResumes},
		{"GET /_sim/violations", s.driverViolations},
		{"GET /_sim/sessions", s.driverSessions},
		{"GET /_sim/sessions/{session}/deliveries", s.driverDeliveries},
		{"GET /_sim/commands", s.driverCommands},
		{"GET /_sim/skus", s.driverSKUs},
		{"POST /_sim/skus", s.driverCreateSKU},
		{"GET /_sim/entitlements", s.driverEntitlements},
		{"POST /_sim/entitlements/{entitlement}/replay", s.driverReplayEntitlement},
		{"POST /_sim/purchases", s.driverPurchase},
		{"POST /_sim/premium-click", s.driverClickPremium},
		{"POST /_sim/subscriptions", s.driverSubscribe},
		{"GET /_sim/subscriptions/{subscription}", s.driverSubscription},
		{"POST /_sim/subscriptions/{subscription}/{action}", s.driverSubscriptionAction},
		{"GET /_sim/time", s.driverTime},
		{"POST /_sim/time", s.driverAdvanceTime},
		{"/_sim/", driverUnknown},
	} {
		mux.HandleFunc(rt.pattern, rt.handler)
	}
}

// driverInfo answers GET /_sim/info: the default application and where to
// reach the emulator, as seen from the caller's Host.
func (s *Sim) driverInfo(w http.ResponseWriter, r *http.Request) {
	a := s.DefaultApp()
	base := "http://" + r.Host
	guilds := []Snowflake{}
	for _, g := range s.Guilds() {
		guilds = append(guilds, g.ID)
	}
	writeJSON(w, 200, map[string]any{
		"token": a.Token, "application_id": a.ID, "bot_user_id": a.BotUserID, "client_secret": a.ClientSecret,
		"url": base, "api_url": base + "/api/v10", "gateway_url": "ws://" + r.Host,
		"recommended_shards": s.RecommendedShards(a.ID), "max_concurrency": a.MaxConcurrency,
		"users": s.DefaultUsers(), "guilds": guilds,
	})
}

// driverCreateApp answers POST /_sim/applications (CreateApplication).
func (s *Sim) driverCreateApp(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name                    string   `json:"name"`
		Token                   string   `json:"token"`
		RedirectURIs            []string `json:"redirect_uris"`
		DeniedPrivilegedIntents uint64   `json:"denied_privileged_intents"`
		MaxConcurrency          int      `json:"max_concurrency"`
	}
	if !decodeDriver(w, r, &in) {
		return
	}
	a, err := s.CreateApplication(AppOptions{Name: in.Name, Token: in.Token, RedirectURIs: in.RedirectURIs,
		DeniedPrivilegedIntents: in.DeniedPrivilegedIntents, MaxConcurrency: in.MaxConcurrency})
	driverReply(w, 400, a, err)
}

// driverSetRedirectURIs answers PUT /_sim/applications/{app}/redirect_uris
// (SetRedirectURIs).
func (s *Sim) driverSetRedirectURIs(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "app")
	var uris []string
	if !ok || !decodeDriver(w, r, &uris) {
		return
	}
	driverReply(w, 404, nil, s.SetRedirectURIs(id, uris))
}

// driverCreateUser answers POST /_sim/users (CreateUser).
func (s *Sim) driverCreateUser(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Username string `json:"username"`
		Bot      bool   `json:"bot"`
		Email    string `json:"email"`
	}
	if !decodeDriver(w, r, &in) {
		return
	}
	u, err := s.CreateUser(UserOptions{Username: in.Username, Bot: in.Bot, Email: in.Email})
	driverReply(w, 400, u, err)
}

// driverGuilds answers GET /_sim/guilds (Guilds).
func (s *Sim) driverGuilds(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, s.Guilds())
}

// driverCreateGuild answers POST /_sim/guilds (CreateGuild).
func (s *Sim) driverCreateGuild(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Name    string    `json:"name"`
		OwnerID Snowflake `json:"owner_id"`
	}
	if !decodeDriver(w, r, &in) {
		return
	}
	g, err := s.CreateGuild(GuildOptions{Name: in.Name, OwnerID: in.OwnerID})
	driverReply(w, 400, g, err)
}

// driverCreateChannel answers POST /_sim/guilds/{guild}/channels
// (CreateChannel).
func (s *Sim) driverCreateChannel(w http.ResponseWriter, r *http.Request) {
	gid, ok := pathID(w, r, "guild")
	var in struct {
		Name string `json:"name"`
		Type int    `json:"type"`
	}
	if !ok || !decodeDriver(w, r, &in) {
		return
	}
	c, err := s.CreateChannel(gid, ChannelOptions{Name: in.Name, Type: in.Type})
	driverReply(w, 400, c, err)
}

// driverAddMember answers POST /_sim/guilds/{guild}/members (AddMember).
func (s *Sim) driverAddMember(w http.ResponseWriter, r *http.Request) {
	gid, ok := pathID(w, r, "guild")
	var in struct {
		UserID Snowflake `json:"user_id"`
	}
	if !ok || !decodeDriver(w, r, &in) {
		return
	}
	driverReply(w, 400, nil, s.AddMember(gid, in.UserID))
}

// driverAddBot answers PUT /_sim/guilds/{guild}/bots/{app} (AddBot).
func (s *Sim) driverAddBot(w http.ResponseWriter, r *http.Request) {
	s.driverGuildBot(w, r, s.AddBot)
}

// driverRemoveBot answers DELETE /_sim/guilds/{guild}/bots/{app}
// (RemoveBot).
func (s *Sim) driverRemoveBot(w http.ResponseWriter, r *http.Request) {
	s.driverGuildBot(w, r, s.RemoveBot)
}

// driverGuildBot applies change, AddBot or RemoveBot, to the guild and
// application the path names.
func (s *Sim) driverGuildBot(w http.ResponseWriter, r *http.Request, change func(guildID, appID Snowflake) error) {
	gid, ok := pathID(w, r, "guild")
	if !ok {
		return
	}
	aid, ok := pathID(w, r, "app")
	if !ok {
		return
	}
	driverReply(w, 400, nil, change(gid, aid))
}

// driverSendMessage answers POST /_sim/messages: a user's message
// (SendMessage).
func (s *Sim) driverSendMessage(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ChannelID Snowflake `json:"channel_id"`
		AuthorID  Snowflake `json:"author_id"`
		Content   string    `json:"content"`
	}
	if !decodeDriver(w, r, &in) {
		return
	}
	m, err := s.SendMessage(MessageOptions{ChannelID: in.ChannelID, AuthorID: in.AuthorID, Content: in.Content})
	driverReply(w, 400, m, err)
}

// driverMessage answers GET /_sim/messages/{message} (Message).
func (s *Sim) driverMessage(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "message")
	if !ok {
		return
	}
	m, found := s.Message(id)
	if !found {
		driverErr(w, 404, errors.New("unknown message"))
		return
	}
	writeJSON(w, 200, m)
}

// driverChannelMessages answers GET /_sim/channels/{channel}/messages
// (ChannelMessages).
func (s *Sim) driverChannelMessages(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "channel")
	if !ok {
		return
	}
	writeJSON(w, 200, nonNil(s.ChannelMessages(id)))
}

// invocationBody is a driver request naming a command use, and what to
// wait for.
type invocationBody struct {
	waitSpec
	AppID           Snowflake      `json:"app_id"`
	GuildID         Snowflake      `json:"guild_id"`
	ChannelID       Snowflake      `json:"channel_id"`
	UserID          Snowflake      `json:"user_id"`
	Command         string         `json:"command"`
	SubcommandGroup string         `json:"subcommand_group"`
	Subcommand      string         `json:"subcommand"`
	Options         map[string]any `json:"options"`
}

func (b invocationBody) invocation() Invocation {
	return Invocation{AppID: b.AppID, GuildID: b.GuildID, ChannelID: b.ChannelID, UserID: b.UserID,
		Command: b.Command, SubcommandGroup: b.SubcommandGroup, Subcommand: b.Subcommand, Options: b.Options}
}

// driverInvoke answers POST /_sim/invoke: a user runs a command (Invoke),
// and the answer waits as the body's waitSpec asks.
func (s *Sim) driverInvoke(w http.ResponseWriter, r *http.Request) {
	var in invocationBody
	if !decodeDriver(w, r, &in) {
		return
	}
	i, err := s.Invoke(r.Context(), in.invocation())
	if err != nil {
		driverErr(w, 400, err)
		return
	}
	writeJSON(w, 200, s.waitResult(r.Context(), i, in.waitSpec))
}

// driverClick answers POST /_sim/click: a user clicks a button or picks
// from a select (Click), and the answer waits as the body's waitSpec asks.
func (s *Sim) driverClick(w http.ResponseWriter, r *http.Request) {
	var in struct {
		waitSpec
		AppID     Snowflake `json:"app_id"`
		UserID    Snowflake `json:"user_id"`
		MessageID Snowflake `json:"message_id"`
		CustomID  string    `json:"custom_id"`
		Values    []string  `json:"values"`
	}
	if !decodeDriver(w, r, &in) {
		return
	}
	i, err := s.Click(r.Context(), Click{AppID: in.AppID, UserID: in.UserID, MessageID: in.MessageID, CustomID: in.CustomID, Values: in.Values})
	if err != nil {
		driverErr(w, 400, err)
		return
	}
	writeJSON(w, 200, s.waitResult(r.Context(), i, in.waitSpec))
}

// driverSubmit answers POST /_sim/submit: a user submits the modal the bot
// opened in answer to an interaction (SubmitModal), and the answer waits
// as the body's waitSpec asks.
func (s *Sim) driverSubmit(w http.ResponseWriter, r *http.Request) {
	var in struct {
		waitSpec
		AppID         Snowflake           `json:"app_id"`
		UserID        Snowflake           `json:"user_id"`
		InteractionID Snowflake           `json:"interaction_id"`
		Text          map[string]string   `json:"text"`
		Values        map[string][]string `json:"values"`
	}
	if !decodeDriver(w, r, &in) {
		return
	}
	i, err := s.SubmitModal(r.Context(), ModalSubmit{AppID: in.AppID, UserID: in.UserID, Interaction: in.InteractionID, Text: in.Text, Values: in.Values})
	if err != nil {
		driverErr(w, 400, err)
		return
	}
	writeJSON(w, 200, s.waitResult(r.Context(), i, in.waitSpec))
}

// driverInteractions answers GET /_sim/interactions (Interactions).
func (s *Sim) driverInteractions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, s.Interactions())
}

// driverInteraction answers GET /_sim/interactions/{interaction}, waiting
// as the query's wait, followups and timeout_ms ask.
func (s *Sim) driverInteraction(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "interaction")
	if !ok {
		return
	}
	i, found := s.InteractionByID(id)
	if !found {
		driverErr(w, 404, errors.New("unknown interaction"))
		return
	}
	var ws waitSpec
	ws.Wait = r.URL.Query().Get("wait")
	ws.Followups, _ = strconv.Atoi(r.URL.Query().Get("followups"))
	ws.TimeoutMS, _ = strconv.Atoi(r.URL.Query().Get("timeout_ms"))
	writeJSON(w, 200, s.waitResult(r.Context(), i, ws))
}

// driverVoice answers POST /_sim/voice: a user joins a voice channel
// (JoinVoice), or leaves voice when channel_id is 0 (LeaveVoice).
func (s *Sim) driverVoice(w http.ResponseWriter, r *http.Request) {
	var in struct {
		GuildID   Snowflake `json:"guild_id"`
		UserID    Snowflake `json:"user_id"`
		ChannelID Snowflake `json:"channel_id"`
	}
	if !decodeDriver(w, r, &in) {
		return
	}
	var err error
	if in.ChannelID == 0 {
		err = s.LeaveVoice(in.GuildID, in.UserID)
	} else {
		err = s.JoinVoice(in.GuildID, in.UserID, in.ChannelID)
	}
	driverReply(w, 400, nil, err)
}

// driverInject answers POST /_sim/inject: a gateway fault on the sessions
// the target matches, answering how many it affected.
func (s *Sim) driverInject(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AppID     Snowflake `json:"app_id"`
		Shard     int       `json:"shard"`
		SessionID string    `json:"session_id"`
		Action    string    `json:"action"`
		Code      int       `json:"code"`
	}
	if !decodeDriver(w, r, &in) {
		return
	}
	t := Target{AppID: in.AppID, Shard: in.Shard, SessionID: in.SessionID}
	var n int
	switch in.Action {
	case "reconnect":
		n = s.Reconnect(t)
	case "invalidate":
		n = s.InvalidateSession(t, false)
	case "invalidate_resumable":
		n = s.InvalidateSession(t, true)
	case "drop":
		n = s.Drop(t)
	case "close":
		if in.Code < 1000 || in.Code > 4999 {
			driverErr(w, 400, errors.New("close needs a code between 1000 and 4999"))
			return
		}
		n = s.CloseConnection(t, in.Code, "closed by discordsim driver")
	case "heartbeat":
		n = s.RequestHeartbeat(t)
	default:
		driverErr(w, 400, errors.New("action must be reconnect, invalidate, invalidate_resumable, drop, close or heartbeat"))
		return
	}
	writeJSON(w, 200, map[string]int{"affected": n})
}

// driverIdentifies answers GET /_sim/identifies (Identifies).
func (s *Sim) driverIdentifies(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, nonNil(s.Identifies()))
}

// driverResumes answers GET /_sim/resumes (Resumes).
func (s *Sim) driverResumes(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, nonNil(s.Resumes()))
}

// driverViolations answers GET /_sim/violations, all of them or those of
// the query's kind (Violations, ViolationsOf).
func (s *Sim) driverViolations(w http.ResponseWriter, r *http.Request) {
	if k := r.URL.Query().Get("kind"); k != "" {
		writeJSON(w, 200, nonNil(s.ViolationsOf(k)))
		return
	}
	writeJSON(w, 200, nonNil(s.Violations()))
}

// driverSessions answers GET /_sim/sessions (Sessions).
func (s *Sim) driverSessions(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, nonNil(s.Sessions()))
}

// driverDeliveries answers GET /_sim/sessions/{session}/deliveries
// (Deliveries).
func (s *Sim) driverDeliveries(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, nonNil(s.Deliveries(r.PathValue("session"))))
}

// driverCommands answers GET /_sim/commands: the commands of the query's
// app_id (the default application when absent) and guild_id (global when
// absent).
func (s *Sim) driverCommands(w http.ResponseWriter, r *http.Request) {
	app, _ := ParseSnowflake(r.URL.Query().Get("app_id"))
	if app == 0 {
		app = s.AppID()
	}
	guild, _ := ParseSnowflake(r.URL.Query().Get("guild_id"))
	writeJSON(w, 200, nonNil(s.Commands(app, guild)))
}

// driverUnknown answers any other path under /_sim/ with a 404.
func driverUnknown(w http.ResponseWriter, r *http.Request) {
	driverErr(w, 404, errors.New("unknown driver endpoint"))
}

// nonNil returns v, or an empty slice for nil, so that JSON shows [] not
// null.
func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
