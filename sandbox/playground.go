package sandbox

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/discordsim"
)

//go:embed static
var static embed.FS

// demo is the sandbox's cast: named users who are members of every guild.
type demo struct {
	users  []demoUser
	guilds []demoGuild
}

type demoUser struct {
	ID   discordsim.Snowflake `json:"id"`
	Name string               `json:"name"`
}

type demoGuild struct {
	ID    discordsim.Snowflake `json:"id"`
	Name  string               `json:"name"`
	Shard int                  `json:"shard"`
}

func (s *Sandbox) setupDemo() error {
	shards := s.sim.Config().RecommendedShards
	for _, g := range s.sim.Guilds() {
		s.demo.guilds = append(s.demo.guilds, demoGuild{ID: g.ID, Name: g.Name, Shard: discordsim.ShardFor(g.ID, shards)})
	}
	for _, name := range []string{"alice", "bob", "carol"} {
		u, err := s.sim.CreateUser(discordsim.UserOptions{Username: name})
		if err != nil {
			return err
		}
		for _, g := range s.demo.guilds {
			if err := s.sim.AddMember(g.ID, u.ID); err != nil {
				return err
			}
		}
		s.demo.users = append(s.demo.users, demoUser{ID: u.ID, Name: name})
	}
	return nil
}

func (s *Sandbox) lookupUser(name string) (discord.UserID, bool) {
	for _, u := range s.demo.users {
		if strings.EqualFold(u.Name, name) || u.ID.String() == name {
			return discord.UserID(u.ID), true
		}
	}
	return 0, false
}

func (s *Sandbox) playground() http.Handler {
	mux := http.NewServeMux()
	sub, _ := fs.Sub(static, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(sub)))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFileFS(w, r, sub, "index.html")
	})
	mux.HandleFunc("GET /api/state", s.handleState)
	mux.HandleFunc("GET /api/nodes", s.handleNodes)
	mux.HandleFunc("POST /api/invoke", s.handleInvoke)
	mux.HandleFunc("POST /api/click", s.handleClick)
	mux.HandleFunc("POST /api/submit", s.handleSubmit)
	mux.HandleFunc("POST /api/autocomplete", s.handleAutocomplete)
	mux.HandleFunc("POST /api/voice", s.handleVoice)
	mux.HandleFunc("GET /api/premium", s.handlePremiumSKUs)
	mux.HandleFunc("POST /api/premium-click", s.handlePremiumClick)
	mux.HandleFunc("POST /api/subscription", s.handleSubscription)
	mux.HandleFunc("POST /api/nodes/{id}/{action}", s.handleNodeAction)
	mux.HandleFunc("GET /api/reshard", s.handleReshardState)
	mux.HandleFunc("POST /api/reshard", s.handleReshard)
	mux.HandleFunc("POST /api/reshard/abort", s.handleReshardAbort)
	return securityHeaders(mux)
}

// securityHeaders keeps the playground free of inline script and framing.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

type apiError struct {
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// commandsList reads the bot's global commands from the emulator's state,
// in Discord's JSON shape. (Asking through REST would spend the bot's rate
// limit on every page load.)
func (s *Sandbox) commandsList(ctx context.Context) ([]discord.Command, error) {
	b, err := json.Marshal(s.sim.Commands(s.sim.AppID(), 0))
	if err != nil {
		return nil, err
	}
	var cmds []discord.Command
	if err := json.Unmarshal(b, &cmds); err != nil {
		return nil, fmt.Errorf("decode commands: %w", err)
	}
	return cmds, nil
}

// listCommands is commandsList for a handler: it answers 502 and returns
// false when the commands cannot be read.
func (s *Sandbox) listCommands(w http.ResponseWriter, r *http.Request) ([]discord.Command, bool) {
	cmds, err := s.commandsList(r.Context())
	if err != nil {
		writeJSON(w, http.StatusBadGateway, apiError{"listing commands: " + err.Error()})
		return nil, false
	}
	return cmds, true
}

func (s *Sandbox) handleState(w http.ResponseWriter, r *http.Request) {
	cmds, ok := s.listCommands(w, r)
	if !ok {
		return
	}
	type cmdInfo struct {
		Usage       string `json:"usage"`
		Description string `json:"description"`
	}
	var list []cmdInfo
	for _, c := range cmds {
		for _, u := range usage(c) {
			list = append(list, cmdInfo{Usage: u, Description: c.Description})
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"users": s.demo.users, "guilds": s.demo.guilds, "commands": list})
}

// nodeView is a node with what the playground shows of its status.
type nodeView struct {
	NodeInfo
	// Shards are the shards the node has connected and ready; Pending are
	// those it owns that are still connecting, identifying or resuming.
	Shards  []int `json:"shards"`
	Pending []int `json:"pending"`
	Leader  bool  `json:"leader"`
}

func (s *Sandbox) handleNodes(w http.ResponseWriter, r *http.Request) {
	var out []nodeView
	for _, p := range s.nodes.list() {
		nv := nodeView{NodeInfo: p.info(r.Context()), Shards: []int{}, Pending: []int{}}
		var st struct {
			Leader bool `json:"leader"`
			Shards []struct {
				ID    int    `json:"id"`
				State string `json:"state"`
			} `json:"shards"`
		}
		if json.Unmarshal(nv.Status, &st) == nil {
			nv.Leader = st.Leader
			for _, sh := range st.Shards {
				if sh.State == "ready" {
					nv.Shards = append(nv.Shards, sh.ID)
				} else {
					nv.Pending = append(nv.Pending, sh.ID)
				}
			}
		}
		out = append(out, nv)
	}
	writeJSON(w, http.StatusOK, map[string]any{"nodes": out})
}

// replyView is what the page renders of the bot's reply.
type replyView struct {
	MessageID  string            `json:"message_id,omitempty"`
	Content    string            `json:"content"`
	Embeds     []json.RawMessage `json:"embeds"`
	Components []json.RawMessage `json:"components"`
	Ephemeral  bool              `json:"ephemeral"`
	Deferred   bool              `json:"deferred"`
}

type handledBy struct {
	Node  string `json:"node"`
	Shard string `json:"shard"`
}

type invokeResult struct {
	Reply     replyView  `json:"reply"`
	HandledBy *handledBy `json:"handled_by,omitempty"`
	LatencyMS int64      `json:"latency_ms"`
	// Updated: the answer edited the message the component was on.
	Updated bool `json:"updated,omitempty"`
	// Modal is set when the bot answered with a modal to fill in.
	Modal *modalView `json:"modal,omitempty"`
}

func (s *Sandbox) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"bad request body: " + err.Error()})
		return false
	}
	return true
}

// actor is who a playground request acts as: one of the demo users, in one
// of the demo guilds. Request bodies embed it.
type actor struct {
	UserID  string `json:"user_id"`
	GuildID string `json:"guild_id"`
}

func (a *actor) as() *actor { return a }

// acting is a request body that embeds an actor.
type acting interface{ as() *actor }

// decodeActing decodes req and returns the user and guild it acts as, or
// answers 400 and returns false.
func (s *Sandbox) decodeActing(w http.ResponseWriter, r *http.Request, req acting) (user, guild discordsim.Snowflake, ok bool) {
	if !s.decodeBody(w, r, req) {
		return 0, 0, false
	}
	a := req.as()
	u, err := discordsim.ParseSnowflake(a.UserID)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"pick a user"})
		return 0, 0, false
	}
	g, err := discordsim.ParseSnowflake(a.GuildID)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"pick a guild"})
		return 0, 0, false
	}
	return u, g, true
}

// interact makes a user act through discordsim (do: invoke, click or
// submit), answering 400 when discordsim refuses, and writes the bot's
// answer.
func (s *Sandbox) interact(w http.ResponseWriter, r *http.Request, do func(context.Context) (*discordsim.Interaction, error)) {
	ctx, cancel := context.WithTimeout(r.Context(), 20*time.Second)
	defer cancel()
	i, err := do(ctx)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
		return
	}
	s.answer(ctx, w, i)
}

func (s *Sandbox) handleInvoke(w http.ResponseWriter, r *http.Request) {
	var req struct {
		actor
		Text string `json:"text"`
	}
	user, guild, ok := s.decodeActing(w, r, &req)
	if !ok {
		return
	}
	cmds, ok := s.listCommands(w, r)
	if !ok {
		return
	}
	pc, err := parseCommand(req.Text, cmds, s.lookupUser)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
		return
	}
	inv := discordsim.Invocation{GuildID: guild, UserID: user, Command: pc.Name, Subcommand: pc.Subcommand, Options: map[string]any{}}
	for _, o := range pc.Options {
		if o.Type == discord.UserOptionType {
			id, _ := discordsim.ParseSnowflake(o.Value.(string))
			inv.Options[o.Name] = id
			continue
		}
		inv.Options[o.Name] = o.Value
	}
	s.interact(w, r, func(ctx context.Context) (*discordsim.Interaction, error) { return s.sim.Invoke(ctx, inv) })
}

func (s *Sandbox) handleClick(w http.ResponseWriter, r *http.Request) {
	var req struct {
		actor
		MessageID string   `json:"message_id"`
		CustomID  string   `json:"custom_id"`
		Values    []string `json:"values"`
	}
	user, _, ok := s.decodeActing(w, r, &req)
	if !ok {
		return
	}
	msg, err := discordsim.ParseSnowflake(req.MessageID)
	if err != nil || req.CustomID == "" {
		writeJSON(w, http.StatusBadRequest, apiError{"message_id and custom_id are required"})
		return
	}
	s.interact(w, r, func(ctx context.Context) (*discordsim.Interaction, error) {
		return s.sim.Click(ctx, discordsim.Click{UserID: user, MessageID: msg, CustomID: req.CustomID, Values: req.Values})
	})
}

// answer waits for the bot's visible reply to i and writes it with the
// node and shard that claimed the interaction.
func (s *Sandbox) answer(ctx context.Context, w http.ResponseWriter, i *discordsim.Interaction) {
	if resp, err := i.Wait(ctx); err == nil && resp.Type == discordsim.CallbackModal {
		s.answerModal(w, i, resp)
		return
	}
	msg, err := i.WaitMessage(ctx)
	if err != nil {
		status := http.StatusGatewayTimeout
		if errors.Is(err, discordsim.ErrInteractionFailed) {
			err = errors.New("the bot did not answer within 3 seconds: Discord would show \"This interaction failed\"")
		}
		writeJSON(w, status, apiError{err.Error()})
		return
	}
	info := i.Info()
	res := invokeResult{Reply: replyView{
		MessageID: msg.ID.String(), Content: msg.Content, Embeds: msg.Embeds, Components: msg.Components,
		Ephemeral: msg.Ephemeral(),
	}}
	if info.Response != nil {
		res.Reply.Deferred = info.Response.Type == discordsim.CallbackDeferredChannelMessage || info.Response.Type == discordsim.CallbackDeferredUpdateMessage
		res.Updated = info.Response.Type == discordsim.CallbackUpdateMessage || info.Response.Type == discordsim.CallbackDeferredUpdateMessage
		res.LatencyMS = info.Response.Latency.Milliseconds()
	}
	if holder, err := s.rdb.Get(ctx, commands.ClaimKey(discord.InteractionID(i.ID))).Result(); err == nil {
		node, shard, _ := strings.Cut(commands.ClaimHolder(holder), "/")
		res.HandledBy = &handledBy{Node: node, Shard: shard}
	}
	writeJSON(w, http.StatusOK, res)
}

func (s *Sandbox) handleNodeAction(w http.ResponseWriter, r *http.Request) {
	p, ok := s.nodes.get(r.PathValue("id"))
	if !ok {
		writeJSON(w, http.StatusNotFound, apiError{"no node " + strconv.Quote(r.PathValue("id"))})
		return
	}
	var err error
	switch r.PathValue("action") {
	case "start":
		err = p.start()
	case "stop":
		err = p.stop(syscall.SIGTERM, 40*time.Second)
	case "kill":
		err = p.stop(syscall.SIGKILL, 5*time.Second)
	default:
		writeJSON(w, http.StatusBadRequest, apiError{"action must be start, stop or kill"})
		return
	}
	if err != nil {
		writeJSON(w, http.StatusConflict, apiError{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, p.info(r.Context()))
}
