package node_test

import (
	"errors"
	"flag"
	"slices"
	"testing"

	"github.com/chopsticks-bot/chopsticks/node"
)

// configWith returns a configuration from flag values, as `chopsticks node`
// would parse them.
func configWith(t *testing.T, values map[string]string) node.Config {
	t.Helper()
	var c node.Config
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	c.RegisterFlags(fs)
	for k, v := range values {
		if err := fs.Set(k, v); err != nil {
			t.Fatalf("-%s=%q: %v", k, v, err)
		}
	}
	return c
}

// minimal sets exactly the required settings.
var minimal = map[string]string{
	"discord-token": "token", "postgres-url": "postgres://u@127.0.0.1:5432/db",
	"redis-url": "redis://127.0.0.1:6379/0", "etcd-endpoints": "http://127.0.0.1:2379",
}

// TestRequiredSettingsAreTheOnesTheNodeRefusesWithout: the settings marked
// Required (the list deployments and docs are checked against) are exactly
// those whose absence Validate refuses; every other setting may be left
// unset.
func TestRequiredSettingsAreTheOnesTheNodeRefusesWithout(t *testing.T) {
	if c := configWith(t, minimal); c.Validate() != nil {
		err := c.Validate()
		t.Fatalf("the required settings alone: %v", err)
	}
	for _, s := range node.Settings() {
		t.Run(s.Env, func(t *testing.T) {
			if s.Required != (minimal[s.Flag] != "") {
				t.Fatalf("Required = %v, but the test's minimal configuration says otherwise", s.Required)
			}
			values := map[string]string{}
			for k, v := range minimal {
				values[k] = v
			}
			values[s.Flag] = ""
			if s.Default != "" {
				values[s.Flag] = s.Default // a setting with a default is never unset
			}
			c := configWith(t, values)
			err := c.Validate()
			var ce *node.ConfigError
			switch {
			case s.Required && (!errors.As(err, &ce) || ce.Setting != s.Env):
				t.Errorf("required, but a node without it validates: %v", err)
			case !s.Required && err != nil:
				t.Errorf("optional, but a node without it is refused: %v", err)
			}
		})
	}
}

// TestDisabledNamesEachFeatureAndItsSettings: each feature left off is
// named with the settings that would turn it on (the node logs them at
// warn level at start).
func TestDisabledNamesEachFeatureAndItsSettings(t *testing.T) {
	dashboard := map[string]string{"discord-client-secret": "s", "discord-redirect-uri": "https://bot.example.org/auth/callback",
		"dashboard-session-secret": "0123456789abcdef0123456789abcdef"}
	music := map[string]string{"lavalink-nodes": "main=127.0.0.1:2333@pw", "agent-token-key": "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"}
	merge := func(ms ...map[string]string) map[string]string {
		out := map[string]string{}
		for _, m := range ms {
			for k, v := range m {
				out[k] = v
			}
		}
		return out
	}
	tests := []struct {
		name    string
		values  map[string]string
		tracing bool
		want    map[string][]string
	}{
		{"nothing optional", minimal, false, map[string][]string{
			"dashboard": {"DISCORD_CLIENT_SECRET", "DISCORD_REDIRECT_URI", "DASHBOARD_SESSION_SECRET"},
			"music":     {"LAVALINK_NODES", "AGENT_TOKEN_KEY"},
			"tracing":   {"OTEL_EXPORTER_OTLP_ENDPOINT"},
		}},
		{"half the music", merge(minimal, map[string]string{"lavalink-nodes": music["lavalink-nodes"]}), true, map[string][]string{
			"dashboard": {"DISCORD_CLIENT_SECRET", "DISCORD_REDIRECT_URI", "DASHBOARD_SESSION_SECRET"},
			"music":     {"AGENT_TOKEN_KEY"},
		}},
		{"dashboard without admins", merge(minimal, dashboard, music), true, map[string][]string{
			"dashboard admin pages": {"DASHBOARD_ADMIN_IDS"},
		}},
		{"everything", merge(minimal, dashboard, music, map[string]string{"dashboard-admin-ids": "1"}), true, map[string][]string{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("OTEL_SDK_DISABLED", "")
			t.Setenv("OTEL_TRACES_EXPORTER", "")
			t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
			if tt.tracing {
				t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
			}
			c := configWith(t, tt.values)
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, o := range c.Disabled() {
				got[o.Feature] = o.Settings
				if o.Effect == "" {
					t.Errorf("%s: no effect given", o.Feature)
				}
			}
			if len(got) != len(tt.want) {
				t.Errorf("off: %v, want %v", got, tt.want)
			}
			for f, s := range tt.want {
				if !slices.Equal(got[f], s) {
					t.Errorf("%s: settings %v, want %v", f, got[f], s)
				}
			}
		})
	}
}
