package clustertest

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/bintest"
	"github.com/chopsticks-bot/chopsticks/clustertest/harness"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/localserver"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// TestHungDependencies freezes each dependency in turn under /pay traffic,
// the way a hung server behaves: alive, its sockets open, answering
// nothing. Redis and PostgreSQL are stopped with SIGSTOP (every process of
// the server); the embedded etcd, which runs inside this test binary, is
// black-holed by the proxies in front of it, which is what a node sees of a
// stopped member. During each freeze every node's /ready must answer within
// a second (503 naming the frozen dependency), and no interaction that
// arrives during the freeze or after it may miss Discord's 3 s deadline.
// Over the whole run no payment may be applied without an answer or twice,
// and the ledger must balance. A freeze of etcd shorter than half the lease
// must not interrupt a shard. The three freezes share one cluster, which
// must have recovered from each (the stream answered again, every shard
// checkpointed) before the next.
func TestHungDependencies(t *testing.T) {
	// The node's default lease, so that the etcd case is what an operator
	// gets.
	c := newCluster(t, clusterOptions{leaseTTL: 5 * time.Second, ownPostgres: true})
	for _, id := range []string{"a", "b", "c"} {
		c.Start(id, true)
	}
	c.AwaitSteady(40*time.Second, "a", "b", "c")
	c.fund(t)
	s := c.startPayStream(8)
	var redisFrozen, redisThawed time.Time
	// Those in flight when Redis froze, or sent while it was, may be
	// handled without a claim (the router handles them unclaimed rather
	// than drop them).
	c.ClaimOptional = func(in discordsim.InteractionInfo) bool {
		return in.Created.After(redisFrozen.Add(-3*time.Second)) && in.Created.Before(redisThawed.Add(time.Second))
	}
	var frozen []time.Time // when each freeze began
	for _, tc := range []struct {
		name   string
		check  string // the /ready check that must fail during the freeze
		freeze time.Duration
		hold   func() (thaw func())
	}{
		{"redis", "redis", 5 * time.Second, func() func() {
			if err := c.RedisServer.Freeze(); err != nil {
				t.Fatal(err)
			}
			return func() {
				if err := c.RedisServer.Thaw(); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"postgres", "postgres", 5 * time.Second, func() func() {
			if err := c.PostgresServer.Freeze(); err != nil {
				t.Fatal(err)
			}
			return func() {
				if err := c.PostgresServer.Thaw(); err != nil {
					t.Fatal(err)
				}
			}
		}},
		// A node stops its shards once 2/5 of its 5 s lease has passed since
		// its last acknowledged keepalive (sent every TTL/10): a freeze of a
		// single etcd must stay under about 1.5 s to go unnoticed by users.
		// A longer one stops the shards safely (TestEtcdCutStops...);
		// surviving it needs a three-member etcd.
		{"etcd", "etcd", time.Second, func() func() {
			for _, id := range []string{"a", "b", "c"} {
				c.Node(id).Proxy.Hold()
			}
			return func() {
				for _, id := range []string{"a", "b", "c"} {
					c.Node(id).Proxy.Release()
				}
			}
		}},
	} {
		n := s.Answered()
		poll.Eventually(t, 20*time.Second, func() bool { return s.Answered() >= n+16 }, "the pay stream to be answered before the %s freeze", tc.name)
		c.AwaitCheckpoints()
		sessions := harness.SessionsOf(c.Sim)

		frozenAt := time.Now()
		frozen = append(frozen, frozenAt)
		thaw := tc.hold()
		worst, failing := c.probeReady(t, tc.freeze, tc.check, thaw)
		thawedAt := time.Now()
		if tc.name == "redis" {
			redisFrozen, redisThawed = frozenAt, thawedAt
		}
		t.Logf("%s frozen %v: /ready answered within %v at worst, %d answers named %q",
			tc.name, tc.freeze, worst.Round(time.Millisecond), failing, tc.check)
		if failing == 0 {
			t.Errorf("%s: /ready never reported %s failing during the freeze", tc.name, tc.check)
		}
		n = s.Answered()
		poll.Eventually(t, 20*time.Second, func() bool { return s.Answered() >= n+24 }, "the stream to be answered after the %s thaw", tc.name)
		if tc.name == "etcd" {
			if ids := c.Sim.IdentifiesSince(frozenAt); len(ids) > 0 {
				t.Errorf("%d IDENTIFY after an etcd freeze shorter than half the lease", len(ids))
			}
			for sh, before := range sessions {
				if c.Mon.WentDownSince(before.ID, frozenAt.Add(-time.Millisecond)) {
					t.Errorf("shard %d's session went down during an etcd freeze of %v (thawed %v later)", sh, tc.freeze, thawedAt.Sub(frozenAt))
				}
			}
		}
	}
	r := c.auditStream(s)
	// Only those in flight when a dependency froze (created in the 3 s
	// before) may have missed the deadline.
	inFlight := func(created time.Time) bool {
		for _, at := range frozen {
			if created.Before(at) && !created.Before(at.Add(-3*time.Second)) {
				return true
			}
		}
		return false
	}
	for _, it := range s.Interactions() {
		if in := it.Info(); in.Failed && !inFlight(in.Created) {
			t.Errorf("interaction %s created %v after the first freeze, not in flight at one, missed the deadline: %+v",
				in.ID, in.Created.Sub(frozen[0]), in)
		}
	}
	t.Logf("%d interactions, %d missed the deadline (only those in flight at a freeze may)", r.Total, r.Failed)
	c.auditPayments(t, s)
	checkNoViolations(t, c.Sim, discordsim.ViolationInteractionFailed, discordsim.ViolationInteractionLate)
}

// TestHungEtcdMember SIGSTOPs one member of a three-member etcd (member
// processes, every node given all three endpoints) for longer than the
// lease's watchdog under /pay traffic: a follower, whose clients are stuck
// on it, then the leader, which costs an election too. The quorum remains,
// so /ready need not fail, but it must answer within a second. A frozen
// follower may interrupt no shard. A frozen leader's election may outlast
// the watchdog: every shard stops and RESUMEs, and an interaction that
// arrives meanwhile may miss Discord's deadline; those are counted and
// logged as the known limit they are. Neither may cost an IDENTIFY, an
// answer twice, or a payment without an answer.
func TestHungEtcdMember(t *testing.T) {
	for _, tc := range []struct {
		name   string
		leader bool
	}{
		{"follower", false},
		{"leader", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCluster(t, clusterOptions{leaseTTL: 5 * time.Second, ownPostgres: true})
			members := useEtcdMembers(t, c)
			for _, id := range []string{"a", "b", "c"} {
				c.Start(id, false)
			}
			c.AwaitSteady(40*time.Second, "a", "b", "c")
			c.fund(t)
			s := c.startPayStream(8)
			poll.Eventually(t, 10*time.Second, func() bool { return s.Answered() >= 16 }, "the pay stream to be answered")
			c.AwaitCheckpoints()
			sessions := harness.SessionsOf(c.Sim)

			frozenAt := time.Now()
			thaw := freezeMember(tc.leader)(c, members)
			worst, _ := c.probeReady(t, 5*time.Second, "", thaw)
			t.Logf("etcd %s frozen 5s: /ready answered within %v at worst", tc.name, worst.Round(time.Millisecond))

			n := s.Answered()
			poll.Eventually(t, 20*time.Second, func() bool { return s.Answered() >= n+24 }, "the stream to be answered after the thaw")
			r := c.auditStream(s)
			late := 0
			for _, it := range s.Interactions() {
				if in := it.Info(); in.Failed && !in.Created.Before(frozenAt) {
					late++
					if !tc.leader {
						t.Errorf("interaction %s created %v into the freeze missed the deadline: %+v", in.ID, in.Created.Sub(frozenAt), in)
					}
				}
			}
			if tc.leader {
				t.Logf("KNOWN LIMIT (a frozen etcd leader): %d interactions created during the freeze missed the deadline", late)
			}
			t.Logf("%d interactions, %d missed the deadline", r.Total, r.Failed)
			c.auditPayments(t, s)
			if ids := c.Sim.IdentifiesSince(frozenAt); len(ids) > 0 {
				t.Errorf("%d IDENTIFY after an etcd member froze, want none: %+v", len(ids), ids)
			}
			interrupted := 0
			for _, before := range sessions {
				if c.Mon.WentDownSince(before.ID, frozenAt.Add(-time.Millisecond)) {
					interrupted++
				}
			}
			t.Logf("%d of %d shards briefly interrupted (and resumed) while the etcd %s was frozen", interrupted, len(sessions), tc.name)
			// A keepalive stuck on a frozen follower gets another sent
			// beside it to a live member well inside the watchdog, so no
			// shard stops.
			if !tc.leader && interrupted > 0 {
				t.Errorf("%d shards interrupted by a frozen etcd follower, want none", interrupted)
			}
			checkNoViolations(t, c.Sim, discordsim.ViolationInteractionFailed, discordsim.ViolationInteractionLate)
		})
	}
}

// freezeMember returns a hold that SIGSTOPs the etcd leader, or a
// follower, of a three-member etcd.
func freezeMember(leader bool) func(c *cluster, m *localserver.EtcdCluster) func() {
	return func(c *cluster, m *localserver.EtcdCluster) func() {
		i, err := m.Leader(context.Background())
		if err != nil {
			c.t.Fatal(err)
		}
		if !leader {
			i = (i + 1) % 3
		}
		if err := m.Freeze(i); err != nil {
			c.t.Fatal(err)
		}
		c.t.Logf("etcd member m%d frozen (leader: %v)", i, leader)
		return func() {
			if err := m.Thaw(i); err != nil {
				c.t.Fatal(err)
			}
		}
	}
}

// useEtcdMembers points the cluster, before any node starts, at a
// three-member etcd of member processes, which the test may freeze.
func useEtcdMembers(t *testing.T, c *cluster) *localserver.EtcdCluster {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	// A member can lose its free port to another process between the
	// choice and the listen (seen on a shared machine): start again on
	// fresh ports.
	var members *localserver.EtcdCluster
	var err error
	for try := 0; members == nil; try++ {
		if members, err = localserver.StartEtcdCluster(ctx, bintest.Chopsticks(t), t.TempDir(), 3); err != nil {
			if try == 2 {
				t.Fatal(err)
			}
			t.Logf("etcd members did not start, trying again: %v", err)
		}
	}
	t.Cleanup(members.Stop)
	c.Etcd = members.Endpoints()
	c.EtcdClient.Close()
	if c.EtcdClient, err = clientv3.New(clientv3.Config{Endpoints: c.Etcd, DialTimeout: 5 * time.Second}); err != nil {
		t.Fatal(err)
	}
	return members
}

// fund gives every default user credits with /daily and waits for it.
func (c *cluster) fund(t *testing.T) {
	t.Helper()
	guilds := c.Sim.Guilds()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i, u := range c.Sim.DefaultUsers() {
		it, err := c.Sim.Invoke(ctx, discordsim.Invocation{GuildID: guilds[i%len(guilds)].ID, UserID: u, Command: "daily"})
		if err != nil {
			t.Fatal(err)
		}
		poll.Eventually(t, 10*time.Second, func() bool { return it.Info().Response != nil }, "/daily for user %v", u)
	}
}

// startPayStream has each default user pay the next one 1 credit in turn,
// across the guilds, at perSecond payments a second in all.
func (c *cluster) startPayStream(perSecond int) *harness.Stream {
	guilds := c.Sim.Guilds()
	users := c.Sim.DefaultUsers()
	return c.StartInvocations(perSecond, func(n int) discordsim.Invocation {
		return discordsim.Invocation{
			GuildID: guilds[n%len(guilds)].ID, UserID: users[n%len(users)], Command: "pay",
			Options: map[string]any{"user": users[(n+1)%len(users)], "amount": "1"},
		}
	})
}

// probeReady polls every node's /ready while a dependency is frozen, calls
// thaw after d, and returns the slowest answer and the number of 503 answers
// that named check. An answer slower than a second fails the test.
func (c *cluster) probeReady(t *testing.T, d time.Duration, check string, thaw func()) (worst time.Duration, failing int) {
	t.Helper()
	type probe struct {
		id   string
		took time.Duration
		code int
		fail bool
		err  error
	}
	probes := make(chan probe)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, id := range []string{"a", "b", "c"} {
		addr := c.Node(id).HTTP
		wg.Add(1)
		go func() {
			defer wg.Done()
			hc := http.Client{Timeout: 2 * time.Second}
			for {
				select {
				case <-stop:
					return
				case <-time.After(100 * time.Millisecond):
				}
				start := time.Now()
				code, checks, err := harness.ReadReady(&hc, addr)
				p := probe{id: id, took: time.Since(start), err: err, code: code}
				p.fail = err == nil && code == http.StatusServiceUnavailable && checks[check] != "ok" && checks[check] != ""
				probes <- p
			}
		}()
	}
	go func() {
		time.Sleep(d)
		thaw()
		close(stop)
		wg.Wait()
		close(probes)
	}()
	for p := range probes {
		worst = max(worst, p.took)
		switch {
		case p.err != nil:
			t.Errorf("node %s /ready: %v", p.id, p.err)
		case p.took > time.Second:
			t.Errorf("node %s /ready took %v, want at most 1 s", p.id, p.took.Round(time.Millisecond))
		}
		if p.fail {
			failing++
		}
	}
	return worst, failing
}

// auditPayments checks the ledger against what Discord saw: every payment
// the economy applied belongs to an interaction that was answered in time
// (no money moves without an answer), none was applied twice, and
// economy.Audit finds the books balanced.
func (c *cluster) auditPayments(t *testing.T, s *harness.Stream) {
	t.Helper()
	c.auditPaymentsExcept(t, s, nil)
}

// auditPaymentsExcept is auditPayments that lets the unanswered payments
// excused names stand, such as those a killed node committed and could
// not answer. It returns how many of them it found.
func (c *cluster) auditPaymentsExcept(t *testing.T, s *harness.Stream, excused func(discordsim.InteractionInfo) bool) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, c.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	byID := map[string]discordsim.InteractionInfo{}
	for _, it := range s.Interactions() {
		in := it.Info()
		byID[in.ID.String()] = in
	}
	applied, unanswered := checkPaysAnswered(t, ctx, pool, byID, excused)
	if unanswered > 0 {
		t.Logf("%d of %d payments applied, each answered but %d excused", applied, len(byID), unanswered)
	} else {
		t.Logf("%d of %d payments applied, each answered", applied, len(byID))
	}
	if applied == 0 {
		t.Error("no payment was applied")
	}
	return unanswered
}

// checkPaysAnswered checks the ledger against what Discord saw: every /pay
// the economy applied is one of the test's interactions (byID, by
// interaction ID), and Discord accepted a response to it in time (no money
// moves without an answer) unless excused (when set) names it;
// economy.Audit must find the books balanced. It returns how many pays
// were applied, and how many of them were excused.
func checkPaysAnswered(t *testing.T, ctx context.Context, pool *pgxpool.Pool, byID map[string]discordsim.InteractionInfo,
	excused func(discordsim.InteractionInfo) bool) (applied, excusedN int) {
	t.Helper()
	ops := payOps(t, ctx, pool)
	unanswered := 0
	for _, op := range ops {
		in, ok := byID[op]
		switch {
		case !ok:
			t.Errorf("ledger op %q is no interaction of the test", op)
		case !in.Failed && in.Response != nil:
		case excused != nil && excused(in):
			excusedN++
		default:
			unanswered++
			if unanswered <= 10 {
				t.Errorf("money moved, no answer: pay %s (created %s) is in the ledger, but Discord never accepted a response to it",
					op, in.Created.Format("15:04:05.000"))
			}
		}
	}
	if unanswered > 0 {
		t.Errorf("%d of %d applied pays were never acknowledged", unanswered, len(ops))
	}
	rep, err := economy.Audit(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Errorf("economy audit: %v", err)
	}
	return len(ops), excusedN
}

// payOps returns the op IDs (interaction IDs) of every pay in the ledger.
func payOps(t *testing.T, ctx context.Context, pool *pgxpool.Pool) []string {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT op_id FROM economy.transactions WHERE kind = 'pay'`)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	return ops
}
