// Package clustertest runs `chopsticks node` processes as a cluster against
// real etcd, Redis and PostgreSQL and an in-process discordsim, and checks
// the cluster's promises: one owner per shard, moves by RESUME, no event
// lost, no interaction answered twice. It holds only tests.
package clustertest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/bintest"
	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/localserver"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

func TestMain(m *testing.M) { servertest.Main(m) }

const shardCount = 16

// cluster is one test's world: discordsim, the servers, the nodes.
type cluster struct {
	t     *testing.T
	sim   *discordsim.Sim
	pg    string
	redis string
	etcd  []string
	// redisSrv is the test's own Redis; pgSrv is set with
	// clusterOptions.ownPostgres. Tests freeze and kill them.
	redisSrv *localserver.Redis
	pgSrv    *localserver.Postgres
	// claimOptional, when set, names the interactions auditStream may find
	// without a Redis claim: those a node handled while Redis could not
	// answer, which the router handles unclaimed rather than drop.
	claimOptional func(discordsim.InteractionInfo) bool
	rdb           *redis.Client
	cli           *clientv3.Client
	ttl           time.Duration
	mon           *monitor

	mu    sync.Mutex
	nodes map[string]*proc
}

// proc is one `chopsticks node` process.
type proc struct {
	id     string
	cmd    *exec.Cmd
	logs   *syncBuffer
	gossip string
	http   string    // the node's HTTP_ADDR
	proxy  *tcpProxy // nil: the node talks to etcd directly
	exited chan struct{}
	state  *os.ProcessState
}

type clusterOptions struct {
	maxConcurrency int
	leaseTTL       time.Duration
	// ownPostgres gives the test a PostgreSQL server of its own instead of
	// a database on the package's shared one, so that it may freeze it.
	ownPostgres bool
}

func newCluster(t *testing.T, o clusterOptions) *cluster {
	t.Helper()
	if o.maxConcurrency == 0 {
		o.maxConcurrency = shardCount
	}
	if o.leaseTTL == 0 {
		o.leaseTTL = 5 * time.Second // the node's default: failover must not need a short lease
	}
	sim, err := discordsim.New(discordsim.Config{
		Guilds: 2 * shardCount, Users: 10, RecommendedShards: shardCount, MaxConcurrency: o.maxConcurrency,
		// The node's identify gate keeps Discord's 5 s window; so does the sim.
		IdentifyWindow: 5 * time.Second, HeartbeatInterval: time.Second,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if err := sim.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); sim.Close() })
	c := &cluster{t: t, sim: sim, redisSrv: servertest.RedisServer(t), etcd: servertest.Etcd(t),
		ttl: o.leaseTTL, nodes: map[string]*proc{}}
	c.redis = c.redisSrv.Addr()
	if o.ownPostgres {
		c.pgSrv = servertest.PostgresServer(t)
		c.pg = c.pgSrv.DSN("chopsticks")
	} else {
		c.pg = servertest.Postgres(t)
	}
	c.rdb = redis.NewClient(&redis.Options{Addr: c.redis})
	t.Cleanup(func() { c.rdb.Close() })
	c.cli, err = clientv3.New(clientv3.Config{Endpoints: c.etcd, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.cli.Close() })
	c.mon = startMonitor(t, sim)
	t.Cleanup(func() {
		// Over the whole test: never two live sessions of one shard.
		for _, v := range sim.ViolationsOf(discordsim.ViolationTwoLiveSessions) {
			t.Errorf("discordsim: two live sessions: %+v", v)
		}
		for _, o := range c.mon.overlaps() {
			t.Errorf("monitor: %s", o)
		}
	})
	return c
}

// freeAddrs returns n distinct free loopback addresses, holding each port
// until all are chosen. A node gets both its gossip and its HTTP port from
// here: with HTTP on port 0, the kernel could hand the node's HTTP server
// the gossip port the test had just chosen and released (seen in CI).
func freeAddrs(t testing.TB, n int) []string {
	t.Helper()
	handedMu.Lock()
	defer handedMu.Unlock()
	addrs := make([]string, 0, n)
	for len(addrs) < n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		a := ln.Addr().String()
		// A port handed to a node that has not bound it yet is free to the
		// kernel: never hand it out twice in one test binary.
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

// start runs a node process; with behindProxy its etcd traffic goes
// through a proxy the test can sever. It does not wait for shards.
func (c *cluster) start(id string, behindProxy bool, extra ...string) *proc {
	t := c.t
	t.Helper()
	addrs := freeAddrs(t, 2)
	p := &proc{id: id, logs: &syncBuffer{}, gossip: addrs[0], http: addrs[1], exited: make(chan struct{})}
	endpoints := strings.Join(c.etcd, ",")
	if behindProxy {
		p.proxy = newEtcdProxy(t, c.etcd)
		endpoints = p.proxy.URL()
	}
	c.mu.Lock()
	var seeds []string
	for _, o := range c.nodes {
		seeds = append(seeds, o.gossip)
	}
	c.nodes[id] = p
	c.mu.Unlock()
	p.cmd = exec.Command(bintest.Chopsticks(t), "node")
	p.cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"DISCORD_TOKEN=" + c.sim.Token(), "CLIENT_ID=" + c.sim.AppID().String(), "DISCORD_API_URL=" + c.sim.URL(),
		"POSTGRES_URL=" + c.pg, "REDIS_URL=redis://" + c.redis + "/0", "ETCD_ENDPOINTS=" + endpoints,
		"HTTP_ADDR=" + addrs[1], "GOSSIP_ADDR=" + p.gossip, "GOSSIP_SEEDS=" + strings.Join(seeds, ","),
		"NODE_ID=" + id, "NODE_ENV=test", "LOG_LEVEL=info",
		"LEASE_TTL=" + c.ttl.String(), "CHECKPOINT_INTERVAL=1s",
	}, extra...)
	p.cmd.Stderr = p.logs
	p.cmd.Stdout = p.logs
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("node %s log:\n%s", id, tail(p.logs.String(), 200))
		}
	})
	return p
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = append([]string{fmt.Sprintf("... %d lines omitted", len(lines)-n)}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

func (c *cluster) node(id string) *proc {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.nodes[id]
}

// kill sends SIGKILL and waits for the process to end.
func (c *cluster) kill(id string) time.Time {
	p := c.node(id)
	at := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		c.t.Fatal(err)
	}
	<-p.exited
	return at
}

// status reads the cluster from etcd, as `chopsticks status -json` does.
func (c *cluster) status() coordinator.Status {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	st, err := coordinator.ReadStatus(ctx, c.cli, "")
	if err != nil {
		c.t.Fatalf("read status: %v", err)
	}
	return st
}

// owners maps every held shard to its owner, from etcd.
func owners(st coordinator.Status) map[int]string {
	out := map[int]string{}
	for _, u := range st.Units {
		if u.Kind == coordinator.KindShard && u.Owner != "" {
			out[u.ID] = string(u.Owner)
		}
	}
	return out
}

// nodeShard is one entry of a node's GET /status "shards".
type nodeShard struct {
	ID        int    `json:"id"`
	State     string `json:"state"`
	SessionID string `json:"session_id"`
	Seq       int64  `json:"seq"`
}

// nodeShards asks a node's HTTP server which shards it runs.
func nodeShards(addr string) ([]nodeShard, error) {
	hc := http.Client{Timeout: 3 * time.Second}
	resp, err := hc.Get("http://" + addr + "/status")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Shards []nodeShard `json:"shards"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode /status: %w", err)
	}
	return body.Shards, nil
}

// steady reports, with a reason when false, whether the running nodes ids
// share every shard once, balanced, each shard ready on its owner with a
// live session, and the etcd owners agree with what the nodes run.
func (c *cluster) steady(ids ...string) (bool, string) {
	st := c.status()
	own := owners(st)
	if len(own) != shardCount {
		return false, fmt.Sprintf("%d of %d shards held", len(own), shardCount)
	}
	for _, u := range st.Units {
		if u.Kind == coordinator.KindShard && u.State != "running" {
			return false, fmt.Sprintf("shard %d is %s", u.ID, u.State)
		}
	}
	count := map[string]int{}
	for _, o := range own {
		if !slices.Contains(ids, o) {
			return false, fmt.Sprintf("shard owned by %s, not one of %v", o, ids)
		}
		count[o]++
	}
	lo, hi := shardCount/len(ids), (shardCount+len(ids)-1)/len(ids)
	for _, id := range ids {
		if count[id] < lo || count[id] > hi {
			return false, fmt.Sprintf("node %s owns %d shards, want %d..%d", id, count[id], lo, hi)
		}
	}
	addrs := map[string]string{}
	for _, n := range st.Nodes {
		addrs[string(n.ID)] = n.Addr
	}
	runs := map[int][]string{}
	for _, id := range ids {
		shards, err := nodeShards(addrs[id])
		if err != nil {
			return false, fmt.Sprintf("node %s status: %v", id, err)
		}
		for _, s := range shards {
			if s.State != "ready" {
				return false, fmt.Sprintf("node %s shard %d is %s", id, s.ID, s.State)
			}
			runs[s.ID] = append(runs[s.ID], id)
		}
	}
	for sh := 0; sh < shardCount; sh++ {
		if len(runs[sh]) != 1 || runs[sh][0] != own[sh] {
			return false, fmt.Sprintf("shard %d runs on %v, etcd owner %q", sh, runs[sh], own[sh])
		}
		if n := len(c.sim.LiveSessions(sh)); n != 1 {
			return false, fmt.Sprintf("shard %d has %d live sessions", sh, n)
		}
	}
	return true, ""
}

// awaitSteady waits until steady(ids...) holds.
func (c *cluster) awaitSteady(timeout time.Duration, ids ...string) {
	c.t.Helper()
	var why string
	await(c.t, timeout, func() bool {
		c.checkAlive(ids...)
		var ok bool
		ok, why = c.steady(ids...)
		return ok
	}, "the cluster %v to be steady (last: %s)", ids, &why)
}

// checkAlive fails the test at once if one of the nodes exited.
func (c *cluster) checkAlive(ids ...string) {
	c.t.Helper()
	for _, id := range ids {
		select {
		case <-c.node(id).exited:
			c.t.Fatalf("node %s exited: %v\n%s", id, c.node(id).state, tail(c.node(id).logs.String(), 100))
		default:
		}
	}
}

// await polls cond every 20 ms until it holds or timeout passes. Pointer
// arguments are dereferenced when the message is printed.
func await(t testing.TB, timeout time.Duration, cond func() bool, format string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			for i, a := range args {
				if p, ok := a.(*string); ok {
					args[i] = *p
				}
			}
			t.Fatalf("timed out after %v waiting for "+format, append([]any{timeout}, args...)...)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// monitor polls discordsim every 10 ms and records when each session went
// live or not live, and any instant with two live sessions for one shard.
type monitor struct {
	sim  *discordsim.Sim
	stop context.CancelFunc
	done chan struct{}

	mu      sync.Mutex
	live    map[string]bool
	changes map[string][]change // by session
	overlap []string
}

// change is a session going live (Live) or not live at Time (± 10 ms).
type change struct {
	Time time.Time
	Live bool
}

func startMonitor(t testing.TB, sim *discordsim.Sim) *monitor {
	ctx, cancel := context.WithCancel(context.Background())
	m := &monitor{sim: sim, stop: cancel, done: make(chan struct{}), live: map[string]bool{}, changes: map[string][]change{}}
	go m.run(ctx)
	t.Cleanup(func() { cancel(); <-m.done })
	return m
}

func (m *monitor) run(ctx context.Context) {
	defer close(m.done)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	app := m.sim.AppID()
	for {
		now := time.Now()
		perShard := map[int][]string{}
		m.mu.Lock()
		for _, s := range m.sim.Sessions() {
			if s.AppID != app {
				continue
			}
			if s.Live {
				perShard[s.Shard[0]] = append(perShard[s.Shard[0]], s.ID)
			}
			if m.live[s.ID] != s.Live {
				m.live[s.ID] = s.Live
				m.changes[s.ID] = append(m.changes[s.ID], change{now, s.Live})
			}
		}
		for sh, ids := range perShard {
			if len(ids) > 1 && len(m.overlap) < 20 {
				m.overlap = append(m.overlap, fmt.Sprintf("%s: shard %d has live sessions %v", now.Format("15:04:05.000"), sh, ids))
			}
		}
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (m *monitor) overlaps() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.overlap)
}

// history returns the live/not-live changes of a session.
func (m *monitor) history(session string) []change {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.changes[session])
}

// firstDown returns when session first went not live at or after from.
func (m *monitor) firstDown(session string, from time.Time) (time.Time, bool) {
	for _, ch := range m.history(session) {
		if !ch.Live && !ch.Time.Before(from) {
			return ch.Time, true
		}
	}
	return time.Time{}, false
}

// upAfter returns when session next went live at or after from.
func (m *monitor) upAfter(session string, from time.Time) (time.Time, bool) {
	for _, ch := range m.history(session) {
		if ch.Live && !ch.Time.Before(from) {
			return ch.Time, true
		}
	}
	return time.Time{}, false
}

// wentDownSince reports whether session was not live at any poll since from.
func (m *monitor) wentDownSince(session string, from time.Time) bool {
	_, down := m.firstDown(session, from)
	return down
}
