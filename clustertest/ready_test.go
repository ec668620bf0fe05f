package clustertest

import (
	"net/http"
	"syscall"
	"testing"
	"time"
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
			c.awaitCheckpoints()
			p := c.node("b")
			if err := p.cmd.Process.Signal(tc.stop); err != nil {
				t.Fatal(err)
			}
			select {
			case <-p.exited:
			case <-time.After(30 * time.Second):
				t.Fatalf("node b still runs 30 s after %v", tc.stop)
			}
			startedAt := time.Now()
			p = c.start("b", false)
			hc := http.Client{Timeout: time.Second}
			var readyAt time.Time
			await(t, 40*time.Second, func() bool {
				resp, err := hc.Get("http://" + p.http + "/ready")
				if err != nil {
					return false
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return false
				}
				readyAt = time.Now()
				return true
			}, "node b to be ready after a %s", tc.name)
			shards, err := nodeShards(p.http)
			if err != nil {
				t.Fatal(err)
			}
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
			c.awaitSteady(40*time.Second, "a", "b", "c")
		})
	}
}
