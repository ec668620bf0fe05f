package deploy

// EnvVar describes one environment variable of `chopsticks node`.
type EnvVar struct {
	Name     string
	Required bool   // the node refuses to start without it (node.Settings says which; a test checks)
	Secret   bool   // keep it out of logs, job files and the repository
	Example  string // a value that shows the format (never a real secret)
	Help     string
}

// NodeEnv returns the environment `chopsticks node` reads, in the order the
// example files list it. Every deployment (Compose, Nomad, systemd) must set
// each Required variable, and its example environment file must name every
// variable; the tests check both. Variables that are not Required have a
// default or switch a feature off; the node names each feature left off in
// a warn line at start.
func NodeEnv() []EnvVar {
	return []EnvVar{
		{"DISCORD_TOKEN", true, true, "", "Bot token of the main application."},
		{"CLIENT_ID", false, false, "123456789012345678", "Application (client) ID; read from GET /applications/@me when unset."},
		{"DISCORD_CLIENT_SECRET", false, true, "", "OAuth2 client secret, for the dashboard login; the dashboard is off without it."},
		{"DISCORD_REDIRECT_URI", false, false, "https://bot.example.org/auth/callback", "OAuth2 redirect URI registered in the Discord developer portal; the dashboard is off without it."},
		{"POSTGRES_URL", true, true, "postgres://chopsticks:PASSWORD@127.0.0.1:5432/chopsticks?sslmode=disable", "PostgreSQL DSN (pgx)."},
		{"REDIS_URL", true, true, "redis://:PASSWORD@127.0.0.1:6379/0", "Redis URL."},
		{"ETCD_ENDPOINTS", true, false, "http://127.0.0.1:2379", "Comma-separated etcd client URLs."},
		{"AGENT_TOKEN_KEY", false, true, "", "64 hex characters (32 bytes): AES-256-GCM key of the agent tokens; music is off without it. Generate with: openssl rand -hex 32"},
		{"DASHBOARD_SESSION_SECRET", false, true, "", "Dashboard session secret; the dashboard is off without it. Generate with: openssl rand -hex 32"},
		{"DASHBOARD_ADMIN_IDS", false, false, "123456789012345678", "Comma-separated Discord user IDs of dashboard admins."},
		{"DASHBOARD_COOKIE_SECURE", false, false, "true", "true when the dashboard is served over HTTPS (always in production)."},
		{"NODE_ID", false, false, "node-1", "Unique, stable name of this node in the cluster; the host name when unset."},
		{"NODE_ENV", false, false, "production", "production or development."},
		{"LOG_LEVEL", false, false, "info", "debug, info, warn or error."},
		{"HTTP_ADDR", false, false, ":8080", "Listen address of /metrics, /health, /ready, /status and the dashboard."},
		{"GOSSIP_ADDR", false, false, ":7946", "memberlist bind address (TCP and UDP); peers must reach it."},
		{"GOSSIP_SEEDS", false, false, "10.0.0.11:7946,10.0.0.12:7946", "Comma-separated gossip addresses of other nodes to join."},
		{"LAVALINK_NODES", false, true, `[{"name":"main","address":"127.0.0.1:2333","password":"PASSWORD","secure":false}]`, "Lavalink v4 nodes (name, address, password, secure); music is off without it."},
		{"SHARD_COUNT", false, false, "", "Fixed shard count; empty means the count Discord recommends in GET /gateway/bot."},
		{"MUSIC_SEARCH", false, false, "ytsearch,scsearch", "Search prefixes tried in order for /play search terms, e.g. ytsearch,scsearch (spsearch, amsearch, dzsearch with LavaSrc)."},
		{"RATE_LIMITS", false, false, "command=10/1s, global.play=100/1s", "Rate limits that differ from the defaults (see docs/operations.md); empty keeps every default."},
		{"OTEL_EXPORTER_OTLP_ENDPOINT", false, false, "", "OTLP/HTTP endpoint for traces; tracing is off when unset."},
		{"OTEL_SERVICE_NAME", false, false, "chopsticks", "Service name in traces."},
	}
}
