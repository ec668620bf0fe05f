package node

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/agentpool"
	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/dashboard"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/economy/cooldowncache"
	"github.com/chopsticks-bot/chopsticks/ratelimit"
)

var osStdout = os.Stdout

// commandSet is the catalog the node serves. Built on a Node without
// services (for `commands deploy`), the handlers are present but must not
// run.
func (n *Node) commandSet() ([]*commands.Command, []*commands.Component, error) {
	cmds := []*commands.Command{commands.Ping(), commands.Help(commands.EconomyHelp())}
	cmds = append(cmds, commands.Economy(n.econ)...)
	cmds = append(cmds, n.musicCommands()...)
	comps := commands.EconomyComponents(n.econ)
	ccmds, ccomps := commands.Companions(n.econ)
	cmds, comps = append(cmds, ccmds...), append(comps, ccomps...)
	return cmds, comps, nil
}

// migrate runs the schema migrations at start.
func (n *Node) migrate(ctx context.Context) error { return Migrate(ctx, n.pool) }

// Migrate runs the schema migrations of the economy, the agent registry and
// the dashboard's audit log. Each takes its own advisory lock, so nodes
// starting together are safe.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	steps := []struct {
		name string
		run  func() error
	}{
		{"economy", func() error { return economy.Migrate(ctx, pool) }},
		{"agent registry", func() error { return agentpool.Migrate(ctx, pool) }},
		{"dashboard", func() error { return dashboard.Migrate(ctx, pool) }},
	}
	for _, s := range steps {
		if err := s.run(); err != nil {
			return fmt.Errorf("migrate %s: %w", s.name, err)
		}
	}
	return nil
}

// services builds the economy and the rate limiter.
func (n *Node) services(ctx context.Context) error {
	var err error
	n.econ, err = economy.New(n.pool, economy.Options{Registerer: n.reg, Cooldowns: cooldowncache.New(n.fastRedis)})
	if err != nil {
		return fmt.Errorf("economy: %w", err)
	}
	// The limiter gets its own client with short timeouts, so that a Redis
	// outage switches it to its fallback in milliseconds, not seconds.
	opts, _ := redis.ParseURL(n.cfg.RedisURL)
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	opts.MaxRetries = -1   // 0 would mean go-redis's default of 3: four waits on a hung Redis
	opts.DialerRetries = 1 // and a refused dial would be tried 5 times, 100 ms apart
	n.limRedis = redis.NewClient(opts)
	n.limRedis.AddHook(n.redisHook)
	limits, err := ratelimit.ParseConfig(n.cfg.RateLimits) // checked by Validate
	if err != nil {
		return fmt.Errorf("rate limiter: %w", err)
	}
	n.log.Info("rate limits", "policy", limits.String(), "digest", limits.Fingerprint())
	n.lim, err = ratelimit.New(n.limRedis, limits,
		ratelimit.WithRegisterer(n.reg), ratelimit.WithLogger(n.log), ratelimit.WithLiveNodes(n.liveNodes))
	if err != nil {
		return fmt.Errorf("rate limiter: %w", err)
	}
	return n.lim.Start(ctx)
}

// liveNodes is how many nodes share the cluster's limits, for the
// limiter's per-node fallback share.
func (n *Node) liveNodes() int {
	if m := n.member.Load(); m != nil {
		if peers := len(m.Peers()); peers > 0 {
			return peers
		}
	}
	return 1
}

// limiter adapts the rate limiter to the router.
func (n *Node) limiter() commands.Limiter {
	if n.lim == nil {
		return nil
	}
	return commandLimiter{n.lim}
}

type commandLimiter struct{ l *ratelimit.Limiter }

func (c commandLimiter) Admit(ctx context.Context, user discord.UserID, command string, at time.Time) (commands.Admission, error) {
	d, err := c.l.AllowCommandAt(ctx, uint64(user), command, at)
	if err != nil {
		return commands.Admission{}, err
	}
	return commands.Admission{Allowed: d.Allowed, RetryAfter: d.RetryAfter}, nil
}

// dashboard builds the web dashboard, or returns nil when its settings are
// absent (it needs DISCORD_CLIENT_SECRET, DISCORD_REDIRECT_URI and
// DASHBOARD_SESSION_SECRET).
func (n *Node) dashboard(agents *agentpool.Registry) (*dashboard.Server, error) {
	c := n.cfg
	if c.DiscordClientSecret == "" || c.DiscordRedirectURI == "" || c.DashboardSessionKey == "" {
		// Config.Disabled has said so at start, at warn level.
		return nil, nil
	}
	var admins []int64
	for _, id := range splitList(c.DashboardAdminIDs) {
		v, _ := strconv.ParseInt(id, 10, 64)
		admins = append(admins, v)
	}
	var proxies []netip.Prefix
	for _, p := range splitList(c.TrustedProxies) {
		pfx, err := netip.ParsePrefix(p)
		if err != nil {
			return nil, &ConfigError{Setting: "DASHBOARD_TRUSTED_PROXIES", Reason: err.Error()}
		}
		proxies = append(proxies, pfx)
	}
	deps := dashboard.Deps{
		Redis: n.rdb, Pool: n.pool, Limiter: n.lim, Economy: n.econ,
		Leaderboard: n.econ, Ledger: n.econ, Cluster: clusterView{n},
	}
	if agents != nil {
		deps.Agents = agents
	}
	d, err := dashboard.New(dashboard.Config{
		ClientID: c.ClientID, ClientSecret: c.DiscordClientSecret, RedirectURI: c.DiscordRedirectURI,
		DiscordURL: c.DiscordAPIURL, SessionSecret: []byte(c.DashboardSessionKey), CookieSecure: c.DashboardCookieSec,
		AllowedOrigins: splitList(c.DashboardOrigins), AdminIDs: admins, TrustedProxies: proxies,
		Registerer: n.reg, Logger: n.log,
	}, deps)
	if err != nil {
		return nil, &ConfigError{Setting: "DASHBOARD_*", Reason: err.Error()}
	}
	return d, nil
}

// clusterView reads the cluster's status through the node's membership,
// which starts after the dashboard is built.
type clusterView struct{ n *Node }

func (c clusterView) Status(ctx context.Context) (coordinator.Status, error) {
	if m := c.n.member.Load(); m != nil {
		return m.Status(ctx)
	}
	return coordinator.ReadStatus(ctx, c.n.etcd, "")
}
