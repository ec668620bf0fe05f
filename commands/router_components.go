package commands

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/diamondburned/arikawa/v3/utils/json/option"
)

// The router's side of message components and modals: what a select or a
// submitted modal carries, the component that handles it, the claim of a
// Once component's operation, and the MODAL response.

// OnceClaimer claims an operation key once across the cluster, for
// Invocation.Once; *RedisClaimer is one. With a Claimer that is not one,
// Once admits every press, leaving handlers to their own idempotence.
type OnceClaimer interface {
	// ClaimOnce returns true the first time it is called for key.
	ClaimOnce(ctx context.Context, key, holder string) (bool, error)
	// ReleaseOnce forgets key's claim, so that the operation may run again.
	ReleaseOnce(ctx context.Context, key string) error
}

// selectValues returns the values picked in a select menu of any type, as
// strings (IDs for the user, role, mentionable and channel selects), or
// nil for a button.
func selectValues(data discord.ComponentInteraction) []string {
	ids := func(n int, at func(int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = at(i)
		}
		return out
	}
	switch d := data.(type) {
	case *discord.StringSelectInteraction:
		return d.Values
	case *discord.UserSelectInteraction:
		return ids(len(d.Values), func(i int) string { return d.Values[i].String() })
	case *discord.RoleSelectInteraction:
		return ids(len(d.Values), func(i int) string { return d.Values[i].String() })
	case *discord.MentionableSelectInteraction:
		return ids(len(d.Values), func(i int) string { return d.Values[i].String() })
	case *discord.ChannelSelectInteraction:
		return ids(len(d.Values), func(i int) string { return d.Values[i].String() })
	}
	return nil
}

// modalFields returns the text a submitted modal's inputs hold, by custom
// ID. The bot's modals put each input in its own action row (see
// modalResponse), which is what Discord sends back.
func modalFields(comps discord.ContainerComponents) map[string]string {
	out := map[string]string{}
	for _, c := range comps {
		row, ok := c.(*discord.ActionRowComponent)
		if !ok {
			continue
		}
		for _, ic := range *row {
			if in, ok := ic.(*discord.TextInputComponent); ok {
				out[string(in.CustomID)] = in.Value
			}
		}
	}
	return out
}

// componentCommand finds the component that handles inv.CustomID, fills
// inv.Command and inv.Args, lets the handler claim its operation with
// Once, and returns the command to run.
func (r *Router) componentCommand(ctx context.Context, log *slog.Logger, inv *Invocation) (*Command, error) {
	comp, args, ok := r.cfg.Catalog.component(inv.CustomID)
	if !ok {
		inv.Command = "unknown"
		return nil, Errorf("That button has expired.")
	}
	inv.Command, inv.Args = comp.Prefix, args
	inv.once = func(ctx context.Context) error {
		if !r.claimOnce(ctx, log, inv) {
			return errAlreadyUsed
		}
		inv.onceHeld = true
		return nil
	}
	return &Command{Name: comp.Prefix, Run: comp.Run, Writes: comp.Writes}, nil
}

// Once claims, across the cluster, the operation of a button press or a
// modal submit (OperationID: the prefix and the first argument of the
// custom ID), and refuses every later claim: a double click on one
// rendering, or Confirm after Cancel when both share the first argument.
// A handler calls it after its own checks (a stranger's press must not
// use the claim up). The claim is dropped again when the handler then
// returns an error (a refusal or a failure changed nothing), so that the
// press can be tried again; an operation behind it that may have been
// applied must be idempotent by OperationID, as economy operations are.
// For a slash command it does nothing: the interaction claim covers it.
func (inv *Invocation) Once(ctx context.Context) error {
	if inv.once == nil {
		return nil
	}
	return inv.once(ctx)
}

// onceKey is the claim key of an operation for Invocation.Once.
func onceKey(inv *Invocation) string { return inv.OperationID() }

// claimOnce claims inv's operation for Invocation.Once. It answers true
// when the operation may run: claimed now, or the claim store is
// unavailable (as for the interaction claim, the effect behind a Once
// component is idempotent by its operation ID).
func (r *Router) claimOnce(ctx context.Context, log *slog.Logger, inv *Invocation) bool {
	oc, ok := r.cfg.Claimer.(OnceClaimer)
	if !ok {
		return true
	}
	claimed, err := oc.ClaimOnce(ctx, onceKey(inv), fmt.Sprintf("%s/%s", r.cfg.NodeID, inv.ID))
	if err != nil {
		log.Warn("once claim unavailable; running anyway", "err", err)
		r.metrics.claimErrors.Inc()
		return true
	}
	return claimed
}

// releaseOnce forgets an operation's claim after its handler returned an
// error, so that the user can press again.
func (r *Router) releaseOnce(ctx context.Context, log *slog.Logger, inv *Invocation) {
	if oc, ok := r.cfg.Claimer.(OnceClaimer); ok {
		if err := oc.ReleaseOnce(ctx, onceKey(inv)); err != nil {
			log.Warn("once claim not released", "err", err)
		}
	}
}

// errAlreadyUsed answers the second press of a Once component.
var errAlreadyUsed = Errorf("That was already done: these buttons work once.")

// modalResponse is the MODAL response that opens m: each text input in its
// own action row. Labels (type 18) are the newer layout, but the gateway
// library cannot decode their submission, and Discord still takes rows.
func modalResponse(m *Modal) api.InteractionResponse {
	rows := make(discord.ContainerComponents, 0, len(m.Inputs))
	for _, in := range m.Inputs {
		c := &discord.TextInputComponent{
			CustomID: discord.ComponentID(in.CustomID), Label: in.Label, Placeholder: in.Placeholder,
			Value: in.Value, Required: in.Required, Style: discord.TextInputShortStyle,
		}
		if in.Paragraph {
			c.Style = discord.TextInputParagraphStyle
		}
		if in.MinLength > 0 || in.MaxLength > 0 {
			hi := in.MaxLength
			if hi == 0 {
				hi = 4000
			}
			c.LengthLimits = [2]int{in.MinLength, hi}
		}
		rows = append(rows, &discord.ActionRowComponent{c})
	}
	return api.InteractionResponse{Type: api.ModalResponse, Data: &api.InteractionResponseData{
		CustomID: option.NewNullableString(m.CustomID), Title: option.NewNullableString(m.Title), Components: &rows,
	}}
}
