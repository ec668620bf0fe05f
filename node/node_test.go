package node_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/bintest"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/node"
	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/chopsticks-bot/chopsticks/ratelimit"
)

func TestMain(m *testing.M) { servertest.Main(m) }

// stack is what a node needs: discordsim and real PostgreSQL, Redis and etcd.
type stack struct {
	sim   *discordsim.Sim
	pg    string
	redis string
	etcd  []string
}

func newStack(t *testing.T, shards int) *stack {
	t.Helper()
	sim, err := discordsim.New(discordsim.Config{
		Guilds: 4, Users: 3, RecommendedShards: shards, MaxConcurrency: shards,
		HeartbeatInterval: time.Second, IdentifyWindow: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := sim.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sim.Close() })
	return &stack{sim: sim, pg: servertest.Postgres(t), redis: servertest.Redis(t), etcd: servertest.Etcd(t)}
}

// db opens a pool on the stack's database, closed when the test ends,
// for a test that reads or prepares what the node stores.
func (s *stack) db(ctx context.Context, t *testing.T) *pgxpool.Pool {
	t.Helper()
	pool, err := pgxpool.New(ctx, s.pg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	return pool
}

func (s *stack) config(id string) node.Flags {
	c := node.DefaultFlags()
	c.DiscordToken, c.ClientID, c.DiscordAPIURL = s.sim.Token(), s.sim.AppID().String(), s.sim.URL()
	c.PostgresURL, c.RedisURL, c.EtcdEndpoints = s.pg, "redis://"+s.redis+"/0", strings.Join(s.etcd, ",")
	c.LogLevel, c.NodeEnv, c.NodeID, c.HTTPAddr, c.GossipAddr = "warn", "test", id, "127.0.0.1:0", "127.0.0.1:0"
	c.LeaseTTL = 2 * time.Second
	return c
}

// startNode runs a node in this process until the test ends, waits until
// it serves and has a live session on every shard, and returns its HTTP
// address. Each set changes the node's configuration first.
func (s *stack) startNode(t *testing.T, id string, set ...func(*node.Flags)) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan string, 1)
	var buf bintest.LogBuffer
	logs := logChecker(t, &buf)
	var (
		exited  bool
		exitErr error
	)
	flags := s.config(id)
	for _, f := range set {
		f(&flags)
	}
	cfg, err := flags.Load()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logs, cfg.Ready = logs, func(addr string) { ready <- addr }
	go func() {
		done <- node.Run(ctx, cfg)
	}()
	t.Cleanup(func() {
		cancel()
		if !exited {
			exitErr = <-done
		}
		if exitErr != nil {
			t.Errorf("node %s: %v", id, exitErr)
		}
		if t.Failed() {
			t.Logf("node %s log:\n%s", id, buf.String())
		}
	})
	var addr string
	poll.Eventually(t, 20*time.Second, func() bool {
		select {
		case exitErr = <-done:
			exited = true
			t.Fatalf("node %s exited: %v\n%s", id, exitErr, buf.String())
		case a := <-ready:
			addr = a
		default:
		}
		if addr == "" {
			return false
		}
		for sh := 0; sh < s.sim.Config().RecommendedShards; sh++ {
			if !hasLiveSession(s.sim, sh, id) {
				return false
			}
		}
		return true
	}, "node %s to serve and connect every shard", id)
	return addr
}

// hasLiveSession reports whether a live session of shard exists; with more
// nodes, each counts once it identified (the sim cannot tell nodes apart).
func hasLiveSession(sim *discordsim.Sim, shard int, _ string) bool {
	return len(sim.LiveSessions(shard)) > 0
}

// guildAndUser picks a guild of the bot and a member of it.
func guildAndUser(t *testing.T, sim *discordsim.Sim) (discordsim.Snowflake, discordsim.Snowflake) {
	t.Helper()
	g := sim.Guilds()[0]
	return g.ID, sim.DefaultUsers()[0]
}

func invoke(t *testing.T, sim *discordsim.Sim, inv discordsim.Invocation) (*discordsim.Interaction, discordsim.Message) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var (
		i   *discordsim.Interaction
		err error
	)
	// Commands are registered by the node as it starts; wait for them.
	_, _ = poll.Until(5*time.Second, func() bool {
		i, err = sim.Invoke(ctx, inv)
		return err == nil || !strings.Contains(err.Error(), "not registered")
	})
	if err != nil {
		t.Fatalf("invoke /%s: %v", inv.Command, err)
	}
	msg, err := i.WaitMessage(ctx)
	if err != nil {
		t.Fatalf("/%s: %v (interaction %+v)", inv.Command, err, i.Info())
	}
	return i, msg
}

func TestNodeAnswersSlashCommands(t *testing.T) {
	s := newStack(t, 2)
	s.startNode(t, "n1")
	guild, user := guildAndUser(t, s.sim)
	otherUser := s.sim.DefaultUsers()[1]

	tests := []struct {
		name          string
		inv           discordsim.Invocation
		wantContent   string
		wantEphemeral bool
	}{
		{"ping answers with node and shard", discordsim.Invocation{Command: "ping"}, "Pong!", false},
		{"help lists commands", discordsim.Invocation{Command: "help"}, "", true},
		{"bad option value is refused privately",
			discordsim.Invocation{Command: "help", Options: map[string]any{"command": "nosuch"}},
			"There is no command /nosuch", true},
		{"negative amount is refused privately",
			discordsim.Invocation{Command: "pay", Options: map[string]any{"user": otherUser, "amount": "-5"}},
			"", true},
		{"amount that is not one is refused privately",
			discordsim.Invocation{Command: "bank", Subcommand: "deposit", Options: map[string]any{"amount": "lots"}},
			"That is not an amount", true},
		{"paying yourself is refused privately",
			discordsim.Invocation{Command: "pay", Options: map[string]any{"user": user, "amount": "10"}},
			"You cannot pay yourself.", true},
		{"daily pays out", discordsim.Invocation{Command: "daily"}, "", false},
		{"paying another user works after the daily", discordsim.Invocation{Command: "pay", Options: map[string]any{"user": otherUser, "amount": "10"}}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.inv.GuildID, tt.inv.UserID = guild, user
			i, msg := invoke(t, s.sim, tt.inv)
			if !strings.Contains(msg.Content, tt.wantContent) {
				t.Errorf("reply %q does not contain %q", msg.Content, tt.wantContent)
			}
			if msg.Ephemeral() != tt.wantEphemeral {
				t.Errorf("ephemeral = %v, want %v", msg.Ephemeral(), tt.wantEphemeral)
			}
			if info := i.Info(); info.Failed || info.DoubleAcks != 0 || info.LateAnswers != 0 {
				t.Errorf("interaction outcome: %+v", info)
			}
		})
	}
	t.Run("ping names the shard of the guild", func(t *testing.T) {
		_, msg := invoke(t, s.sim, discordsim.Invocation{Command: "ping", GuildID: guild, UserID: user})
		want := fmt.Sprintf("node n1, shard %d.", discordsim.ShardFor(guild, 2))
		if !strings.Contains(msg.Content, want) {
			t.Errorf("reply %q does not contain %q", msg.Content, want)
		}
	})
}

// TestNodeAppliesRateLimits: RATE_LIMITS reaches the limiter. With one
// command a minute, a user's second /ping is refused privately with the
// time left, while the first one and another user's pass. The node gossips
// the policy's fingerprint, which /status shows, for peers to compare.
func TestNodeAppliesRateLimits(t *testing.T) {
	s := newStack(t, 1)
	const limits = "command=1/1m"
	addr := s.startNode(t, "n1", func(c *node.Flags) { c.RateLimits = limits })
	policy, err := ratelimit.ParseConfig(limits)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get("http://" + addr + "/status")
	if err != nil {
		t.Fatal(err)
	}
	var st struct {
		Cluster struct {
			Nodes []struct {
				ID       string `json:"id"`
				Settings string `json:"settings"`
			} `json:"nodes"`
		} `json:"cluster"`
	}
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if want := "ratelimit:" + policy.Fingerprint(); err != nil || len(st.Cluster.Nodes) != 1 || st.Cluster.Nodes[0].Settings != want {
		t.Fatalf("/status nodes %+v (%v), want n1 with settings %s", st.Cluster.Nodes, err, want)
	}
	guild, user := guildAndUser(t, s.sim)
	ping := func(u discordsim.Snowflake) discordsim.Message {
		_, msg := invoke(t, s.sim, discordsim.Invocation{Command: "ping", GuildID: guild, UserID: u})
		return msg
	}
	if msg := ping(user); !strings.Contains(msg.Content, "Pong!") {
		t.Fatalf("first ping: %q", msg.Content)
	}
	msg := ping(user)
	if !strings.Contains(msg.Content, "You're going too fast. Try again in") || !msg.Ephemeral() {
		t.Fatalf("second ping: %q (ephemeral %v), want a private refusal", msg.Content, msg.Ephemeral())
	}
	if msg := ping(s.sim.DefaultUsers()[1]); !strings.Contains(msg.Content, "Pong!") {
		t.Fatalf("another user's ping: %q", msg.Content)
	}
}

func TestBadConfigurationExitsWithStatus2(t *testing.T) {
	s := newStack(t, 1)
	good := s.config("n1")
	env := func(over map[string]string) []string {
		vars := map[string]string{
			"DISCORD_TOKEN": good.DiscordToken, "CLIENT_ID": good.ClientID, "DISCORD_API_URL": good.DiscordAPIURL,
			"POSTGRES_URL": good.PostgresURL, "REDIS_URL": good.RedisURL, "ETCD_ENDPOINTS": good.EtcdEndpoints,
			"HTTP_ADDR": "127.0.0.1:0", "GOSSIP_ADDR": "127.0.0.1:0", "NODE_ID": "bad-config",
		}
		for k, v := range over {
			vars[k] = v
		}
		out := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
		for k, v := range vars {
			out = append(out, k+"="+v)
		}
		return out
	}
	bin := bintest.Chopsticks(t)
	tests := []struct {
		name     string
		over     map[string]string
		wantLine string
	}{
		// The two unreachable servers each take the node's startup
		// timeout (15 s) to give up on; they wait side by side.
		{"unreachable postgres", map[string]string{"POSTGRES_URL": "postgres://u:hunter2@127.0.0.1:1/db?connect_timeout=1"}, "POSTGRES_URL: cannot connect"},
		{"malformed postgres", map[string]string{"POSTGRES_URL": "postgres://u:hunter2@%zz"}, "POSTGRES_URL: cannot be parsed"},
		{"sentinel URL without a master", map[string]string{"REDIS_URL": "redis-sentinel://u:hunter2@127.0.0.1:26379"}, "REDIS_URL: cannot be parsed"},
		{"unreachable sessions redis", map[string]string{"REDIS_SESSIONS_URL": "redis://u:hunter2@127.0.0.1:1/0?dial_timeout=200ms"}, "REDIS_SESSIONS_URL: cannot connect"},
		{"missing token", map[string]string{"DISCORD_TOKEN": ""}, "DISCORD_TOKEN: is required"},
		{"malformed agent key", map[string]string{"AGENT_TOKEN_KEY": "abc"}, "AGENT_TOKEN_KEY: must be 64 hex characters"},
		{"bad log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL:"},
		{"wrong token", map[string]string{"DISCORD_TOKEN": "not-a-token"}, "DISCORD_TOKEN:"},
		{"shard count other than the cluster's", map[string]string{"SHARD_COUNT": "3"}, "SHARD_COUNT: is 3 but the cluster runs 1 shards"},
		{"bad rate limit", map[string]string{"RATE_LIMITS": "command=10/1s, global.play=fast"}, `RATE_LIMITS: global.play: "fast": want <limit>/<period>`},
		{"bad music search", map[string]string{"MUSIC_SEARCH": "ytsearch,yt search"}, `MUSIC_SEARCH: invalid MUSIC_SEARCH: "yt search" is not a search prefix`},
		// Settings only music and the dashboard use are refused before
		// anything connects: the unreachable PostgreSQL is never tried.
		{"bad lavalink nodes", map[string]string{"LAVALINK_NODES": "main=127.0.0.1:2333", "POSTGRES_URL": "postgres://u@127.0.0.1:1/db?connect_timeout=1"}, `LAVALINK_NODES: invalid LAVALINK_NODES: entry 1 (main): missing "@password"`},
		{"bad trusted proxy", map[string]string{"DASHBOARD_TRUSTED_PROXIES": "proxy.example.org", "POSTGRES_URL": "postgres://u@127.0.0.1:1/db?connect_timeout=1"}, `DASHBOARD_TRUSTED_PROXIES: "proxy.example.org" is not a CIDR`},
		{"bad gossip port", map[string]string{"GOSSIP_ADDR": "127.0.0.1:gossip"}, `GOSSIP_ADDR: port "gossip" must be a number`},
		{"two bad settings", map[string]string{"LOG_LEVEL": "loud", "WEIGHT": "0"}, "WEIGHT: must be between 1 and 1000"},
		{"malformed read replica", map[string]string{"POSTGRES_READ_URL": "postgres://u:hunter2@%zz"}, "POSTGRES_READ_URL: cannot be parsed"},
		{"CA file without a TLS Redis", map[string]string{"REDIS_CA_FILE": "/etc/hostname"}, "REDIS_CA_FILE: /etc/hostname holds no PEM certificate"},
		{"CA file that cannot be read", map[string]string{"REDIS_CA_FILE": "/nonexistent/ca.pem", "REDIS_URL": "rediss://127.0.0.1:1/0"}, "REDIS_CA_FILE: cannot be read"},
		{"read replica lag out of range", map[string]string{"POSTGRES_READ_MAX_LAG": "2h"}, "POSTGRES_READ_MAX_LAG: must be a duration between 100ms and 1h"},
	}
	// The cluster already runs 1 shard, as a first node would have written.
	cli, err := clientv3.New(clientv3.Config{Endpoints: s.etcd, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if _, err := cli.Put(context.Background(), "/chopsticks/config/units", `{"shard_count":1}`); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if strings.HasPrefix(tt.name, "unreachable ") {
				t.Parallel()
			}
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, bin, "node")
			cmd.Env = env(tt.over)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 2 {
				t.Fatalf("exit: %v, want status 2; stderr:\n%s", err, stderr.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			last := lines[len(lines)-1]
			if !strings.Contains(last, tt.wantLine) {
				t.Errorf("last line %q does not name %q", last, tt.wantLine)
			}
			if strings.Contains(stderr.String(), "hunter2") {
				t.Errorf("the password leaked into the output:\n%s", stderr.String())
			}
		})
	}
}

// startProcess runs `chopsticks node` with the stack's settings plus extra
// and waits until shard 0 has a live session of its own.
func (s *stack) startProcess(t *testing.T, id string, extra ...string) *exec.Cmd {
	t.Helper()
	c := s.config(id)
	cmd := exec.Command(bintest.Chopsticks(t), "node")
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"DISCORD_TOKEN=" + c.DiscordToken, "CLIENT_ID=" + c.ClientID, "DISCORD_API_URL=" + c.DiscordAPIURL,
		"POSTGRES_URL=" + c.PostgresURL, "REDIS_URL=" + c.RedisURL, "ETCD_ENDPOINTS=" + c.EtcdEndpoints,
		"HTTP_ADDR=127.0.0.1:0", "GOSSIP_ADDR=127.0.0.1:0", "NODE_ID=" + id, "LOG_LEVEL=info",
	}, extra...)
	var logs bintest.LogBuffer
	cmd.Stdout, cmd.Stderr = logChecker(t, &logs), &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("node %s log:\n%s", id, logs.String())
		}
	})
	return cmd
}

func TestCrashReplayIsNotAnsweredTwice(t *testing.T) {
	// A node is killed right after answering an interaction, before its
	// next checkpoint. The next node resumes from the checkpoint, so
	// Discord replays the interaction; the claim must stop a second answer,
	// and the move must be a RESUME, not a new IDENTIFY.
	s := newStack(t, 1)
	rdb := redis.NewClient(&redis.Options{Addr: s.redis})
	t.Cleanup(func() { rdb.Close() })
	a := s.startProcess(t, "a", "CHECKPOINT_INTERVAL=3s")
	poll.Eventually(t, 20*time.Second, func() bool {
		seq, err := rdb.HGet(context.Background(), "chopsticks:shard:{0}:checkpoint", "seq").Int64()
		return err == nil && seq > 0
	}, "node a to checkpoint shard 0")
	guild, user := guildAndUser(t, s.sim)
	i, msg := invoke(t, s.sim, discordsim.Invocation{Command: "ping", GuildID: guild, UserID: user})
	if !strings.HasPrefix(msg.Content, "Pong!") {
		t.Fatalf("reply %q", msg.Content)
	}
	if err := a.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = a.Wait()
	identifies := len(s.sim.Identifies())
	checkpoint, _ := rdb.HGet(context.Background(), "chopsticks:shard:{0}:checkpoint", "seq").Int64()
	session, _ := rdb.HGet(context.Background(), "chopsticks:shard:{0}:checkpoint", "session").Result()
	var interactionSeq int64
	for _, d := range s.sim.Deliveries(session) {
		if d.Type == "INTERACTION_CREATE" {
			interactionSeq = d.Seq
		}
	}
	if interactionSeq == 0 || checkpoint >= interactionSeq {
		t.Fatalf("test set-up: checkpoint seq %d does not precede the interaction's seq %d", checkpoint, interactionSeq)
	}

	s.startProcess(t, "b")
	poll.Eventually(t, 20*time.Second, func() bool {
		for _, r := range s.sim.Resumes() {
			if r.SessionID == session && r.Accepted {
				return true
			}
		}
		return false
	}, "node b to resume the session")
	replayed := false
	poll.Eventually(t, 5*time.Second, func() bool {
		for _, d := range s.sim.Deliveries(session) {
			replayed = replayed || (d.Replay && d.Type == "INTERACTION_CREATE")
		}
		return replayed
	}, "the interaction to be replayed")
	// The replay reached node b; give it a handler's time to (wrongly) answer.
	time.Sleep(300 * time.Millisecond)
	if info := i.Info(); info.DoubleAcks != 0 || info.LateAnswers != 0 || len(info.FollowupIDs) != 0 {
		t.Fatalf("replayed interaction answered again: %+v", info)
	}
	if got := len(s.sim.Identifies()); got != identifies {
		t.Fatalf("node b identified (%d identifies, was %d); it should have resumed", got, identifies)
	}
	// And node b serves new interactions on the resumed session.
	if _, msg := invoke(t, s.sim, discordsim.Invocation{Command: "ping", GuildID: guild, UserID: user}); !strings.Contains(msg.Content, "node b") {
		t.Fatalf("after the resume, reply %q does not come from node b", msg.Content)
	}
}
