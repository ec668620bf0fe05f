package harness

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// Status reads the cluster from etcd, as `chopsticks status -json` does.
func (c *Cluster) Status() coordinator.Status {
	c.T.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	st, err := coordinator.ReadStatus(ctx, c.EtcdClient, "")
	if err != nil {
		c.T.Fatalf("read status: %v", err)
	}
	return st
}

// Owners maps every held shard to its owner, from etcd.
func Owners(st coordinator.Status) map[int]string {
	out := map[int]string{}
	for _, u := range st.Units {
		if u.Kind == coordinator.KindShard && u.Owner != "" {
			out[u.ID] = string(u.Owner)
		}
	}
	return out
}

// ShardsOf returns the shards node id owns by etcd, in order.
func ShardsOf(st coordinator.Status, id string) []int {
	var out []int
	for sh, o := range Owners(st) {
		if o == id {
			out = append(out, sh)
		}
	}
	slices.Sort(out)
	return out
}

// SessionsOf returns the live session of each shard of the default app
// that has exactly one.
func SessionsOf(sim *discordsim.Sim) map[int]discordsim.SessionInfo {
	out := map[int]discordsim.SessionInfo{}
	for sh := 0; sh < Shards; sh++ {
		if l := sim.LiveSessions(sh); len(l) == 1 {
			out[sh] = l[0]
		}
	}
	return out
}

// NodeShard is one entry of a node's GET /status "shards".
type NodeShard struct {
	ID        int    `json:"id"`
	State     string `json:"state"`
	SessionID string `json:"session_id"`
	Seq       int64  `json:"seq"`
}

// NodeStatus is what the harness reads of a node's GET /status: the shards
// it runs and how its gossip sees each registered node.
type NodeStatus struct {
	Shards  []NodeShard `json:"shards"`
	Cluster struct {
		Nodes []struct {
			ID     string `json:"id"`
			Gossip string `json:"gossip"`
		} `json:"nodes"`
	} `json:"cluster"`
}

// ReadNodeStatus asks the node at addr (its HTTP_ADDR) for its /status.
func ReadNodeStatus(addr string) (NodeStatus, error) {
	var st NodeStatus
	hc := http.Client{Timeout: 3 * time.Second}
	resp, err := hc.Get("http://" + addr + "/status")
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return st, fmt.Errorf("decode /status: %w", err)
	}
	return st, nil
}

// ReadReady asks the node at addr for its /ready: the status code and the
// state of each check.
func ReadReady(hc *http.Client, addr string) (int, map[string]string, error) {
	resp, err := hc.Get("http://" + addr + "/ready")
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body.Checks, nil
}

// Steady reports, with a reason when false, whether the nodes ids share
// every shard once and balanced (SteadyWithin with the even split).
func (c *Cluster) Steady(ids ...string) (bool, string) {
	return c.SteadyWithin(c.Shards/len(ids), (c.Shards+len(ids)-1)/len(ids), ids...)
}

// SteadyWithin reports, with a reason when false, whether the nodes ids
// own every shard by etcd, each node between lo and hi shards, every shard
// running by etcd and ready on its owner alone by the nodes' /status, with
// one live session in discordsim.
func (c *Cluster) SteadyWithin(lo, hi int, ids ...string) (bool, string) {
	st := c.Status()
	own := Owners(st)
	if len(own) != c.Shards {
		return false, fmt.Sprintf("%d of %d shards held", len(own), c.Shards)
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
		ns, err := ReadNodeStatus(addrs[id])
		if err != nil {
			return false, fmt.Sprintf("node %s status: %v", id, err)
		}
		for _, s := range ns.Shards {
			if s.State != "ready" {
				return false, fmt.Sprintf("node %s shard %d is %s", id, s.ID, s.State)
			}
			runs[s.ID] = append(runs[s.ID], id)
		}
	}
	for sh := 0; sh < c.Shards; sh++ {
		if len(runs[sh]) != 1 || runs[sh][0] != own[sh] {
			return false, fmt.Sprintf("shard %d runs on %v, etcd owner %q", sh, runs[sh], own[sh])
		}
		if n := len(c.Sim.LiveSessions(sh)); n != 1 {
			return false, fmt.Sprintf("shard %d has %d live sessions", sh, n)
		}
	}
	return true, ""
}

// AwaitSteady waits until Steady(ids...) holds, failing at once if one of
// the nodes exits.
func (c *Cluster) AwaitSteady(timeout time.Duration, ids ...string) {
	c.T.Helper()
	c.AwaitSteadyWithin(timeout, c.Shards/len(ids), (c.Shards+len(ids)-1)/len(ids), ids...)
}

// AwaitSteadyWithin waits until SteadyWithin(lo, hi, ids...) holds,
// failing at once if one of the nodes exits.
func (c *Cluster) AwaitSteadyWithin(timeout time.Duration, lo, hi int, ids ...string) {
	c.T.Helper()
	poll.Eventually(c.T, timeout, func() (bool, string) {
		c.CheckAlive(ids...)
		return c.SteadyWithin(lo, hi, ids...)
	}, "the cluster %v to be steady", ids)
}

// AwaitCheckpoints waits until every shard's live session is checkpointed
// in Redis (the state a node is in one CHECKPOINT_INTERVAL after its
// shards connected), so that a crash is recovered by RESUME.
func (c *Cluster) AwaitCheckpoints() {
	c.T.Helper()
	poll.Eventually(c.T, 10*time.Second, func() (bool, string) {
		live := SessionsOf(c.Sim)
		for sh := 0; sh < c.Shards; sh++ {
			m, err := c.RDB.HGetAll(context.Background(), fmt.Sprintf("chopsticks:shard:{%d}:checkpoint", sh)).Result()
			if err != nil || m["session"] != live[sh].ID || m["seq"] == "" || m["seq"] == "0" {
				return false, fmt.Sprintf("shard %d: checkpoint %v, live session %q", sh, m, live[sh].ID)
			}
		}
		return true, ""
	}, "every shard to be checkpointed")
}
