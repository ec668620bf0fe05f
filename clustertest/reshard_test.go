package clustertest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/bintest"
	"github.com/chopsticks-bot/chopsticks/clustertest/harness"
	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// Online resharding (issue 26): three nodes go from 8 to 12 shards under
// /pay and /balance traffic, with `chopsticks reshard --shards 12`.

const (
	reshardFrom = 8
	reshardTo   = 12
)

// newReshardCluster starts a cluster whose bot is recommended reshardFrom
// shards, with max_concurrency 16 so that a generation identifies within
// one window.
func newReshardCluster(t *testing.T) *cluster {
	t.Helper()
	s := harness.Servers{Redis: servertest.RedisServer(t), Etcd: servertest.Etcd(t), Postgres: servertest.Postgres(t)}
	c := &cluster{t: t, Cluster: harness.New(t, harness.Options{
		Binary: bintest.Chopsticks(t), Servers: s, MaxConcurrency: 16, Shards: reshardFrom,
	})}
	// A node whose claim Redis does not answer in time handles the
	// interaction unclaimed (and logs "interaction claim unavailable"), as
	// designed; on two loaded shared cores that happens around a SIGKILL.
	// Such an interaction was handled, not lost: answered twice would
	// still show as a second initial response.
	c.ClaimOptional = func(in discordsim.InteractionInfo) bool { return in.Response != nil }
	return c
}

func (c *cluster) awaitGeneration(count int, timeout time.Duration, ids ...string) {
	c.t.Helper()
	poll.Eventually(c.t, timeout, func() (bool, string) {
		c.CheckAlive(ids...)
		return c.ServesGeneration(count)
	}, "the cluster to serve %d shards alone", count)
}

// reshardCLI runs `chopsticks reshard args...` against the cluster's etcd.
func (c *cluster) reshardCLI(args ...string) string {
	c.t.Helper()
	cmd := exec.Command(bintest.Chopsticks(c.t), append([]string{"reshard"}, args...)...)
	cmd.Env = []string{"ETCD_ENDPOINTS=" + strings.Join(c.Etcd, ",")}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		c.t.Fatalf("chopsticks reshard %v: %v\n%s", args, err, out.String())
	}
	return out.String()
}

// startPayAndBalance sends /pay and /balance, half each, at perSecond in
// all, from every default user across the guilds.
func (c *cluster) startPayAndBalance(perSecond int) *harness.Stream {
	guilds := c.Sim.Guilds()
	users := c.Sim.DefaultUsers()
	pay := func(n int) discordsim.Invocation {
		return discordsim.Invocation{GuildID: guilds[(n*7)%len(guilds)].ID, UserID: users[n%len(users)], Command: "pay",
			Options: map[string]any{"user": users[(n+1)%len(users)], "amount": "1"}}
	}
	balance := func(n int) discordsim.Invocation {
		return discordsim.Invocation{GuildID: guilds[(n*5+3)%len(guilds)].ID, UserID: users[(n+3)%len(users)], Command: "balance"}
	}
	return c.StartInvocations(perSecond/2, pay, balance)
}

// TestOnlineReshard: 8 → 12 shards under 50 interactions a second, as is,
// with the leader SIGKILLed while the next generation warms, and with a
// node that runs next shards SIGKILLed before the switch, and after it
// (before the new generation takes over). Each ends on the
// new generation alone: every guild on exactly one live session of 12, no
// interaction lost or answered twice, the ledger answered and balanced.
// With or without a fault no interaction misses its deadline and the
// reshard costs exactly 12 identifies.
func TestOnlineReshard(t *testing.T) {
	for _, tc := range []struct {
		name  string
		fault string // "", "leader", "next-owner" or "switched"
	}{
		{"plain", ""},
		{"leader killed", "leader"},
		{"next-generation node killed", "next-owner"},
		{"next-generation node killed after the switch", "switched"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newReshardCluster(t)
			nodes := []string{"a", "b", "c"}
			for _, id := range nodes {
				c.Start(id, false)
			}
			c.awaitGeneration(reshardFrom, 40*time.Second, nodes...)
			c.fund(t)
			c.AwaitCheckpoints()
			s := c.startPayAndBalance(50)
			poll.Eventually(t, 10*time.Second, func() bool { return s.Answered() >= 50 }, "the stream to be answered")

			begin := time.Now()
			out := c.reshardCLI("--shards", fmt.Sprint(reshardTo))
			t.Logf("%s", strings.TrimSpace(out))
			var killed string
			var killedAt time.Time
			if tc.fault == "" {
				c.awaitStatusShowsBothGenerations(nodes)
			}
			if tc.fault != "" {
				var why string
				poll.Eventually(t, 10*time.Second, func() bool {
					st := c.Status()
					if st.Reshard == nil {
						why = "no reshard under way"
						return false
					}
					for _, u := range st.Units {
						if tc.fault == "leader" && st.Leader != "" {
							killed = string(st.Leader)
						}
						if tc.fault == "switched" && u.Kind == coordinator.KindNext && u.Owner != "" && u.Owner != st.Leader {
							killed = string(u.Owner)
						}
					}
					if tc.fault == "next-owner" {
						killed = c.nodeWithNextAllReady(st)
					}
					why = fmt.Sprintf("phase %s, %d of %d next shards ready", st.Reshard.Phase, st.Reshard.Ready, st.Reshard.To)
					switch tc.fault {
					case "switched":
						// Between the switch and the takeover: both
						// generations serve; the next shards of the killed
						// node must serve from their restart.
						return killed != "" && st.Reshard.Phase == coordinator.PhaseSwitched
					case "next-owner":
						// A node other than the leader whose next sessions
						// are all READY (and so checkpointed), before the
						// switch. One that had sent an IDENTIFY and not yet
						// had its READY would cost a second one, unavoidably.
						return killed != "" && st.Reshard.Phase == coordinator.PhaseWarming
					}
					return killed != "" && st.Reshard.Phase == coordinator.PhaseWarming
				}, "a node to kill for fault %q (%s)", tc.fault, &why)
				killedAt = c.Kill(killed)
				phase := "the new generation serving alone"
				if st := c.Status(); st.Reshard != nil {
					phase = fmt.Sprintf("%s, ready %d/%d, live %d/%d", st.Reshard.Phase, st.Reshard.Ready, st.Reshard.To, st.Reshard.Live, st.Reshard.To)
				}
				t.Logf("SIGKILL %s %v after the reshard began; just after, the reshard is %s", killed, killedAt.Sub(begin).Round(time.Millisecond), phase)
				nodes = remove(nodes, killed)
			}
			c.awaitGeneration(reshardTo, 40*time.Second, nodes...)
			took := time.Since(begin)
			n := s.Answered()
			poll.Eventually(t, 10*time.Second, func() bool { return s.Answered() >= n+50 }, "the new generation to answer the stream")

			r := c.auditStream(s)
			if r.Lost() > 0 {
				t.Errorf("%d interactions lost (%d undelivered, %d unclaimed)", r.Lost(), len(r.Undelivered), len(r.Unclaimed))
			}
			// Not even a killed node's interactions in flight miss the
			// deadline: their replays on the shards' next owners take
			// the dead node's claims over (commands/claim_takeover.go).
			for _, it := range s.Interactions() {
				in := it.Info()
				if in.Failed {
					t.Errorf("interaction %s created %v after the reshard began missed the deadline", in.ID, in.Created.Sub(begin).Round(time.Millisecond))
				}
			}
			c.auditPayments(t, s)

			// Every guild on exactly one live session of the new generation.
			for _, g := range c.Sim.Guilds() {
				want := discordsim.ShardFor(g.ID, reshardTo)
				owners := 0
				for _, ss := range c.Sim.Sessions() {
					if ss.AppID == c.Sim.AppID() && ss.Live && ss.Shard == [2]int{want, reshardTo} {
						owners++
					}
				}
				if owners != 1 {
					t.Errorf("guild %s: %d live sessions of shard %d of %d, want 1", g.ID, owners, want, reshardTo)
				}
			}
			ids := c.Sim.IdentifiesSince(begin)
			perShard := map[[2]int]int{}
			for _, id := range ids {
				perShard[id.Shard]++
			}
			// A killed node's READY next sessions are checkpointed, so
			// their next owners RESUME them: no fault costs an identify.
			if len(ids) != reshardTo {
				t.Errorf("%d identifies during the reshard, want %d (one per new shard): %v", len(ids), reshardTo, perShard)
			}
			for sh, n := range perShard {
				if sh[1] != reshardTo {
					t.Errorf("shard %v of the old generation identified %d times during the reshard", sh, n)
				}
			}
			checkNoViolations(t, c.Sim, discordsim.ViolationInteractionFailed, discordsim.ViolationInteractionLate)
			checkDeliveries(t, c.Sim)
			takeovers := 0
			for _, id := range nodes {
				takeovers += strings.Count(c.Node(id).Logs.String(), "interaction claim of a dead node taken over")
			}
			t.Logf("%d → %d shards in %v with %d identifies; %d interactions, %d missed the deadline; %d claims of the killed node taken over",
				reshardFrom, reshardTo, took.Round(time.Millisecond), len(ids), r.Total, r.Failed, takeovers)
		})
	}
}

// nodeWithNextAllReady returns a node other than the leader that runs
// next shards, every one of them marked READY by it in etcd, or "".
func (c *cluster) nodeWithNextAllReady(st coordinator.Status) string {
	c.t.Helper()
	resp, err := c.EtcdClient.Get(c.t.Context(), "/chopsticks/reshard/ready/", clientv3.WithPrefix())
	if err != nil {
		return ""
	}
	marked := map[string]string{} // next shard ID -> node that marked it
	for _, kv := range resp.Kvs {
		marked[strings.TrimPrefix(string(kv.Key), "/chopsticks/reshard/ready/")] = string(kv.Value)
	}
	all := map[coordinator.NodeID]bool{}
	for _, u := range st.Units {
		if u.Kind != coordinator.KindNext || u.Owner == "" || u.Owner == st.Leader {
			continue
		}
		ready, seen := all[u.Owner]
		all[u.Owner] = (ready || !seen) && marked[fmt.Sprint(u.ID)] == string(u.Owner)
	}
	for n, ready := range all {
		if ready {
			return string(n)
		}
	}
	return ""
}

// awaitStatusShowsBothGenerations waits until a node's /status shows the
// reshard under way and next-generation shards beside its serving ones.
func (c *cluster) awaitStatusShowsBothGenerations(nodes []string) {
	c.t.Helper()
	poll.Eventually(c.t, 10*time.Second, func() (bool, string) {
		for _, id := range nodes {
			resp, err := http.Get("http://" + c.Node(id).HTTP + "/status")
			if err != nil {
				return false, err.Error()
			}
			var st struct {
				Shards []json.RawMessage `json:"shards"`
				Next   []struct {
					ID    int `json:"id"`
					Count int `json:"count"`
				} `json:"next_shards"`
				Cluster struct {
					Reshard *coordinator.ReshardStatus `json:"reshard"`
				} `json:"cluster"`
			}
			err = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if err != nil {
				return false, err.Error()
			}
			r := st.Cluster.Reshard
			if r != nil && r.From == reshardFrom && r.To == reshardTo && len(st.Shards) > 0 && len(st.Next) > 0 && st.Next[0].Count == reshardTo {
				return true, ""
			}
		}
		return false, "no node shows both generations"
	}, "a node's /status to show both generations")
}

func remove(ids []string, id string) []string {
	var out []string
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
}

// TestAutoReshard: nodes told that a shard may hold 4 guilds (RESHARD_AT
// 0.8 of SHARD_GUILD_CAP 4) serve 2 guilds a shard; discordsim's driver
// grows the bot to 4 a shard, and the cluster reshards by itself to
// Discord's recommended fill (40% of the cap: 20 shards), losing nothing.
func TestAutoReshard(t *testing.T) {
	c := newReshardCluster(t)
	nodes := []string{"a", "b", "c"}
	for _, id := range nodes {
		c.Start(id, false, "SHARD_GUILD_CAP=4", "RESHARD_AT=0.8")
	}
	c.awaitGeneration(reshardFrom, 40*time.Second, nodes...)
	s := c.StartPings(20)
	poll.Eventually(t, 10*time.Second, func() bool { return s.Answered() >= 20 }, "the stream to be answered")

	begin := time.Now()
	body := strings.NewReader(`{"count": 16}`)
	resp, err := http.Post(c.Sim.URL()+"/_sim/applications/"+c.Sim.AppID().String()+"/guilds", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("growing the bot: status %d", resp.StatusCode)
	}
	var started *coordinator.ReshardStatus
	poll.Eventually(t, 10*time.Second, func() bool {
		started = c.Status().Reshard
		return started != nil
	}, "the cluster to start resharding by itself")
	if started.Reason != "auto" || started.From != reshardFrom || started.To != 20 {
		t.Errorf("reshard %+v, want auto from 8 to 20", started)
	}
	c.awaitGeneration(20, 40*time.Second, nodes...)
	t.Logf("grown to 32 guilds: 8 → 20 shards by itself in %v", time.Since(begin).Round(time.Millisecond))
	r := c.auditStream(s)
	if r.Lost() > 0 || r.Failed > 0 {
		t.Errorf("%d interactions lost, %d past the deadline", r.Lost(), r.Failed)
	}
	if st := c.Status(); st.Reshard != nil || st.ShardCount != 20 {
		t.Errorf("after the reshard: %d shards, reshard %+v (a second one started)", st.ShardCount, st.Reshard)
	}
	checkNoViolations(t, c.Sim, discordsim.ViolationInteractionFailed, discordsim.ViolationInteractionLate)
	checkDeliveries(t, c.Sim)
}
