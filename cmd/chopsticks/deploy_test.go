package main

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/node"
)

// startSim runs a discordsim for one test.
func startSim(t *testing.T, cfg discordsim.Config) *discordsim.Sim {
	t.Helper()
	sim, err := discordsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); sim.Close() })
	if err := sim.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	return sim
}

// TestCommandsDeploy: `chopsticks commands deploy` registers the node's
// whole catalog with discordsim, globally or in one guild (--guild or
// GUILD_ID), with no PostgreSQL, Redis or etcd configured, and without
// CLIENT_ID too (read from GET /applications/@me).
func TestCommandsDeploy(t *testing.T) {
	cat, err := node.Catalog()
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range cat.Definitions() {
		want = append(want, d.Name)
	}
	slices.Sort(want)
	tests := []struct {
		name       string
		args       func(guild string) []string
		guildID    string // GUILD_ID
		inGuild    bool
		noClientID bool
	}{
		{"global", func(string) []string { return []string{"commands", "deploy"} }, "", false, false},
		{"--guild", func(g string) []string { return []string{"commands", "deploy", "--guild", g} }, "", true, false},
		{"GUILD_ID", func(string) []string { return []string{"commands", "deploy"} }, "guild", true, false},
		{"without CLIENT_ID", func(string) []string { return []string{"commands", "deploy"} }, "", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sim := startSim(t, discordsim.Config{Guilds: 1})
			guild := sim.Guilds()[0].ID
			for _, k := range []string{"POSTGRES_URL", "REDIS_URL", "ETCD_ENDPOINTS", "GUILD_ID"} {
				t.Setenv(k, "")
			}
			t.Setenv("DISCORD_TOKEN", sim.Token())
			t.Setenv("CLIENT_ID", sim.AppID().String())
			if tt.noClientID {
				t.Setenv("CLIENT_ID", "")
			}
			t.Setenv("DISCORD_API_URL", sim.URL())
			if tt.guildID != "" {
				t.Setenv("GUILD_ID", guild.String())
			}
			var stdout, stderr bytes.Buffer
			if code := run(tt.args(guild.String()), &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout.String(), stderr.String())
			}
			global, inGuild := names(sim.Commands(sim.AppID(), 0)), names(sim.Commands(sim.AppID(), guild))
			got, other := global, inGuild
			if tt.inGuild {
				got, other = inGuild, global
			}
			if !slices.Equal(got, want) {
				t.Errorf("registered %v, want %v", got, want)
			}
			if len(other) != 0 {
				t.Errorf("also registered %v in the other scope", other)
			}
		})
	}
}

func names(cmds []discordsim.Command) []string {
	var out []string
	for _, c := range cmds {
		out = append(out, c.Name)
	}
	slices.Sort(out)
	return out
}
