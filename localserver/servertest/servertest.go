// Package servertest gives tests real PostgreSQL, Redis and etcd servers,
// started once per test binary on free loopback ports with temporary data.
// A missing server binary fails the test with the command that installs it.
//
// Packages that use it stop the servers when the binary ends:
//
//	func TestMain(m *testing.M) { servertest.Main(m) }
package servertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/chopsticks-bot/chopsticks/localserver"
)

var (
	mu      sync.Mutex
	root    string
	ctx     context.Context
	cancel  context.CancelFunc
	pg      *localserver.Postgres
	pgErr   error
	dbCount atomic.Int64
	stops   []func()
)

// Main runs the tests and then stops every server they started and removes
// their data. Call it from TestMain.
func Main(m *testing.M) {
	code := m.Run()
	Shutdown()
	os.Exit(code)
}

// Shutdown stops every server started so far and removes their data.
func Shutdown() {
	mu.Lock()
	defer mu.Unlock()
	for i := len(stops) - 1; i >= 0; i-- {
		stops[i]()
	}
	stops = nil
	if cancel != nil {
		cancel()
	}
	if root != "" {
		os.RemoveAll(root)
		root = ""
	}
	pg, pgErr = nil, nil
}

// dir returns a new temporary folder under the binary's root; mu is held.
func dir(name string) (string, error) {
	if root == "" {
		r, err := os.MkdirTemp("", "chopsticks-test-")
		if err != nil {
			return "", err
		}
		// PostgreSQL runs as its own user when the tests run as root.
		if err := os.Chmod(r, 0o755); err != nil {
			return "", err
		}
		root = r
		ctx, cancel = context.WithCancel(context.Background())
	}
	return os.MkdirTemp(root, name+"-")
}

// Postgres returns the URL of a new, empty database on the binary's shared
// PostgreSQL server.
func Postgres(t testing.TB) string {
	t.Helper()
	mu.Lock()
	if pg == nil && pgErr == nil {
		var d string
		if d, pgErr = dir("postgres"); pgErr == nil {
			pg, pgErr = localserver.StartPostgres(ctx, d, 0)
		}
		if pg != nil {
			server := pg
			stops = append(stops, func() { _ = server.Stop() })
		}
	}
	server, err := pg, pgErr
	mu.Unlock()
	if err != nil {
		t.Fatalf("servertest: PostgreSQL: %v", err)
	}
	name := fmt.Sprintf("t%d_%s", dbCount.Add(1), sanitize(t.Name()))
	if err := server.CreateDatabase(context.Background(), name); err != nil {
		t.Fatalf("servertest: %v", err)
	}
	return server.DSN(name)
}

// PostgresServer starts a PostgreSQL server of this test's own, stopped at
// its end, with database "chopsticks" created. Tests that freeze or stop
// PostgreSQL use it; others use Postgres.
func PostgresServer(t testing.TB) *localserver.Postgres {
	t.Helper()
	mu.Lock()
	d, err := dir("postgres-" + sanitize(t.Name()))
	c := ctx
	mu.Unlock()
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	pg, err := localserver.StartPostgres(c, d, 0)
	if err != nil {
		t.Fatalf("servertest: PostgreSQL: %v", err)
	}
	t.Cleanup(func() { _ = pg.Thaw(); _ = pg.Stop() })
	if err := pg.CreateDatabase(context.Background(), "chopsticks"); err != nil {
		t.Fatalf("servertest: %v", err)
	}
	return pg
}

// sanitize turns a test name into a short database-name suffix.
func sanitize(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
		if b.Len() >= 40 {
			break
		}
	}
	return b.String()
}

// RedisServer starts a new Redis server for this test, stopped at its end.
// Tests that stop or kill Redis use it; others use Redis.
func RedisServer(t testing.TB) *localserver.Redis {
	t.Helper()
	r, _, _ := newRedis(t)
	t.Cleanup(func() { _ = r.Kill() })
	return r
}

// newRedis starts a Redis server on a free port in a new folder, and
// returns it with the folder and the context it runs under, for a restart.
func newRedis(t testing.TB) (*localserver.Redis, string, context.Context) {
	t.Helper()
	mu.Lock()
	d, err := dir("redis")
	c := ctx
	mu.Unlock()
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	r, err := localserver.StartRedis(c, d, 0, false)
	if err != nil {
		t.Fatalf("servertest: Redis: %v", err)
	}
	return r, d, c
}

// Redis returns the address (host:port) of a new Redis server for this test.
func Redis(t testing.TB) string {
	t.Helper()
	return RedisServer(t).Addr()
}

// Etcd returns the client endpoints of a new embedded etcd server for this
// test, stopped at its end.
func Etcd(t testing.TB) []string {
	t.Helper()
	mu.Lock()
	d, err := dir("etcd")
	c := ctx
	mu.Unlock()
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	e, err := localserver.StartEtcd(c, filepath.Join(d, "data"), 0)
	if err != nil {
		t.Fatalf("servertest: etcd: %v", err)
	}
	t.Cleanup(e.Stop)
	return e.Endpoints()
}

// ReplicaServer starts a streaming replica of primary (a server of
// PostgresServer), stopped at the test's end.
func ReplicaServer(t testing.TB, primary *localserver.Postgres) *localserver.Postgres {
	t.Helper()
	mu.Lock()
	d, err := dir("replica-" + sanitize(t.Name()))
	c := ctx
	mu.Unlock()
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	pg, err := localserver.StartReplica(c, primary, d, 0)
	if err != nil {
		t.Fatalf("servertest: PostgreSQL replica: %v", err)
	}
	t.Cleanup(func() { _ = pg.Thaw(); _ = pg.Stop() })
	return pg
}

// RedisCluster starts a new Redis Cluster of three masters, each with one
// replica, for this test, stopped at its end.
func RedisCluster(t testing.TB) *localserver.RedisCluster {
	t.Helper()
	mu.Lock()
	d, err := dir("rediscluster")
	c := ctx
	mu.Unlock()
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	rc, err := localserver.StartRedisCluster(c, d, 3, 1)
	if err != nil {
		t.Fatalf("servertest: Redis Cluster: %v", err)
	}
	t.Cleanup(rc.Kill)
	return rc
}

// RedisSentinel starts a new Redis master, one replica and three
// sentinels for this test, stopped at its end.
func RedisSentinel(t testing.TB) *localserver.RedisSentinel {
	t.Helper()
	mu.Lock()
	d, err := dir("redissentinel")
	c := ctx
	mu.Unlock()
	if err != nil {
		t.Fatalf("servertest: %v", err)
	}
	rs, err := localserver.StartRedisSentinel(c, d, 3)
	if err != nil {
		t.Fatalf("servertest: Redis Sentinel: %v", err)
	}
	t.Cleanup(rs.Kill)
	return rs
}
