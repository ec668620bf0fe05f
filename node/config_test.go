package node_test

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"

	"github.com/chopsticks-bot/chopsticks/discordapi"
	"github.com/chopsticks-bot/chopsticks/node"
	"github.com/chopsticks-bot/chopsticks/ratelimit"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// configWith returns a configuration from flag values, as `chopsticks node`
// would parse them.
func configWith(t *testing.T, values map[string]string) node.Flags {
	t.Helper()
	var c node.Flags
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
	if _, err := configWith(t, minimal).Load(); err != nil {
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
			_, err := configWith(t, values).Load()
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
			c, err := configWith(t, tt.values).Load()
			if err != nil {
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

// TestLoadReportsEveryBadSetting: Load names every setting that is wrong,
// each on a line of its own, before anything connects; LAVALINK_NODES and
// DASHBOARD_TRUSTED_PROXIES among them, though only music and the
// dashboard use them.
func TestLoadReportsEveryBadSetting(t *testing.T) {
	values := map[string]string{}
	for k, v := range minimal {
		values[k] = v
	}
	bad := map[string]string{
		"lavalink-nodes":            "main=127.0.0.1:2333",
		"dashboard-trusted-proxies": "10.0.0.0/8, proxy.example.org",
		"log-level":                 "loud",
		"rate-limits":               "command=fast",
		"gossip-addr":               "0.0.0.0:gossip",
		"dashboard-admin-ids":       "12, me",
		"agent-token-key":           "abc",
		"weight":                    "0",
		"client-id":                 "bot",
		"redis-sessions-url":        "redis-cluster://127.0.0.1:7000/1",
		"reshard-at":                "1.5",
		"shard-guild-cap":           "0",
	}
	for k, v := range bad {
		values[k] = v
	}
	_, err := configWith(t, values).Load()
	if err == nil {
		t.Fatal("Load accepted bad settings")
	}
	lines := strings.Split(err.Error(), "\n")
	var named []string
	for _, line := range lines {
		setting, _, _ := strings.Cut(line, ":")
		named = append(named, setting)
	}
	var want []string
	for flagName := range bad {
		want = append(want, node.EnvName(flagName))
	}
	slices.Sort(named)
	slices.Sort(want)
	if !slices.Equal(named, want) {
		t.Errorf("settings named %v, want %v; error:\n%v", named, want, err)
	}
	var ce *node.ConfigError
	if !errors.As(err, &ce) {
		t.Errorf("%T is not a *node.ConfigError", err)
	}
}

// TestLoadParsesEachSettingOnce: the loaded configuration holds each
// setting as the type its users take, so nothing parses it again.
func TestLoadParsesEachSettingOnce(t *testing.T) {
	values := map[string]string{
		"client-id": "42", "lavalink-nodes": "main=127.0.0.1:2333@pw, eu=lava.example.org:443+tls@x",
		"agent-token-key":     "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"dashboard-admin-ids": "12, 34", "dashboard-trusted-proxies": "10.0.0.0/8",
		"dashboard-allowed-origins": "https://a.example.org", "gossip-addr": "127.0.0.2:7000",
		"gossip-seeds": "n2:7946, n3:7946", "etcd-endpoints": "http://127.0.0.1:2379, http://127.0.0.1:2380",
		"log-level": "warn", "rate-limits": "command=10/1s", "music-search": "scsearch",
		"postgres-url": "postgres://u:pw@127.0.0.1:5433/db", "redis-url": "redis://127.0.0.1:6380/2",
		"redis-sessions-url": "redis-sentinel://127.0.0.1:26379,127.0.0.1:26380/sessions",
	}
	for k, v := range minimal {
		if _, ok := values[k]; !ok {
			values[k] = v
		}
	}
	c, err := configWith(t, values).Load()
	if err != nil {
		t.Fatal(err)
	}
	limits, err := ratelimit.ParseConfig("command=10/1s")
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"client ID", c.ClientID, discord.AppID(42)},
		{"lavalink nodes", len(c.LavalinkNodes), 2},
		{"second lavalink node uses TLS", len(c.LavalinkNodes) == 2 && c.LavalinkNodes[1].Secure, true},
		{"agent key set", c.AgentTokenKey.IsZero(), false},
		{"admin IDs", fmt.Sprint(c.DashboardAdminIDs), "[12 34]"},
		{"trusted proxies", fmt.Sprint(c.TrustedProxies), "[10.0.0.0/8]"},
		{"origins", fmt.Sprint(c.DashboardOrigins), "[https://a.example.org]"},
		{"gossip host", c.GossipHost, "127.0.0.2"},
		{"gossip port", c.GossipPort, 7000},
		{"gossip seeds", fmt.Sprint(c.GossipSeeds), "[n2:7946 n3:7946]"},
		{"etcd endpoints", len(c.EtcdEndpoints), 2},
		{"log level", c.LogLevel, slog.LevelWarn},
		{"rate limits", c.RateLimits.Fingerprint(), limits.Fingerprint()},
		{"music search", fmt.Sprint(c.MusicSearch), "[scsearch]"},
		{"postgres port", c.Postgres.ConnConfig.Port, uint16(5433)},
		{"redis db", c.Redis.DB, 2},
		{"sessions redis master", c.RedisSessions.MasterName, "sessions"},
		{"sessions redis sentinels", len(c.RedisSessions.Addrs), 2},
		{"discord API", c.DiscordAPI.String(), discordapi.DefaultBase},
	}
	for _, tt := range checks {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
		}
	}
}

// TestDefaultConfigIsTheFlagsDefaults: DefaultConfig, the documented
// defaults, is what a node started without settings would run with.
func TestDefaultConfigIsTheFlagsDefaults(t *testing.T) {
	c := node.DefaultConfig()
	host, _ := os.Hostname()
	search, err := voice.ParseSearch(voice.DefaultSearch)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"log level", c.LogLevel, slog.LevelInfo},
		{"node env", c.NodeEnv, "production"},
		{"node ID", c.NodeID, host},
		{"HTTP address", c.HTTPAddr, ":8080"},
		{"gossip", fmt.Sprintf("%s:%d", c.GossipHost, c.GossipPort), "0.0.0.0:7946"},
		{"checkpoint interval", c.CheckpointInterval, time.Second},
		{"weight", c.Weight, 1},
		{"lease TTL", c.LeaseTTL, 5 * time.Second},
		{"identify reserve", c.IdentifyReserve, 50},
		{"reshard at", c.ReshardAt, 0.8},
		{"shard guild cap", c.ShardGuildCap, 2500},
		{"rate limits", c.RateLimits.Fingerprint(), ratelimit.DefaultConfig().Fingerprint()},
		{"music search", fmt.Sprint(c.MusicSearch), fmt.Sprint(search)},
		{"discord API", c.DiscordAPI.String(), discordapi.DefaultBase},
	}
	for _, tt := range checks {
		if tt.got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, tt.got, tt.want)
		}
	}
	// With the required settings added it validates as it is.
	f := configWith(t, minimal)
	loaded, err := f.Load()
	if err != nil {
		t.Fatal(err)
	}
	c.DiscordToken, c.Postgres, c.Redis, c.EtcdEndpoints = loaded.DiscordToken, loaded.Postgres, loaded.Redis, loaded.EtcdEndpoints
	if err := c.Validate(); err != nil {
		t.Errorf("DefaultConfig with the required settings: %v", err)
	}
}

// TestRunRefusesABadConfigBeforeConnecting: a Config built by hand
// (DefaultConfig plus changes) is checked by Run before it reaches any
// dependency, with every problem named.
func TestRunRefusesABadConfigBeforeConnecting(t *testing.T) {
	c := node.DefaultConfig()
	c.Weight, c.LeaseTTL = 0, time.Second
	err := node.Run(t.Context(), c)
	var ce *node.ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("Run: %v, want a *node.ConfigError", err)
	}
	var named []string
	for _, line := range strings.Split(err.Error(), "\n") {
		setting, _, _ := strings.Cut(line, ":")
		named = append(named, setting)
	}
	want := []string{"DISCORD_TOKEN", "ETCD_ENDPOINTS", "LEASE_TTL", "POSTGRES_URL", "REDIS_URL", "WEIGHT"}
	if !slices.Equal(named, want) {
		t.Errorf("settings named %v, want %v (sorted); error:\n%v", named, want, err)
	}
}
