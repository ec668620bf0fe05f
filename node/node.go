package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/gateway"
	"github.com/diamondburned/arikawa/v3/utils/ws"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/discordapi"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/ratelimit"
	"github.com/chopsticks-bot/chopsticks/ratelimit/discordrest"
	"github.com/chopsticks-bot/chopsticks/shard"
	"github.com/chopsticks-bot/chopsticks/telemetry"
)

// Intents are the gateway intents the bot's shards ask for: guilds and
// voice states (music needs to see who is in which channel). Interactions
// arrive without any intent.
const Intents = gateway.IntentGuilds | gateway.IntentGuildVoiceStates

// Node is a running node.
type Node struct {
	cfg       Config
	log       *slog.Logger
	reg       *prometheus.Registry
	http      *telemetry.Server
	pool      *pgxpool.Pool
	rdb       redis.UniversalClient
	sessRedis redis.UniversalClient // dashboard sessions and music queues: REDIS_SESSIONS_URL, or rdb
	etcd      *clientv3.Client
	discord   *api.Client
	router    *commands.Router
	premium   *commands.PremiumSync // entitlements and one-time purchases (premium.go)
	catalog   *commands.Catalog
	metrics   *shard.Metrics
	econ      *economy.Service
	reads     economy.ReadRouter // nil without POSTGRES_READ_URL
	lim       *ratelimit.Limiter
	limRedis  redis.UniversalClient
	fastRedis redis.UniversalClient // the interaction path's client: see interactionRedisOptions
	redisHook *telemetry.RedisHook
	bot       *api.BotData
	botUserID string
	voice     musicParts
	bg        sync.WaitGroup // background loops, stopped by the services context

	gatewayURL string
	shardCount int
	maxConc    int
	gate       shard.Gate
	// member is set once the node has joined; HTTP handlers and background
	// loops read it concurrently.
	member atomic.Pointer[coordinator.Member]

	mu     sync.Mutex
	shards map[int]*runningShard
	// next are the next generation's shards while the cluster reshards
	// (reshard.go), and promoted ones until their shard unit adopts them.
	next map[int]*runningShard
}

type runningShard struct {
	sh    *shard.Shard
	stop  context.CancelFunc
	done  chan struct{}
	count int
	cps   *genCheckpoints
}

// Run starts a node and serves until ctx ends, then drains: it hands its
// shards off resumably and stops. A *ConfigError reports bad settings
// (before anything connects) or an unreachable dependency at start.
func Run(ctx context.Context, cfg Config) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	logs := cfg.Logs
	if logs == nil {
		logs = osStdout
	}
	log := telemetry.NewLogger(logs, cfg.LogLevel).With("node", cfg.NodeID)
	cfg.logDisabled(log)
	stopTracing, err := telemetry.SetupTracing(ctx, "chopsticks", cfg.NodeID)
	if err != nil {
		return &ConfigError{Setting: "OTEL_EXPORTER_OTLP_ENDPOINT", Reason: err.Error()}
	}
	defer func() {
		c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = stopTracing(c)
	}()

	n := &Node{cfg: cfg, log: log, reg: telemetry.NewRegistry(), shards: map[int]*runningShard{}, next: map[int]*runningShard{}}
	if err := n.connect(ctx); err != nil {
		return err
	}
	defer n.close()

	svcCtx, stopServices := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServices()
	if err := n.services(svcCtx); err != nil {
		return err
	}
	if err := n.startMusic(svcCtx); err != nil {
		return err
	}
	defer func() {
		stopServices()
		n.bg.Wait()
	}()
	n.startEconomyLoops(svcCtx)
	if n.metrics, err = shard.NewMetrics(n.reg); err != nil {
		return err
	}
	if err := n.buildRouter(); err != nil {
		return err
	}
	if n.http, err = telemetry.NewServer(cfg.HTTPAddr, n.reg, log); err != nil {
		return &ConfigError{Setting: "HTTP_ADDR", Reason: err.Error()}
	}
	dash, err := n.dashboard(n.voice.registry)
	if err != nil {
		return err
	}
	if dash != nil {
		n.http.Mux.Handle("/", dash)
	}
	if _, err := DeployCommands(ctx, n.discord, n.cfg.ClientID, 0, n.catalog); err != nil {
		// Serving commands registered earlier beats not serving at all.
		log.Warn("command registration failed", "err", err)
	}
	n.routes()
	n.routeSpeech()
	if cfg.DebugAddr != "" {
		dbg, err := startDebugServer(cfg.DebugAddr, log)
		if err != nil {
			return &ConfigError{Setting: "DEBUG_ADDR", Reason: err.Error()}
		}
		defer dbg.stop()
	}
	n.http.Start()
	httpUp := true
	defer func() {
		// On a failed start the server must not outlive Run.
		if httpUp {
			c, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = n.http.Shutdown(c)
		}
	}()
	log.Info("node serving", "http", n.http.Addr(), "shards", n.shardCount)
	if cfg.Ready != nil {
		cfg.Ready(n.http.Addr())
	}

	member, err := n.joinCluster(ctx)
	if err != nil {
		return fmt.Errorf("join cluster: %w", err)
	}
	defer n.closeGate()
	n.member.Store(member)
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		n.syncAgents(svcCtx)
	}()
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		n.sweepBattles(svcCtx)
	}()
	n.bg.Go(func() { n.autoReshard(svcCtx, member) })
	<-ctx.Done()
	log.Info("draining")
	n.leaveCluster(member)
	n.stopShards()
	n.stopMusic()
	drainCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := n.router.Shutdown(drainCtx); err != nil {
		log.Warn("router drain", "err", err)
	}
	n.premium.Close()
	httpUp = false
	if err := n.http.Shutdown(drainCtx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	log.Info("stopped")
	return nil
}

// connect reaches PostgreSQL, Redis, etcd and Discord, failing with the
// setting to blame when one cannot be reached within startupTimeout.
func (n *Node) connect(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startupTimeout)
	defer cancel()
	pcfg := n.cfg.Postgres.Copy() // the caller's Config stays as it was
	pcfg.ConnConfig.Tracer = telemetry.NewPgxTracer()
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err == nil {
		err = retry(ctx, func() error { return pool.Ping(ctx) })
	}
	if err != nil {
		if pool != nil {
			pool.Close()
		}
		return &ConfigError{Setting: "POSTGRES_URL", Reason: "cannot connect: " + redactErr(err, pcfg.ConnConfig.Password)}
	}
	n.pool = pool
	if err := n.reg.Register(telemetry.NewPoolCollector(pool)); err != nil {
		return fmt.Errorf("database pool metrics: %w", err)
	}
	if err := n.migrate(ctx); err != nil {
		return err
	}

	ropts := *n.cfg.Redis
	if n.redisHook, err = telemetry.NewRedisHook(n.reg); err != nil {
		return fmt.Errorf("redis metrics: %w", err)
	}
	n.rdb = newRedisClient(&ropts)
	n.rdb.AddHook(n.redisHook)
	n.fastRedis = newRedisClient(interactionRedisOptions(&ropts))
	n.fastRedis.AddHook(n.redisHook)
	if err := retry(ctx, func() error { return redisPing(ctx, n.rdb) }); err != nil {
		return &ConfigError{Setting: "REDIS_URL", Reason: "cannot connect: " + redactRedisErr(err, &ropts)}
	}
	n.sessRedis = n.rdb
	if so := n.cfg.RedisSessions; so != nil {
		n.sessRedis = newRedisClient(so)
		n.sessRedis.AddHook(n.redisHook)
		if err := retry(ctx, func() error { return redisPing(ctx, n.sessRedis) }); err != nil {
			return &ConfigError{Setting: "REDIS_SESSIONS_URL", Reason: "cannot connect: " + redactRedisErr(err, so)}
		}
	}

	n.etcd, err = clientv3.New(clientv3.Config{Endpoints: n.cfg.EtcdEndpoints, DialTimeout: 5 * time.Second, Logger: nil})
	if err == nil {
		err = retry(ctx, func() error {
			c, cancel := context.WithTimeout(ctx, 2*time.Second)
			defer cancel()
			_, err := n.etcd.Get(c, "/chopsticks/probe")
			return err
		})
	}
	if err != nil {
		return &ConfigError{Setting: "ETCD_ENDPOINTS", Reason: "cannot reach etcd: " + err.Error()}
	}

	base := n.cfg.DiscordAPI
	plain := discordapi.NewClient(n.cfg.DiscordToken, base, nil).WithContext(ctx)
	bot, err := plain.BotURL()
	if err != nil {
		return &ConfigError{Setting: "DISCORD_TOKEN", Reason: "Discord refused it or is unreachable at " + base.String() + ": " + err.Error()}
	}
	n.bot = bot
	me, err := plain.Me()
	if err != nil {
		return &ConfigError{Setting: "DISCORD_TOKEN", Reason: "GET /users/@me failed: " + err.Error()}
	}
	n.botUserID = me.ID.String()
	n.gatewayURL = bot.URL
	n.shardCount = bot.Shards
	if n.cfg.ShardCount > 0 {
		n.shardCount = n.cfg.ShardCount
	}
	if n.shardCount < 1 {
		n.shardCount = 1
	}
	n.maxConc = max(bot.StartLimit.MaxConcurrency, 1)
	if !n.cfg.ClientID.IsValid() {
		app, err := currentApplication(plain)
		if err != nil {
			return &ConfigError{Setting: "CLIENT_ID", Reason: "not set, and /applications/@me failed: " + err.Error()}
		}
		n.cfg.ClientID = app.ID
	}
	// Every later request goes through the cluster-wide limiter, which
	// shares Discord's buckets and global limit with the other nodes.
	rest, err := discordrest.New(discordapi.Rewrite(base, nil), n.fastRedis, discordrest.Config{Name: n.cfg.ClientID.String(),
		Registerer: n.reg, Logger: n.log, LiveNodes: n.liveNodes})
	if err != nil {
		return fmt.Errorf("discord REST limiter: %w", err)
	}
	n.discord = discordapi.WithoutLocalLimits(discordapi.NewClient(n.cfg.DiscordToken, base, telemetry.NewHTTPTransport(rest)))
	return nil
}

// retry calls f until it succeeds or ctx ends, returning the last error.
// An error marked permanent (a refused password, a certificate not
// trusted) ends it at once: waiting would not change the answer.
func retry(ctx context.Context, f func() error) error {
	var err error
	for {
		if err = f(); err == nil {
			return nil
		}
		var p permanent
		if errors.As(err, &p) {
			return p.error
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// permanent marks an error retry must not wait out.
type permanent struct{ error }

func (n *Node) close() {
	if n.limRedis != nil {
		n.limRedis.Close()
	}
	if n.etcd != nil {
		n.etcd.Close()
	}
	if n.sessRedis != nil && n.sessRedis != n.rdb {
		n.sessRedis.Close()
	}
	if n.rdb != nil {
		n.rdb.Close()
	}
	if n.fastRedis != nil {
		n.fastRedis.Close()
	}
	if n.pool != nil {
		n.pool.Close()
	}
}

func (n *Node) buildRouter() error {
	cmds, comps, err := n.commandSet()
	if err != nil {
		return err
	}
	cat, err := commands.NewCatalog(cmds, comps)
	if err != nil {
		return fmt.Errorf("command catalog: %w", err)
	}
	n.catalog = cat
	n.router, err = commands.NewRouter(commands.Config{
		Catalog:    cat,
		Responder:  n.discord,
		Claimer:    n.claimer(),
		Limiter:    n.limiter(),
		Logger:     n.log,
		Registerer: n.reg,
		NodeID:     n.cfg.NodeID,
		Seen:       commands.PlayerSeen(n.econ, n.log),
	})
	return err
}

// handle is every shard's event handler.
func (n *Node) handle(ctx context.Context, shardID int, ev ws.Event) {
	switch e := ev.(type) {
	case *premiumInteraction: // INTERACTION_CREATE with its entitlements (premium.go)
		n.observeEntitlements(ctx, e.Entitlements...)
		n.router.Dispatch(ctx, &e.InteractionEvent, shardID)
	case *gateway.VoiceStateUpdateEvent, *gateway.GuildCreateEvent, *gateway.GuildDeleteEvent:
		// Where users are in voice, for /play; any node may answer.
		if n.voice.states != nil {
			if _, err := n.voice.states.Handle(ctx, ev); err != nil {
				n.log.Warn("voice state cache", "err", err)
			}
		}
	default:
		n.handlePremium(ctx, ev)
	}
}

// runShard starts shard id of count shards, resuming from its checkpoint
// when there is one of that count, and records it among the serving
// shards, or the next generation's when next; a warm one discards its
// events until served.
func (n *Node) runShard(gate shard.Gate, id, count int, next, warm bool) (*runningShard, error) {
	cps := n.genCheckpoints(count, !next)
	sh, err := shard.New(shard.Config{
		Token: n.cfg.DiscordToken, ID: id, Count: count, Intents: Intents,
		GatewayURL: n.gatewayURL, Gate: gate, Checkpoints: cps, Node: n.cfg.NodeID,
		Handler: n.handle, Logger: n.log, Metrics: n.metrics, CheckpointEvery: n.cfg.CheckpointInterval,
		Warm: warm, CheckpointAtReady: true,
	})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	rs := &runningShard{sh: sh, stop: cancel, done: make(chan struct{}), count: count, cps: cps}
	n.mu.Lock()
	if next {
		n.next[id] = rs
	} else {
		n.shards[id] = rs
	}
	n.mu.Unlock()
	go func() {
		defer close(rs.done)
		from, err := cps.load(ctx, id, count)
		if err != nil && !errors.Is(err, shard.ErrNoCheckpoint) {
			n.log.Warn("checkpoint load failed; identifying", "shard", id, "err", err)
		}
		if err := sh.Run(ctx, from); err != nil {
			n.log.Error("shard stopped", "shard", id, "err", err)
		}
	}()
	return rs, nil
}

// stopShards hands every shard off at once and waits for them.
func (n *Node) stopShards() {
	n.mu.Lock()
	running := make([]*runningShard, 0, len(n.shards))
	for _, rs := range n.shards {
		rs.stop()
		running = append(running, rs)
	}
	for _, rs := range n.next {
		rs.stop()
		running = append(running, rs)
	}
	n.shards, n.next = map[int]*runningShard{}, map[int]*runningShard{}
	n.mu.Unlock()
	for _, rs := range running {
		<-rs.done
	}
}

// routes mounts the node's HTTP endpoints beside /metrics, /health, /ready.
func (n *Node) routes() {
	n.http.AddCheck("postgres", func(ctx context.Context) error { return n.pool.Ping(ctx) })
	n.http.AddCheck("redis", func(ctx context.Context) error { return n.rdb.Ping(ctx).Err() })
	n.http.AddCheck("etcd", func(ctx context.Context) error {
		_, err := n.etcd.Get(ctx, "/chopsticks/probe")
		return err
	})
	// Ready means this node runs every shard the plan gives it, at least
	// its weighted share, and each of them has a live gateway session: a
	// load balancer must not route to a node that has not taken its part.
	n.http.AddCheck("shards", func(ctx context.Context) error {
		m := n.member.Load()
		if m == nil {
			return errors.New("not joined to the cluster yet")
		}
		if err := m.Readiness().Check(); err != nil {
			return err
		}
		for _, st := range n.shardStatus() {
			if st.State != shard.StateReady {
				return fmt.Errorf("shard %d is %s", st.ID, st.State)
			}
		}
		return nil
	})
	n.http.Mux.HandleFunc("GET /status", func(w http.ResponseWriter, r *http.Request) {
		body := map[string]any{"node": n.cfg.NodeID, "shard_count": n.currentShardCount(), "shards": n.shardStatus()}
		if next := n.nextStatus(); len(next) > 0 {
			body["next_shards"] = next
		}
		if m := n.member.Load(); m != nil {
			body["leader"] = m.IsLeader()
			if st, err := m.Status(r.Context()); err == nil {
				body["cluster"] = st
			} else {
				body["cluster_error"] = err.Error()
			}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(body)
	})
}

func (n *Node) shardStatus() []shard.Status {
	n.mu.Lock()
	out := make([]shard.Status, 0, len(n.shards))
	for _, rs := range n.shards {
		out = append(out, rs.sh.Status())
	}
	n.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
