package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/chopsticks-bot/chopsticks/discordapi"
	"github.com/chopsticks-bot/chopsticks/node"
)

func init() {
	subcommands["commands"] = subcommand{summary: "commands deploy [--guild ID]: register slash commands", run: runCommands}
}

func runCommands(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "deploy" {
		return usagef("usage: chopsticks commands deploy [--guild ID] (global unless --guild is given)")
	}
	var c node.DeployConfig
	fs := flag.NewFlagSet("commands deploy", flag.ContinueOnError)
	fs.StringVar(&c.Token, "discord-token", "", "bot token (DISCORD_TOKEN)")
	fs.StringVar(&c.ClientID, "client-id", "", "application ID (CLIENT_ID)")
	fs.StringVar(&c.APIURL, "discord-api-url", discordapi.DefaultBase, "Discord API base URL (DISCORD_API_URL)")
	fs.StringVar(&c.GuildID, "guild", "", "deploy to this guild only (instant; for testing)")
	if err := parseFlags(fs, args[1:], stderr); err != nil {
		return err
	}
	n, err := node.Deploy(ctx, c)
	var ce *node.ConfigError
	if errors.As(err, &ce) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	where := "globally"
	if c.GuildID != "" {
		where = "to guild " + c.GuildID
	}
	fmt.Fprintf(stdout, "deployed %d commands %s\n", n, where)
	return nil
}
