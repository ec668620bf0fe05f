package discordsim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
)

// Typing is a user typing into an option with autocomplete: Discord sends
// an APPLICATION_COMMAND_AUTOCOMPLETE interaction with the options filled
// so far and the focused one's text as typed.
type Typing struct {
	// AppID is the application whose command it is (0: the default app).
	AppID   Snowflake
	GuildID Snowflake
	// ChannelID defaults to the guild's first text channel.
	ChannelID Snowflake
	UserID    Snowflake
	Command   string
	// SubcommandGroup and Subcommand select a nested subcommand.
	SubcommandGroup string
	Subcommand      string
	// Options are those already filled, typed as for Invoke; required
	// ones may be missing.
	Options map[string]any
	// Focused names the option being typed into; it must have
	// autocomplete enabled.
	Focused string
	// Partial is the text typed so far, sent as a string whatever the
	// option's type (a number being typed must still look like one).
	Partial string
}

// Autocomplete creates an APPLICATION_COMMAND_AUTOCOMPLETE interaction as
// Discord does while the user types into t.Focused. The bot may answer it
// only with an APPLICATION_COMMAND_AUTOCOMPLETE_RESULT, whose choices are
// checked against the focused option; WaitChoices returns them.
func (s *Sim) Autocomplete(ctx context.Context, t Typing) (*Interaction, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	a := s.defaultApp
	if t.AppID != 0 {
		a = s.apps[t.AppID]
	}
	if a == nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("discordsim: unknown application %s", t.AppID)
	}
	g, ch, err := s.interactionPlaceLocked(a, t.GuildID, t.ChannelID, t.UserID)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	cmd, err := chatCommandLocked(a, g, t.Command)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	inv := Invocation{Command: t.Command, SubcommandGroup: t.SubcommandGroup, Subcommand: t.Subcommand, Options: t.Options}
	f := &focus{name: t.Focused, partial: t.Partial}
	resolved := map[string]map[string]any{}
	opts, err := s.buildOptionsLocked(g, cmd.Options, inv, resolved, f)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	i := s.newInteractionLocked(a, InteractionAutocomplete, g, ch, t.UserID)
	i.CommandName = cmd.Name
	i.focused = &f.option
	body := s.interactionJSONLocked(i, g, ch, commandData(cmd, opts, resolved), nil)
	s.mu.Unlock()
	return s.deliverInteraction(a, i, body), nil
}

// WaitChoices waits for the answer to an autocomplete interaction and
// returns the choices it offered, or ErrInteractionFailed once the deadline
// passed without one.
func (i *Interaction) WaitChoices(ctx context.Context) ([]CommandChoice, error) {
	if i.Type != InteractionAutocomplete {
		return nil, fmt.Errorf("discordsim: interaction %s is not an autocomplete", i.ID)
	}
	if _, err := i.Wait(ctx); err != nil {
		return nil, err
	}
	i.mu.Lock()
	defer i.mu.Unlock()
	return slices.Clone(i.choices), nil
}

// driverAutocomplete answers POST /_sim/autocomplete: a user types into an
// option with autocomplete (Autocomplete), and the answer waits as the
// body's waitSpec asks; the choices offered are in the interaction's
// "choices".
func (s *Sim) driverAutocomplete(w http.ResponseWriter, r *http.Request) {
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
		Focused         string         `json:"focused"`
		Partial         string         `json:"partial"`
	}
	if !decodeDriver(w, r, &in) {
		return
	}
	i, err := s.Autocomplete(r.Context(), Typing{AppID: in.AppID, GuildID: in.GuildID, ChannelID: in.ChannelID, UserID: in.UserID,
		Command: in.Command, SubcommandGroup: in.SubcommandGroup, Subcommand: in.Subcommand, Options: in.Options,
		Focused: in.Focused, Partial: in.Partial})
	if err != nil {
		driverErr(w, 400, err)
		return
	}
	writeJSON(w, 200, s.waitResult(r.Context(), i, in.waitSpec))
}
