package clustertest

import (
	"net/http"
	"syscall"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/clustertest/harness"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// TestReadyOnlyWithItsShare restarts a node, cleanly and after a crash, and
// polls its /ready from the first instant: the first 200 may come only once
// the node runs at least its share of the shards, each with a live gateway
// session, so that a load balancer or Nomad never routes to an idle node.
func TestReadyOnlyWithItsShare(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	startThree(t, c, 40*time.Second)
	share := shardCount / 3
	tests := []struct {
		name string
		stop syscall.Signal
	}{
		{"clean restart", syscall.SIGTERM},
		{"crash restart", syscall.SIGKILL},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c.AwaitCheckpoints()
			p := c.Node("b")
			p.Stop(t, tc.stop, 30*time.Second)
			startedAt := time.Now()
			p = c.Start("b", false)
			hc := http.Client{Timeout: time.Second}
			var readyAt time.Time
			poll.Eventually(t, 40*time.Second, func() bool {
				code, _, err := harness.ReadReady(&hc, p.HTTP)
				if err != nil || code != http.StatusOK {
					return false
				}
				readyAt = time.Now()
				return true
			}, "node b to be ready after a %s", tc.name)
			ns, err := harness.ReadNodeStatus(p.HTTP)
			if err != nil {
				t.Fatal(err)
			}
			shards := ns.Shards
			connected := 0
			for _, s := range shards {
				if s.State == "ready" && s.SessionID != "" {
					connected++
				}
			}
			t.Logf("%s: ready %v after start, with %d shards connected", tc.name, readyAt.Sub(startedAt).Round(time.Millisecond), connected)
			if connected < share {
				t.Errorf("node b answered /ready 200 with %d connected shards (%+v), want at least its share of %d", connected, shards, share)
			}
			c.AwaitSteady(40*time.Second, "a", "b", "c")
		})
	}
}
