// Package node assembles a Chopsticks cluster node from its parts: the
// gateway shards it owns, the command router, the economy, the rate
// limiter, telemetry and its HTTP server.
package node

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/agentpool"
	"github.com/chopsticks-bot/chopsticks/discordapi"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/lavalink"
	"github.com/chopsticks-bot/chopsticks/ratelimit"
	"github.com/chopsticks-bot/chopsticks/readreplica"
	"github.com/chopsticks-bot/chopsticks/telemetry"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// Flags are a node's settings as text, as flags and the environment give
// them. Every field has a flag whose environment variable is its
// upper-case name with '_' for '-' (-postgres-url and POSTGRES_URL), so
// existing deployments keep their variables. Load turns them into a
// Config; nothing else parses them.
type Flags struct {
	DiscordToken        string
	ClientID            string
	DiscordAPIURL       string
	PostgresURL         string
	PostgresReadURL     string
	PostgresReadMaxLag  time.Duration
	RedisURL            string
	RedisSessionsURL    string
	RedisCAFile         string
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
	DebugAddr           string
	GossipAddr          string
	GossipSeeds         string
	ShardCount          int
	CheckpointInterval  time.Duration
	Weight              int
	LavalinkNodes       string
	LeaseTTL            time.Duration
	IdentifyReserve     int
	ReshardAt           float64
	ShardGuildCap       int
	RateLimits          string
	MusicSearch         string
	ttsFlags
	PremiumSKUs string
	EventsFile  string
}

// DefaultFlags returns the flags with every default filled in, as a node
// started with no flags and an empty environment would have them.
func DefaultFlags() Flags {
	var f Flags
	f.RegisterFlags(flag.NewFlagSet("defaults", flag.ContinueOnError))
	return f
}

// RegisterFlags defines the settings' flags on fs. Their defaults, here,
// are the node's defaults: DefaultConfig is these, parsed.
func (c *Flags) RegisterFlags(fs *flag.FlagSet) {
	host, _ := os.Hostname()
	fs.StringVar(&c.DiscordToken, "discord-token", "", "bot token (DISCORD_TOKEN)")
	fs.StringVar(&c.ClientID, "client-id", "", "application (client) ID (CLIENT_ID)")
	fs.StringVar(&c.DiscordAPIURL, "discord-api-url", discordapi.DefaultBase, "Discord API base URL; point it at discordsim to test (DISCORD_API_URL)")
	fs.StringVar(&c.PostgresURL, "postgres-url", "", "PostgreSQL connection URL (POSTGRES_URL)")
	fs.StringVar(&c.PostgresReadURL, "postgres-read-url", "", "PostgreSQL streaming replica for reads that tolerate lag: leaderboard, currency log, collection (POSTGRES_READ_URL)")
	fs.DurationVar(&c.PostgresReadMaxLag, "postgres-read-max-lag", readreplica.DefaultMaxLag, "a replica further behind is bypassed and reads go to the primary (POSTGRES_READ_MAX_LAG)")
	fs.StringVar(&c.RedisURL, "redis-url", "", "Redis URL: redis[s]://host:port/db, redis[s]-sentinel://host:port,.../master or redis[s]-cluster://host:port,... (REDIS_URL)")
	fs.StringVar(&c.RedisSessionsURL, "redis-sessions-url", "", "a second Redis, in REDIS_URL's forms, for dashboard sessions and music queues; empty keeps them on REDIS_URL (REDIS_SESSIONS_URL)")
	fs.StringVar(&c.RedisCAFile, "redis-ca-file", "", "PEM file of the certificate authorities that sign the Redis servers' TLS certificates (rediss:// forms); empty trusts the system's (REDIS_CA_FILE)")
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
	fs.StringVar(&c.DebugAddr, "debug-addr", "", "address of Go's profiler (/debug/pprof/), which has no login: keep it on loopback; empty: off (DEBUG_ADDR)")
	fs.StringVar(&c.GossipAddr, "gossip-addr", "0.0.0.0:7946", "memberlist bind address (GOSSIP_ADDR)")
	fs.StringVar(&c.GossipSeeds, "gossip-seeds", "", "comma-separated host:port of other nodes' gossip (GOSSIP_SEEDS)")
	fs.IntVar(&c.ShardCount, "shard-count", 0, "total shards; 0 takes Discord's recommendation (SHARD_COUNT)")
	fs.DurationVar(&c.CheckpointInterval, "checkpoint-interval", time.Second, "how often shards save their session for a resume elsewhere (CHECKPOINT_INTERVAL)")
	fs.IntVar(&c.Weight, "weight", 1, "this node's share of shards relative to others (WEIGHT)")
	fs.DurationVar(&c.LeaseTTL, "lease-ttl", 5*time.Second, "etcd lease of this node's ownership; a crashed node's shards move after it (LEASE_TTL, at least 2s)")
	fs.IntVar(&c.IdentifyReserve, "identify-reserve", 50, "daily session starts kept back for recovering shards (IDENTIFY_RESERVE)")
	fs.Float64Var(&c.ReshardAt, "reshard-at", 0.8, "reshard online when a shard holds more than this share of SHARD_GUILD_CAP; 0 never (RESHARD_AT)")
	fs.IntVar(&c.ShardGuildCap, "shard-guild-cap", 2500, "most guilds Discord lets one shard hold (close 4011 beyond) (SHARD_GUILD_CAP)")
	fs.StringVar(&c.LavalinkNodes, "lavalink-nodes", "", "Lavalink nodes (LAVALINK_NODES)")
	fs.StringVar(&c.MusicSearch, "music-search", voice.DefaultSearch, "search prefixes tried in order for /play search terms (MUSIC_SEARCH)")
	c.ttsFlags.register(fs)
	fs.StringVar(&c.PremiumSKUs, "premium-skus", "", "the Discord SKUs of premium, comma-separated role=SKU ID with the roles subscription, pack and boost (PREMIUM_SKUS)")
	fs.StringVar(&c.EventsFile, "events-file", "", "the seasonal events' calendar, JSON as economy/events.json; reloaded on SIGHUP and every minute (EVENTS_FILE)")
	fs.StringVar(&c.RateLimits, "rate-limits", "", "rate limits that differ from the defaults, such as \"command=10/1s, global.play=100/1s\" (RATE_LIMITS)")
}

// Config is a node's configuration, typed: Flags.Load parses every setting
// once, and the node uses these values as they are. DefaultConfig returns
// it with each default filled in (the defaults of RegisterFlags); a field's
// comment names its setting and default. Logs and Ready are hooks of the
// caller, not settings.
type Config struct {
	// DiscordToken is the bot token (DISCORD_TOKEN); required.
	DiscordToken string
	// ClientID is the application's ID (CLIENT_ID); 0 reads it from
	// Discord at start.
	ClientID discord.AppID
	// DiscordAPI is Discord's base URL (DISCORD_API_URL); default
	// discordapi.DefaultBase.
	DiscordAPI *url.URL
	// PremiumSKUs are the Discord SKUs of premium (PREMIUM_SKUS); default
	// none: nothing is sold and nobody has premium perks.
	PremiumSKUs economy.PremiumSKUs
	// Postgres is POSTGRES_URL as ParsePostgresURL returns it; required.
	Postgres *pgxpool.Config
	// PostgresRead is the streaming replica of lag-tolerant reads
	// (POSTGRES_READ_URL); nil, the default, reads everything from the
	// primary.
	PostgresRead *pgxpool.Config
	// PostgresReadMaxLag bounds the staleness of a read on the replica
	// (POSTGRES_READ_MAX_LAG); default readreplica.DefaultMaxLag.
	PostgresReadMaxLag time.Duration
	// Redis is REDIS_URL as ParseRedisURL returns it (one server, Sentinel
	// or Cluster); required.
	Redis *redis.UniversalOptions
	// RedisSessions is REDIS_SESSIONS_URL as ParseRedisURL returns it: the
	// Redis of dashboard sessions and music queues; nil keeps them on Redis.
	RedisSessions *redis.UniversalOptions
	// EtcdEndpoints are the etcd client URLs (ETCD_ENDPOINTS); required.
	EtcdEndpoints []string
	// AgentTokenKey encrypts the voice agents' tokens (AGENT_TOKEN_KEY);
	// the zero key leaves music off.
	AgentTokenKey agentpool.Key
	// DashboardSessionSecret signs dashboard sessions
	// (DASHBOARD_SESSION_SECRET, at least 32 bytes); empty leaves the
	// dashboard off.
	DashboardSessionSecret []byte
	// DashboardAdminIDs are the Discord users who see the dashboard's admin
	// pages (DASHBOARD_ADMIN_IDS); default none.
	DashboardAdminIDs []int64
	// DashboardCookieSecure marks dashboard cookies Secure
	// (DASHBOARD_COOKIE_SECURE); default false.
	DashboardCookieSecure bool
	// DashboardOrigins are other origins allowed to call the dashboard API
	// (DASHBOARD_ALLOWED_ORIGINS); default none.
	DashboardOrigins []string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For the
	// dashboard believes (DASHBOARD_TRUSTED_PROXIES); default none.
	TrustedProxies []netip.Prefix
	// DiscordClientSecret is the OAuth2 client secret of dashboard logins
	// (DISCORD_CLIENT_SECRET); empty leaves the dashboard off.
	DiscordClientSecret string
	// DiscordRedirectURI is the absolute OAuth2 redirect URI
	// (DISCORD_REDIRECT_URI); empty leaves the dashboard off.
	DiscordRedirectURI string
	// LogLevel is the least level logged (LOG_LEVEL); default info.
	LogLevel slog.Level
	// NodeEnv is production, development or test (NODE_ENV); default
	// production.
	NodeEnv string
	// NodeID is the node's unique name in the cluster (NODE_ID); default
	// the host name.
	NodeID string
	// HTTPAddr is the address of the metrics, health and dashboard server
	// (HTTP_ADDR); default ":8080".
	HTTPAddr string
	// DebugAddr is the address of Go's profiler (DEBUG_ADDR); empty: off.
	DebugAddr string
	// GossipHost and GossipPort are memberlist's bind address
	// (GOSSIP_ADDR); default 0.0.0.0:7946.
	GossipHost string
	GossipPort int
	// GossipSeeds are other nodes' gossip addresses, host:port
	// (GOSSIP_SEEDS); default none.
	GossipSeeds []string
	// ShardCount is the total of shards (SHARD_COUNT); 0, the default,
	// takes Discord's recommendation.
	ShardCount int
	// CheckpointInterval is how often shards save their session for a
	// resume elsewhere (CHECKPOINT_INTERVAL); default 1s.
	CheckpointInterval time.Duration
	// Weight is this node's share of shards relative to others (WEIGHT);
	// default 1.
	Weight int
	// LavalinkNodes are the Lavalink servers (LAVALINK_NODES); none leaves
	// music off.
	LavalinkNodes []lavalink.NodeConfig
	// LeaseTTL is the etcd lease of this node's ownership (LEASE_TTL);
	// default 5s.
	LeaseTTL time.Duration
	// IdentifyReserve is the daily session starts kept back for recovering
	// shards (IDENTIFY_RESERVE); default 50.
	IdentifyReserve int
	// ReshardAt is the share of ShardGuildCap past which a shard makes the
	// cluster reshard online (RESHARD_AT); default 0.8, 0 never.
	ReshardAt float64
	// ShardGuildCap is the most guilds Discord lets one shard hold
	// (SHARD_GUILD_CAP); default 2500.
	ShardGuildCap int
	// RateLimits are the cluster's rate limits (RATE_LIMITS); default
	// ratelimit.DefaultConfig().
	RateLimits ratelimit.Config
	// MusicSearch are the search prefixes tried in order for /play search
	// terms (MUSIC_SEARCH); default voice.DefaultSearch.
	MusicSearch []string
	// TTS is /say's speech (the TTS_*, ESPEAK_VOICE and ELEVENLABS_*
	// settings).
	TTS TTSConfig
	// EventsFile is the seasonal events' calendar (EVENTS_FILE), reloaded
	// on SIGHUP and every minute; "", the default, is the embedded
	// economy/events.json.
	EventsFile string

	// Clock, when set, is the economy's clock (seasonal events, cooldowns,
	// daily days); nil is time.Now. A hook for tests that move through a
	// season, not a setting.
	Clock func() time.Time
	// Logs receives the JSON log; nil means standard output, the stream
	// every deployment collects (error messages of the CLI stay on stderr).
	Logs io.Writer
	// Ready, when set, is called with the HTTP address once the node serves.
	Ready func(httpAddr string)
}

// DefaultConfig returns the configuration with every default filled in,
// as a node started with no flags and an empty environment would have. It
// lacks the required settings.
func DefaultConfig() Config {
	c, _ := DefaultFlags().parse() // the defaults parse; only required settings are missing
	return c
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

// problems collects ConfigErrors, at most one per setting.
type problems struct{ errs []error }

func (p *problems) add(setting, format string, args ...any) {
	if !p.has(setting) {
		p.errs = append(p.errs, &ConfigError{Setting: setting, Reason: fmt.Sprintf(format, args...)})
	}
}

func (p *problems) has(setting string) bool {
	return slices.ContainsFunc(p.errs, func(err error) bool { return err.(*ConfigError).Setting == setting })
}

// err joins the problems, sorted by setting, or returns nil.
func (p *problems) err() error {
	slices.SortStableFunc(p.errs, func(a, b error) int {
		return strings.Compare(a.(*ConfigError).Setting, b.(*ConfigError).Setting)
	})
	return errors.Join(p.errs...)
}

// Load parses and checks every setting, without connecting to anything,
// and returns the typed configuration. Each bad setting is reported as a
// *ConfigError of one line, all of them joined in the order of their names
// (errors.As finds the first).
func (c Flags) Load() (Config, error) {
	cfg, p := c.parse()
	cfg.check(p)
	if err := p.err(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// parse turns each setting into its typed value, recording those that do
// not parse; a value left unset stays the zero value for check to refuse
// when it is required.
func (c Flags) parse() (Config, *problems) {
	p := &problems{}
	cfg := Config{
		DiscordToken: c.DiscordToken, DashboardCookieSecure: c.DashboardCookieSec,
		DashboardOrigins: splitList(c.DashboardOrigins), DashboardSessionSecret: []byte(c.DashboardSessionKey),
		DiscordClientSecret: c.DiscordClientSecret, DiscordRedirectURI: c.DiscordRedirectURI,
		NodeEnv: c.NodeEnv, NodeID: c.NodeID, HTTPAddr: c.HTTPAddr, DebugAddr: c.DebugAddr, GossipSeeds: splitList(c.GossipSeeds),
		ShardCount: c.ShardCount, CheckpointInterval: c.CheckpointInterval, Weight: c.Weight,
		LeaseTTL: c.LeaseTTL, IdentifyReserve: c.IdentifyReserve, PostgresReadMaxLag: c.PostgresReadMaxLag,
		TTS:        c.ttsFlags.parse(),
		EventsFile: c.EventsFile,
	}
	cfg.ReshardAt, cfg.ShardGuildCap = c.ReshardAt, c.ShardGuildCap
	if len(cfg.DashboardSessionSecret) == 0 {
		cfg.DashboardSessionSecret = nil
	}
	if k, err := ParsePremiumSKUs(c.PremiumSKUs); err != nil {
		p.add("PREMIUM_SKUS", "%v", err)
	} else {
		cfg.PremiumSKUs = k
	}
	if c.ClientID != "" {
		id, err := strconv.ParseUint(c.ClientID, 10, 64)
		if err != nil {
			p.add("CLIENT_ID", "must be a numeric application ID")
		}
		cfg.ClientID = discord.AppID(id)
	}
	var err error
	if cfg.DiscordAPI, err = discordapi.ParseBase(c.DiscordAPIURL); err != nil {
		p.add("DISCORD_API_URL", "%v", err)
	}
	if c.PostgresURL != "" {
		if cfg.Postgres, err = ParsePostgresURL(c.PostgresURL); err != nil {
			p.errs = append(p.errs, err)
		}
	}
	if c.PostgresReadURL != "" {
		if cfg.PostgresRead, err = parsePostgresURL("POSTGRES_READ_URL", c.PostgresReadURL); err != nil {
			p.errs = append(p.errs, err)
		}
	}
	if c.EtcdEndpoints != "" {
		if cfg.EtcdEndpoints, err = ParseEtcdEndpoints(c.EtcdEndpoints); err != nil {
			p.errs = append(p.errs, err)
		}
	}
	if c.RedisURL != "" {
		if cfg.Redis, err = ParseRedisURL(c.RedisURL); err != nil {
			p.add("REDIS_URL", "cannot be parsed: %v", err)
		}
	}
	if c.RedisSessionsURL != "" {
		if cfg.RedisSessions, err = ParseRedisURL(c.RedisSessionsURL); err != nil {
			p.add("REDIS_SESSIONS_URL", "cannot be parsed: %v", err)
		}
	}
	if c.RedisCAFile != "" {
		if err := trustRedisCA(c.RedisCAFile, cfg.Redis, cfg.RedisSessions); err != nil {
			p.add("REDIS_CA_FILE", "%v", err)
		}
	}
	if c.AgentTokenKey != "" {
		if cfg.AgentTokenKey, err = agentpool.ParseKey(c.AgentTokenKey); err != nil {
			p.add("AGENT_TOKEN_KEY", "must be 64 hex characters (32 bytes); generate one with: openssl rand -hex 32")
		}
	}
	for _, id := range splitList(c.DashboardAdminIDs) {
		v, err := strconv.ParseInt(id, 10, 64)
		if err != nil || v <= 0 {
			p.add("DASHBOARD_ADMIN_IDS", "%q is not a Discord user ID", id)
			continue
		}
		cfg.DashboardAdminIDs = append(cfg.DashboardAdminIDs, v)
	}
	for _, s := range splitList(c.TrustedProxies) {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			p.add("DASHBOARD_TRUSTED_PROXIES", "%q is not a CIDR such as 10.0.0.0/8 (%v)", s, err)
			continue
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, pfx)
	}
	if cfg.LogLevel, err = telemetry.ParseLevel(c.LogLevel); err != nil {
		p.add("LOG_LEVEL", "%v", err)
	}
	if host, port, err := net.SplitHostPort(c.GossipAddr); err != nil {
		p.add("GOSSIP_ADDR", "must be host:port (%v)", err)
	} else if n, err := strconv.ParseUint(port, 10, 16); err != nil {
		p.add("GOSSIP_ADDR", "port %q must be a number from 0 to 65535", port)
	} else {
		cfg.GossipHost, cfg.GossipPort = host, int(n)
	}
	if c.LavalinkNodes != "" {
		if cfg.LavalinkNodes, err = lavalink.ParseNodes(c.LavalinkNodes); err != nil {
			p.add("LAVALINK_NODES", "%v", err)
		}
	}
	if cfg.RateLimits, err = ratelimit.ParseConfig(c.RateLimits); err != nil {
		p.add("RATE_LIMITS", "%v", err)
	}
	if cfg.MusicSearch, err = voice.ParseSearch(c.MusicSearch); err != nil {
		p.add("MUSIC_SEARCH", "%v", err)
	}
	return cfg, p
}

// Validate checks the configuration, as Load does for the settings it
// parsed, and returns every problem as a *ConfigError, joined. A Config
// built by hand (DefaultConfig and changes) is checked by Run with it.
func (c *Config) Validate() error {
	p := &problems{}
	c.check(p)
	return p.err()
}

// check records what is wrong with the typed values: required settings
// left unset and values out of range. Settings already refused by parse
// are not reported twice.
func (c *Config) check(p *problems) {
	if strings.TrimSpace(c.DiscordToken) == "" {
		p.add("DISCORD_TOKEN", "is required")
	} else if strings.ContainsAny(c.DiscordToken, " \t\r\n") {
		p.add("DISCORD_TOKEN", "contains white space")
	}
	if c.DiscordAPI == nil {
		p.add("DISCORD_API_URL", "is required")
	}
	if c.Postgres == nil {
		p.add("POSTGRES_URL", "is required")
	}
	if c.Redis == nil {
		p.add("REDIS_URL", "is required")
	}
	if _, err := ParseEtcdEndpoints(strings.Join(c.EtcdEndpoints, ",")); err != nil && !p.has("ETCD_ENDPOINTS") {
		p.errs = append(p.errs, err)
	}
	if c.DiscordRedirectURI != "" {
		if u, err := url.Parse(c.DiscordRedirectURI); err != nil || u.Host == "" {
			p.add("DISCORD_REDIRECT_URI", "must be an absolute URL")
		}
	}
	switch c.NodeEnv {
	case "production", "development", "test":
	default:
		p.add("NODE_ENV", "must be production, development or test, not %q", c.NodeEnv)
	}
	if c.NodeID == "" || strings.ContainsAny(c.NodeID, "/ \t") {
		p.add("NODE_ID", "must be a non-empty name without '/' or spaces")
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		p.add("HTTP_ADDR", "must be host:port (%v)", err)
	}
	if _, _, err := net.SplitHostPort(c.DebugAddr); c.DebugAddr != "" && err != nil {
		p.add("DEBUG_ADDR", "must be host:port (%v)", err)
	}
	if c.GossipPort < 0 || c.GossipPort > 65535 {
		p.add("GOSSIP_ADDR", "port %d must be from 0 to 65535", c.GossipPort)
	}
	for _, s := range c.GossipSeeds {
		if _, _, err := net.SplitHostPort(s); err != nil {
			p.add("GOSSIP_SEEDS", "%q must be host:port", s)
		}
	}
	if c.ShardCount < 0 || c.ShardCount > 4096 {
		p.add("SHARD_COUNT", "must be between 0 (automatic) and 4096")
	}
	if c.CheckpointInterval < 0 || c.CheckpointInterval > time.Minute {
		p.add("CHECKPOINT_INTERVAL", "must be a duration up to 1m, such as 1s")
	}
	if c.LeaseTTL < 2*time.Second || c.LeaseTTL > 5*time.Minute {
		p.add("LEASE_TTL", "must be between 2s (etcd's minimum) and 5m")
	}
	if c.PostgresReadMaxLag < 100*time.Millisecond || c.PostgresReadMaxLag > time.Hour {
		p.add("POSTGRES_READ_MAX_LAG", "must be a duration between 100ms and 1h, such as 5s")
	}
	if c.IdentifyReserve < 0 {
		p.add("IDENTIFY_RESERVE", "must not be negative")
	}
	if !(c.ReshardAt >= 0 && c.ReshardAt <= 1) {
		p.add("RESHARD_AT", "must be a share between 0 (never) and 1, such as 0.8")
	}
	if c.ShardGuildCap < 1 {
		p.add("SHARD_GUILD_CAP", "must be at least 1")
	}
	if len(c.DashboardSessionSecret) > 0 && len(c.DashboardSessionSecret) < 32 {
		p.add("DASHBOARD_SESSION_SECRET", "must be at least 32 characters (openssl rand -hex 32)")
	}
	if c.Weight < 1 || c.Weight > 1000 {
		p.add("WEIGHT", "must be between 1 and 1000")
	}
	c.TTS.check(p)
	if c.EventsFile != "" {
		if _, err := economy.LoadEvents(c.EventsFile, economy.DefaultCatalog()); err != nil {
			p.add("EVENTS_FILE", "%v", err)
		}
	}
}

// ParsePostgresURL parses POSTGRES_URL, the one parser of it for the node
// and the commands that reach the database; its *ConfigError never repeats
// the URL's password.
func ParsePostgresURL(s string) (*pgxpool.Config, error) {
	return parsePostgresURL("POSTGRES_URL", s)
}

// parsePostgresURL parses the PostgreSQL URL of setting.
func parsePostgresURL(setting, s string) (*pgxpool.Config, error) {
	if strings.TrimSpace(s) == "" {
		return nil, &ConfigError{Setting: setting, Reason: "is required"}
	}
	c, err := pgxpool.ParseConfig(s)
	if err != nil {
		return nil, &ConfigError{Setting: setting, Reason: "cannot be parsed as a PostgreSQL URL (" + redactErr(err, s) + ")"}
	}
	return c, nil
}

// ParseEtcdEndpoints parses ETCD_ENDPOINTS, comma-separated http(s) URLs,
// for the node and the commands that read the cluster's state.
func ParseEtcdEndpoints(s string) ([]string, error) {
	eps := splitList(s)
	if len(eps) == 0 {
		return nil, &ConfigError{Setting: "ETCD_ENDPOINTS", Reason: "is required (comma-separated etcd client URLs)"}
	}
	for _, ep := range eps {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, &ConfigError{Setting: "ETCD_ENDPOINTS", Reason: fmt.Sprintf("%q is not an http(s) URL", ep)}
		}
	}
	return eps, nil
}

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
	type setting struct {
		env string
		set bool
	}
	unset := func(settings ...setting) []string {
		var out []string
		for _, s := range settings {
			if !s.set {
				out = append(out, s.env)
			}
		}
		return out
	}
	if s := unset(setting{"DISCORD_CLIENT_SECRET", c.DiscordClientSecret != ""}, setting{"DISCORD_REDIRECT_URI", c.DiscordRedirectURI != ""},
		setting{"DASHBOARD_SESSION_SECRET", len(c.DashboardSessionSecret) > 0}); len(s) > 0 {
		off = append(off, Off{"dashboard", s, "no dashboard at /"})
	} else if len(c.DashboardAdminIDs) == 0 {
		off = append(off, Off{"dashboard admin pages", []string{"DASHBOARD_ADMIN_IDS"}, "nobody may see the admin pages"})
	}
	if s := unset(setting{"LAVALINK_NODES", len(c.LavalinkNodes) > 0}, setting{"AGENT_TOKEN_KEY", !c.AgentTokenKey.IsZero()}); len(s) > 0 {
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
	var c Flags
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
