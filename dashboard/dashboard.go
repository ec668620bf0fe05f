// Package dashboard is Chopsticks' web dashboard: Discord login (OAuth2
// authorization code with state and PKCE), sessions in Redis, pages for users
// (profile, leaderboard, transactions) and admins (cluster, agent pool,
// economy adjustments, audit log), and the JSON endpoints behind them.
//
// Every node serves it; sessions live in Redis, so any node can answer any
// request. Every response carries Helmet-like security headers with a strict
// Content-Security-Policy (no inline script or style); cross-origin requests
// are refused unless their origin is configured; every state-changing request
// needs the session's synchronizer CSRF token; bodies are size-limited;
// requests are rate-limited per IP, admin actions at an ordinary rate, and
// failed logins and refused admin actions block as sensitive failures. Every admin action and every refused admin attempt is written to
// an append-only audit log in PostgreSQL.
package dashboard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/chopsticks-bot/chopsticks/agentpool"
	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/ratelimit"
)

// Config is the dashboard's configuration, from the node's flags and
// environment.
type Config struct {
	// ClientID and ClientSecret are the Discord application's OAuth2
	// credentials (the application ID and DISCORD_CLIENT_SECRET).
	ClientID     string
	ClientSecret string
	// RedirectURI is DISCORD_REDIRECT_URI: the dashboard's public URL of
	// /auth/callback, registered with the application. Its origin is the
	// dashboard's own origin for CORS and CSRF checks.
	RedirectURI string
	// DiscordURL is Discord's base URL (default https://discord.com);
	// discordsim's URL in tests and the sandbox.
	DiscordURL string
	// SessionSecret is DASHBOARD_SESSION_SECRET, at least 32 bytes: the
	// HMAC key signing session cookies.
	SessionSecret []byte
	// CookieSecure is DASHBOARD_COOKIE_SECURE: cookies get Secure (and the
	// __Host- prefix) and responses get HSTS.
	CookieSecure bool
	// AllowedOrigins are the other origins allowed to call the JSON API
	// with credentials (CORS), as scheme://host[:port].
	AllowedOrigins []string
	// AdminIDs are DASHBOARD_ADMIN_IDS: Discord user IDs with admin pages.
	AdminIDs []int64
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is
	// believed for the client IP; empty means the peer address is the client.
	TrustedProxies []netip.Prefix
	// SessionTTL is a session's lifetime (default 12 h).
	SessionTTL time.Duration
	// MaxBodyBytes limits request bodies (default 16 KiB).
	MaxBodyBytes int64
	// HTTPClient talks to Discord (default: 10 s timeout).
	HTTPClient *http.Client
	// Registerer receives the dashboard's metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Logger receives request errors (default slog.Default()); it never
	// receives tokens or session IDs.
	Logger *slog.Logger
}

// Economy is the read side of the economy the user pages show;
// *economy.Service implements it.
type Economy interface {
	Balance(ctx context.Context, user int64) (economy.Account, error)
	Inventory(ctx context.Context, user int64, page int) (economy.Page[economy.Stack], error)
	Collection(ctx context.Context, user int64, filter string) (economy.Collection, error)
	Vault(ctx context.Context, user int64) ([]economy.VaultEntry, error)
	CurrencyLog(ctx context.Context, user int64, page int) (economy.Page[economy.LogEntry], error)
}

// Leaderboard ranks players by net worth (wallet + bank), richest first,
// with their names: the global wealth board of /leaderboard.
type Leaderboard interface {
	Top(ctx context.Context, limit int) ([]economy.BoardEntry, error)
}

// Ledger makes admin adjustments through the economy's double-entry ledger.
// Each call is one economy operation op (idempotent: a replayed op changes
// nothing), recorded with the admin and the reason.
type Ledger interface {
	// AdjustCredits moves amount credits from the mint to user's wallet
	// (amount < 0: from the wallet to the sink) and returns the account.
	AdjustCredits(ctx context.Context, op economy.Op, admin, user, amount int64, reason string) (economy.Account, error)
	// AdjustItems creates qty items of key for user (qty < 0: destroys
	// -qty unvaulted ones).
	AdjustItems(ctx context.Context, op economy.Op, admin, user int64, item string, qty int, reason string) error
}

// Cluster reports the cluster's state; *coordinator.Member implements it.
type Cluster interface {
	Status(ctx context.Context) (coordinator.Status, error)
}

// Agents is the agent pool registry; *agentpool.Registry implements it.
// Tokens go in and never come out.
type Agents interface {
	List(ctx context.Context) ([]agentpool.Agent, error)
	Add(ctx context.Context, name string, token agentpool.Token) (agentpool.Agent, error)
	Remove(ctx context.Context, id int64) error
	SetEnabled(ctx context.Context, id int64, enabled bool) error
}

// Limiter decides per-IP request limits, the ordinary rate of admin
// actions, and blocks earned by failures (failed logins, refused admin
// actions, bad CSRF tokens); *ratelimit.Limiter implements it.
type Limiter interface {
	AllowHTTP(ctx context.Context, ip string) (ratelimit.Decision, error)
	AllowAdmin(ctx context.Context, userID uint64) (ratelimit.Decision, error)
	SensitiveBlocked(ctx context.Context, action string, userID uint64, ip string) (ratelimit.Decision, error)
	FailSensitive(ctx context.Context, action string, userID uint64, ip string) (ratelimit.Decision, error)
}

// Deps are the services the dashboard uses. Redis, Pool, Limiter and
// Economy are required; a nil optional dependency turns its pages into a
// "not available on this node" notice and its endpoints into 503.
type Deps struct {
	Redis       redis.UniversalClient // sessions and OAuth state
	Pool        *pgxpool.Pool         // the audit log (run Migrate first)
	Limiter     Limiter
	Economy     Economy
	Leaderboard Leaderboard // optional
	Ledger      Ledger      // optional
	Cluster     Cluster     // optional
	Agents      Agents      // optional
	Events      Events      // optional: the seasonal events' admin page
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Reads, optional, runs the audit log's listing, which tolerates lag,
	// on the pool it picks (a read replica); nil lists from Pool.
	Reads economy.ReadRouter
}

// Sensitive-action names given to the Limiter: failures of each are
// counted apart.
const (
	ActionLogin = "dashboard_login"
	ActionAdmin = "dashboard_admin"
)

// Server is the dashboard. It is an http.Handler for the node to mount at
// "/" (pages, /api/, /auth/, /static/).
type Server struct {
	cfg      Config
	deps     Deps
	oauth    *oauth2.Config
	meURL    string
	guildURL string
	self     string          // the dashboard's own origin
	origins  map[string]bool // other allowed origins
	admins   map[int64]bool
	log      *slog.Logger
	audit    *auditLog
	pages    *pages
	met      *metrics
	handler  http.Handler
	// adminRateText tells an admin refused by the ordinary rate what it is.
	adminRateText string
}

// New checks cfg and deps and returns the dashboard.
func New(cfg Config, deps Deps) (*Server, error) {
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("dashboard: the Discord client ID and DISCORD_CLIENT_SECRET are required")
	}
	if len(cfg.SessionSecret) < 32 {
		return nil, errors.New("dashboard: DASHBOARD_SESSION_SECRET must be at least 32 bytes")
	}
	ru, err := url.Parse(cfg.RedirectURI)
	if err != nil || (ru.Scheme != "http" && ru.Scheme != "https") || ru.Host == "" || ru.Path != "/auth/callback" {
		return nil, fmt.Errorf("dashboard: DISCORD_REDIRECT_URI %q must be an absolute http(s) URL ending in /auth/callback", cfg.RedirectURI)
	}
	if cfg.CookieSecure && ru.Scheme != "https" {
		return nil, errors.New("dashboard: DASHBOARD_COOKIE_SECURE=true needs an https DISCORD_REDIRECT_URI")
	}
	if deps.Redis == nil || deps.Pool == nil || deps.Limiter == nil || deps.Economy == nil {
		return nil, errors.New("dashboard: Redis, Pool, Limiter and Economy are required")
	}
	if cfg.DiscordURL == "" {
		cfg.DiscordURL = "https://discord.com"
	}
	base, err := url.Parse(strings.TrimRight(cfg.DiscordURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("dashboard: Discord URL %q is not an absolute http(s) URL", cfg.DiscordURL)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 16 << 10
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Server{
		cfg: cfg, deps: deps, log: cfg.Logger,
		self:    ru.Scheme + "://" + ru.Host,
		origins: map[string]bool{}, admins: map[int64]bool{},
		audit: &auditLog{pool: deps.Pool, reads: deps.Reads},
	}
	for _, o := range cfg.AllowedOrigins {
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, fmt.Errorf("dashboard: allowed origin %q is not scheme://host[:port]", o)
		}
		s.origins[u.Scheme+"://"+u.Host] = true
	}
	for _, id := range cfg.AdminIDs {
		if id <= 0 {
			return nil, fmt.Errorf("dashboard: admin ID %d is not a Discord user ID", id)
		}
		s.admins[id] = true
	}
	b := base.String()
	s.oauth = &oauth2.Config{
		ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURI,
		Scopes: []string{"identify", "guilds"},
		Endpoint: oauth2.Endpoint{AuthURL: b + "/oauth2/authorize", TokenURL: b + "/api/v10/oauth2/token",
			AuthStyle: oauth2.AuthStyleInHeader},
	}
	s.meURL, s.guildURL = b+"/api/v10/users/@me", b+"/api/v10/users/@me/guilds"
	s.adminRateText = "Too many admin actions in a short time"
	if c, ok := deps.Limiter.(interface{ Config() ratelimit.Config }); ok {
		s.adminRateText = fmt.Sprintf("Too many admin actions: the limit is %s per admin", c.Config().Admin)
	}
	if s.met, err = newMetrics(cfg.Registerer); err != nil {
		return nil, err
	}
	if s.pages, err = loadPages(); err != nil {
		return nil, err
	}
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP serves the dashboard.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// IsAdmin reports whether Discord user id is a dashboard admin.
func (s *Server) IsAdmin(id int64) bool { return s.admins[id] }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /static/", staticHandler())
	mux.HandleFunc("GET /favicon.ico", faviconHandler)

	mux.HandleFunc("GET /auth/login", s.handleLogin)
	mux.HandleFunc("GET /auth/callback", s.handleCallback)
	mux.Handle("POST /auth/logout", s.mutating(s.handleLogout))

	mux.HandleFunc("GET /{$}", s.pageHome)
	mux.Handle("GET /leaderboard", s.user(s.pageLeaderboard))
	mux.Handle("GET /transactions", s.user(s.pageTransactions))
	mux.Handle("GET /admin", s.admin("view_cluster", s.pageCluster))
	mux.Handle("GET /admin/agents", s.admin("view_agents", s.pageAgents))
	mux.Handle("GET /admin/economy", s.admin("view_economy", s.pageEconomy))
	mux.Handle("GET /admin/audit", s.admin("view_audit", s.pageAudit))
	mux.Handle("GET /admin/events", s.admin("view_events", s.pageEvents))

	mux.Handle("GET /api/me", s.user(s.apiMe))
	mux.Handle("GET /api/balance", s.user(s.apiBalance))
	mux.Handle("GET /api/inventory", s.user(s.apiInventory))
	mux.Handle("GET /api/collection", s.user(s.apiCollection))
	mux.Handle("GET /api/vault", s.user(s.apiVault))
	mux.Handle("GET /api/transactions", s.user(s.apiTransactions))
	mux.Handle("GET /api/leaderboard", s.user(s.apiLeaderboard))

	mux.Handle("GET /api/admin/cluster", s.admin("view_cluster", s.apiCluster))
	mux.Handle("GET /api/admin/agents", s.admin("view_agents", s.apiAgents))
	mux.Handle("POST /api/admin/agents", s.adminAction("agent_add", s.apiAgentAdd))
	mux.Handle("POST /api/admin/agents/{id}/enable", s.adminAction("agent_enable", s.apiAgentEnable(true)))
	mux.Handle("POST /api/admin/agents/{id}/disable", s.adminAction("agent_disable", s.apiAgentEnable(false)))
	mux.Handle("DELETE /api/admin/agents/{id}", s.adminAction("agent_remove", s.apiAgentRemove))
	mux.Handle("POST /api/admin/economy/credits", s.adminAction("credits_adjust", s.apiCredits))
	mux.Handle("POST /api/admin/economy/items", s.adminAction("items_adjust", s.apiItems))
	mux.Handle("GET /api/admin/audit", s.admin("view_audit", s.apiAudit))
	mux.Handle("GET /api/admin/events", s.admin("view_events", s.apiEvents))

	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "not_found", "There is no such endpoint.")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusNotFound, "That page does not exist.")
	})
	return s.count(s.secure(s.cors(s.rateLimit(compress(s.limitBody(mux))))))
}

// clientIP is the address the request came from: the peer, or, behind a
// trusted proxy, the right-most untrusted X-Forwarded-For address.
func (s *Server) clientIP(r *http.Request) string {
	ap, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	ip := ap.Addr().Unmap()
	if !s.trusted(ip) {
		return ip.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for _, h := range slices.Backward(hops) {
		a, err := netip.ParseAddr(strings.TrimSpace(h))
		if err != nil {
			break
		}
		ip = a.Unmap()
		if !s.trusted(ip) {
			break
		}
	}
	return ip.String()
}

func (s *Server) trusted(ip netip.Addr) bool {
	for _, p := range s.cfg.TrustedProxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}
