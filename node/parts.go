package node

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/jackc/pgx/v5/pgxpool"

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
	cmds := []*commands.Command{commands.Ping(), commands.HelpMenu(commands.GameHelp(n.econ.Catalog()))}
	cmds = append(cmds, commands.WithAchievements(n.econ, commands.Economy(n.econ))...)
	cmds = append(cmds, n.musicCommands()...)
	cmds = append(cmds, n.sayCommands()...)
	comps := commands.EconomyComponents(n.econ)
	cmds = append(cmds, commands.WithAchievements(n.econ, commands.Market(n.econ))...)
	comps = append(comps, commands.MarketComponents(n.econ)...)
	cmds = append(cmds, commands.WithAchievements(n.econ, commands.Trade(n.econ))...)
	comps = append(comps, commands.WithAchievementsComponents(n.econ, commands.TradeComponents(n.econ))...)
	cmds = append(cmds, commands.Achievements(n.econ)...)
	comps = append(comps, commands.AchievementComponents(n.econ)...)
	boards := economy.NewLeaderboards(n.econ, n.fastRedis)
	cmds = append(cmds, commands.Leaderboard(boards)...)
	comps = append(comps, commands.LeaderboardComponents(boards)...)
	cmds = append(cmds, commands.Events(n.econ)...)
	ccmds, ccomps := commands.Companions(n.econ)
	cmds, comps = append(cmds, ccmds...), append(comps, ccomps...)
	comps = append(comps, commands.HelpComponents(commands.GameHelp(n.econ.Catalog()))...)
	cmds, comps = append(cmds, commands.Cooldowns(n.econ)), append(comps, commands.PayConfirmComponents(n.econ)...)
	comps = append(comps, commands.ShopComponents(n.econ)...)
	if n.voice.router != nil { // without music, /nowplaying and /queue draw no buttons
		comps = append(comps, commands.MusicControls(n.voice.router)...)
	}
	cmds = append(cmds, commands.Premium(n.econ)...)
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
	if n.reads, err = n.readRouter(ctx); err != nil {
		return err
	}
	cat := economy.DefaultCatalog()
	events, err := economy.LoadEvents(n.cfg.EventsFile, cat)
	if err != nil {
		return &ConfigError{Setting: "EVENTS_FILE", Reason: err.Error()}
	}
	n.econ, err = economy.New(n.pool, economy.Config{Registerer: n.reg, Cooldowns: cooldowncache.New(n.fastRedis), Reads: n.reads,
		Catalog: cat, Events: events, Now: n.cfg.Clock, Premium: n.cfg.PremiumSKUs})
	if err != nil {
		return fmt.Errorf("economy: %w", err)
	}
	n.premium = commands.NewPremiumSync(n.econ, restConsumer{n}, n.log)
	// The limiter gets its own client with short timeouts, so that a Redis
	// outage switches it to its fallback in milliseconds, not seconds.
	opts := *n.cfg.Redis
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	opts.MaxRetries = -1   // 0 would mean go-redis's default of 3: four waits on a hung Redis
	opts.DialerRetries = 1 // and a refused dial would be tried 5 times, 100 ms apart
	n.limRedis = newRedisClient(&opts)
	n.limRedis.AddHook(n.redisHook)
	limits := n.cfg.RateLimits
	n.log.Info("rate limits", "policy", limits.String(), "digest", limits.Fingerprint())
	limits.Registerer, limits.Logger, limits.LiveNodes = n.reg, n.log, n.liveNodes
	n.lim, err = ratelimit.New(n.limRedis, limits)
	if err != nil {
		return fmt.Errorf("rate limiter: %w", err)
	}
	return n.lim.Start(ctx)
}

// liveNodes is how many nodes share the cluster's limits: discordrest
// divides Discord's global REST limit by it when Redis is down, and the
// limiter logs it.
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
	if c.DiscordClientSecret == "" || c.DiscordRedirectURI == "" || len(c.DashboardSessionSecret) == 0 {
		// Config.Disabled has said so at start, at warn level.
		return nil, nil
	}
	deps := dashboard.Deps{
		Redis: n.sessRedis, Pool: n.pool, Limiter: n.lim, Economy: n.econ,
		Leaderboard: economy.NewLeaderboards(n.econ, n.rdb), Ledger: n.econ, Cluster: clusterView{n}, Reads: n.reads,
		Events: n.econ,
	}
	if agents != nil {
		deps.Agents = agents
	}
	d, err := dashboard.New(dashboard.Config{
		ClientID: c.ClientID.String(), ClientSecret: c.DiscordClientSecret, RedirectURI: c.DiscordRedirectURI,
		DiscordURL: c.DiscordAPI.String(), SessionSecret: c.DashboardSessionSecret, CookieSecure: c.DashboardCookieSecure,
		AllowedOrigins: c.DashboardOrigins, AdminIDs: c.DashboardAdminIDs, TrustedProxies: c.TrustedProxies,
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
