package sandbox

import (
	"fmt"
	"strings"

	"github.com/diamondburned/arikawa/v3/discord"
)

// typing is a command line being typed whose last word is the value typed
// into an option with autocomplete: the command, what is filled before it,
// the focused option and its partial value.
type typing struct {
	parsedCommand
	Focused string
	Partial string
}

// parseTyping reads text such as `/sell item:iron p` or `/sell iron p`: the
// option being typed is the one named in the last name:value word, or else
// the first option after the command (and subcommand), holding every word
// after them. It fails when that option has no autocomplete.
func parseTyping(text string, cmds []discord.Command, lookupUser func(string) (discord.UserID, bool)) (typing, error) {
	trailing := strings.HasSuffix(text, " ")
	args, err := splitArgs(strings.TrimSpace(text))
	if err != nil || len(args) == 0 {
		return typing{}, fmt.Errorf("nothing to complete")
	}
	name := strings.ToLower(strings.TrimPrefix(args[0], "/"))
	var cmd *discord.Command
	for i := range cmds {
		if cmds[i].Name == name {
			cmd = &cmds[i]
		}
	}
	if cmd == nil {
		return typing{}, fmt.Errorf("/%s is not a registered command", name)
	}
	head := 1
	var opts []discord.CommandOptionValue
	sub := ""
	for _, o := range cmd.Options {
		if v, ok := o.(discord.CommandOptionValue); ok {
			opts = append(opts, v)
		}
		if so, ok := o.(*discord.SubcommandOption); ok && len(args) > 1 && so.OptionName == strings.ToLower(args[1]) {
			sub, opts, head = so.OptionName, so.Options, 2
		}
	}
	if len(args) < head || (len(args) == head && !trailing) {
		return typing{}, fmt.Errorf("nothing typed into an option yet")
	}
	t := typing{}
	last := ""
	if !trailing {
		last = args[len(args)-1]
	}
	if k, v, ok := strings.Cut(last, ":"); ok && findOption(opts, strings.ToLower(k)) != nil {
		before := strings.Join(args[:len(args)-1], " ")
		if t.parsedCommand, err = parseCommand(before, cmds, lookupUser); err != nil {
			return typing{}, err
		}
		t.Focused, t.Partial = strings.ToLower(k), v
	} else {
		if len(opts) == 0 {
			return typing{}, fmt.Errorf("/%s has no options", name)
		}
		t.parsedCommand = parsedCommand{Name: name, Subcommand: sub}
		t.Focused, t.Partial = opts[0].Name(), strings.Join(args[head:], " ")
		if trailing && t.Partial != "" {
			t.Partial += " "
		}
	}
	if !autocompletes(findOption(opts, t.Focused)) {
		return typing{}, fmt.Errorf("option %s has no suggestions", t.Focused)
	}
	return t, nil
}

func findOption(opts []discord.CommandOptionValue, name string) discord.CommandOptionValue {
	for _, o := range opts {
		if o.Name() == name {
			return o
		}
	}
	return nil
}

// autocompletes reports whether o suggests values while typed.
func autocompletes(o discord.CommandOptionValue) bool {
	switch v := o.(type) {
	case *discord.StringOption:
		return v.Autocomplete
	case *discord.IntegerOption:
		return v.Autocomplete
	case *discord.NumberOption:
		return v.Autocomplete
	}
	return false
}

// line renders the command and the options filled before the focused one,
// as the playground's command box takes them.
func (t typing) line() string {
	parts := []string{"/" + t.Name}
	if t.Subcommand != "" {
		parts = append(parts, t.Subcommand)
	}
	for _, o := range t.Options {
		v := fmt.Sprint(o.Value)
		if strings.ContainsAny(v, " \t") {
			v = `"` + v + `"`
		}
		parts = append(parts, o.Name+":"+v)
	}
	return strings.Join(parts, " ")
}
