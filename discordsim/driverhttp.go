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

func driverErr(w http.ResponseWriter, status int, err error) {
	writeJSON(w, status, map[string]string{"error": err.Error()})
}

func decodeDriver(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(r.Body)
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		driverErr(w, 400, errors.New("invalid JSON body: "+err.Error()))
		return false
	}
	return true
}

func pathID(w http.ResponseWriter, r *http.Request, name string) (Snowflake, bool) {
	id, err := ParseSnowflake(r.PathValue(name))
	if err != nil {
		driverErr(w, 400, err)
		return 0, false
	}
	return id, true
}

type waitSpec struct {
	Wait      string `json:"wait"`      // "", "response" or "message"
	Followups int    `json:"followups"` // wait for this many follow-ups too
	TimeoutMS int    `json:"timeout_ms"`
}

type interactionResult struct {
	Interaction InteractionInfo `json:"interaction"`
	Response    *Response       `json:"response,omitempty"`
	Message     *Message        `json:"message,omitempty"`
	Followups   []Message       `json:"followups,omitempty"`
	Error       string          `json:"error,omitempty"`
}

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

func (s *Sim) driverRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/info", func(w http.ResponseWriter, r *http.Request) {
		a := s.DefaultApp()
		base := "http://" + r.Host
		guilds := []Snowflake{}
		for _, g := range s.Guilds() {
			guilds = append(guilds, g.ID)
		}
		writeJSON(w, 200, map[string]any{
			"token": a.Token, "application_id": a.ID, "bot_user_id": a.BotUserID, "client_secret": a.ClientSecret,
			"url": base, "api_url": base + "/api/v10", "gateway_url": "ws://" + r.Host,
			"recommended_shards": s.cfg.RecommendedShards, "max_concurrency": a.MaxConcurrency,
			"users": s.DefaultUsers(), "guilds": guilds,
		})
	})
	mux.HandleFunc("POST /_sim/applications", func(w http.ResponseWriter, r *http.Request) {
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
		if err != nil {
			driverErr(w, 400, err)
			return
		}
		writeJSON(w, 200, a)
	})
	mux.HandleFunc("PUT /_sim/applications/{app}/redirect_uris", func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "app")
		var uris []string
		if !ok || !decodeDriver(w, r, &uris) {
			return
		}
		if err := s.SetRedirectURIs(id, uris); err != nil {
			driverErr(w, 404, err)
			return
		}
		w.WriteHeader(204)
	})
	mux.HandleFunc("POST /_sim/users", func(w http.ResponseWriter, r *http.Request) {
		var in UserOptions
		var body struct {
			Username string `json:"username"`
			Bot      bool   `json:"bot"`
			Email    string `json:"email"`
		}
		if !decodeDriver(w, r, &body) {
			return
		}
		in = UserOptions{Username: body.Username, Bot: body.Bot, Email: body.Email}
		u, err := s.CreateUser(in)
		if err != nil {
			driverErr(w, 400, err)
			return
		}
		writeJSON(w, 200, u)
	})
	mux.HandleFunc("GET /_sim/guilds", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, s.Guilds())
	})
	mux.HandleFunc("POST /_sim/guilds", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Name    string    `json:"name"`
			OwnerID Snowflake `json:"owner_id"`
		}
		if !decodeDriver(w, r, &in) {
			return
		}
		g, err := s.CreateGuild(GuildOptions{Name: in.Name, OwnerID: in.OwnerID})
		if err != nil {
			driverErr(w, 400, err)
			return
		}
		writeJSON(w, 200, g)
	})
	mux.HandleFunc("POST /_sim/guilds/{guild}/channels", func(w http.ResponseWriter, r *http.Request) {
		gid, ok := pathID(w, r, "guild")
		var in struct {
			Name string `json:"name"`
			Type int    `json:"type"`
		}
		if !ok || !decodeDriver(w, r, &in) {
			return
		}
		c, err := s.CreateChannel(gid, ChannelOptions{Name: in.Name, Type: in.Type})
		if err != nil {
			driverErr(w, 400, err)
			return
		}
		writeJSON(w, 200, c)
	})
	mux.HandleFunc("POST /_sim/guilds/{guild}/members", func(w http.ResponseWriter, r *http.Request) {
		gid, ok := pathID(w, r, "guild")
		var in struct {
			UserID Snowflake `json:"user_id"`
		}
		if !ok || !decodeDriver(w, r, &in) {
			return
		}
		if err := s.AddMember(gid, in.UserID); err != nil {
			driverErr(w, 400, err)
			return
		}
		w.WriteHeader(204)
	})
	mux.HandleFunc("PUT /_sim/guilds/{guild}/bots/{app}", func(w http.ResponseWriter, r *http.Request) {
		gid, ok := pathID(w, r, "guild")
		aid, ok2 := pathID(w, r, "app")
		if !ok || !ok2 {
			return
		}
		if err := s.AddBot(gid, aid); err != nil {
			driverErr(w, 400, err)
			return
		}
		w.WriteHeader(204)
	})
	mux.HandleFunc("DELETE /_sim/guilds/{guild}/bots/{app}", func(w http.ResponseWriter, r *http.Request) {
		gid, ok := pathID(w, r, "guild")
		aid, ok2 := pathID(w, r, "app")
		if !ok || !ok2 {
			return
		}
		if err := s.RemoveBot(gid, aid); err != nil {
			driverErr(w, 400, err)
			return
		}
		w.WriteHeader(204)
	})
	mux.HandleFunc("POST /_sim/messages", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ChannelID Snowflake `json:"channel_id"`
			AuthorID  Snowflake `json:"author_id"`
			Content   string    `json:"content"`
		}
		if !decodeDriver(w, r, &in) {
			return
		}
		m, err := s.SendMessage(MessageOptions{ChannelID: in.ChannelID, AuthorID: in.AuthorID, Content: in.Content})
		if err != nil {
			driverErr(w, 400, err)
			return
		}
		writeJSON(w, 200, m)
	})
	mux.HandleFunc("GET /_sim/messages/{message}", func(w http.ResponseWriter, r *http.Request) {
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
	})
	mux.HandleFunc("GET /_sim/channels/{channel}/messages", func(w http.ResponseWriter, r *http.Request) {
		id, ok := pathID(w, r, "channel")
		if !ok {
			return
		}
		out := s.ChannelMessages(id)
		if out == nil {
			out = []Message{}
		}
		writeJSON(w, 200, out)
	})
	mux.HandleFunc("POST /_sim/invoke", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
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
		if !decodeDriver(w, r, &in) {
			return
		}
		i, err := s.Invoke(r.Context(), Invocation{AppID: in.AppID, GuildID: in.GuildID, ChannelID: in.ChannelID, UserID: in.UserID,
			Command: in.Command, SubcommandGroup: in.SubcommandGroup, Subcommand: in.Subcommand, Options: in.Options})
		if err != nil {
			driverErr(w, 400, err)
			return
		}
		writeJSON(w, 200, s.waitResult(r.Context(), i, in.waitSpec))
	})
	mux.HandleFunc("POST /_sim/click", func(w http.ResponseWriter, r *http.Request) {
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
	})
	mux.HandleFunc("GET /_sim/interactions", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, s.Interactions())
	})
	mux.HandleFunc("GET /_sim/interactions/{interaction}", func(w http.ResponseWriter, r *http.Request) {
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
	})
	mux.HandleFunc("POST /_sim/voice", func(w http.ResponseWriter, r *http.Request) {
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
		if err != nil {
			driverErr(w, 400, err)
			return
		}
		w.WriteHeader(204)
	})
	mux.HandleFunc("POST /_sim/inject", func(w http.ResponseWriter, r *http.Request) {
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
	})
	mux.HandleFunc("GET /_sim/identifies", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, nonNil(s.Identifies())) })
	mux.HandleFunc("GET /_sim/resumes", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, nonNil(s.Resumes())) })
	mux.HandleFunc("GET /_sim/violations", func(w http.ResponseWriter, r *http.Request) {
		if k := r.URL.Query().Get("kind"); k != "" {
			writeJSON(w, 200, nonNil(s.ViolationsOf(k)))
			return
		}
		writeJSON(w, 200, nonNil(s.Violations()))
	})
	mux.HandleFunc("GET /_sim/sessions", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, nonNil(s.Sessions())) })
	mux.HandleFunc("GET /_sim/sessions/{session}/deliveries", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, 200, nonNil(s.Deliveries(r.PathValue("session"))))
	})
	mux.HandleFunc("GET /_sim/commands", func(w http.ResponseWriter, r *http.Request) {
		app, _ := ParseSnowflake(r.URL.Query().Get("app_id"))
		if app == 0 {
			app = s.AppID()
		}
		guild, _ := ParseSnowflake(r.URL.Query().Get("guild_id"))
		writeJSON(w, 200, nonNil(s.Commands(app, guild)))
	})
	mux.HandleFunc("/_sim/", func(w http.ResponseWriter, r *http.Request) {
		driverErr(w, 404, errors.New("unknown driver endpoint"))
	})
}

func nonNil[T any](v []T) []T {
	if v == nil {
		return []T{}
	}
	return v
}
