package clustertest

import (
	"syscall"
	"testing"
	"time"
)

// TestDrainWithoutEtcdExitsPromptly: SIGTERM reaches a node that cannot
// reach etcd. No plan can move its shards, so it checkpoints and closes
// them resumably at once and exits, instead of waiting out its 30 s drain
// timeout; its peers find its process gone, revoke its lease, and resume
// every shard (no IDENTIFY).
func TestDrainWithoutEtcdExitsPromptly(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	c.start("a", false)
	c.start("b", false)
	p := c.start("c", true)
	c.awaitSteady(40*time.Second, "a", "b", "c")
	c.awaitCheckpoints()
	moving := shardsOf(c.status(), "c")
	before := sessionsOf(c.sim)

	p.proxy.Sever()
	termAt := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatalf("node c still runs 15 s after SIGTERM with etcd unreachable")
	}
	t.Logf("node c (%d shards) exited %v after SIGTERM without etcd: %v", len(moving), time.Since(termAt).Round(time.Millisecond), p.state)
	c.awaitSteady(20*time.Second, "a", "b")
	for _, sh := range moving {
		old := before[sh].ID
		if _, ok := c.sim.ResumedAt(old, termAt); !ok || sessionsOf(c.sim)[sh].ID != old {
			t.Errorf("shard %d: session %s not resumed after c's exit", sh, old)
		}
	}
	if ids := c.sim.IdentifiesSince(termAt); len(ids) > 0 {
		t.Errorf("%d IDENTIFY after SIGTERM, want none: %+v", len(ids), ids)
	}
	if n := auditDeliveries(t, c.sim); n > 0 {
		t.Errorf("%d delivery gaps", n)
	}
}
