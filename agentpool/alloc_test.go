package agentpool

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// fixedCandidates offers the same agents for every guild, as two nodes
// would during an ownership overlap: the worst case for double booking.
type fixedCandidates []string

func (f fixedCandidates) Candidates(string) []string { return append([]string(nil), f...) }

// joinLog records the joins an allocator asked for.
type joinLog struct {
	mu    sync.Mutex
	joins map[string]string // agent -> guild/channel ("" after a leave)
	fail  map[string]bool   // agents whose join fails
}

func (j *joinLog) Join(_ context.Context, agent, guild, channel string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.fail[agent] && channel != "" {
		return errors.New("gateway down")
	}
	if channel == "" {
		j.joins[agent] = ""
	} else {
		j.joins[agent] = guild + "/" + channel
	}
	return nil
}

func etcdClient(t testing.TB, endpoints []string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func newAllocator(t testing.TB, endpoints []string, node string, c Candidates, j Joiner) *Allocator {
	t.Helper()
	a, err := NewAllocator(context.Background(), AllocatorConfig{Client: etcdClient(t, endpoints), Node: node, Candidates: c, Joiner: j, LeaseTTL: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(a.Close)
	return a
}

// checkInvariants verifies that the agent and channel keys describe the
// same one-to-one mapping.
func checkInvariants(t *testing.T, a *Allocator) (map[string]Allocation, map[string]string) {
	t.Helper()
	agents, channels, err := a.Snapshot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(agents) != len(channels) {
		t.Errorf("%d agent keys but %d channel keys", len(agents), len(channels))
	}
	for gc, agent := range channels {
		al, ok := agents[agent]
		if !ok || al.Guild+"/"+al.Channel != gc {
			t.Errorf("channel %s -> agent %s, but the agent's key says %+v (present %v)", gc, agent, al, ok)
		}
	}
	return agents, channels
}

func TestAllocateRaceNeverDoubleBooks(t *testing.T) {
	t.Parallel()
	endpoints := servertest.Etcd(t)
	var agents fixedCandidates
	for i := range 30 {
		agents = append(agents, strconv.Itoa(9000+i))
	}
	jx, jy := &joinLog{joins: map[string]string{}}, &joinLog{joins: map[string]string{}}
	x := newAllocator(t, endpoints, "x", agents, jx)
	y := newAllocator(t, endpoints, "y", agents, jy)

	// 50 channels in 10 guilds; both nodes ask for every channel at once.
	type result struct {
		node, gc, agent string
		err             error
	}
	results := make(chan result, 100)
	var wg sync.WaitGroup
	for i := range 50 {
		guild, channel := strconv.Itoa(100+i%10), strconv.Itoa(500+i)
		for _, n := range []struct {
			name string
			a    *Allocator
		}{{"x", x}, {"y", y}} {
			wg.Go(func() {
				agent, err := n.a.Allocate(context.Background(), guild, channel)
				results <- result{n.name, guild + "/" + channel, agent, err}
			})
		}
	}
	wg.Wait()
	close(results)
	won := map[string]string{} // channel -> agent
	byAgent := map[string]string{}
	for r := range results {
		if r.err != nil {
			if !errors.Is(r.err, voice.ErrNoAgentFree) {
				t.Fatalf("%s %s: unexpected error %v", r.node, r.gc, r.err)
			}
			continue
		}
		if prev, dup := won[r.gc]; dup {
			t.Errorf("channel %s got two agents: %s and %s", r.gc, prev, r.agent)
		}
		if prev, dup := byAgent[r.agent]; dup {
			t.Errorf("agent %s sent to two channels: %s and %s", r.agent, prev, r.gc)
		}
		won[r.gc], byAgent[r.agent] = r.agent, r.gc
	}
	// 30 agents for 50 channels: exactly 30 channels are served.
	if len(won) != len(agents) {
		t.Fatalf("%d channels got an agent, want %d (every agent used once)", len(won), len(agents))
	}
	gotAgents, channels := checkInvariants(t, x)
	if len(channels) != len(won) {
		t.Fatalf("etcd has %d channels, the callers saw %d", len(channels), len(won))
	}
	for gc, agent := range won {
		if channels[gc] != agent {
			t.Errorf("etcd says %s has %s, caller got %s", gc, channels[gc], agent)
		}
	}
	// Each agent joined only where it was allocated, and only once.
	for agent, gc := range byAgent {
		jx.mu.Lock()
		jy.mu.Lock()
		ax, ay := jx.joins[agent], jy.joins[agent]
		jx.mu.Unlock()
		jy.mu.Unlock()
		if (ax == gc) == (ay == gc) {
			t.Errorf("agent %s: joins x=%q y=%q, want exactly one to %s", agent, ax, ay, gc)
		}
		if n := gotAgents[agent].Node; n != "x" && n != "y" {
			t.Errorf("agent %s allocated by node %q", agent, n)
		}
	}

	// Releasing frees both keys; the agent can be taken again.
	var someGC, someAgent string
	for gc, a := range won {
		someGC, someAgent = gc, a
		break
	}
	g, c, _ := strings.Cut(someGC, "/")
	// A release by the wrong agent changes nothing.
	if err := y.Release(context.Background(), g, c, "1"); err != nil {
		t.Fatal(err)
	}
	if _, ch := checkInvariants(t, x); ch[someGC] != someAgent {
		t.Fatal("a wrong release freed the channel")
	}
	if err := x.Release(context.Background(), g, c, someAgent); err != nil {
		t.Fatal(err)
	}
	if _, ch := checkInvariants(t, x); ch[someGC] != "" {
		t.Fatal("release kept the channel key")
	}
	agent, err := y.Allocate(context.Background(), "777", "778")
	if err != nil || agent != someAgent {
		t.Fatalf("after release: %q %v, want %s", agent, err, someAgent)
	}
	// A channel that has an agent is refused with ErrChannelTaken.
	if _, err := x.Allocate(context.Background(), "777", "778"); !errors.Is(err, ErrChannelTaken) || !errors.Is(err, voice.ErrNoAgentFree) {
		t.Fatalf("taken channel: %v", err)
	}
	if _, err := x.Allocate(context.Background(), "1x", "2"); !errors.Is(err, voice.ErrBadArgument) {
		t.Fatalf("bad guild: %v", err)
	}
}

func TestAllocateJoinFailureFrees(t *testing.T) {
	t.Parallel()
	endpoints := servertest.Etcd(t)
	j := &joinLog{joins: map[string]string{}, fail: map[string]bool{"42": true}}
	a := newAllocator(t, endpoints, "x", fixedCandidates{"42"}, j)
	if _, err := a.Allocate(context.Background(), "1", "2"); err == nil {
		t.Fatal("allocation succeeded although the join failed")
	}
	if agents, _ := checkInvariants(t, a); len(agents) != 0 {
		t.Fatalf("a failed join left %v", agents)
	}
}

func TestClaimTakesOverAndLeaseFrees(t *testing.T) {
	t.Parallel()
	endpoints := servertest.Etcd(t)
	cli := etcdClient(t, endpoints)
	x, err := NewAllocator(context.Background(), AllocatorConfig{Client: cli, Node: "x", Candidates: fixedCandidates{"42", "43"}, LeaseTTL: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	y := newAllocator(t, endpoints, "y", fixedCandidates{}, nil)
	if _, err := x.Allocate(context.Background(), "1", "2"); err != nil {
		t.Fatal(err)
	}
	agents, _ := checkInvariants(t, y)
	var agent string
	for id := range agents {
		agent = id
	}
	// Node y adopts the agent: its claim moves both keys to y's lease, so
	// x's lease ending no longer frees them.
	if err := y.Claim(context.Background(), "1", "2", agent); err != nil {
		t.Fatal(err)
	}
	if err := y.Claim(context.Background(), "1", "3", agent); !errors.Is(err, ErrChannelTaken) {
		t.Fatalf("claim of a second channel: %v", err)
	}
	if _, err := x.Allocate(context.Background(), "1", "4"); err != nil { // the other agent
		t.Fatal(err)
	}
	x.Close() // revokes x's lease: its own allocation goes, the claimed one stays
	agents, channels := checkInvariants(t, y)
	if len(agents) != 1 || channels["1/2"] != agent || agents[agent].Node != "y" {
		t.Fatalf("after x's lease ended: %v %v", agents, channels)
	}
	// Claim of a channel nobody holds creates it.
	if err := y.Claim(context.Background(), "5", "6", "44"); err != nil {
		t.Fatal(err)
	}
	if _, ch := checkInvariants(t, y); ch["5/6"] != "44" {
		t.Fatal("claim did not create the allocation")
	}
}

func TestLocate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	endpoints := servertest.Etcd(t)
	x := newAllocator(t, endpoints, "x", fixedCandidates{"42"}, nil)
	y := newAllocator(t, endpoints, "y", fixedCandidates{}, nil)
	if _, err := x.Allocate(ctx, "1", "2"); err != nil {
		t.Fatal(err)
	}
	type want struct {
		agent, node string
		found       bool
	}
	check := func(stage string, a *Allocator, guild, channel string, w want) {
		t.Helper()
		agent, node, found, err := a.Locate(ctx, guild, channel)
		if err != nil || (want{agent, node, found}) != w {
			t.Errorf("%s: Locate(%s, %s) = %q %q %v %v, want %+v", stage, guild, channel, agent, node, found, err, w)
		}
	}
	tests := []struct {
		name           string
		guild, channel string
		want           want
	}{
		{"allocated channel", "1", "2", want{"42", "x", true}},
		{"other channel of the guild", "1", "3", want{}},
		{"other guild", "7", "2", want{}},
	}
	for _, tt := range tests {
		check(tt.name+" (from x)", x, tt.guild, tt.channel, tt.want)
		check(tt.name+" (from y)", y, tt.guild, tt.channel, tt.want)
	}
	// Adoption moves the session, and the allocation's node, to y.
	if err := y.Claim(ctx, "1", "2", "42"); err != nil {
		t.Fatal(err)
	}
	check("after y claimed it", x, "1", "2", want{"42", "y", true})
	// Released: nobody plays there.
	if err := y.Release(ctx, "1", "2", "42"); err != nil {
		t.Fatal(err)
	}
	check("after release", x, "1", "2", want{})
	if _, _, _, err := x.Locate(ctx, "1", "../x"); !errors.Is(err, voice.ErrBadArgument) {
		t.Errorf("bad channel ID: %v", err)
	}
}
