package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/prometheus/client_golang/prometheus"
)

// Autocompleter suggests values for an option while the user types into it
// (Discord's autocomplete). partial is the text typed so far, as typed
// (digits for a number option). inv carries the options already filled
// that decode cleanly; required ones may be missing. The value the user
// finally sends is decoded and checked as any other, so suggestions are
// only a help.
type Autocompleter func(ctx context.Context, inv *Invocation, partial string) ([]Choice, error)

// Autocomplete limits: Discord takes at most 25 suggestions, each with a
// name of 1 to 100 characters and a string value of at most 100.
const (
	maxSuggestions   = 25
	maxSuggestionLen = 100
)

// autocompleteBudget bounds one suggestion: Discord shows nothing after
// its 3-second deadline, and a user typing wants them far sooner.
const autocompleteBudget = time.Second

// autocompleteLimit is the rate-limit key of autocomplete: keystrokes have
// their own budget, so that typing a name does not use up the command's.
const autocompleteLimit = "autocomplete"

// isAutocomplete tells whether ev is an autocomplete interaction.
func isAutocomplete(ev *discord.InteractionEvent) bool {
	_, ok := ev.Data.(*discord.AutocompleteInteraction)
	return ok
}

// autocomplete answers an autocomplete interaction with the focused
// option's suggestions. It needs no claim: it changes nothing, Discord does
// not retry it, and a second answer is merely refused. Every failure (an
// unknown option, the rate limit, a handler error or panic) answers with
// no suggestions, which Discord shows as "no options".
func (r *Router) autocomplete(ctx context.Context, log *slog.Logger, inv *Invocation, data *discord.AutocompleteInteraction) {
	start := time.Now()
	outcome := "ok"
	defer func() { r.autocompleteSeconds.WithLabelValues(outcome).Observe(time.Since(start).Seconds()) }()
	def, path, filled, partial, err := r.cfg.Catalog.focused(data)
	var choices []Choice
	switch {
	case err != nil:
		outcome = "unknown"
		log.Debug("autocomplete for no known option", "command", data.Name, "err", err)
	case !r.admitAutocomplete(ctx, log, inv):
		outcome = "rate_limited"
	default:
		inv.Command, inv.options = path, filled
		var ok bool
		if choices, ok = r.suggest(ctx, log, def, inv, partial); !ok {
			outcome = "error"
		}
	}
	resp := api.InteractionResponse{Type: api.AutocompleteResult, Data: &api.InteractionResponseData{Choices: apiChoices(def, choices)}}
	if err := r.responder(ctx).RespondInteraction(inv.ID, inv.Token, resp); err != nil {
		r.metrics.replyErrors.Inc()
		log.Debug("autocomplete answer failed", "err", err)
	}
}

// admitAutocomplete asks the limiter; a refused user gets no suggestions
// and no notice (a notice per keystroke would be noise).
func (r *Router) admitAutocomplete(ctx context.Context, log *slog.Logger, inv *Invocation) bool {
	if r.cfg.Limiter == nil || inv.User.Bot {
		return true
	}
	adm, err := r.cfg.Limiter.Admit(ctx, inv.User.ID, autocompleteLimit, inv.Created)
	if err != nil {
		log.Warn("rate limiter failed; admitting autocomplete", "err", err)
		return true
	}
	return adm.Allowed
}

// suggest runs def's Autocompleter within autocompleteBudget, recovering
// a panic; on any failure it returns nil and false.
func (r *Router) suggest(ctx context.Context, log *slog.Logger, def *Option, inv *Invocation, partial string) (out []Choice, ok bool) {
	ctx, cancel := context.WithTimeout(ctx, autocompleteBudget)
	defer cancel()
	defer func() {
		if p := recover(); p != nil {
			log.Error("autocomplete panic", "command", inv.Command, "option", def.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			out, ok = nil, false
		}
	}()
	choices, err := def.Autocomplete(ctx, inv, partial)
	if err != nil {
		log.Warn("autocomplete failed", "command", inv.Command, "option", def.Name, "err", err)
		return nil, false
	}
	return choices, true
}

// autocompleteOutcomes are the values of the outcome label of
// chopsticks_autocomplete_duration_seconds.
var autocompleteOutcomes = []string{"ok", "unknown", "rate_limited", "error"}

// newAutocompleteSeconds returns the autocomplete latency histogram,
// registered with reg when it is not nil. Its target is a p99 under 100 ms.
func newAutocompleteSeconds(reg prometheus.Registerer) (*prometheus.HistogramVec, error) {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "chopsticks_autocomplete_duration_seconds",
		Help:    "Time to answer an autocomplete interaction, by outcome (ok, unknown, rate_limited, error); every outcome answers, error and the others with no suggestions.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1},
	}, []string{"outcome"})
	for _, o := range autocompleteOutcomes {
		h.WithLabelValues(o)
	}
	if reg == nil {
		return h, nil
	}
	if err := reg.Register(h); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.HistogramVec); ok {
				return existing, nil
			}
		}
		return nil, err
	}
	return h, nil
}

// apiChoices turns choices into Discord's for def's type, within Discord's
// limits: at most 25, names clipped to 100 characters, and values of the
// wrong type or too long left out. The list is never nil: Discord requires
// the field.
func apiChoices(def *Option, choices []Choice) api.AutocompleteChoices {
	name := func(c Choice) string { return clip(c.Name, maxSuggestionLen) }
	typ := String
	if def != nil {
		typ = def.Type
	}
	switch typ {
	case Integer:
		out := api.AutocompleteIntegerChoices{}
		for _, c := range choices {
			if v, ok := c.Value.(int64); ok && len(out) < maxSuggestions && name(c) != "" {
				out = append(out, discord.IntegerChoice{Name: name(c), Value: int(v)})
			}
		}
		return out
	case Number:
		out := api.AutocompleteNumberChoices{}
		for _, c := range choices {
			if v, ok := c.Value.(float64); ok && len(out) < maxSuggestions && name(c) != "" {
				out = append(out, discord.NumberChoice{Name: name(c), Value: v})
			}
		}
		return out
	}
	out := api.AutocompleteStringChoices{}
	for _, c := range choices {
		if v, ok := c.Value.(string); ok && utf8.RuneCountInString(v) <= maxSuggestionLen && len(out) < maxSuggestions && name(c) != "" {
			out = append(out, discord.StringChoice{Name: name(c), Value: v})
		}
	}
	return out
}

// focused finds the option an autocomplete interaction is for and decodes
// the options already filled (those that do not decode are left out: they
// may be half typed). It returns the option's definition, the command
// path, the filled options and the focused text.
func (c *Catalog) focused(data *discord.AutocompleteInteraction) (*Option, string, map[string]value, string, error) {
	top, ok := c.commands[data.Name]
	if !ok {
		return nil, "", nil, "", fmt.Errorf("no command /%s", data.Name)
	}
	cmd, path, opts := top, top.Name, data.Options
	if len(top.Subcommands) > 0 {
		if len(opts) != 1 || opts[0].Type != discord.SubcommandOptionType {
			return nil, "", nil, "", fmt.Errorf("/%s without a subcommand", top.Name)
		}
		cmd = nil
		for _, s := range top.Subcommands {
			if s.Name == opts[0].Name {
				cmd = s
			}
		}
		if cmd == nil {
			return nil, "", nil, "", fmt.Errorf("/%s has no subcommand %q", top.Name, opts[0].Name)
		}
		path, opts = top.Name+" "+cmd.Name, opts[0].Options
	}
	var def *Option
	var partial string
	filled := map[string]value{}
	for _, o := range opts {
		i := slices.IndexFunc(cmd.Options, func(d Option) bool { return d.Name == o.Name })
		if i < 0 {
			continue
		}
		d := &cmd.Options[i]
		if o.Focused {
			def, partial = d, o.String()
			continue
		}
		if v, err := decodeValue(d, discord.CommandInteractionOption{Type: o.Type, Name: o.Name, Value: o.Value}); err == nil {
			filled[o.Name] = v
		}
	}
	if def == nil || def.Autocomplete == nil {
		return nil, "", nil, "", fmt.Errorf("/%s has no focused option with autocomplete", path)
	}
	return def, path, filled, partial, nil
}

// candidate is a suggestion before ranking: the choice, and the texts the
// user's typing is matched against (a name and a key, say).
type candidate struct {
	choice Choice
	texts  []string
}

// rank orders candidates for partial: those with a text starting with it
// first, then those with a text containing it, each group in the given
// order; the rest are left out. Case and surrounding spaces are ignored,
// and "_" in a text matches a space. At most 25 are returned.
func rank(partial string, cands []candidate) []Choice {
	p := strings.ToLower(strings.TrimSpace(partial))
	var prefix, inside []Choice
	for _, c := range cands {
		best := 2
		for _, t := range c.texts {
			t = strings.ToLower(t)
			switch {
			case strings.HasPrefix(t, p) || strings.HasPrefix(strings.ReplaceAll(t, "_", " "), p):
				best = 0
			case best > 1 && (strings.Contains(t, p) || strings.Contains(strings.ReplaceAll(t, "_", " "), p)):
				best = 1
			}
		}
		switch {
		case best == 0 && len(prefix) < maxSuggestions:
			prefix = append(prefix, c.choice)
		case best == 1 && len(inside) < maxSuggestions:
			inside = append(inside, c.choice)
		}
	}
	out := append(prefix, inside...)
	return out[:min(len(out), maxSuggestions)]
}

// partialInt reads partial as a whole number being typed; ok is false for
// empty or non-numeric text.
func partialInt(partial string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(partial), 10, 64)
	return n, err == nil
}

// checkAutocomplete applies Discord's rules to an option with
// autocomplete: only String, Integer and Number options take it, and
// never together with choices.
func checkAutocomplete(o Option) error {
	if o.Autocomplete == nil {
		return nil
	}
	if o.Type != String && o.Type != Integer && o.Type != Number {
		return fmt.Errorf("autocomplete is for text and number options only")
	}
	if len(o.Choices) > 0 {
		return fmt.Errorf("autocomplete and choices cannot be combined")
	}
	return nil
}
