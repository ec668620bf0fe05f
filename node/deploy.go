package node

import (
	"context"
	"fmt"
	"net/url"
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

// DeployFlags are the settings of `chopsticks commands deploy` as given
// (flags or environment), before Load checks them.
type DeployFlags struct {
	Token    string
	ClientID string
	APIURL   string
	GuildID  string
}

// DeployConfig is what `chopsticks commands deploy` needs, checked.
type DeployConfig struct {
	Token string
	// App is the application; zero reads it from Discord, as a node does.
	App discord.AppID
	// API is Discord's API base.
	API *url.URL
	// Guild, when valid, deploys to that guild only (instant, for testing).
	Guild discord.GuildID
}

// Load checks f and returns the typed settings, or a ConfigError naming
// the first bad one.
func (f DeployFlags) Load() (DeployConfig, error) {
	c := DeployConfig{Token: f.Token}
	if f.Token == "" {
		return c, &ConfigError{Setting: "DISCORD_TOKEN", Reason: "is required"}
	}
	if f.ClientID != "" {
		app, err := strconv.ParseUint(f.ClientID, 10, 64)
		if err != nil || app == 0 {
			return c, &ConfigError{Setting: "CLIENT_ID", Reason: "must be the numeric application ID"}
		}
		c.App = discord.AppID(app)
	}
	if f.GuildID != "" {
		guild, err := strconv.ParseUint(f.GuildID, 10, 64)
		if err != nil || guild == 0 {
			return c, &ConfigError{Setting: "--guild (GUILD_ID)", Reason: "must be a numeric guild ID"}
		}
		c.Guild = discord.GuildID(guild)
	}
	base, err := discordapi.ParseBase(f.APIURL)
	if err != nil {
		return c, &ConfigError{Setting: "DISCORD_API_URL", Reason: err.Error()}
	}
	c.API = base
	return c, nil
}

// Deploy runs `chopsticks commands deploy`. Without an App it reads the
// application's ID from Discord, as a node does.
func Deploy(ctx context.Context, c DeployConfig) (int, error) {
	cat, err := Catalog()
	if err != nil {
		return 0, err
	}
	client := discordapi.NewClient(c.Token, c.API, nil)
	app := c.App
	if !app.IsValid() {
		a, err := currentApplication(client.WithContext(ctx))
		if err != nil {
			return 0, &ConfigError{Setting: "CLIENT_ID", Reason: "not set, and GET /applications/@me failed: " + err.Error()}
		}
		app = a.ID
	}
	return DeployCommands(ctx, client, app, c.Guild, cat)
}
