package loadgen

import (
	"fmt"
	"math/rand"

	"github.com/chopsticks-bot/chopsticks/discordsim"
)

// Step is one kind of interaction in a mix, with its share of the load.
type Step struct {
	// Name labels the step in reports ("pay", "bank deposit").
	Name string
	// Weight is the step's share relative to the other steps.
	Weight int
	// Writes says the step changes state when it succeeds.
	Writes bool
	// Command, Subcommand and Options build the invocation. Options may
	// name the values "$other" (another member of the guild) and "$choice"
	// (a random one of the option's registered choices).
	Command    string
	Subcommand string
	Options    map[string]any
}

// DefaultMix is the economy mix players make: about half of it writes
// (daily, pay, work, gather, buy, deposit), the rest reads, with a little
// music and the game's boards, market and companions. New game commands
// join it as they land.
var DefaultMix = []Step{
	{Name: "balance", Weight: 24, Command: "balance"},
	{Name: "inventory", Weight: 8, Command: "inventory"},
	{Name: "shop", Weight: 6, Command: "shop"},
	{Name: "collection", Weight: 4, Command: "collection"},
	{Name: "queue", Weight: 3, Command: "queue"},
	{Name: "nowplaying", Weight: 2, Command: "nowplaying"},
	{Name: "leaderboard", Weight: 2, Command: "leaderboard", Options: map[string]any{"board": "$choice"}},
	{Name: "achievements", Weight: 1, Command: "achievements"},
	{Name: "market browse", Weight: 2, Command: "market", Subcommand: "browse"},
	{Name: "market price", Weight: 1, Command: "market", Subcommand: "price", Options: map[string]any{"item": "coffee"}},
	{Name: "companion list", Weight: 1, Command: "companion", Subcommand: "list"},
	// Load users are in no voice channel: /say answers that privately, which
	// still runs its checks and the music agent's lookup.
	{Name: "say", Weight: 1, Command: "say", Options: map[string]any{"text": "hello everyone"}},
	{Name: "daily", Weight: 8, Writes: true, Command: "daily"},
	{Name: "pay", Weight: 14, Writes: true, Command: "pay", Options: map[string]any{"user": "$other", "amount": "1"}},
	{Name: "work", Weight: 10, Writes: true, Command: "work", Options: map[string]any{"job": "$choice"}},
	{Name: "gather", Weight: 9, Writes: true, Command: "gather"},
	// /buy autocompletes its item rather than offering fixed choices: the
	// cheapest shop item of the default catalogue stands for what players pick.
	{Name: "buy", Weight: 6, Writes: true, Command: "buy", Options: map[string]any{"item": "coffee", "quantity": 1}},
	{Name: "bank deposit", Weight: 6, Writes: true, Command: "bank", Subcommand: "deposit", Options: map[string]any{"amount": "1"}},
}

// WriteShare is the share of a mix's weight that writes.
func WriteShare(mix []Step) float64 {
	var all, writes int
	for _, s := range mix {
		all += s.Weight
		if s.Writes {
			writes += s.Weight
		}
	}
	if all == 0 {
		return 0
	}
	return float64(writes) / float64(all)
}

// picker draws steps by weight.
type picker struct {
	steps []Step
	cum   []int
}

func newPicker(mix []Step) (*picker, error) {
	p := &picker{steps: mix}
	total := 0
	for _, s := range mix {
		if s.Weight < 0 || s.Command == "" {
			return nil, fmt.Errorf("loadgen: step %q needs a command and a weight of at least 0", s.Name)
		}
		total += s.Weight
		p.cum = append(p.cum, total)
	}
	if total == 0 {
		return nil, fmt.Errorf("loadgen: the mix has no weight")
	}
	return p, nil
}

func (p *picker) pick(r *rand.Rand) int {
	n := r.Intn(p.cum[len(p.cum)-1])
	for i, c := range p.cum {
		if n < c {
			return i
		}
	}
	return len(p.cum) - 1
}

// choices are the registered choices of each command option, read from
// discordsim, so that the mix sends values the bot accepts today.
type choices map[string][]any // "command/sub/option" -> values

func readChoices(sim *discordsim.Sim) choices {
	out := choices{}
	var walk func(prefix string, opts []discordsim.CommandOption)
	walk = func(prefix string, opts []discordsim.CommandOption) {
		for _, o := range opts {
			key := prefix + "/" + o.Name
			for _, c := range o.Choices {
				out[key] = append(out[key], c.Value)
			}
			walk(key, o.Options)
		}
	}
	for _, c := range sim.Commands(sim.AppID(), 0) {
		walk(c.Name, c.Options)
	}
	return out
}

// invocation builds the step's invocation for user in guild; other is
// another member of the guild (0 when there is none).
func (s Step) invocation(r *rand.Rand, ch choices, guild, user, other discordsim.Snowflake) (discordsim.Invocation, error) {
	inv := discordsim.Invocation{GuildID: guild, UserID: user, Command: s.Command, Subcommand: s.Subcommand}
	if len(s.Options) == 0 {
		return inv, nil
	}
	prefix := s.Command
	if s.Subcommand != "" {
		prefix += "/" + s.Subcommand
	}
	inv.Options = make(map[string]any, len(s.Options))
	for name, v := range s.Options {
		switch v {
		case "$other":
			if other == 0 {
				return inv, errNoOther
			}
			v = other
		case "$choice":
			cs := ch[prefix+"/"+name]
			if len(cs) == 0 {
				return inv, fmt.Errorf("loadgen: /%s option %s has no registered choices", prefix, name)
			}
			v = cs[r.Intn(len(cs))]
		}
		inv.Options[name] = v
	}
	return inv, nil
}
