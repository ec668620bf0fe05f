package commands

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/diamondburned/arikawa/v3/utils/json/option"

	"github.com/chopsticks-bot/chopsticks/refusal"
)

// nameRE is Discord's rule for command and option names (lower case).
var nameRE = regexp.MustCompile(`^[-_\p{Ll}\p{N}\p{Lo}]{1,32}$`)

// Catalog is the set of commands and button handlers the bot serves.
type Catalog struct {
	commands   map[string]*Command
	order      []string
	components map[string]*Component
}

// NewCatalog checks every definition against Discord's limits and returns
// the catalog, or an error naming the first bad definition.
func NewCatalog(cmds []*Command, comps []*Component) (*Catalog, error) {
	c := &Catalog{commands: map[string]*Command{}, components: map[string]*Component{}}
	if len(cmds) > 100 {
		return nil, fmt.Errorf("%d commands: Discord allows 100", len(cmds))
	}
	for _, cmd := range cmds {
		if err := checkCommand(cmd, 0); err != nil {
			return nil, err
		}
		if _, dup := c.commands[cmd.Name]; dup {
			return nil, fmt.Errorf("command /%s defined twice", cmd.Name)
		}
		c.commands[cmd.Name] = cmd
		c.order = append(c.order, cmd.Name)
	}
	for _, comp := range comps {
		if comp.Prefix == "" || strings.Contains(comp.Prefix, ":") || comp.Run == nil {
			return nil, fmt.Errorf("component %q: a prefix without ':' and a handler are required", comp.Prefix)
		}
		if _, dup := c.components[comp.Prefix]; dup {
			return nil, fmt.Errorf("component prefix %q defined twice", comp.Prefix)
		}
		c.components[comp.Prefix] = comp
	}
	return c, nil
}

func checkCommand(cmd *Command, depth int) error {
	where := "/" + cmd.Name
	if !nameRE.MatchString(cmd.Name) {
		return fmt.Errorf("command %q: name must be 1-32 lower-case letters, digits, '-' or '_'", cmd.Name)
	}
	if n := utf8.RuneCountInString(cmd.Description); n < 1 || n > 100 {
		return fmt.Errorf("%s: description must be 1-100 characters", where)
	}
	if len(cmd.Subcommands) > 0 {
		if depth > 0 {
			return fmt.Errorf("%s: subcommands nest one level here", where)
		}
		if len(cmd.Options) > 0 || cmd.Run != nil {
			return fmt.Errorf("%s: a command with subcommands has no options or handler of its own", where)
		}
		if len(cmd.Subcommands) > 25 {
			return fmt.Errorf("%s: more than 25 subcommands", where)
		}
		seen := map[string]bool{}
		for _, sub := range cmd.Subcommands {
			if seen[sub.Name] {
				return fmt.Errorf("%s: subcommand %s defined twice", where, sub.Name)
			}
			seen[sub.Name] = true
			if err := checkCommand(sub, depth+1); err != nil {
				return fmt.Errorf("/%s %w", cmd.Name, err)
			}
		}
		return nil
	}
	if cmd.Run == nil {
		return fmt.Errorf("%s: no handler", where)
	}
	if len(cmd.Options) > 25 {
		return fmt.Errorf("%s: more than 25 options", where)
	}
	seen := map[string]bool{}
	optional := false
	for _, o := range cmd.Options {
		if !nameRE.MatchString(o.Name) {
			return fmt.Errorf("%s option %q: bad name", where, o.Name)
		}
		if seen[o.Name] {
			return fmt.Errorf("%s option %s defined twice", where, o.Name)
		}
		seen[o.Name] = true
		if n := utf8.RuneCountInString(o.Description); n < 1 || n > 100 {
			return fmt.Errorf("%s option %s: description must be 1-100 characters", where, o.Name)
		}
		if o.Required && optional {
			return fmt.Errorf("%s option %s: required options come before optional ones", where, o.Name)
		}
		optional = optional || !o.Required
		switch o.Type {
		case String, Integer, Boolean, User, Channel, Number:
		default:
			return fmt.Errorf("%s option %s: unsupported type %d", where, o.Name, o.Type)
		}
		if len(o.Choices) > 25 {
			return fmt.Errorf("%s option %s: more than 25 choices", where, o.Name)
		}
		if err := checkAutocomplete(o); err != nil {
			return fmt.Errorf("%s option %s: %w", where, o.Name, err)
		}
		for _, ch := range o.Choices {
			ok := false
			switch ch.Value.(type) {
			case string:
				ok = o.Type == String
			case int64:
				ok = o.Type == Integer
			}
			if !ok {
				return fmt.Errorf("%s option %s: choice %q has a value of the wrong type", where, o.Name, ch.Name)
			}
		}
	}
	return nil
}

// Lookup returns the command or subcommand at path ("bank deposit").
func (c *Catalog) Lookup(path string) (*Command, bool) {
	name, sub, _ := strings.Cut(path, " ")
	cmd, ok := c.commands[name]
	if !ok || sub == "" {
		return cmd, ok && len(cmd.Subcommands) == 0
	}
	for _, s := range cmd.Subcommands {
		if s.Name == sub {
			return s, true
		}
	}
	return nil, false
}

// component returns the handler for a button's custom ID and the fields after its prefix.
func (c *Catalog) component(customID string) (*Component, []string, bool) {
	parts := strings.Split(customID, ":")
	comp, ok := c.components[parts[0]]
	return comp, parts[1:], ok
}

// Commands returns the top-level commands in definition order.
func (c *Catalog) Commands() []*Command {
	out := make([]*Command, len(c.order))
	for i, name := range c.order {
		out[i] = c.commands[name]
	}
	return out
}

// Names returns every top-level command name, sorted, for bounded metric labels.
func (c *Catalog) Names() []string {
	names := append([]string(nil), c.order...)
	sort.Strings(names)
	return names
}

// Definitions returns the catalog as Discord's command-creation payloads.
func (c *Catalog) Definitions() []api.CreateCommandData {
	defs := make([]api.CreateCommandData, 0, len(c.order))
	for _, cmd := range c.Commands() {
		d := api.CreateCommandData{Name: cmd.Name, Description: cmd.Description, Type: discord.ChatInputCommand}
		if len(cmd.Subcommands) > 0 {
			for _, sub := range cmd.Subcommands {
				d.Options = append(d.Options, &discord.SubcommandOption{
					OptionName: sub.Name, Description: sub.Description, Options: optionValues(sub.Options),
				})
			}
		} else {
			for _, v := range optionValues(cmd.Options) {
				d.Options = append(d.Options, v)
			}
		}
		defs = append(defs, d)
	}
	return defs
}

func optionValues(opts []Option) []discord.CommandOptionValue {
	out := make([]discord.CommandOptionValue, 0, len(opts))
	for _, o := range opts {
		out = append(out, optionValue(o))
	}
	return out
}

func optionValue(o Option) discord.CommandOptionValue {
	switch o.Type {
	case String:
		v := &discord.StringOption{OptionName: o.Name, Description: o.Description, Required: o.Required, Autocomplete: o.Autocomplete != nil}
		for _, ch := range o.Choices {
			v.Choices = append(v.Choices, discord.StringChoice{Name: ch.Name, Value: ch.Value.(string)})
		}
		if o.MinLength > 0 {
			v.MinLength = option.NewInt(o.MinLength)
		}
		if o.MaxLength > 0 {
			v.MaxLength = option.NewInt(o.MaxLength)
		}
		return v
	case Integer:
		v := &discord.IntegerOption{OptionName: o.Name, Description: o.Description, Required: o.Required, Autocomplete: o.Autocomplete != nil}
		for _, ch := range o.Choices {
			v.Choices = append(v.Choices, discord.IntegerChoice{Name: ch.Name, Value: int(ch.Value.(int64))})
		}
		if o.Min != nil {
			v.Min = option.NewInt(int(*o.Min))
		}
		if o.Max != nil {
			v.Max = option.NewInt(int(*o.Max))
		}
		return v
	case Number:
		v := &discord.NumberOption{OptionName: o.Name, Description: o.Description, Required: o.Required, Autocomplete: o.Autocomplete != nil}
		if o.Min != nil {
			v.Min = option.NewFloat(*o.Min)
		}
		if o.Max != nil {
			v.Max = option.NewFloat(*o.Max)
		}
		return v
	case Boolean:
		return &discord.BooleanOption{OptionName: o.Name, Description: o.Description, Required: o.Required}
	case User:
		return &discord.UserOption{OptionName: o.Name, Description: o.Description, Required: o.Required}
	case Channel:
		return &discord.ChannelOption{OptionName: o.Name, Description: o.Description, Required: o.Required}
	}
	return nil
}

// errBadOptions is the code of every option-decoding error.
var errBadOptions = refusal.New("command_options", "Those options are not valid for this command.")
