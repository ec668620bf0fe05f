package clustertest

import (
	"syscall"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/clustertest/harness"
)

// TestDrainWithoutEtcdExitsPromptly: SIGTERM reaches a node that cannot
// reach etcd. No plan can move its shards, so it checkpoints and closes
// them resumably at once and exits, instead of waiting out its 30 s drain
// timeout; its peers find its process gone, revoke its lease, and resume
// every shard (no IDENTIFY).
func TestDrainWithoutEtcdExitsPromptly(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	c.Start("a", false)
	c.Start("b", false)
	p := c.Start("c", true)
	c.AwaitSteady(40*time.Second, "a", "b", "c")
	c.AwaitCheckpoints()
	moving := harness.ShardsOf(c.Status(), "c")
	before := harness.SessionsOf(c.Sim)

	p.Proxy.Sever()
	termAt := p.Stop(t, syscall.SIGTERM, 15*time.Second) // etcd unreachable: no drain timeout
	t.Logf("node c (%d shards) exited %v after SIGTERM without etcd: %v", len(moving), time.Since(termAt).Round(time.Millisecond), p.State)
	c.AwaitSteady(20*time.Second, "a", "b")
	for _, sh := range moving {
		old := before[sh].ID
		if _, ok := c.Sim.ResumedAt(old, termAt); !ok || harness.SessionsOf(c.Sim)[sh].ID != old {
			t.Errorf("shard %d: session %s not resumed after c's exit", sh, old)
		}
	}
	checkNoIdentifySince(t, c.Sim, termAt, "SIGTERM")
	checkDeliveries(t, c.Sim)
}
