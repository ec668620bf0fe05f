// Package harness runs `chopsticks node` processes as one cluster against
// an in-process discordsim and real etcd, Redis and PostgreSQL, and reads
// what the cluster does: etcd ownership, each node's /status and /ready,
// discordsim's sessions over time, and the fate of every interaction users
// sent. The cluster tests (package clustertest) and the cluster benchmark
// (bench/cluster) both use it, so that the benchmark measures a cluster the
// tests have checked, by the same rules.
package harness

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/bintest"
	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/localserver"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// Shards is the cluster's shard count (discordsim's recommendation).
const Shards = 16

// TB is the part of testing.TB the harness uses. A test passes its
// *testing.T; a program that is not a test provides its own (Fatalf must
// not return: testing.T's calls runtime.Goexit).
type TB interface {
	poll.TB
	Errorf(format string, args ...any)
	Logf(format string, args ...any)
	Cleanup(func())
	Failed() bool
}

// Servers are the dependencies the nodes share. The caller starts them
// (package localserver, or servertest in tests) and stops them.
type Servers struct {
	Postgres string // the DSN of the nodes' database
	// PostgresServer, when set, is the server behind Postgres, which a test
	// may freeze.
	PostgresServer *localserver.Postgres
	Redis          *localserver.Redis
	Etcd           []string // client URLs
}

// Options shape a Cluster; the zero value of each field is the default.
type Options struct {
	Binary  string // the chopsticks binary
	Servers Servers
	// MaxConcurrency is discordsim's max_concurrency (default Shards).
	MaxConcurrency int
	// Shards is discordsim's recommended shard count, which the nodes
	// take (default Shards); Cluster.Shards keeps it.
	Shards int
	// LeaseTTL is the nodes' LEASE_TTL (default 5 s, the node's default:
	// failover must not need a short lease).
	LeaseTTL time.Duration
	// Firehose, when positive, has discordsim send MESSAGE_CREATE and
	// GUILD_MEMBER_UPDATE at this interval in the background; the bot's
	// intents receive neither.
	Firehose time.Duration
	// SimLogger is discordsim's logger (default slog's).
	SimLogger *slog.Logger
	// MonitorInterval is how often the session monitor polls discordsim
	// (default 10 ms).
	MonitorInterval time.Duration
}

// Cluster is one world: discordsim, the servers, the node processes.
type Cluster struct {
	T   TB
	Sim *discordsim.Sim
	// Postgres is the nodes' DSN; Redis the address of the nodes' Redis.
	Postgres       string
	PostgresServer *localserver.Postgres
	Redis          string
	RedisServer    *localserver.Redis
	Etcd           []string
	RDB            *redis.Client
	EtcdClient     *clientv3.Client
	LeaseTTL       time.Duration
	// Shards is the shard count the nodes started with (Options.Shards),
	// which Steady and AwaitCheckpoints expect to be running.
	Shards int
	Mon    *Monitor
	// ClaimOptional, when set, names the interactions AuditInteractions may
	// find without a Redis claim: those a node handled while Redis could
	// not answer, which the router handles unclaimed rather than drop.
	ClaimOptional func(discordsim.InteractionInfo) bool

	bin   string
	mu    sync.Mutex
	nodes map[string]*Proc
}

// Proc is one `chopsticks node` process.
type Proc struct {
	ID     string
	Cmd    *exec.Cmd
	Logs   *bintest.LogBuffer
	Gossip string // GOSSIP_ADDR
	HTTP   string // HTTP_ADDR
	Proxy  *Proxy // nil: the node talks to etcd directly
	// Exited is closed once the process ended; State is set then.
	Exited chan struct{}
	State  *os.ProcessState
}

// New starts discordsim and the session monitor and connects to the
// servers. When t's test ends it checks that no shard ever had two live
// sessions at once.
func New(t TB, o Options) *Cluster {
	t.Helper()
	if o.Binary == "" {
		t.Fatalf("harness: Options.Binary names no chopsticks binary")
	}
	if o.Servers.Redis == nil || len(o.Servers.Etcd) == 0 || o.Servers.Postgres == "" {
		t.Fatalf("harness: Options.Servers needs Postgres, Redis and Etcd")
	}
	if o.MaxConcurrency == 0 {
		o.MaxConcurrency = Shards
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = 5 * time.Second
	}
	if o.Shards == 0 {
		o.Shards = Shards
	}
	if o.MonitorInterval == 0 {
		o.MonitorInterval = 10 * time.Millisecond
	}
	cfg := discordsim.Config{
		Guilds: 2 * o.Shards, Users: 10, RecommendedShards: o.Shards, MaxConcurrency: o.MaxConcurrency,
		// The node's identify gate keeps Discord's 5 s window; so does the sim.
		IdentifyWindow: 5 * time.Second, HeartbeatInterval: time.Second,
		Logger: o.SimLogger,
	}
	if o.Firehose > 0 {
		cfg.FirehoseInterval, cfg.FirehoseBatch = o.Firehose, 1
	}
	sim, err := discordsim.New(cfg)
	if err != nil {
		t.Fatalf("discordsim: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := sim.Start(ctx, "127.0.0.1:0"); err != nil {
		cancel()
		t.Fatalf("discordsim: %v", err)
	}
	t.Cleanup(func() { cancel(); sim.Close() })
	s := o.Servers
	c := &Cluster{T: t, Sim: sim, Postgres: s.Postgres, PostgresServer: s.PostgresServer,
		Redis: s.Redis.Addr(), RedisServer: s.Redis, Etcd: s.Etcd,
		LeaseTTL: o.LeaseTTL, Shards: o.Shards, bin: o.Binary, nodes: map[string]*Proc{}}
	c.RDB = redis.NewClient(&redis.Options{Addr: c.Redis})
	t.Cleanup(func() { c.RDB.Close() })
	c.EtcdClient, err = clientv3.New(clientv3.Config{Endpoints: c.Etcd, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("etcd client: %v", err)
	}
	t.Cleanup(func() { c.EtcdClient.Close() })
	c.Mon = StartMonitor(t, sim, o.MonitorInterval)
	t.Cleanup(func() {
		// Over the whole run: never two live sessions of one shard.
		for _, v := range sim.ViolationsOf(discordsim.ViolationTwoLiveSessions) {
			t.Errorf("discordsim: two live sessions: %+v", v)
		}
		for _, o := range c.Mon.Overlaps() {
			t.Errorf("monitor: %s", o)
		}
	})
	return c
}

// UseRedis points the cluster, before any node starts, at another Redis.
func (c *Cluster) UseRedis(addr string) {
	c.Redis = addr
	c.RDB.Close()
	c.RDB = redis.NewClient(&redis.Options{Addr: addr})
}

// freeAddrs returns n distinct free loopback addresses, holding each port
// until all are chosen. A node gets both its gossip and its HTTP port from
// here: with HTTP on port 0, the kernel could hand the node's HTTP server
// the gossip port just chosen and released (seen in CI).
func freeAddrs(t TB, n int) []string {
	t.Helper()
	handedMu.Lock()
	defer handedMu.Unlock()
	addrs := make([]string, 0, n)
	for len(addrs) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatalf("free address: %v", err)
		}
		defer ln.Close()
		a := ln.Addr().String()
		// A port handed to a node that has not bound it yet is free to the
		// kernel: never hand it out twice in one process.
		if handed[a] {
			continue
		}
		handed[a] = true
		addrs = append(addrs, a)
	}
	return addrs
}

var (
	handedMu sync.Mutex
	handed   = map[string]bool{}
)

// Start runs a node process, seeded with the gossip addresses of the nodes
// started before it; with behindProxy its etcd traffic goes through a
// Proxy the caller can sever or hold. extra environment entries come last
// and so override. Start does not wait for shards.
func (c *Cluster) Start(id string, behindProxy bool, extra ...string) *Proc {
	t := c.T
	t.Helper()
	addrs := freeAddrs(t, 2)
	p := &Proc{ID: id, Logs: &bintest.LogBuffer{}, Gossip: addrs[0], HTTP: addrs[1], Exited: make(chan struct{})}
	endpoints := strings.Join(c.Etcd, ",")
	if behindProxy {
		p.Proxy = NewEtcdProxy(t, c.Etcd)
		endpoints = p.Proxy.URL()
	}
	c.mu.Lock()
	var seeds []string
	for _, o := range c.nodes {
		seeds = append(seeds, o.Gossip)
	}
	c.nodes[id] = p
	c.mu.Unlock()
	p.Cmd = exec.Command(c.bin, "node")
	p.Cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"DISCORD_TOKEN=" + c.Sim.Token(), "CLIENT_ID=" + c.Sim.AppID().String(), "DISCORD_API_URL=" + c.Sim.URL(),
		"POSTGRES_URL=" + c.Postgres, "REDIS_URL=redis://" + c.Redis + "/0", "ETCD_ENDPOINTS=" + endpoints,
		"HTTP_ADDR=" + p.HTTP, "GOSSIP_ADDR=" + p.Gossip, "GOSSIP_SEEDS=" + strings.Join(seeds, ","),
		"NODE_ID=" + id, "NODE_ENV=test", "LOG_LEVEL=info",
		"LEASE_TTL=" + c.LeaseTTL.String(), "CHECKPOINT_INTERVAL=1s",
	}, extra...)
	p.Cmd.Stderr = p.Logs
	p.Cmd.Stdout = p.Logs
	if err := p.Cmd.Start(); err != nil {
		t.Fatalf("start node %s: %v", id, err)
	}
	go func() {
		_ = p.Cmd.Wait()
		p.State = p.Cmd.ProcessState
		close(p.Exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.Exited:
		default:
			_ = p.Cmd.Process.Kill()
			<-p.Exited
		}
		if t.Failed() {
			t.Logf("node %s log:\n%s", id, Tail(p.Logs.String(), 200))
		}
	})
	return p
}

// Tail returns the last n lines of s.
func Tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... %d lines omitted", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// Node returns the last process started as id.
func (c *Cluster) Node(id string) *Proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

// Kill sends SIGKILL to node id, waits for the process to end, and returns
// the instant of the signal.
func (c *Cluster) Kill(id string) time.Time {
	p := c.Node(id)
	at := time.Now()
	if err := p.Cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.T.Fatalf("kill node %s: %v", id, err)
	}
	<-p.Exited
	return at
}

// CheckAlive fails at once if one of the nodes exited.
func (c *Cluster) CheckAlive(ids ...string) {
	c.T.Helper()
	for _, id := range ids {
		p := c.Node(id)
		select {
		case <-p.Exited:
			c.T.Fatalf("node %s exited: %v\n%s", id, p.State, Tail(p.Logs.String(), 100))
		default:
		}
	}
}

// Stop sends sig to the process and waits at most within for it to end,
// failing t (which must be the caller's) otherwise. It returns the instant
// of the signal.
func (p *Proc) Stop(t TB, sig syscall.Signal, within time.Duration) time.Time {
	t.Helper()
	at := time.Now()
	if err := p.Cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal %v to node %s: %v", sig, p.ID, err)
	}
	select {
	case <-p.Exited:
	case <-time.After(within):
		t.Fatalf("node %s still runs %v after %v", p.ID, within, sig)
	}
	return at
}

// RegistrationGone returns a channel that receives the instant node id's
// registration leaves etcd (its lease revoked or expired), watched from
// now until t's test ends.
func (c *Cluster) RegistrationGone(id string) <-chan time.Time {
	ctx, cancel := context.WithCancel(context.Background())
	c.T.Cleanup(cancel)
	gone := make(chan time.Time, 1)
	w := c.EtcdClient.Watch(ctx, coordinator.DefaultPrefix+"/nodes/"+id)
	go func() {
		for resp := range w {
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					gone <- time.Now()
					return
				}
			}
		}
	}()
	return gone
}
