package commands

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"
)

// Ping is /ping: it answers with the time the interaction took to reach a
// handler, and which node and shard handled it.
func Ping() *Command {
	return &Command{
		Name:        "ping",
		Description: "Check that the bot is alive and see which node answered",
		Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			lag := time.Since(inv.ID.Time()).Round(time.Millisecond)
			return Reply{Content: fmt.Sprintf("Pong! %s from the interaction's creation; node %s, shard %d.", lag, inv.Node, inv.Shard)}, nil
		},
	}
}

// Help is /help: the catalog's commands with their descriptions and, for
// commands named in notes, a longer explanation.
func Help(notes map[string]string) *Command {
	return &Command{
		Name:        "help",
		Description: "List the commands and how they work",
		Options: []Option{{
			Name: "command", Description: "A command to explain in detail", Type: String, MaxLength: 32,
		}},
		Ephemeral: true,
		Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
			cat := inv.catalog
			if name := strings.TrimPrefix(strings.TrimSpace(inv.String("command")), "/"); name != "" {
				cmd, ok := cat.commands[name]
				if !ok {
					return Reply{}, Errorf("There is no command /%s. Run /help to see them all.", name)
				}
				return Reply{Embeds: []discord.Embed{{
					Title:       "/" + cmd.Name,
					Description: describe(cmd, notes[cmd.Name]),
					Color:       0x5865F2,
				}}}, nil
			}
			var b strings.Builder
			for _, cmd := range cat.Commands() {
				fmt.Fprintf(&b, "**/%s** %s\n", cmd.Name, cmd.Description)
			}
			b.WriteString("\nRun `/help command:<name>` for details.")
			return Reply{Embeds: []discord.Embed{{Title: "Chopsticks commands", Description: b.String(), Color: 0x5865F2}}}, nil
		},
	}
}

func describe(cmd *Command, note string) string {
	var b strings.Builder
	b.WriteString(cmd.Description)
	b.WriteString("\n")
	write := func(prefix string, opts []Option) {
		for _, o := range opts {
			req := "optional"
			if o.Required {
				req = "required"
			}
			fmt.Fprintf(&b, "%s`%s` (%s, %s): %s\n", prefix, o.Name, o.Type, req, o.Description)
		}
	}
	if len(cmd.Subcommands) > 0 {
		for _, sub := range cmd.Subcommands {
			fmt.Fprintf(&b, "\n**/%s %s**: %s\n", cmd.Name, sub.Name, sub.Description)
			write("  ", sub.Options)
		}
	} else {
		write("", cmd.Options)
	}
	if note != "" {
		b.WriteString("\n")
		b.WriteString(note)
	}
	return b.String()
}
