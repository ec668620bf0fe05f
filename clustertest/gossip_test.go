package clustertest

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/clustertest/harness"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// TestGossipConvergesAfterEachRestart: three nodes seeded as the sandbox
// seeds them (a none, b a, c a and b) form one gossip cluster, and again
// within seconds after each node restarts in turn, killed or drained, on a
// new gossip port with its original seeds. a restarts with no seed at all:
// only the registrations in etcd can bring it back.
func TestGossipConvergesAfterEachRestart(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	ids := []string{"a", "b", "c"}
	seeds := func(id string) string {
		var out []string
		for _, o := range ids {
			if o == id {
				break
			}
			out = append(out, c.Node(o).Gossip)
		}
		return "GOSSIP_SEEDS=" + strings.Join(out, ",")
	}
	for _, id := range ids {
		c.Start(id, false, seeds(id))
	}
	c.AwaitSteady(40*time.Second, ids...)
	c.awaitOneGossipCluster(ids, "start")
	for i, id := range ids {
		p := c.Node(id)
		sig := syscall.SIGKILL
		if i == 1 {
			sig = syscall.SIGTERM
		}
		p.Stop(t, sig, 20*time.Second)
		c.Start(id, false, seeds(id))
		c.awaitOneGossipCluster(ids, fmt.Sprintf("%s restarted after %v", id, sig))
	}
	c.AwaitSteady(30*time.Second, ids...)
}

// awaitOneGossipCluster waits until every node's /status shows every node
// alive by gossip.
func (c *cluster) awaitOneGossipCluster(ids []string, what string) {
	c.t.Helper()
	start := time.Now()
	var why string
	poll.Eventually(c.t, 15*time.Second, func() bool {
		c.CheckAlive(ids...)
		why = ""
		st := c.Status()
		if len(st.Nodes) != len(ids) {
			why = fmt.Sprintf("%d nodes registered", len(st.Nodes))
			return false
		}
		for _, n := range st.Nodes {
			seen, err := gossipSeen(n.Addr)
			if err != nil {
				why = fmt.Sprintf("node %s: %v", n.ID, err)
				return false
			}
			for _, id := range ids {
				if seen[id] != "alive" {
					why = fmt.Sprintf("node %s sees %s as %q", n.ID, id, seen[id])
					return false
				}
			}
		}
		return true
	}, "one gossip cluster after %s (last: %s)", what, &why)
	c.t.Logf("%s: one gossip cluster %v later", what, time.Since(start).Round(time.Millisecond))
}

// gossipSeen asks a node how gossip sees each registered node.
func gossipSeen(addr string) (map[string]string, error) {
	st, err := harness.ReadNodeStatus(addr)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, n := range st.Cluster.Nodes {
		out[n.ID] = n.Gossip
	}
	return out, nil
}
