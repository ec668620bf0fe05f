package clustertest

import (
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/bintest"
	"github.com/chopsticks-bot/chopsticks/clustertest/harness"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

func TestMain(m *testing.M) { servertest.Main(m) }

const shardCount = harness.Shards

// cluster is one test's world, with the test's own checks as methods.
type cluster struct {
	*harness.Cluster
	t *testing.T
}

type clusterOptions struct {
	maxConcurrency int
	shards         int // default harness.Shards
	leaseTTL       time.Duration
	// ownPostgres gives the test a PostgreSQL server of its own instead of
	// a database on the package's shared one, so that it may freeze it.
	ownPostgres bool
}

// newCluster starts discordsim on the package's servers (a Redis of the
// test's own, which it may freeze or kill).
func newCluster(t *testing.T, o clusterOptions) *cluster {
	t.Helper()
	s := harness.Servers{Redis: servertest.RedisServer(t), Etcd: servertest.Etcd(t)}
	if o.ownPostgres {
		s.PostgresServer = servertest.PostgresServer(t)
		s.Postgres = s.PostgresServer.DSN("chopsticks")
	} else {
		s.Postgres = servertest.Postgres(t)
	}
	return &cluster{t: t, Cluster: harness.New(t, harness.Options{
		Binary: bintest.Chopsticks(t), Servers: s, MaxConcurrency: o.maxConcurrency, Shards: o.shards, LeaseTTL: o.leaseTTL,
	})}
}
