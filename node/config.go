// Package node assembles a Chopsticks cluster node from its parts: the
// gateway shards it owns, the command router, the economy, the rate
// limiter, telemetry and its HTTP server.
package node

import (
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/discordapi"
	"github.com/chopsticks-bot/chopsticks/ratelimit"
	"github.com/chopsticks-bot/chopsticks/telemetry"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// Config is a node's configuration. Every field has a flag whose
// environment variable is its upper-case name with '_' for '-'
// (-postgres-url and POSTGRES_URL), so existing deployments keep their
// variables.
type Config struct {
	DiscordToken        string
	ClientID            string
	DiscordAPIURL       string
	PostgresURL         string
	RedisURL            string
	EtcdEndpoints       string
	AgentTokenKey       string
	DashboardSessionKey string
	DashboardAdminIDs   string
	DashboardCookieSec  bool
	DashboardOrigins    string
	TrustedProxies      string
	DiscordClientSecret string
	DiscordRedirectURI  string
	LogLevel            string
	NodeEnv             string
	NodeID              string
	HTTPAddr            string
	GossipAddr          string
	GossipSeeds         string
	ShardCount          int
	CheckpointInterval  time.Duration
	Weight              int
	LavalinkNodes       string
	LeaseTTL            time.Duration
	IdentifyReserve     int
	RateLimits          string
	MusicSearch         string
}

// DefaultConfig returns the configuration with every default filled in,
// as a node started with no flags and an empty environment would have.
func DefaultConfig() Config {
	var c Config
	fs := flag.NewFlagSet("defaults", flag.ContinueOnError)
	c.RegisterFlags(fs)
	return c
}

// RegisterFlags defines the configuration's flags on fs.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	host, _ := os.Hostname()
	fs.StringVar(&c.DiscordToken, "discord-token", "", "bot token (DISCORD_TOKEN)")
	fs.StringVar(&c.ClientID, "client-id", "", "application (client) ID (CLIENT_ID)")
	fs.StringVar(&c.DiscordAPIURL, "discord-api-url", discordapi.DefaultBase, "Discord API base URL; point it at discordsim to test (DISCORD_API_URL)")
	fs.StringVar(&c.PostgresURL, "postgres-url", "", "PostgreSQL connection URL (POSTGRES_URL)")
	fs.StringVar(&c.RedisURL, "redis-url", "", "Redis URL, redis://host:port/db (REDIS_URL)")
	fs.StringVar(&c.EtcdEndpoints, "etcd-endpoints", "", "comma-separated etcd client URLs (ETCD_ENDPOINTS)")
	fs.StringVar(&c.AgentTokenKey, "agent-token-key", "", "64 hex characters: AES-256 key for agent tokens (AGENT_TOKEN_KEY)")
	fs.StringVar(&c.DashboardSessionKey, "dashboard-session-secret", "", "secret for dashboard sessions (DASHBOARD_SESSION_SECRET)")
	fs.StringVar(&c.DashboardAdminIDs, "dashboard-admin-ids", "", "comma-separated Discord user IDs of dashboard admins (DASHBOARD_ADMIN_IDS)")
	fs.BoolVar(&c.DashboardCookieSec, "dashboard-cookie-secure", false, "mark dashboard cookies Secure (DASHBOARD_COOKIE_SECURE)")
	fs.StringVar(&c.DashboardOrigins, "dashboard-allowed-origins", "", "comma-separated other origins allowed to call the dashboard API (DASHBOARD_ALLOWED_ORIGINS)")
	fs.StringVar(&c.TrustedProxies, "dashboard-trusted-proxies", "", "comma-separated CIDRs of reverse proxies trusted for X-Forwarded-For (DASHBOARD_TRUSTED_PROXIES)")
	fs.StringVar(&c.DiscordClientSecret, "discord-client-secret", "", "OAuth2 client secret for dashboard login (DISCORD_CLIENT_SECRET)")
	fs.StringVar(&c.DiscordRedirectURI, "discord-redirect-uri", "", "OAuth2 redirect URI (DISCORD_REDIRECT_URI)")
	fs.StringVar(&c.LogLevel, "log-level", "info", "debug, info, warn or error (LOG_LEVEL)")
	fs.StringVar(&c.NodeEnv, "node-env", "production", "production, development or test (NODE_ENV)")
	fs.StringVar(&c.NodeID, "node-id", host, "this node's unique name in the cluster (NODE_ID)")
	fs.StringVar(&c.HTTPAddr, "http-addr", ":8080", "address of the metrics, health and dashboard server (HTTP_ADDR)")
	fs.StringVar(&c.GossipAddr, "gossip-addr", "0.0.0.0:7946", "memberlist bind address (GOSSIP_ADDR)")
	fs.StringVar(&c.GossipSeeds, "gossip-seeds", "", "comma-separated host:port of other nodes' gossip (GOSSIP_SEEDS)")
	fs.IntVar(&c.ShardCount, "shard-count", 0, "total shards; 0 takes Discord's recommendation (SHARD_COUNT)")
	fs.DurationVar(&c.CheckpointInterval, "checkpoint-interval", time.Second, "how often shards save their session for a resume elsewhere (CHECKPOINT_INTERVAL)")
	fs.IntVar(&c.Weight, "weight", 1, "this node's share of shards relative to others (WEIGHT)")
	fs.DurationVar(&c.LeaseTTL, "lease-ttl", 5*time.Second, "etcd lease of this node's ownership; a crashed node's shards move after it (LEASE_TTL, at least 2s)")
	fs.IntVar(&c.IdentifyReserve, "identify-reserve", 50, "daily session starts kept back for recovering shards (IDENTIFY_RESERVE)")
	fs.StringVar(&c.LavalinkNodes, "lavalink-nodes", "", "Lavalink nodes (LAVALINK_NODES)")
	fs.StringVar(&c.MusicSearch, "music-search", voice.DefaultSearch, "search prefixes tried in order for /play search terms (MUSIC_SEARCH)")
	fs.StringVar(&c.RateLimits, "rate-limits", "", "rate limits that differ from the defaults, such as \"command=10/1s, global.play=100/1s\" (RATE_LIMITS)")
}

// ConfigError names the setting that is wrong.
type ConfigError struct {
	Setting string
	Reason  string
}

// Error is one line, so that an operator reads the whole reason at once.
func (e *ConfigError) Error() string {
	return e.Setting + ": " + strings.Join(strings.Fields(e.Reason), " ")
}

// Validate checks every setting and returns the first problem as a
// *ConfigError, without connecting to anything.
func (c *Config) Validate() error {
	bad := func(setting, format string, args ...any) error {
		return &ConfigError{Setting: setting, Reason: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(c.DiscordToken) == "" {
		return bad("DISCORD_TOKEN", "is required")
	}
	if strings.ContainsAny(c.DiscordToken, " \t\r\n") {
		return bad("DISCORD_TOKEN", "contains white space")
	}
	if c.ClientID != "" {
		if _, err := strconv.ParseUint(c.ClientID, 10, 64); err != nil {
			return bad("CLIENT_ID", "must be a numeric application ID")
		}
	}
	if _, err := discordapi.ParseBase(c.DiscordAPIURL); err != nil {
		return bad("DISCORD_API_URL", "%v", err)
	}
	if c.PostgresURL == "" {
		return bad("POSTGRES_URL", "is required")
	}
	if _, err := pgxpool.ParseConfig(c.PostgresURL); err != nil {
		return bad("POSTGRES_URL", "cannot be parsed as a PostgreSQL URL (%s)", redactErr(err, c.PostgresURL))
	}
	if c.RedisURL == "" {
		return bad("REDIS_URL", "is required")
	}
	if _, err := redis.ParseURL(c.RedisURL); err != nil {
		return bad("REDIS_URL", "cannot be parsed: want redis://[user:password@]host:port[/db]")
	}
	if c.EtcdEndpoints == "" {
		return bad("ETCD_ENDPOINTS", "is required (comma-separated etcd client URLs)")
	}
	for _, ep := range c.Endpoints() {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("ETCD_ENDPOINTS", "%q is not an http(s) URL", ep)
		}
	}
	if c.AgentTokenKey != "" {
		if b, err := hex.DecodeString(c.AgentTokenKey); err != nil || len(b) != 32 {
			return bad("AGENT_TOKEN_KEY", "must be 64 hex characters (32 bytes); generate one with: openssl rand -hex 32")
		}
	}
	for _, id := range splitList(c.DashboardAdminIDs) {
		if _, err := strconv.ParseUint(id, 10, 64); err != nil {
			return bad("DASHBOARD_ADMIN_IDS", "%q is not a Discord user ID", id)
		}
	}
	if c.DiscordRedirectURI != "" {
		if u, err := url.Parse(c.DiscordRedirectURI); err != nil || u.Host == "" {
			return bad("DISCORD_REDIRECT_URI", "must be an absolute URL")
		}
	}
	if _, err := telemetry.ParseLevel(c.LogLevel); err != nil {
		return bad("LOG_LEVEL", "%v", err)
	}
	switch c.NodeEnv {
	case "production", "development", "test":
	default:
		return bad("NODE_ENV", "must be production, development or test, not %q", c.NodeEnv)
	}
	if c.NodeID == "" || strings.ContainsAny(c.NodeID, "/ \t") {
		return bad("NODE_ID", "must be a non-empty name without '/' or spaces")
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		return bad("HTTP_ADDR", "must be host:port (%v)", err)
	}
	if _, _, err := net.SplitHostPort(c.GossipAddr); err != nil {
		return bad("GOSSIP_ADDR", "must be host:port (%v)", err)
	}
	for _, s := range splitList(c.GossipSeeds) {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return bad("GOSSIP_SEEDS", "%q must be host:port", s)
		}
	}
	if c.ShardCount < 0 || c.ShardCount > 4096 {
		return bad("SHARD_COUNT", "must be between 0 (automatic) and 4096")
	}
	if c.CheckpointInterval < 0 || c.CheckpointInterval > time.Minute {
		return bad("CHECKPOINT_INTERVAL", "must be a duration up to 1m, such as 1s")
	}
	if c.LeaseTTL < 2*time.Second || c.LeaseTTL > 5*time.Minute {
		return bad("LEASE_TTL", "must be between 2s (etcd's minimum) and 5m")
	}
	if c.IdentifyReserve < 0 {
		return bad("IDENTIFY_RESERVE", "must not be negative")
	}
	if _, err := ratelimit.ParseConfig(c.RateLimits); err != nil {
		return bad("RATE_LIMITS", "%v", err)
	}
	if _, err := voice.ParseSearch(c.MusicSearch); err != nil {
		return bad("MUSIC_SEARCH", "%v", err)
	}
	if c.DashboardSessionKey != "" && len(c.DashboardSessionKey) < 32 {
		return bad("DASHBOARD_SESSION_SECRET", "must be at least 32 characters (openssl rand -hex 32)")
	}
	if c.Weight < 1 || c.Weight > 1000 {
		return bad("WEIGHT", "must be between 1 and 1000")
	}
	return nil
}

// Endpoints returns the etcd endpoints as a list.
func (c *Config) Endpoints() []string { return splitList(c.EtcdEndpoints) }

func splitList(s string) []string {
	var out []string
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	return out
}

// redactErr returns err's text with the secret removed, for errors of
// parsers that echo their input (a URL may hold a password).
func redactErr(err error, secret string) string {
	msg := err.Error()
	if secret != "" {
		msg = strings.ReplaceAll(msg, secret, "<redacted>")
	}
	if u, perr := url.Parse(secret); perr == nil && u.User != nil {
		if p, ok := u.User.Password(); ok && p != "" {
			msg = strings.ReplaceAll(msg, p, "<redacted>")
		}
	}
	return msg
}

// startupTimeout bounds how long a node waits for a dependency at start.
const startupTimeout = 15 * time.Second

// Off is a feature a configuration leaves off, with the settings that
// would turn it on.
type Off struct {
	Feature  string   // "dashboard", "music", ...
	Settings []string // the unset variables the feature needs
	Effect   string   // what an operator misses
}

// Disabled returns the optional features this configuration leaves off,
// each with the variables to set to turn it on. Tracing is read from the
// standard OTEL_* variables (telemetry.TracingEnabled).
func (c *Config) Disabled() []Off {
	var off []Off
	unset := func(pairs ...string) []string {
		var out []string
		for i := 0; i < len(pairs); i += 2 {
			if pairs[i+1] == "" {
				out = append(out, pairs[i])
			}
		}
		return out
	}
	if s := unset("DISCORD_CLIENT_SECRET", c.DiscordClientSecret, "DISCORD_REDIRECT_URI", c.DiscordRedirectURI,
		"DASHBOARD_SESSION_SECRET", c.DashboardSessionKey); len(s) > 0 {
		off = append(off, Off{"dashboard", s, "no dashboard at /"})
	} else if c.DashboardAdminIDs == "" {
		off = append(off, Off{"dashboard admin pages", []string{"DASHBOARD_ADMIN_IDS"}, "nobody may see the admin pages"})
	}
	if s := unset("LAVALINK_NODES", c.LavalinkNodes, "AGENT_TOKEN_KEY", c.AgentTokenKey); len(s) > 0 {
		off = append(off, Off{"music", s, "music commands answer that music is not set up"})
	}
	if !telemetry.TracingEnabled() {
		off = append(off, Off{"tracing", []string{"OTEL_EXPORTER_OTLP_ENDPOINT"}, "no traces are exported"})
	}
	return off
}

// logDisabled logs at warn level each feature the configuration leaves
// off, so that an operator who forgot a setting sees it at start.
func (c *Config) logDisabled(log *slog.Logger) {
	for _, o := range c.Disabled() {
		log.Warn(o.Feature+" off: set "+strings.Join(o.Settings, ", ")+" to turn it on",
			"feature", o.Feature, "settings", o.Settings, "effect", o.Effect)
	}
}

// required are the settings a node cannot start without: Validate refuses
// each when empty. Every other setting has a default or turns a feature
// off (see Disabled).
var required = []string{"DISCORD_TOKEN", "POSTGRES_URL", "REDIS_URL", "ETCD_ENDPOINTS"}

// Setting is one setting of `chopsticks node`, as its flag defines it.
type Setting struct {
	Env      string // environment variable: POSTGRES_URL
	Flag     string // flag: postgres-url
	Default  string // the flag's default as text; "" when none
	Required bool   // the node refuses to start without it
	Usage    string
}

// Settings lists every setting of `chopsticks node`, sorted by flag name:
// the list that deployments and documentation are checked against. The
// standard OTEL_* variables, read by the OpenTelemetry SDK, are not among
// them.
func Settings() []Setting {
	var c Config
	fs := flag.NewFlagSet("settings", flag.ContinueOnError)
	c.RegisterFlags(fs)
	var out []Setting
	fs.VisitAll(func(f *flag.Flag) {
		env := EnvName(f.Name)
		out = append(out, Setting{Env: env, Flag: f.Name, Default: f.DefValue, Required: slices.Contains(required, env), Usage: f.Usage})
	})
	return out
}

// EnvName is the environment variable of a flag: -postgres-url reads
// POSTGRES_URL.
func EnvName(flagName string) string {
	return strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}
