package node

import (
	"context"
	"fmt"
	"strconv"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/discordapi"
	"github.com/chopsticks-bot/chopsticks/economy"
)

// Catalog is the command catalog every node serves, built without its
// dependencies (no PostgreSQL, Redis or etcd) so that it can be deployed
// from the command line; handlers of a catalog built this way must not be
// run.
func Catalog() (*commands.Catalog, error) {
	econ, err := economy.New(nil, economy.Config{})
	if err != nil {
		return nil, err
	}
	n := &Node{econ: econ}
	cmds, comps, err := n.commandSet()
	if err != nil {
		return nil, err
	}
	return commands.NewCatalog(cmds, comps)
}

// DeployCommands registers the catalog's commands with Discord: globally,
// or for one guild when guild is set (instant, for testing). Bulk overwrite
// makes it idempotent: commands no longer in the catalog are removed.
func DeployCommands(ctx context.Context, client *api.Client, app discord.AppID, guild discord.GuildID, cat *commands.Catalog) (int, error) {
	defs := cat.Definitions()
	var err error
	if guild.IsValid() {
		_, err = client.WithContext(ctx).BulkOverwriteGuildCommands(app, guild, defs)
	} else {
		_, err = client.WithContext(ctx).BulkOverwriteCommands(app, defs)
	}
	if err != nil {
		return 0, fmt.Errorf("deploy commands: %w", err)
	}
	return len(defs), nil
}

// DeployConfig is what `chopsticks commands deploy` needs.
type DeployConfig struct {
	Token    string
	ClientID string
	APIURL   string
	GuildID  string
}

// Deploy runs `chopsticks commands deploy`. Without a ClientID it reads
// the application's ID from Discord, as a node does.
func Deploy(ctx context.Context, c DeployConfig) (int, error) {
	if c.Token == "" {
		return 0, &ConfigError{Setting: "DISCORD_TOKEN", Reason: "is required"}
	}
	var app uint64
	var err error
	if c.ClientID != "" {
		if app, err = strconv.ParseUint(c.ClientID, 10, 64); err != nil || app == 0 {
			return 0, &ConfigError{Setting: "CLIENT_ID", Reason: "must be the numeric application ID"}
		}
	}
	var guild uint64
	if c.GuildID != "" {
		if guild, err = strconv.ParseUint(c.GuildID, 10, 64); err != nil || guild == 0 {
			return 0, &ConfigError{Setting: "--guild (GUILD_ID)", Reason: "must be a numeric guild ID"}
		}
	}
	base, err := discordapi.ParseBase(c.APIURL)
	if err != nil {
		return 0, &ConfigError{Setting: "DISCORD_API_URL", Reason: err.Error()}
	}
	cat, err := Catalog()
	if err != nil {
		return 0, err
	}
	client := discordapi.NewClient(c.Token, base, nil)
	if app == 0 {
		a, err := currentApplication(client.WithContext(ctx))
		if err != nil {
			return 0, &ConfigError{Setting: "CLIENT_ID", Reason: "not set, and GET /applications/@me failed: " + err.Error()}
		}
		app = uint64(a.ID)
	}
	return DeployCommands(ctx, client, discord.AppID(app), discord.GuildID(guild), cat)
}
