package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/chopsticks-bot/chopsticks/discordapi"
	"github.com/chopsticks-bot/chopsticks/node"
)

func init() {
	subcommands["commands"] = subcommand{summary: "commands deploy [--guild ID]: register slash commands", run: runCommands}
}

func runCommands(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "deploy" {
		return usagef("usage: chopsticks commands deploy [--guild ID] (global unless --guild or GUILD_ID is given)")
	}
	var f node.DeployFlags
	fs := flag.NewFlagSet("commands deploy", flag.ContinueOnError)
	fs.StringVar(&f.Token, "discord-token", "", "bot token (DISCORD_TOKEN)")
	fs.StringVar(&f.ClientID, "client-id", "", "application ID (CLIENT_ID)")
	fs.StringVar(&f.APIURL, "discord-api-url", discordapi.DefaultBase, "Discord API base URL (DISCORD_API_URL)")
	fs.StringVar(&f.GuildID, "guild", "", "deploy to this guild only, instantly, for testing (GUILD_ID)")
	// The guild's variable is GUILD_ID, not the GUILD that parseFlags
	// would derive from the flag's name: flags here are read by hand.
	env := map[string]string{"discord-token": "DISCORD_TOKEN", "client-id": "CLIENT_ID", "discord-api-url": "DISCORD_API_URL", "guild": "GUILD_ID"}
	if err := parseFlagsEnv(fs, args[1:], stderr, env); err != nil {
		return err
	}
	c, err := f.Load()
	if err != nil {
		return usageError{err}
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
	if c.Guild.IsValid() {
		where = "to guild " + c.Guild.String()
	}
	fmt.Fprintf(stdout, "deployed %d commands %s\n", n, where)
	return nil
}

// parseFlagsEnv parses args, then sets each flag the arguments left unset
// from its variable in env (flag name to variable name), if that is set.
func parseFlagsEnv(fs *flag.FlagSet, args []string, stderr io.Writer, env map[string]string) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	for name, variable := range env {
		if v := os.Getenv(variable); v != "" && !given[name] {
			if err := fs.Set(name, v); err != nil {
				return usagef("%s: %v", variable, err)
			}
		}
	}
	return nil
}
