package discordsim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
)

// Typing is a user typing into an option with autocomplete: Discord sends
// an APPLICATION_COMMAND_AUTOCOMPLETE interaction with the options filled
// so far (Invocation.Options, typed as for Invoke; required ones may be
// missing) and the focused one's text as typed.
type Typing struct {
	Invocation
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
	return s.commandInteraction(ctx, t.Invocation, &focus{name: t.Focused, partial: t.Partial})
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
		invocationBody
		Focused string `json:"focused"`
		Partial string `json:"partial"`
	}
	if !decodeDriver(w, r, &in) {
		return
	}
	i, err := s.Autocomplete(r.Context(), Typing{Invocation: in.invocation(), Focused: in.Focused, Partial: in.Partial})
	if err != nil {
		driverErr(w, 400, err)
		return
	}
	writeJSON(w, 200, s.waitResult(r.Context(), i, in.waitSpec))
}
