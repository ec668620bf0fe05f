package commands

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/diamondburned/arikawa/v3/discord"
)

// decode resolves the command an interaction names and checks its options
// against the definition: unknown, missing, mistyped and out-of-range
// options are refused with a message for the user.
func (c *Catalog) decode(data *discord.CommandInteraction) (*Command, string, map[string]value, error) {
	top, ok := c.commands[data.Name]
	if !ok {
		return nil, "", nil, Explain(errBadOptions, fmt.Sprintf("I don't know the command /%s. Try /help.", data.Name))
	}
	cmd, path, opts := top, top.Name, data.Options
	if len(top.Subcommands) > 0 {
		if len(opts) != 1 || opts[0].Type != discord.SubcommandOptionType {
			return nil, "", nil, Explain(errBadOptions, fmt.Sprintf("/%s needs one of its subcommands: %s.", top.Name, subNames(top)))
		}
		sub := opts[0]
		cmd = nil
		for _, s := range top.Subcommands {
			if s.Name == sub.Name {
				cmd = s
			}
		}
		if cmd == nil {
			return nil, "", nil, Explain(errBadOptions, fmt.Sprintf("/%s has no subcommand %q; choose %s.", top.Name, sub.Name, subNames(top)))
		}
		path, opts = top.Name+" "+cmd.Name, sub.Options
	}
	values, err := decodeOptions(path, cmd.Options, opts)
	if err != nil {
		return nil, "", nil, err
	}
	return cmd, path, values, nil
}

func subNames(cmd *Command) string {
	names := make([]string, len(cmd.Subcommands))
	for i, s := range cmd.Subcommands {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

func decodeOptions(path string, defs []Option, given discord.CommandInteractionOptions) (map[string]value, error) {
	values := make(map[string]value, len(given))
	for _, g := range given {
		var def *Option
		for i := range defs {
			if defs[i].Name == g.Name {
				def = &defs[i]
			}
		}
		if def == nil {
			return nil, Explain(errBadOptions, fmt.Sprintf("/%s has no option %q.", path, g.Name))
		}
		if _, dup := values[g.Name]; dup {
			return nil, Explain(errBadOptions, fmt.Sprintf("Option %q was given twice.", g.Name))
		}
		v, err := decodeValue(def, g)
		if err != nil {
			return nil, err
		}
		values[g.Name] = v
	}
	for _, d := range defs {
		if _, ok := values[d.Name]; d.Required && !ok {
			return nil, Explain(errBadOptions, fmt.Sprintf("/%s needs the option %q (%s).", path, d.Name, d.Description))
		}
	}
	return values, nil
}

func decodeValue(def *Option, g discord.CommandInteractionOption) (value, error) {
	bad := func(format string, args ...any) (value, error) {
		return value{}, Explain(errBadOptions, fmt.Sprintf("Option %q: ", def.Name)+fmt.Sprintf(format, args...))
	}
	if OptionType(g.Type) != def.Type {
		return bad("expected a %s.", def.Type)
	}
	v := value{typ: def.Type}
	raw := strings.TrimSpace(string(g.Value))
	switch def.Type {
	case String:
		s, err := strconv.Unquote(raw)
		if err != nil || !utf8.ValidString(s) {
			return bad("expected text.")
		}
		n := utf8.RuneCountInString(s)
		if def.MinLength > 0 && n < def.MinLength {
			return bad("at least %d characters, please.", def.MinLength)
		}
		if def.MaxLength > 0 && n > def.MaxLength {
			return bad("at most %d characters, please.", def.MaxLength)
		}
		v.s = s
	case Integer:
		i, err := strconv.ParseInt(raw, 10, 64)
		if err != nil {
			// Discord sends integers as JSON numbers; a float or a huge
			// value cannot be a whole number within range.
			return bad("expected a whole number between %d and %d.", int64(math.MinInt64), int64(math.MaxInt64))
		}
		if (def.Min != nil && float64(i) < *def.Min) || (def.Max != nil && float64(i) > *def.Max) {
			return bad("must be %s.", rangeText(def))
		}
		v.i = i
	case Number:
		f, err := strconv.ParseFloat(raw, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return bad("expected a number.")
		}
		if (def.Min != nil && f < *def.Min) || (def.Max != nil && f > *def.Max) {
			return bad("must be %s.", rangeText(def))
		}
		v.f = f
	case Boolean:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return bad("expected true or false.")
		}
		v.b = b
	case User, Channel:
		s, err := strconv.Unquote(raw)
		if err != nil {
			s = raw
		}
		id, err := strconv.ParseUint(s, 10, 64)
		if err != nil || id == 0 {
			return bad("expected a %s.", def.Type)
		}
		v.id = discord.Snowflake(id)
	}
	if len(def.Choices) > 0 {
		ok := false
		for _, ch := range def.Choices {
			switch cv := ch.Value.(type) {
			case string:
				ok = ok || cv == v.s
			case int64:
				ok = ok || cv == v.i
			}
		}
		if !ok {
			names := make([]string, len(def.Choices))
			for i, ch := range def.Choices {
				names[i] = ch.Name
			}
			return bad("choose one of %s.", strings.Join(names, ", "))
		}
	}
	return v, nil
}

func rangeText(def *Option) string {
	f := func(x float64) string { return strconv.FormatFloat(x, 'f', -1, 64) }
	switch {
	case def.Min != nil && def.Max != nil:
		return "between " + f(*def.Min) + " and " + f(*def.Max)
	case def.Min != nil:
		return "at least " + f(*def.Min)
	default:
		return "at most " + f(*def.Max)
	}
}
