package sandbox

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/diamondburned/arikawa/v3/discord"
)

// typedOption is an option value typed as Discord sends it.
type typedOption struct {
	Name  string
	Type  discord.CommandOptionType
	Value any
}

// parsedCommand is a command line the playground parsed.
type parsedCommand struct {
	Name       string
	Subcommand string
	Options    []typedOption
}

// splitArgs splits a command line on spaces, keeping "quoted text" whole.
func splitArgs(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQuote, have := false, false
	for _, r := range s {
		switch {
		case r == '"':
			inQuote, have = !inQuote, true
		case r == ' ' && !inQuote:
			if have {
				out = append(out, cur.String())
				cur.Reset()
				have = false
			}
		default:
			cur.WriteRune(r)
			have = true
		}
	}
	if inQuote {
		return nil, fmt.Errorf("a quote is not closed")
	}
	if have {
		out = append(out, cur.String())
	}
	return out, nil
}

// parseCommand parses text such as `/pay user:bob amount:1.5k` against the
// registered commands; users are found by name with lookupUser.
func parseCommand(text string, cmds []discord.Command, lookupUser func(string) (discord.UserID, bool)) (parsedCommand, error) {
	args, err := splitArgs(strings.TrimSpace(text))
	if err != nil {
		return parsedCommand{}, err
	}
	if len(args) == 0 {
		return parsedCommand{}, fmt.Errorf("type a command, such as /ping")
	}
	name := strings.ToLower(strings.TrimPrefix(args[0], "/"))
	var cmd *discord.Command
	for i := range cmds {
		if cmds[i].Name == name {
			cmd = &cmds[i]
		}
	}
	if cmd == nil {
		return parsedCommand{}, fmt.Errorf("/%s is not a registered command", name)
	}
	pc := parsedCommand{Name: name}
	args = args[1:]
	opts := cmd.Options
	if len(opts) > 0 {
		if _, isSub := opts[0].(*discord.SubcommandOption); isSub {
			if len(args) == 0 {
				return pc, fmt.Errorf("/%s needs a subcommand", name)
			}
			var sub *discord.SubcommandOption
			for _, o := range opts {
				if so, ok := o.(*discord.SubcommandOption); ok && so.OptionName == strings.ToLower(args[0]) {
					sub = so
				}
			}
			if sub == nil {
				return pc, fmt.Errorf("/%s has no subcommand %q", name, args[0])
			}
			pc.Subcommand = sub.OptionName
			args = args[1:]
			opts = nil
			for _, v := range sub.Options {
				opts = append(opts, v)
			}
		}
	}
	type def struct {
		name     string
		typ      discord.CommandOptionType
		required bool
	}
	var defs []def
	for _, o := range opts {
		defs = append(defs, def{o.Name(), o.Type(), required(o)})
	}
	used := map[string]bool{}
	next := 0
	named := func(a string) (*def, string) {
		if k, v, ok := strings.Cut(a, ":"); ok {
			for i := range defs {
				if defs[i].name == strings.ToLower(k) {
					return &defs[i], v
				}
			}
		}
		return nil, a
	}
	// wanted is how many of the required options after defs[k] are still
	// to be given a value by position.
	wanted := func(k int) int {
		n := 0
		for _, d := range defs[k+1:] {
			if !d.required || used[d.name] {
				continue
			}
			given := false
			for _, a := range args {
				if nd, _ := named(a); nd != nil && nd.name == d.name {
					given = true
				}
			}
			if !given {
				n++
			}
		}
		return n
	}
	// positional counts the words after args[i] that are not name:value.
	positional := func(i int) int {
		n := 0
		for _, a := range args[i+1:] {
			if nd, _ := named(a); nd == nil {
				n++
			}
		}
		return n
	}
	for i := 0; i < len(args); i++ {
		a := args[i]
		d, val := named(a)
		if d == nil {
			for next < len(defs) && used[defs[next].name] {
				next++
			}
			if next >= len(defs) {
				return pc, fmt.Errorf("too many values: %q has no option to go to", a)
			}
			d = &defs[next]
			// Unquoted words after a text option belong to it (/play lofi
			// beats), up to a word that fits the option after it, leaving
			// one word for each required option still to come
			// (/companion learn Worker Bot overtime).
			if d.typ == discord.StringOptionType {
				words := []string{val}
				for i+1 < len(args) {
					if nd, _ := named(args[i+1]); nd != nil || positional(i) <= wanted(next) {
						break
					}
					if next+1 < len(defs) && defs[next+1].typ != discord.StringOptionType {
						if _, err := typedValue(defs[next+1].typ, args[i+1], lookupUser); err == nil {
							break
						}
					}
					i++
					words = append(words, args[i])
				}
				val = strings.Join(words, " ")
			}
		}
		used[d.name] = true
		v, err := typedValue(d.typ, val, lookupUser)
		if err != nil {
			return pc, fmt.Errorf("option %s: %w", d.name, err)
		}
		pc.Options = append(pc.Options, typedOption{Name: d.name, Type: d.typ, Value: v})
	}
	return pc, nil
}

// typedValue converts text to the JSON value Discord sends for typ. It
// passes numbers through loosely, so that the bot's own validation is what
// the user sees for out-of-range values.
func typedValue(typ discord.CommandOptionType, s string, lookupUser func(string) (discord.UserID, bool)) (any, error) {
	switch typ {
	case discord.IntegerOptionType:
		i, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a whole number", s)
		}
		return i, nil
	case discord.NumberOptionType:
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		return f, nil
	case discord.BooleanOptionType:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not true or false", s)
		}
		return b, nil
	case discord.UserOptionType:
		s = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(s, "<@"), "@"), ">")
		if id, ok := lookupUser(s); ok {
			return id.String(), nil
		}
		return nil, fmt.Errorf("no user %q here", s)
	default:
		return s, nil
	}
}

// usage renders a command for the playground's help list.
func usage(cmd discord.Command) []string {
	var out []string
	line := func(prefix string, opts []discord.CommandOptionValue) string {
		parts := []string{prefix}
		for _, o := range opts {
			parts = append(parts, "<"+o.Name()+">")
		}
		return strings.Join(parts, " ")
	}
	if len(cmd.Options) > 0 {
		if _, isSub := cmd.Options[0].(*discord.SubcommandOption); isSub {
			for _, o := range cmd.Options {
				if so, ok := o.(*discord.SubcommandOption); ok {
					out = append(out, line(cmd.Name+" "+so.OptionName, so.Options))
				}
			}
			return out
		}
	}
	var vals []discord.CommandOptionValue
	for _, o := range cmd.Options {
		if v, ok := o.(discord.CommandOptionValue); ok {
			vals = append(vals, v)
		}
	}
	return []string{line(cmd.Name, vals)}
}

// required tells whether a command option must be given.
func required(o discord.CommandOption) bool {
	switch o := o.(type) {
	case *discord.StringOption:
		return o.Required
	case *discord.IntegerOption:
		return o.Required
	case *discord.NumberOption:
		return o.Required
	case *discord.BooleanOption:
		return o.Required
	case *discord.UserOption:
		return o.Required
	case *discord.ChannelOption:
		return o.Required
	case *discord.RoleOption:
		return o.Required
	case *discord.MentionableOption:
		return o.Required
	case *discord.AttachmentOption:
		return o.Required
	}
	return false
}
