package commands

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// /help by category: an overview with a category select; a category's page
// lists its commands with a command select; a command's page has its
// options, its rules (costs and cooldowns, from the notes) and examples.

// Custom ID prefixes of the help menu.
const (
	helpCatPrefix = "helpcat" // helpcat:<owner>             category select
	helpCmdPrefix = "helpcmd" // helpcmd:<owner>:<category>  command select
)

// colorHelp is the embed colour of /help.
const colorHelp discord.Color = 0x5865F2

// helpCategory is one section of /help.
type helpCategory struct {
	key, label, blurb string
	commands          []string
}

// helpCategories sorts the catalog's commands for /help; a command in none
// is listed under "More".
var helpCategories = []helpCategory{
	{"economy", "💰 Economy", "Earn, keep and move credits.", []string{"balance", "daily", "work", "pay", "bank", "cooldowns", "currencylog"}},
	{"items", "🎒 Items and shop", "Buy tools, gather finds, sell and show them off.", []string{"shop", "buy", "sell", "gather", "inventory", "use", "collection", "vault"}},
	{"trading", "🤝 Market and trade", "Trade with other players.", []string{"market", "trade"}},
	{"companions", "🤖 Companions", "Raise companions and battle with them.", []string{"companion", "battle"}},
	{"progress", "🏆 Progress", "Leaderboards and achievements.", []string{"leaderboard", "achievements"}},
	{"music", "🎵 Music", "Play music in your voice channel.", []string{"play", "nowplaying", "queue", "pause", "resume", "skip", "stop",
		"join", "leave", "volume", "seek", "loop", "shuffle", "remove", "filter"}},
	{"general", "ℹ️ General", "About the bot.", []string{"help", "ping"}},
}

// helpMore is the category of commands no category names.
var helpMore = helpCategory{key: "more", label: "➕ More", blurb: "Everything else."}

// HelpMenu is /help: with a command, that command's page; without, the
// categories with a select to browse them. Register HelpComponents with the
// same notes.
func HelpMenu(notes map[string]string) *Command {
	h := &helpMenu{notes: notes}
	return &Command{
		Name:        "help",
		Description: "Browse the commands by category, or explain one",
		Options: []Option{{
			Name: "command", Description: "A command to explain in detail", Type: String, MaxLength: 32,
		}},
		Ephemeral: true,
		Run:       h.help,
	}
}

// HelpComponents returns the help menu's selects.
func HelpComponents(notes map[string]string) []*Component {
	h := &helpMenu{notes: notes}
	return []*Component{{Prefix: helpCatPrefix, Run: h.category}, {Prefix: helpCmdPrefix, Run: h.command}}
}

type helpMenu struct{ notes map[string]string }

// categories returns the categories that hold a command of cat, with the
// commands cat has; "More" gathers the rest.
func (h *helpMenu) categories(cat *Catalog) []helpCategory {
	var out []helpCategory
	listed := map[string]bool{}
	for _, c := range helpCategories {
		var have []string
		for _, name := range c.commands {
			if _, ok := cat.commands[name]; ok {
				have = append(have, name)
			}
			listed[name] = true
		}
		if len(have) > 0 {
			c.commands = have
			out = append(out, c)
		}
	}
	more := helpMore
	for _, name := range cat.order {
		if !listed[name] {
			more.commands = append(more.commands, name)
		}
	}
	if len(more.commands) > 0 {
		out = append(out, more)
	}
	return out
}

func (h *helpMenu) help(ctx context.Context, inv *Invocation) (Reply, error) {
	cats := h.categories(inv.catalog)
	if name := strings.TrimPrefix(strings.TrimSpace(inv.String("command")), "/"); name != "" {
		name, _, _ = strings.Cut(name, " ") // "bank deposit" is on /bank's page
		cmd, ok := inv.catalog.commands[strings.ToLower(name)]
		if !ok {
			return Reply{}, Errorf("There is no command /%s. Run /help to browse them all.", name)
		}
		return h.commandPage(inv.User.ID, cats, cmd), nil
	}
	var b strings.Builder
	for _, c := range cats {
		fmt.Fprintf(&b, "**%s**: %s\n", c.label, c.blurb)
		names := make([]string, len(c.commands))
		for i, n := range c.commands {
			names[i] = "`/" + n + "`"
		}
		b.WriteString(strings.Join(names, " ") + "\n\n")
	}
	b.WriteString("Pick a category below, or run `/help command:<name>`.")
	r := Reply{Embeds: []discord.Embed{{Title: "Chopsticks commands", Description: b.String(), Color: colorHelp}}}
	r.Components = h.menu(inv.User.ID, cats, nil, "")
	return r, nil
}

// menu is the category select and, when c is set, its command select with
// cmd chosen.
func (h *helpMenu) menu(owner discord.UserID, cats []helpCategory, c *helpCategory, cmd string) discord.ContainerComponents {
	sel := &discord.StringSelectComponent{CustomID: discord.ComponentID(fmt.Sprintf("%s:%d", helpCatPrefix, owner)), Placeholder: "Choose a category"}
	for _, x := range cats {
		sel.Options = append(sel.Options, discord.SelectOption{Label: x.label, Value: x.key, Description: clip(x.blurb, 100), Default: c != nil && x.key == c.key})
	}
	rows := discord.ContainerComponents{&discord.ActionRowComponent{sel}}
	if c == nil {
		return rows
	}
	cmds := &discord.StringSelectComponent{CustomID: discord.ComponentID(fmt.Sprintf("%s:%d:%s", helpCmdPrefix, owner, c.key)), Placeholder: "Choose a command"}
	for _, name := range c.commands {
		if len(cmds.Options) == 25 {
			break
		}
		cmds.Options = append(cmds.Options, discord.SelectOption{Label: "/" + name, Value: name, Default: name == cmd})
	}
	return append(rows, &discord.ActionRowComponent{cmds})
}

// helpOwner checks a help select's owner argument against the presser.
func helpOwner(inv *Invocation) error {
	if len(inv.Args) == 0 || len(inv.Values) != 1 {
		return Errorf("That menu has expired. Run /help again.")
	}
	if inv.Args[0] != inv.User.ID.String() {
		return Errorf("This menu belongs to someone else; run /help yourself.")
	}
	return nil
}

func findCategory(cats []helpCategory, key string) *helpCategory {
	i := slices.IndexFunc(cats, func(c helpCategory) bool { return c.key == key })
	if i < 0 {
		return nil
	}
	return &cats[i]
}

func (h *helpMenu) category(ctx context.Context, inv *Invocation) (Reply, error) {
	if err := helpOwner(inv); err != nil {
		return Reply{}, err
	}
	cats := h.categories(inv.catalog)
	c := findCategory(cats, inv.Values[0])
	if c == nil {
		return Reply{}, Errorf("There is no such category. Run /help again.")
	}
	var b strings.Builder
	b.WriteString(c.blurb + "\n\n")
	for _, name := range c.commands {
		fmt.Fprintf(&b, "**/%s**: %s\n", name, inv.catalog.commands[name].Description)
	}
	r := Reply{Embeds: []discord.Embed{{Title: c.label, Description: b.String(), Color: colorHelp,
		Footer: &discord.EmbedFooter{Text: "Choose a command for its options, rules and examples."}}}}
	r.Components = h.menu(inv.User.ID, cats, c, "")
	return r, nil
}

func (h *helpMenu) command(ctx context.Context, inv *Invocation) (Reply, error) {
	if err := helpOwner(inv); err != nil {
		return Reply{}, err
	}
	cmd, ok := inv.catalog.commands[inv.Values[0]]
	if !ok || len(inv.Args) != 2 {
		return Reply{}, Errorf("That command is gone. Run /help again.")
	}
	return h.commandPage(inv.User.ID, h.categories(inv.catalog), cmd), nil
}

// commandPage is a command's page: description, options, notes (its
// costs, cooldowns and rules) and examples, with the menu of its category.
func (h *helpMenu) commandPage(owner discord.UserID, cats []helpCategory, cmd *Command) Reply {
	var c *helpCategory
	for i := range cats {
		if slices.Contains(cats[i].commands, cmd.Name) {
			c = &cats[i]
		}
	}
	desc := describe(cmd, h.notes[cmd.Name])
	desc += "\n\n**Examples**\n" + strings.Join(examples(cmd), "\n")
	r := Reply{Embeds: []discord.Embed{{Title: "/" + cmd.Name, Description: desc, Color: colorHelp}}}
	r.Components = h.menu(owner, cats, c, cmd.Name)
	return r
}

// examples returns a usage line per command or subcommand, its required
// options filled with sample values.
func examples(cmd *Command) []string {
	line := func(path string, opts []Option) string {
		var b strings.Builder
		b.WriteString("`/" + path)
		for _, o := range opts {
			if !o.Required {
				continue
			}
			fmt.Fprintf(&b, " %s:%s", o.Name, sampleValue(o))
		}
		return b.String() + "`"
	}
	if len(cmd.Subcommands) == 0 {
		return []string{line(cmd.Name, cmd.Options)}
	}
	var out []string
	for _, sub := range cmd.Subcommands {
		out = append(out, line(cmd.Name+" "+sub.Name, sub.Options))
	}
	return out
}

// sampleValue is an example value for o.
func sampleValue(o Option) string {
	if len(o.Choices) > 0 {
		return fmt.Sprint(o.Choices[0].Value)
	}
	switch o.Type {
	case User:
		return "@friend"
	case Channel:
		return "#general"
	case Boolean:
		return "true"
	case Integer, Number:
		if o.Min != nil && *o.Min > 1 {
			return fmt.Sprint(*o.Min)
		}
		return "1"
	}
	switch o.Name {
	case "amount":
		return "1.5k"
	case "item", "tool":
		return "pickaxe"
	case "query":
		return "lofi beats"
	case "time":
		return "1:30"
	}
	return "<" + o.Name + ">"
}

// GameHelp is EconomyHelp with the catalogue's numbers in the pages of
// /work (each job's pay and cooldown) and /gather (its cooldown and tools),
// so that /help answers "what does it pay, how often".
func GameHelp(cat *economy.Catalog) map[string]string {
	notes := EconomyHelp()
	var b strings.Builder
	b.WriteString("Jobs:\n")
	for _, j := range cat.Jobs {
		fmt.Fprintf(&b, "• **%s** (`%s`): %s to %s, once every %s\n", j.Name, j.Key, credits(j.MinPay), credits(j.MaxPay), span(j.Cooldown()))
	}
	b.WriteString("A work-pay boost from /shop and a companion's skill raise the pay. /cooldowns shows when each job is ready.")
	if _, ok := notes["work"]; !ok {
		notes["work"] = b.String()
	}
	var tools []string
	for _, it := range cat.Tools() {
		tools = append(tools, fmt.Sprintf("%s (%s, %d uses)", it.Name, credits(it.Price), it.Durability))
	}
	if _, ok := notes["gather"]; !ok {
		notes["gather"] = fmt.Sprintf("Once every %s, with a tool from /shop: %s. Each use wears the tool; finds go to /inventory and /collection.",
			span(time.Duration(cat.GatherCooldownSeconds)*time.Second), strings.Join(tools, ", "))
	}
	return notes
}

// span shows a cooldown as people say it: "45 s", "5 min", "2 h", "1 h 30 min".
func span(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d.Minutes()))
	case d%time.Hour == 0:
		return fmt.Sprintf("%d h", int(d.Hours()))
	}
	return fmt.Sprintf("%d h %d min", int(d.Hours()), int(d.Minutes())%60)
}
