package clustertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"
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
			out = append(out, c.node(o).gossip)
		}
		return "GOSSIP_SEEDS=" + strings.Join(out, ",")
	}
	for _, id := range ids {
		c.start(id, false, seeds(id))
	}
	c.awaitSteady(40*time.Second, ids...)
	c.awaitOneGossipCluster(ids, "start")
	for i, id := range ids {
		p := c.node(id)
		sig := syscall.SIGKILL
		if i == 1 {
			sig = syscall.SIGTERM
		}
		if err := p.cmd.Process.Signal(sig); err != nil {
			t.Fatal(err)
		}
		select {
		case <-p.exited:
		case <-time.After(20 * time.Second):
			t.Fatalf("node %s still runs 20 s after %v", id, sig)
		}
		c.start(id, false, seeds(id))
		c.awaitOneGossipCluster(ids, fmt.Sprintf("%s restarted after %v", id, sig))
	}
	c.awaitSteady(30*time.Second, ids...)
}

// awaitOneGossipCluster waits until every node's /status shows every node
// alive by gossip.
func (c *cluster) awaitOneGossipCluster(ids []string, what string) {
	c.t.Helper()
	start := time.Now()
	var why string
	await(c.t, 15*time.Second, func() bool {
		c.checkAlive(ids...)
		why = ""
		st := c.status()
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
	hc := http.Client{Timeout: 3 * time.Second}
	resp, err := hc.Get("http://" + addr + "/status")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body struct {
		Cluster struct {
			Nodes []struct {
				ID     string `json:"id"`
				Gossip string `json:"gossip"`
			} `json:"nodes"`
		} `json:"cluster"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, fmt.Errorf("decode /status: %w", err)
	}
	out := map[string]string{}
	for _, n := range body.Cluster.Nodes {
		out[n.ID] = n.Gossip
	}
	return out, nil
}
