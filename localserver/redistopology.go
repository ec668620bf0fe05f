package localserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

const sentinelInstall = "apt-get install -y redis-sentinel"

// RedisCluster is a Redis Cluster of redis-server processes on loopback
// ports, created with redis-cli --cluster create.
type RedisCluster struct {
	// Nodes are the servers, masters first as redis-cli assigned them at
	// creation; failovers change their roles since.
	Nodes []*Redis
	sec   RedisSecurity
}

// ClusterNodeTimeout is the cluster-node-timeout of StartRedisCluster's
// servers: a master unreachable this long is failed over to its replica.
const ClusterNodeTimeout = time.Second

// StartRedisCluster starts masters*(1+replicas) servers in cluster mode
// under dir and joins them into one cluster, each master with replicas
// replicas, and waits until every slot is served.
func StartRedisCluster(ctx context.Context, dir string, masters, replicas int) (*RedisCluster, error) {
	return StartSecureRedisCluster(ctx, dir, masters, replicas, RedisSecurity{})
}

// StartSecureRedisCluster is StartRedisCluster for clients that meet sec;
// with TLS the cluster bus and replication use it too.
func StartSecureRedisCluster(ctx context.Context, dir string, masters, replicas int, sec RedisSecurity) (*RedisCluster, error) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return nil, missing("redis-cli", redisInstall)
	}
	c := &RedisCluster{sec: sec}
	var tlsBus []string
	if sec.TLS != nil {
		tlsBus = []string{"--tls-cluster", "yes"}
	}
	for i := 0; i < masters*(1+replicas); i++ {
		r, err := startRedis(ctx, filepath.Join(dir, fmt.Sprintf("node%d", i)), 0, false, sec, append(tlsBus,
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", itoa(int(ClusterNodeTimeout.Milliseconds())),
			// A replica takes over however long it was cut off, and the
			// slots of live masters stay served while one fails over.
			"--cluster-replica-validity-factor", "0", "--cluster-require-full-coverage", "no")...)
		if err != nil {
			c.Kill()
			return nil, err
		}
		c.Nodes = append(c.Nodes, r)
	}
	args := append(sec.cliArgs(), "--cluster", "create")
	args = append(args, c.Addrs()...)
	args = append(args, "--cluster-replicas", itoa(replicas), "--cluster-yes")
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		c.Kill()
		return nil, fmt.Errorf("redis-cli --cluster create: %w: %s", err, out)
	}
	for _, r := range c.Nodes {
		if err := waitRedisInfo(ctx, r, 20*time.Second, []string{"cluster", "info"}, "cluster_state:ok"); err != nil {
			c.Kill()
			return nil, err
		}
	}
	return c, nil
}

// Addrs are the host:port of every server.
func (c *RedisCluster) Addrs() []string {
	var out []string
	for _, r := range c.Nodes {
		out = append(out, r.Addr())
	}
	return out
}

// URL is the cluster's REDIS_URL, seeded with every server.
func (c *RedisCluster) URL() string { return c.sec.urlPrefix("cluster") + strings.Join(c.Addrs(), ",") }

// Node returns the server at addr, or nil.
func (c *RedisCluster) Node(addr string) *Redis {
	for _, r := range c.Nodes {
		if r.Addr() == addr {
			return r
		}
	}
	return nil
}

// Kill stops every server at once.
func (c *RedisCluster) Kill() {
	for _, r := range c.Nodes {
		_ = r.Kill()
	}
}

// RedisSentinel is a Redis master with one replica watched by sentinels,
// each a process on a loopback port.
type RedisSentinel struct {
	// Master and Replica are the servers as started; a failover swaps
	// their roles (MasterAddr asks the sentinels).
	Master, Replica *Redis
	// Sentinels are the redis-sentinel processes.
	Sentinels []*Redis
	sec       RedisSecurity
}

// SentinelMaster is the master's name the sentinels monitor.
const SentinelMaster = "main"

// SentinelDownAfter is the sentinels' down-after-milliseconds: a master
// unreachable this long is failed over (plus an election, about a second).
const SentinelDownAfter = time.Second

// StartRedisSentinel starts a master, a replica of it and n sentinels
// (quorum n/2+1) under dir, and waits until the replica is in sync and the
// sentinels know the replica and each other.
func StartRedisSentinel(ctx context.Context, dir string, n int) (*RedisSentinel, error) {
	return StartSecureRedisSentinel(ctx, dir, n, RedisSecurity{})
}

// StartSecureRedisSentinel is StartRedisSentinel for clients that meet
// sec: the servers and the sentinels demand the same TLS and ACL user, and
// the sentinels use them to reach the servers and each other.
func StartSecureRedisSentinel(ctx context.Context, dir string, n int, sec RedisSecurity) (*RedisSentinel, error) {
	bin, err := exec.LookPath("redis-sentinel")
	if err != nil {
		return nil, missing("redis-sentinel", sentinelInstall)
	}
	s := &RedisSentinel{sec: sec}
	if s.Master, err = startRedis(ctx, filepath.Join(dir, "master"), 0, false, sec); err != nil {
		return nil, err
	}
	if s.Replica, err = startRedis(ctx, filepath.Join(dir, "replica"), 0, false, sec,
		"--replicaof", "127.0.0.1", itoa(s.Master.Port())); err != nil {
		s.Kill()
		return nil, err
	}
	if err := waitRedisInfo(ctx, s.Replica, 20*time.Second, []string{"info", "replication"}, "master_link_status:up"); err != nil {
		s.Kill()
		return nil, err
	}
	for i := 0; i < n; i++ {
		r, err := startSentinel(ctx, bin, filepath.Join(dir, fmt.Sprintf("sentinel%d", i)), s.Master.Port(), n/2+1, sec)
		if err != nil {
			s.Kill()
			return nil, err
		}
		s.Sentinels = append(s.Sentinels, r)
	}
	want := fmt.Sprintf("slaves=1,sentinels=%d", n)
	for _, r := range s.Sentinels {
		if err := waitRedisInfo(ctx, r, 30*time.Second, []string{"info", "sentinel"}, want); err != nil {
			s.Kill()
			return nil, err
		}
	}
	return s, nil
}

func startSentinel(ctx context.Context, bin, dir string, masterPort, quorum int, sec RedisSecurity) (*Redis, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("sentinel dir: %w", err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p, err := FreePort()
		if err != nil {
			return nil, err
		}
		conf := filepath.Join(dir, "sentinel.conf")
		m := SentinelMaster
		text := fmt.Sprintf("bind 127.0.0.1\ndaemonize no\nprotected-mode no\ndir %s\nlogfile %s\n", dir, filepath.Join(dir, "sentinel.log")) +
			sentinelSecurity(sec, p) +
			fmt.Sprintf("sentinel monitor %s 127.0.0.1 %d %d\n", m, masterPort, quorum) +
			sentinelAuth(sec, m) +
			fmt.Sprintf("sentinel down-after-milliseconds %s %d\n", m, SentinelDownAfter.Milliseconds()) +
			fmt.Sprintf("sentinel failover-timeout %s 10000\nsentinel parallel-syncs %s 1\n", m, m)
		if err := os.WriteFile(conf, []byte(text), 0o644); err != nil {
			return nil, err
		}
		r, err := launchRedis(ctx, exec.Command(bin, conf), p, sec)
		if err == nil {
			return r, nil
		}
		if errors.Is(err, errNotStarted) {
			return nil, err
		}
		lastErr = fmt.Errorf("sentinel on port %d: %w", p, err)
	}
	return nil, lastErr
}

// URL is the set-up's REDIS_URL: every sentinel and the master's name,
// with the sentinels' own credentials in the query when they demand them.
func (s *RedisSentinel) URL() string {
	var addrs []string
	for _, r := range s.Sentinels {
		addrs = append(addrs, r.Addr())
	}
	u := s.sec.urlPrefix("sentinel") + strings.Join(addrs, ",") + "/" + SentinelMaster
	if s.sec.User != "" {
		u += "?" + url.Values{"sentinel_username": {s.sec.User}, "sentinel_password": {s.sec.Password}}.Encode()
	}
	return u
}

// sentinelAuth makes a sentinel log in to master m's servers as sec's
// user; it follows the monitor line.
func sentinelAuth(sec RedisSecurity, m string) string {
	if sec.User == "" {
		return ""
	}
	return fmt.Sprintf("sentinel auth-user %s %s\nsentinel auth-pass %s %s\n", m, sec.User, m, sec.Password)
}

// sentinelSecurity is the part of a sentinel's configuration that makes it
// listen on port under sec and reach the servers and other sentinels so.
func sentinelSecurity(sec RedisSecurity, port int) string {
	var b strings.Builder
	if sec.TLS != nil {
		fmt.Fprintf(&b, "port 0\ntls-port %d\ntls-cert-file %s\ntls-key-file %s\ntls-ca-cert-file %s\ntls-auth-clients no\ntls-replication yes\n",
			port, sec.TLS.CertFile, sec.TLS.KeyFile, sec.TLS.CAFile)
	} else {
		fmt.Fprintf(&b, "port %d\n", port)
	}
	if sec.User != "" {
		fmt.Fprintf(&b, "user default off\nuser %s on >%s ~* &* +@all\nsentinel sentinel-user %s\nsentinel sentinel-pass %s\n",
			sec.User, sec.Password, sec.User, sec.Password)
	}
	return b.String()
}

// MasterAddr is the master's host:port as the first live sentinel reports it.
func (s *RedisSentinel) MasterAddr(ctx context.Context) (string, error) {
	var lastErr error
	for _, r := range s.Sentinels {
		out, err := redisCLI(ctx, r, "sentinel", "get-master-addr-by-name", SentinelMaster)
		if err != nil {
			lastErr = err
			continue
		}
		f := strings.Fields(out)
		if len(f) != 2 {
			lastErr = fmt.Errorf("sentinel answered %q", out)
			continue
		}
		return f[0] + ":" + f[1], nil
	}
	return "", lastErr
}

// Kill stops every process at once.
func (s *RedisSentinel) Kill() {
	for _, r := range append([]*Redis{s.Master, s.Replica}, s.Sentinels...) {
		if r != nil {
			_ = r.Kill()
		}
	}
}

// redisCLI runs redis-cli against r and returns its raw output.
func redisCLI(ctx context.Context, r *Redis, args ...string) (string, error) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		return "", missing("redis-cli", redisInstall)
	}
	base := append([]string{"-h", "127.0.0.1", "-p", itoa(r.Port()), "--raw"}, r.sec.cliArgs()...)
	cmd := exec.CommandContext(ctx, cli, append(base, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if err != nil {
		return "", fmt.Errorf("redis-cli %s: %w: %s", strings.Join(args, " "), err, out.String())
	}
	return out.String(), nil
}

// waitRedisInfo waits until r's answer to args contains want.
func waitRedisInfo(ctx context.Context, r *Redis, timeout time.Duration, args []string, want string) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var last string
	for {
		out, err := redisCLI(ctx, r, args...)
		if err == nil && strings.Contains(out, want) {
			return nil
		}
		last = out
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s on %s: no %q after %v; last answer %q", strings.Join(args, " "), r.Addr(), want, timeout, last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}
