package coordinator

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/localserver"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// memberProcessEnv makes the test binary run one Member as a separate
// process (see memberProcess), so that tests can SIGKILL or SIGSTOP a real
// process: sockets closed by the kernel, or a process that stops answering
// with every socket open.
const memberProcessEnv = "COORDINATOR_TEST_MEMBER"

// memberProcess joins the cluster described by its environment and runs
// until killed. Its units do nothing.
func memberProcess() int {
	env := func(k string) string { return os.Getenv("COORDINATOR_TEST_" + k) }
	ttl, _ := time.ParseDuration(env("TTL"))
	margin, _ := time.ParseDuration(env("MARGIN"))
	cli, err := clientv3.New(clientv3.Config{Endpoints: strings.Split(env("ETCD"), ","), DialTimeout: 2 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	_, err = Join(context.Background(), Config{
		Client: cli, NodeID: NodeID(env("MEMBER")), Owner: idleOwner{}, LeaseTTL: ttl, LeaseMargin: margin,
		Resync: 200 * time.Millisecond, Gossip: &GossipConfig{Seeds: []string{env("SEED")}},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	select {}
}

type idleOwner struct{}

func (idleOwner) Start(context.Context, Unit) error            { return nil }
func (idleOwner) Stop(context.Context, Unit, StopReason) error { return nil }

// startMemberProcess runs memberProcess as node id, seeded with seed.
func startMemberProcess(t *testing.T, endpoints []string, id NodeID, seed string, ttl, margin time.Duration) *os.Process {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), memberProcessEnv+"=1",
		"COORDINATOR_TEST_ETCD="+strings.Join(endpoints, ","), "COORDINATOR_TEST_MEMBER="+string(id),
		"COORDINATOR_TEST_SEED="+seed, "COORDINATOR_TEST_TTL="+ttl.String(), "COORDINATOR_TEST_MARGIN="+margin.String())
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGCONT)
		_ = cmd.Process.Kill()
		<-exited
	})
	return cmd.Process
}

// registration reads id's registration lease (0 when absent).
func registrationLease(t *testing.T, cli *clientv3.Client, id NodeID) clientv3.LeaseID {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, keys{DefaultPrefix}.node(id))
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		return 0
	}
	return clientv3.LeaseID(resp.Kvs[0].Lease)
}

// ownedBy counts the shards whose owner key id holds.
func ownedBy(t *testing.T, cli *clientv3.Client, id NodeID) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	st, err := ReadStatus(ctx, cli, "")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, u := range st.Units {
		if u.Owner == id {
			n++
		}
	}
	return n
}

// failoverPair runs member a in this process and b as a process, sharing
// 4 shards, both with gossip, and waits until each runs 2.
func failoverPair(t *testing.T, ttl, margin time.Duration) (*world, *Member, *os.Process, *clientv3.Client) {
	t.Helper()
	endpoints := etcdEndpoints(t)
	cli := newClient(t, endpoints)
	w := newWorld(t)
	a := joinCfg(t, Config{
		Client: cli, NodeID: "a", Owner: w.owner("a"), ShardCount: 4, LeaseTTL: ttl, LeaseMargin: margin,
		Resync: 200 * time.Millisecond, Gossip: &GossipConfig{},
	})
	b := startMemberProcess(t, endpoints, "b", a.GossipAddress(), ttl, margin)
	poll.Eventually(t, 20*time.Second, func() (bool, string) {
		c, _ := w.count()
		nb := ownedBy(t, cli, "b")
		return c["a"] == 2 && nb == 2 && len(a.Peers()) == 2, fmt.Sprintf("a runs %d, b owns %d, a's peers %v", c["a"], nb, a.Peers())
	}, "a and b run 2 shards each, and gossip")
	return w, a, b, cli
}

// etcdEndpoints starts an etcd for one test.
func etcdEndpoints(t *testing.T) []string {
	t.Helper()
	e, err := localserver.StartEtcd(context.Background(), t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Stop)
	return e.Endpoints()
}

// TestFailoverRevokesKilledMember: a member whose process is killed is
// found dead by its closed liveness stream and a refused connection, and
// its lease is revoked at once: its shards move long before its 30 s lease
// could expire.
func TestFailoverRevokesKilledMember(t *testing.T) {
	w, a, b, cli := failoverPair(t, 30*time.Second, 0)
	killed := time.Now()
	if err := b.Kill(); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		c, _ := w.count()
		return registrationLease(t, cli, "b") == 0 && c["a"] == 4, fmt.Sprintf("a runs %d", c["a"])
	}, "b's lease revoked and a running all 4 shards")
	t.Logf("SIGKILL to all 4 shards on a: %v (LeaseTTL 30s)", time.Since(killed).Round(time.Millisecond))
	if n := testutil.ToFloat64(a.met.revoked.WithLabelValues(revokeGone)); n != 1 {
		t.Errorf("revocations{gone} = %v, want 1", n)
	}
}

// TestFailoverRevokesFrozenMember: a frozen member (SIGSTOP: its sockets
// stay open) is revoked once etcd shows its lease unrenewed for its
// watchdog time, before the lease expires; thawed, it finds its lease gone
// and registers again under a new one.
func TestFailoverRevokesFrozenMember(t *testing.T) {
	w, a, b, cli := failoverPair(t, 10*time.Second, 7*time.Second) // watchdog 3 s
	old := registrationLease(t, cli, "b")
	if err := b.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	frozen := time.Now()
	poll.Eventually(t, 9*time.Second, func() (bool, string) {
		c, _ := w.count()
		return registrationLease(t, cli, "b") == 0 && c["a"] == 4, fmt.Sprintf("a runs %d", c["a"])
	}, "b's lease revoked (not expired) and a running all 4 shards")
	t.Logf("SIGSTOP to all 4 shards on a: %v (LeaseTTL 10s, watchdog 3s)", time.Since(frozen).Round(time.Millisecond))
	if n := testutil.ToFloat64(a.met.revoked.WithLabelValues(revokeSilent)); n != 1 {
		t.Errorf("revocations{silent} = %v, want 1", n)
	}
	if err := b.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 15*time.Second, func() (bool, string) {
		l := registrationLease(t, cli, "b")
		return l != 0 && l != old, strconv.FormatInt(int64(l), 16)
	}, "b registered again under a new lease")
}

// TestFailoverSparesSlowMember: a member that stops answering for less
// than its watchdog time (a long pause, a slow machine) is suspected and
// checked, but not revoked: etcd shows its lease renewed again.
func TestFailoverSparesSlowMember(t *testing.T) {
	_, a, b, cli := failoverPair(t, 12*time.Second, 6*time.Second) // watchdog 6 s, keepalive every 2 s
	old := registrationLease(t, cli, "b")
	if err := b.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 5*time.Second, func() (bool, string) {
		return testutil.ToFloat64(a.met.checks.WithLabelValues("spared"))+
			testutil.ToFloat64(a.met.checks.WithLabelValues("revoked")) > 0 || checking(a), "no check yet"
	}, "a checking the silent b")
	time.Sleep(time.Second) // paused about 2 s in all: well inside the watchdog
	if err := b.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		return testutil.ToFloat64(a.met.checks.WithLabelValues("spared")) > 0 && !checking(a), "still checking"
	}, "the check to end")
	if l := registrationLease(t, cli, "b"); l != old {
		t.Errorf("b's registration lease %x, want the old %x: a live member was revoked", l, old)
	}
	if n := testutil.ToFloat64(a.met.revoked.WithLabelValues(revokeSilent)); n != 0 {
		t.Errorf("revocations{silent} = %v, want 0", n)
	}
	if n := ownedBy(t, cli, "b"); n != 2 {
		t.Errorf("b owns %d shards after its pause, want 2", n)
	}
}

// checking reports whether a check is running on m (a test hook reading
// the outcome counters' sum against suspicions would race).
func checking(m *Member) bool { return m.checksRunning.Load() > 0 }

// TestDrainWithoutEtcdStopsUnitsAtOnce: SIGTERM while etcd is gone hands
// every unit off locally (stopped resumably for the next owner) and
// returns promptly instead of waiting for a plan that cannot come.
func TestDrainWithoutEtcdStopsUnitsAtOnce(t *testing.T) {
	e, err := localserver.StartEtcd(context.Background(), t.TempDir(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var stopOnce sync.Once
	stop := func() { stopOnce.Do(e.Stop) }
	t.Cleanup(stop)
	cli := newClient(t, e.Endpoints())
	w := newWorld(t)
	m := joinCfg(t, Config{Client: cli, NodeID: "a", Owner: w.owner("a"), ShardCount: 4, LeaseTTL: 5 * time.Second})
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		_, n := w.count()
		return n == 4, fmt.Sprint(n)
	}, "4 shards running")
	// SIGTERM as soon as etcd stops answering (its shutdown takes a while
	// after that), well before the lease watchdog would stop the units.
	go stop()
	poll.Eventually(t, 5*time.Second, func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := cli.Get(ctx, "x")
		return err != nil, "still answers"
	}, "etcd not answering")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	start := time.Now()
	err = m.Drain(ctx)
	took := time.Since(start)
	if !errors.Is(err, ErrEtcdUnreachable) {
		t.Errorf("Drain = %v, want ErrEtcdUnreachable", err)
	}
	if took > 10*time.Second {
		t.Errorf("Drain took %v with etcd gone, want it to stop the units at once", took)
	}
	if _, n := w.count(); n != 0 {
		t.Errorf("%d units still run after Drain", n)
	}
	w.mu.Lock()
	handoffs := w.reasons[StopHandoff]
	w.mu.Unlock()
	if handoffs != 4 {
		t.Errorf("%d units stopped for handoff, want 4 (resumable, for the next owner)", handoffs)
	}
	start = time.Now()
	_ = m.Close()
	t.Logf("with etcd gone: Drain %v, Close %v", took.Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Close took %v with etcd gone", d)
	}
}
