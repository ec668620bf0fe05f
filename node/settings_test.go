package node_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/bintest"
	"github.com/chopsticks-bot/chopsticks/node"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// TestNodeWarnsOfPeersWithOtherRateLimits: nodes gossip a digest of the
// RATE_LIMITS they apply; a node whose peer applies other limits logs that
// peer and counts it in chopsticks_cluster_settings_mismatched_peers, and
// so does the peer.
func TestNodeWarnsOfPeersWithOtherRateLimits(t *testing.T) {
	s := newStack(t, 1)
	addr1 := s.startNode(t, "n1", func(c *node.Flags) { c.RateLimits = "command=1/1m" })

	flags := s.config("n2")
	flags.RateLimits = "command=2/1m"
	cfg, err := flags.Load()
	if err != nil {
		t.Fatal(err)
	}
	var logs bintest.LogBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done, ready := make(chan error, 1), make(chan string, 1)
	cfg.Logs, cfg.Ready = logChecker(t, &logs), func(a string) { ready <- a }
	go func() {
		done <- node.Run(ctx, cfg)
	}()
	exited := false
	t.Cleanup(func() {
		cancel()
		if !exited {
			if err := <-done; err != nil {
				t.Errorf("node n2: %v", err)
			}
		}
		if t.Failed() {
			t.Logf("node n2 log:\n%s", logs.String())
		}
	})
	var addr2 string
	select {
	case addr2 = <-ready:
	case err := <-done:
		exited = true
		t.Fatalf("node n2 exited: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("node n2 does not serve")
	}

	mismatched := func(addr string) float64 {
		mf := scrape(t, "http://"+addr+"/metrics")["chopsticks_cluster_settings_mismatched_peers"]
		if mf == nil || len(mf.GetMetric()) != 1 {
			return -1
		}
		return mf.GetMetric()[0].GetGauge().GetValue()
	}
	warned := func() bool {
		for line := range strings.Lines(logs.String()) {
			if strings.Contains(line, "RATE_LIMITS must be the same everywhere") && strings.Contains(line, `"peer":"n1"`) {
				return true
			}
		}
		return false
	}
	poll.Eventually(t, 20*time.Second, func() bool {
		return mismatched(addr1) == 1 && mismatched(addr2) == 1 && warned()
	}, "both nodes to count one mismatched peer and n2 to warn of n1")
}
