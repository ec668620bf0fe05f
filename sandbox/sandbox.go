// Package sandbox runs Chopsticks on one machine with no Discord account:
// embedded etcd, PostgreSQL and Redis from the local binaries with their
// data in a folder, discordsim with a demo application, guilds and users,
// node processes, and the playground page where a person invokes commands
// as a user and sees the reply and which node and shard handled it.
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/localserver"
)

// Config configures a sandbox. Nodes and Binary are required; every other field's
// zero value stands for the default its comment gives, filled in by
// withDefaults.
type Config struct {
	// Dir holds the data of PostgreSQL, Redis and etcd, and the logs;
	// default the current directory.
	Dir string
	// Listen is the playground's address; default "127.0.0.1:0".
	Listen string
	// Nodes is how many node processes to run, 1 to 9.
	Nodes int
	// Guilds is how many guilds the demo bot is in; default 3.
	Guilds int
	// Shards is the shard count discordsim recommends; default 1.
	Shards int
	// MaxConcurrency is discordsim's session_start_limit.max_concurrency;
	// default 1, as for most bots.
	MaxConcurrency int
	// Users adds this many users beyond the demo's three, each a member of
	// one to three guilds, for load runs; default none.
	Users int
	// Profiler gives each node Go's profiler on a loopback port of its own
	// (DEBUG_ADDR; see ProfilerAddrs).
	Profiler bool
	// Reset clears Dir first.
	Reset bool
	// Binary is the chopsticks executable to run nodes with; required.
	Binary string
	// Out receives the URLs and progress lines; default none.
	Out io.Writer
	// Started, when set, is called once everything serves.
	Started func(s *Sandbox)
}

// withDefaults returns c with each zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Listen == "" {
		c.Listen = "127.0.0.1:0"
	}
	if c.Guilds < 1 {
		c.Guilds = 3
	}
	if c.Shards < 1 {
		c.Shards = 1
	}
	if c.MaxConcurrency < 1 {
		c.MaxConcurrency = 1
	}
	if c.Out == nil {
		c.Out = io.Discard
	}
	return c
}

// Sandbox is a running sandbox.
type Sandbox struct {
	opts  Config
	sim   *discordsim.Sim
	rdb   *redis.Client
	nodes *nodes
	// PlaygroundURL is where the playground serves.
	PlaygroundURL string
	// PostgresURL and RedisAddr locate the sandbox's servers.
	PostgresURL, RedisAddr string
	members                []Member
	demo                   demo
	premium                premiumSKUs // premium.go
	reshard                reshardControl
}

// Run starts the sandbox and serves until ctx ends, then stops everything,
// leaving the data in Dir for next time.
func Run(ctx context.Context, opts Config) error {
	if opts.Nodes < 1 || opts.Nodes > 9 {
		return fmt.Errorf("sandbox: --nodes must be between 1 and 9")
	}
	if opts.Binary == "" {
		return errors.New("sandbox: Config.Binary names no chopsticks executable")
	}
	opts = opts.withDefaults()
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return err
	}
	if opts.Reset {
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("reset %s: %w", dir, err)
		}
		fmt.Fprintf(opts.Out, "cleared %s\n", dir)
	}
	for _, d := range []string{dir, filepath.Join(dir, "logs")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// PostgreSQL runs as its own user when the sandbox runs as root.
	_ = os.Chmod(dir, 0o755)
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("playground address %s: %w", opts.Listen, err)
	}
	defer ln.Close()

	svcCtx, stopServices := context.WithCancel(context.WithoutCancel(ctx))
	defer stopServices()
	say := func(format string, args ...any) { fmt.Fprintf(opts.Out, format+"\n", args...) }

	say("starting etcd, PostgreSQL and Redis (data in %s)", dir)
	etcd, err := localserver.StartEtcd(svcCtx, filepath.Join(dir, "etcd"), 0)
	if err != nil {
		return err
	}
	defer etcd.Stop()
	pg, err := localserver.StartPostgres(svcCtx, filepath.Join(dir, "postgres"), 0)
	if err != nil {
		return err
	}
	defer pg.Stop()
	if err := pg.CreateDatabase(ctx, "chopsticks"); err != nil {
		return err
	}
	rs, err := localserver.StartRedis(svcCtx, filepath.Join(dir, "redis"), 0, true)
	if err != nil {
		return err
	}
	defer rs.Stop()

	simCfg := discordsim.Config{Guilds: opts.Guilds, Users: 3, RecommendedShards: opts.Shards, MaxConcurrency: opts.MaxConcurrency}
	if tok, err := persistedSecret(filepath.Join(dir, "bot-token"), 24); err == nil {
		simCfg.Token = "sandbox." + tok
	}
	sim, err := discordsim.New(simCfg)
	if err != nil {
		return err
	}
	if err := sim.Start(svcCtx, "127.0.0.1:0"); err != nil {
		return err
	}
	defer sim.Close()

	s := &Sandbox{opts: opts, sim: sim, nodes: &nodes{procs: map[string]*nodeProc{}},
		PostgresURL: pg.DSN("chopsticks"), RedisAddr: rs.Addr()}
	s.rdb = redis.NewClient(&redis.Options{Addr: rs.Addr()})
	defer s.rdb.Close()
	closeEtcd, err := s.reshard.connect(etcd.Endpoints())
	if err != nil {
		return err
	}
	defer closeEtcd()
	if err := s.setupDemo(); err != nil {
		return err
	}
	if err := s.setupPremium(); err != nil {
		return err
	}
	if err := s.addUsers(opts.Users); err != nil {
		return err
	}

	agentKey, err := persistedSecret(filepath.Join(dir, "agent-token-key"), 32)
	if err != nil {
		return err
	}
	lavalinks, lavalinkEnv, err := lavalinkNodes()
	if err != nil {
		return err
	}
	defer func() {
		for _, l := range lavalinks {
			l.Close()
		}
	}()
	if err := s.setupAgents(ctx, pg.DSN("chopsticks"), agentKey); err != nil {
		return fmt.Errorf("voice agents: %w", err)
	}
	sessionSecret, err := persistedSecret(filepath.Join(dir, "dashboard-session-secret"), 32)
	if err != nil {
		return err
	}
	admin := s.demo.users[0]
	var seeds, redirects []string
	for i := 1; i <= opts.Nodes; i++ {
		httpPort, err := localserver.FreePort()
		if err != nil {
			return err
		}
		gossipPort, err := localserver.FreePort()
		if err != nil {
			return err
		}
		id := fmt.Sprintf("node-%d", i)
		var debugAddr string
		if opts.Profiler {
			port, err := localserver.FreePort()
			if err != nil {
				return err
			}
			debugAddr = fmt.Sprintf("127.0.0.1:%d", port)
		}
		p := &nodeProc{
			ID: id, HTTPAddr: fmt.Sprintf("127.0.0.1:%d", httpPort), DebugAddr: debugAddr, bin: opts.Binary,
			logPath: logPath(dir, id),
			env: []string{
				"DISCORD_TOKEN=" + sim.Token(),
				"CLIENT_ID=" + sim.AppID().String(),
				"DISCORD_API_URL=" + sim.URL(),
				"POSTGRES_URL=" + pg.DSN("chopsticks"),
				"REDIS_URL=redis://" + rs.Addr() + "/0",
				"ETCD_ENDPOINTS=" + strings.Join(etcd.Endpoints(), ","),
				"NODE_ID=" + id,
				"HTTP_ADDR=" + fmt.Sprintf("127.0.0.1:%d", httpPort),
				"GOSSIP_ADDR=" + fmt.Sprintf("127.0.0.1:%d", gossipPort),
				"GOSSIP_SEEDS=" + strings.Join(seeds, ","),
				"AGENT_TOKEN_KEY=" + agentKey,
				"LAVALINK_NODES=" + lavalinkEnv,
				"DASHBOARD_SESSION_SECRET=" + sessionSecret,
				"DISCORD_CLIENT_SECRET=" + sim.DefaultApp().ClientSecret,
				"DISCORD_REDIRECT_URI=" + fmt.Sprintf("http://127.0.0.1:%d/auth/callback", httpPort),
				"DASHBOARD_ADMIN_IDS=" + admin.ID.String(),
				s.premiumEnv(),
				"NODE_ENV=development",
				"LOG_LEVEL=info",
				"DEBUG_ADDR=" + debugAddr,
			},
		}
		seeds = append(seeds, fmt.Sprintf("127.0.0.1:%d", gossipPort))
		redirects = append(redirects, fmt.Sprintf("http://127.0.0.1:%d/auth/callback", httpPort))
		s.nodes.procs[id] = p
	}
	if err := sim.SetRedirectURIs(sim.AppID(), redirects); err != nil {
		return err
	}
	for _, p := range s.nodes.list() {
		if err := p.start(); err != nil {
			s.nodes.stopAll()
			return err
		}
	}
	defer s.nodes.stopAll()

	srv := &http.Server{Handler: s.playground(), ReadHeaderTimeout: 10 * time.Second}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	s.PlaygroundURL = "http://" + ln.Addr().String()

	say("")
	say("Chopsticks sandbox is running.")
	say("  playground:  %s", s.PlaygroundURL)
	say("  discordsim:  %s (bot application %s)", sim.URL(), sim.AppID())
	for _, p := range s.nodes.list() {
		say("  %s:      http://%s  (dashboard /, metrics /metrics, status /status, log %s)", p.ID, p.HTTPAddr, p.logPath)
	}
	say("  dashboard admin: %s (sign in as %s on discordsim's consent page)", admin.Name, admin.Name)
	for _, l := range lavalinks {
		say("  Lavalink:    http://%s (test server)", l.Addr())
	}
	say("  PostgreSQL:  %s", pg.DSN("chopsticks"))
	say("  Redis:       redis://%s", rs.Addr())
	say("  etcd:        %s", strings.Join(etcd.Endpoints(), ","))
	say("Press Ctrl-C to stop; the data stays in %s (--reset clears it).", dir)
	if opts.Started != nil {
		opts.Started(s)
	}
	// Shards identify one per window (max_concurrency), as on Discord, and
	// a command in a guild whose shard has not connected yet goes
	// unanswered: say when every one has.
	say("waiting for the %d shards to connect (Discord starts %d IDENTIFY every 5 s)...", opts.Shards, opts.MaxConcurrency)
	began := time.Now()
	if awaitShards(ctx, sim, opts.Shards) {
		say("all %d shards connected after %v: every guild is answered", opts.Shards, time.Since(began).Round(100*time.Millisecond))
	}

	select {
	case <-ctx.Done():
	case err := <-serveErr:
		if !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("playground: %w", err)
		}
	}
	say("stopping nodes...")
	shutCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = srv.Shutdown(shutCtx)
	s.nodes.stopAll()
	say("stopped; data kept in %s", dir)
	return nil
}

// NodeAddrs maps each node's ID to its HTTP address.
func (s *Sandbox) NodeAddrs() map[string]string {
	out := map[string]string{}
	for _, p := range s.nodes.list() {
		out[p.ID] = p.HTTPAddr
	}
	return out
}

// ProfilerAddrs maps each node's ID to its profiler's address; empty
// unless Config.Profiler is set.
func (s *Sandbox) ProfilerAddrs() map[string]string {
	out := map[string]string{}
	for _, p := range s.nodes.list() {
		if p.DebugAddr != "" {
			out[p.ID] = p.DebugAddr
		}
	}
	return out
}

// addUsers creates n users named load-<i>, each a member of one to three
// guilds: its own (i mod guilds) and, for two users in three, one or two
// more spread by a multiplicative hash, so that the same user plays in
// several guilds.
func (s *Sandbox) addUsers(n int) error {
	guilds := s.sim.Guilds()
	if n <= 0 || len(guilds) == 0 {
		return nil
	}
	for i := range n {
		u, err := s.sim.CreateUser(discordsim.UserOptions{Username: fmt.Sprintf("load-%d", i)})
		if err != nil {
			return err
		}
		h := uint64(i) * 0x9E3779B97F4A7C15
		m := Member{User: u.ID}
		for k := range 1 + i%3 {
			g := guilds[(uint64(i)+uint64(k)*(h>>20))%uint64(len(guilds))]
			if err := s.sim.AddMember(g.ID, u.ID); err != nil {
				return err
			}
			if !slices.Contains(m.Guilds, g.ID) {
				m.Guilds = append(m.Guilds, g.ID)
			}
		}
		s.members = append(s.members, m)
	}
	return nil
}

// Member is one of the users Config.Users added, with its guilds.
type Member struct {
	User   discordsim.Snowflake
	Guilds []discordsim.Snowflake
}

// Members returns the users Options.Users added, in creation order.
func (s *Sandbox) Members() []Member { return s.members }

// persistedSecret returns the hex secret of n random bytes kept in path,
// creating it on first use, so that restarts keep tokens decryptable.
func persistedSecret(path string, n int) (string, error) {
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) == 2*n {
		return strings.TrimSpace(string(b)), nil
	}
	buf := make([]byte, n)
	if _, err := rand.Read(buf); err != nil {
		return "", err
	}
	secret := hex.EncodeToString(buf)
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", err
	}
	return secret, nil
}

// Sim is the sandbox's Discord emulator.
func (s *Sandbox) Sim() *discordsim.Sim { return s.sim }

// awaitShards waits until the bot has a live session on each of count
// shards, or ctx ends (false).
func awaitShards(ctx context.Context, sim *discordsim.Sim, count int) bool {
	ofCount := func(ss discordsim.SessionInfo) bool { return ss.Shard[1] == count }
	connected := func() bool {
		for sh := range count {
			if !slices.ContainsFunc(sim.LiveSessions(sh), ofCount) {
				return false
			}
		}
		return true
	}
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !connected() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}
