package coordinator

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/poll"
)

// TestGossipConvergesAfterEachRestart: three members seeded as the sandbox
// seeds its nodes (node-1 none, node-2 node-1, node-3 both) form one gossip
// cluster, and again after each of them restarts in turn on its own port.
// node-1 has no seed to retry and node-3 no reason to rejoin on its own:
// only the registrations in etcd bring them back together.
func TestGossipConvergesAfterEachRestart(t *testing.T) {
	cli := newClient(t, etcdEndpoints(t))
	w := newWorld(t)
	ids := []NodeID{"node-1", "node-2", "node-3"}
	ports := map[NodeID]int{}
	for _, id := range ids {
		ports[id] = freeUDPTCPPort(t)
	}
	seeds := func(id NodeID) []string {
		var out []string
		for _, o := range ids[:slices.Index(ids, id)] {
			out = append(out, net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[o])))
		}
		return out
	}
	members := map[NodeID]*Member{}
	start := func(id NodeID) {
		members[id] = joinCfg(t, Config{
			Client: cli, NodeID: id, Owner: w.owner(id), ShardCount: 3, LeaseTTL: 5 * time.Second,
			Resync: 200 * time.Millisecond,
			Gossip: &GossipConfig{BindAddr: "127.0.0.1", BindPort: ports[id], Seeds: seeds(id)},
		})
	}
	converged := func(what string) {
		t.Helper()
		begin := time.Now()
		poll.Eventually(t, 10*time.Second, func() (bool, string) {
			for _, id := range ids {
				var seen []NodeID
				for _, p := range members[id].Peers() {
					seen = append(seen, p.ID)
				}
				if !slices.Equal(seen, ids) {
					return false, fmt.Sprintf("%s sees %v", id, seen)
				}
			}
			return true, ""
		}, "%s", what)
		t.Logf("%s: one gossip cluster after %v", what, time.Since(begin).Round(time.Millisecond))
	}
	for _, id := range ids {
		start(id)
	}
	converged("start")
	for _, id := range ids {
		if err := members[id].Close(); err != nil {
			t.Fatal(err)
		}
		start(id)
		converged(string(id) + " restarted")
	}
}

// freeUDPTCPPort returns a loopback port free for both TCP and UDP now.
func freeUDPTCPPort(t *testing.T) int {
	t.Helper()
	for range 20 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no free port for TCP and UDP")
	return 0
}
