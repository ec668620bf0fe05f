package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordsim"
)

// The playground's side of components, modals and autocomplete: a modal
// the bot opened is shown to fill in and submitted through discordsim,
// and the command being typed is offered the bot's suggestions.

// modalView is a modal the bot opened, for the page to render.
type modalView struct {
	InteractionID string          `json:"interaction_id"`
	CustomID      string          `json:"custom_id"`
	Title         string          `json:"title"`
	Components    json.RawMessage `json:"components"`
}

// answerModal writes the modal i was answered with.
func (s *Sandbox) answerModal(w http.ResponseWriter, i *discordsim.Interaction, resp discordsim.Response) {
	var m modalView
	if err := json.Unmarshal(resp.Data, &m); err != nil {
		writeJSON(w, http.StatusBadGateway, apiError{"the bot's modal: " + err.Error()})
		return
	}
	m.InteractionID = i.ID.String()
	writeJSON(w, http.StatusOK, invokeResult{Modal: &m, LatencyMS: resp.Latency.Milliseconds()})
}

// handleSubmit submits a modal: POST {user_id, guild_id, interaction_id,
// text: {custom_id: text}}.
func (s *Sandbox) handleSubmit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		actor
		InteractionID string            `json:"interaction_id"`
		Text          map[string]string `json:"text"`
	}
	user, _, ok := s.decodeActing(w, r, &req)
	if !ok {
		return
	}
	id, err := discordsim.ParseSnowflake(req.InteractionID)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"interaction_id is required"})
		return
	}
	s.interact(w, r, func(ctx context.Context) (*discordsim.Interaction, error) {
		return s.sim.SubmitModal(ctx, discordsim.ModalSubmit{UserID: user, Interaction: id, Text: req.Text})
	})
}

// handleAutocomplete asks the bot for suggestions while a command is
// typed: POST {user_id, guild_id, text}. A line with nothing to suggest
// for answers no choices, with the reason.
func (s *Sandbox) handleAutocomplete(w http.ResponseWriter, r *http.Request) {
	var req struct {
		actor
		Text string `json:"text"`
	}
	user, guild, ok := s.decodeActing(w, r, &req)
	if !ok {
		return
	}
	none := func(reason string) {
		writeJSON(w, http.StatusOK, map[string]any{"choices": []discordsim.CommandChoice{}, "reason": reason})
	}
	cmds, ok := s.listCommands(w, r)
	if !ok {
		return
	}
	t, err := parseTyping(req.Text, cmds, s.lookupUser)
	if err != nil {
		none(err.Error())
		return
	}
	inv := discordsim.Invocation{GuildID: guild, UserID: user, Command: t.Name, Subcommand: t.Subcommand, Options: map[string]any{}}
	for _, o := range t.Options {
		inv.Options[o.Name] = o.Value
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	i, err := s.sim.Autocomplete(ctx, discordsim.Typing{Invocation: inv, Focused: t.Focused, Partial: t.Partial})
	if err != nil {
		none(err.Error())
		return
	}
	choices, err := i.WaitChoices(ctx)
	if err != nil {
		writeJSON(w, http.StatusGatewayTimeout, apiError{"the bot did not suggest in time: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"choices": choices, "focused": t.Focused, "line": t.line()})
}
