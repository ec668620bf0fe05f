package clustertest

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/clustertest/harness"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// startThree starts nodes a, b and c at once and waits until they share
// the 16 shards.
func startThree(t *testing.T, c *cluster, timeout time.Duration) {
	t.Helper()
	for _, id := range []string{"a", "b", "c"} {
		c.Start(id, false)
	}
	c.AwaitSteady(timeout, "a", "b", "c")
}

// checkNoViolations fails on every rule discordsim saw broken, except the
// kinds listed.
func checkNoViolations(t *testing.T, sim *discordsim.Sim, except ...string) {
	t.Helper()
	for _, v := range sim.Violations() {
		if !slices.Contains(except, v.Kind) {
			t.Errorf("discordsim violation: %+v", v)
		}
	}
}

// TestColdStart covers scenarios 1 and 7: three nodes start cold and
// share the shards, each owned by exactly one node by etcd and by the
// nodes' own /status, with one IDENTIFY per shard and no identify rule
// broken, for max_concurrency 16 (16 shards at once) and 1.
func TestColdStart(t *testing.T) {
	for _, tt := range []struct {
		maxConcurrency int
		shards         int
		timeout        time.Duration
	}{
		{16, 16, 40 * time.Second},
		// One bucket: the gate lets one IDENTIFY per 5 s through, so n
		// shards need at least (n-1)*5 s. Six shards (two a node) already
		// make every node wait its turn through five windows, which is
		// what this case checks; 16 would take 75 s to check the same.
		{1, 6, 60 * time.Second},
	} {
		t.Run("max_concurrency="+strconv.Itoa(tt.maxConcurrency), func(t *testing.T) {
			c := newCluster(t, clusterOptions{maxConcurrency: tt.maxConcurrency, shards: tt.shards})
			shardCount := tt.shards
			start := time.Now()
			for _, id := range []string{"a", "b", "c"} {
				c.Start(id, false)
			}
			// The gate must not waste a window: with shards still waiting,
			// bucket 0 identifies at least once per window (plus slack).
			var why string
			last := start.Add(5 * time.Second) // time for the nodes to start
			poll.Eventually(t, tt.timeout, func() bool {
				c.CheckAlive("a", "b", "c")
				ids := c.Sim.IdentifiesSince(time.Time{})
				for _, id := range ids {
					if id.Bucket == 0 && id.Time.After(last) {
						last = id.Time
					}
				}
				if len(ids) < shardCount && time.Since(last) > 8*time.Second {
					t.Fatalf("%d of %d shards identified and none of bucket 0 for %v: the gate wasted a window (identifies %+v)",
						len(ids), shardCount, time.Since(last).Round(time.Millisecond), ids)
				}
				var ok bool
				ok, why = c.Steady("a", "b", "c")
				return ok
			}, "the cluster to be steady (last: %s)", &why)
			t.Logf("%d shards ready on 3 nodes after %v", shardCount, time.Since(start).Round(time.Millisecond))
			for _, v := range identifyViolations(c.Sim) {
				t.Errorf("identify violation: %+v", v)
			}
			ids := c.Sim.IdentifiesSince(time.Time{})
			perShard := map[int]int{}
			for _, id := range ids {
				perShard[id.Shard[0]]++
			}
			for sh := 0; sh < shardCount; sh++ {
				if perShard[sh] != 1 {
					t.Errorf("shard %d identified %d times, want once (moves while the cluster forms must resume)", sh, perShard[sh])
				}
			}
			// Accepted identifies of one bucket are a window apart.
			prev := map[int]time.Time{}
			for _, id := range ids {
				if p, ok := prev[id.Bucket]; ok && id.Time.Sub(p) < 5*time.Second {
					t.Errorf("bucket %d: identifies %v apart", id.Bucket, id.Time.Sub(p))
				}
				prev[id.Bucket] = id.Time
			}
			checkNoViolations(t, c.Sim)
			checkDeliveries(t, c.Sim)
		})
	}
}

// TestCrashFailoverResumes covers scenario 2: a node is SIGKILLed under a
// stream of interactions; its shards resume on the survivors, no event is
// lost, no interaction is answered twice.
func TestCrashFailoverResumes(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	startThree(t, c, 40*time.Second)
	s := c.StartPings(20)
	poll.Eventually(t, 10*time.Second, func() bool { return s.Answered() >= 20 }, "the stream to be answered")

	c.AwaitCheckpoints()
	orphans := harness.ShardsOf(c.Status(), "b")
	before := harness.SessionsOf(c.Sim)
	killedAt := c.Kill("b")
	c.AwaitSteady(20*time.Second, "a", "c")

	var worst time.Duration
	for _, sh := range orphans {
		old := before[sh].ID
		at, ok := c.Sim.ResumedAt(old, killedAt)
		if !ok {
			t.Errorf("shard %d: session %s was not resumed after the kill", sh, old)
			continue
		}
		if now := harness.SessionsOf(c.Sim)[sh].ID; now != old {
			t.Errorf("shard %d: live session %s, want the resumed %s", sh, now, old)
		}
		worst = max(worst, at.Sub(killedAt))
	}
	t.Logf("SIGKILL of b (%d shards): every orphan resumed %v after the kill (LEASE_TTL %v)", len(orphans), worst.Round(time.Millisecond), c.LeaseTTL)
	if ids := c.Sim.IdentifiesSince(killedAt); len(ids) > 0 {
		t.Errorf("%d IDENTIFY after the kill, want none (RESUME): %+v", len(ids), ids)
	}
	// Keep the stream running on the survivors for a while.
	n := s.Answered()
	poll.Eventually(t, 10*time.Second, func() bool { return s.Answered() >= n+20 }, "the survivors to answer the stream")
	r := c.auditStream(s)
	// Only interactions that arrived while b's shards had no owner may miss
	// the deadline.
	for _, it := range s.Interactions() {
		in := it.Info()
		if in.Failed && (in.Created.Before(killedAt.Add(-time.Second)) || in.Created.After(killedAt.Add(worst+time.Second))) {
			t.Errorf("interaction %s created %v after the kill, outside the failover, missed the deadline: %+v",
				in.ID, in.Created.Sub(killedAt), in)
		}
	}
	t.Logf("%d of %d interactions invoked during the failover missed the 3 s deadline", r.Failed, r.Total)
	checkDeliveries(t, c.Sim)
	checkNoViolations(t, c.Sim, discordsim.ViolationInteractionFailed, discordsim.ViolationInteractionLate)
}

// TestDrainHandsOffByResume covers scenario 3: SIGTERM makes a node hand
// every shard off by RESUME and exit 0 within 10 s; nothing is lost.
func TestDrainHandsOffByResume(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	startThree(t, c, 40*time.Second)
	s := c.StartPings(20)
	poll.Eventually(t, 10*time.Second, func() bool { return s.Answered() >= 20 }, "the stream to be answered")

	moving := harness.ShardsOf(c.Status(), "b")
	before := harness.SessionsOf(c.Sim)
	p := c.Node("b")
	termAt := p.Stop(t, syscall.SIGTERM, 10*time.Second)
	t.Logf("node b (%d shards) exited %v after SIGTERM: %v", len(moving), time.Since(termAt).Round(time.Millisecond), p.State)
	if !p.State.Success() {
		t.Errorf("node b exited with %v, want status 0", p.State)
	}
	c.AwaitSteady(20*time.Second, "a", "c")
	var worst time.Duration
	for _, sh := range moving {
		old := before[sh].ID
		down, okDown := c.Mon.FirstDown(old, termAt)
		up, okUp := c.Mon.UpAfter(old, termAt)
		if !okDown || !okUp || harness.SessionsOf(c.Sim)[sh].ID != old {
			t.Errorf("shard %d: session %s not handed off by RESUME (down %v, up %v, now %s)", sh, old, okDown, okUp, harness.SessionsOf(c.Sim)[sh].ID)
			continue
		}
		worst = max(worst, up.Sub(down))
	}
	t.Logf("longest pause of a handed-off shard: %v", worst.Round(time.Millisecond))
	checkNoIdentifySince(t, c.Sim, termAt, "SIGTERM")
	r := c.auditStream(s)
	if r.Failed > 0 {
		t.Errorf("%d interactions missed the deadline during a planned drain: %v", r.Failed, r.FailedIDs)
	}
	checkDeliveries(t, c.Sim)
	checkNoViolations(t, c.Sim)
}

// TestFourthNodeTakesAQuarter covers scenario 4: a fourth node gets 4 of
// the 16 shards, moved by RESUME, and nothing else moves.
func TestFourthNodeTakesAQuarter(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	startThree(t, c, 40*time.Second)
	before := harness.Owners(c.Status())
	sessions := harness.SessionsOf(c.Sim)
	joinAt := time.Now()
	c.Start("d", false)
	c.AwaitSteady(30*time.Second, "a", "b", "c", "d")
	after := harness.Owners(c.Status())
	var moved []int
	for sh := 0; sh < shardCount; sh++ {
		if after[sh] != before[sh] {
			moved = append(moved, sh)
			if after[sh] != "d" {
				t.Errorf("shard %d moved from %s to %s, not to the new node", sh, before[sh], after[sh])
			}
		}
		if now := harness.SessionsOf(c.Sim)[sh].ID; now != sessions[sh].ID {
			t.Errorf("shard %d: session %s replaced by %s (identify instead of resume)", sh, sessions[sh].ID, now)
		}
	}
	t.Logf("moved to d: %v", moved)
	if len(moved) != 4 {
		t.Errorf("%d shards moved, want 4 (a quarter of 16, and no more)", len(moved))
	}
	checkNoIdentifySince(t, c.Sim, joinAt, "d joined")
	checkDeliveries(t, c.Sim)
	checkNoViolations(t, c.Sim)
}

// TestEtcdCutStopsShardsBeforeLeaseExpiry covers scenario 5: a node cut
// off from etcd stops its shards before its lease can expire; the others
// take them; never two owners. Healed, it rejoins and gets work back.
func TestEtcdCutStopsShardsBeforeLeaseExpiry(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	c.Start("a", false)
	c.Start("b", false)
	p := c.Start("c", true)
	c.AwaitSteady(40*time.Second, "a", "b", "c")

	cut := harness.ShardsOf(c.Status(), "c")
	before := harness.SessionsOf(c.Sim)
	// Watch for the owner keys of c disappearing (lease expiry).
	expired := c.RegistrationGone("c")
	cutAt := p.Proxy.Sever()
	var expiredAt time.Time
	select {
	case expiredAt = <-expired:
	case <-time.After(3 * c.LeaseTTL):
		t.Fatalf("c's registration did not expire within %v of the cut", 3*c.LeaseTTL)
	}
	c.AwaitSteady(20*time.Second, "a", "b")
	deadline := cutAt.Add(c.LeaseTTL)
	var latest time.Time
	for _, sh := range cut {
		old := before[sh].ID
		down, ok := c.Mon.FirstDown(old, cutAt)
		if !ok {
			t.Errorf("shard %d: session %s never went down after the cut", sh, old)
			continue
		}
		if latest.Before(down) {
			latest = down
		}
		if !down.Before(deadline) {
			t.Errorf("shard %d: c stopped it %v after the cut, not before the lease could expire (%v)", sh, down.Sub(cutAt), c.LeaseTTL)
		}
		if !down.Before(expiredAt) {
			t.Errorf("shard %d: c stopped it at +%v, after etcd expired its lease at +%v", sh, down.Sub(cutAt), expiredAt.Sub(cutAt))
		}
		if now := harness.SessionsOf(c.Sim)[sh].ID; now != old {
			t.Errorf("shard %d: live session %s, want %s resumed", sh, now, old)
		}
	}
	t.Logf("cut c (%d shards): all stopped %v after the cut; lease expiry seen at +%v; LEASE_TTL %v",
		len(cut), latest.Sub(cutAt).Round(time.Millisecond), expiredAt.Sub(cutAt).Round(time.Millisecond), c.LeaseTTL)
	if strings.Count(p.Logs.String(), "lease renewal overdue") == 0 {
		t.Errorf("node c did not log its overdue lease renewal")
	}
	healAt := time.Now()
	p.Proxy.Heal()
	c.AwaitSteady(30*time.Second, "a", "b", "c")
	t.Logf("healed: c runs %v again %v later", harness.ShardsOf(c.Status(), "c"), time.Since(healAt).Round(time.Millisecond))
	checkDeliveries(t, c.Sim)
	checkNoViolations(t, c.Sim)
}

// TestLeaderKillInterruptsNothing covers scenario 6: killing the leader
// elects a new one and leaves the other nodes' sessions connected.
func TestLeaderKillInterruptsNothing(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	startThree(t, c, 40*time.Second)
	st := c.Status()
	leader := string(st.Leader)
	if leader == "" {
		t.Fatal("no leader")
	}
	var survivors []string
	for _, id := range []string{"a", "b", "c"} {
		if id != leader {
			survivors = append(survivors, id)
		}
	}
	own := harness.Owners(st)
	c.AwaitCheckpoints()
	before := harness.SessionsOf(c.Sim)
	killedAt := c.Kill(leader)
	var newLeader string
	poll.Eventually(t, 20*time.Second, func() bool {
		newLeader = string(c.Status().Leader)
		return newLeader != "" && newLeader != leader
	}, "a new leader")
	c.AwaitSteady(20*time.Second, survivors...)
	t.Logf("leader %s killed; %s leads", leader, newLeader)
	if !slices.Contains(survivors, newLeader) {
		t.Errorf("new leader %q is not a survivor %v", newLeader, survivors)
	}
	for sh := 0; sh < shardCount; sh++ {
		if own[sh] == leader {
			continue
		}
		old := before[sh]
		now, _ := c.Sim.Session(old.ID)
		if !now.Live || now.Connections != old.Connections || c.Mon.WentDownSince(old.ID, killedAt) {
			t.Errorf("shard %d on %s was interrupted by the leader's death: before %+v, now %+v", sh, own[sh], old, now)
		}
	}
	checkNoIdentifySince(t, c.Sim, killedAt, "the kill")
	checkDeliveries(t, c.Sim)
	checkNoViolations(t, c.Sim)
}

// TestCrashBeforeFirstCheckpointRecovers kills a node right after its
// shards identified, before any checkpoint: the new owners must identify
// (nothing to resume), through the gate, whose buckets the dead node's
// identifies keep closed for one window. The shards must still come back
// within about a window plus the lease TTL.
func TestCrashBeforeFirstCheckpointRecovers(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	c.Start("a", false)
	// b never checkpoints on its own within the test.
	c.Start("b", false, "CHECKPOINT_INTERVAL=1m")
	c.Start("c", false)
	c.AwaitSteady(40*time.Second, "a", "b", "c")
	orphans := harness.ShardsOf(c.Status(), "b")
	killedAt := c.Kill("b")
	deadline := 5*time.Second + c.LeaseTTL + 8*time.Second
	if why, ok := poll.Until(deadline, func() (bool, string) { return c.Steady("a", "c") }); !ok {
		var ids []string
		for _, id := range c.Sim.Identifies() {
			if !id.Time.Before(killedAt) {
				ids = append(ids, fmt.Sprintf("+%v shard %d accepted=%v %s", id.Time.Sub(killedAt).Round(time.Millisecond), id.Shard[0], id.Accepted, id.Reason))
			}
		}
		t.Fatalf("b's shards %v not back %v after the kill (last: %s); identifies since the kill: %v", orphans, deadline, why, ids)
	}
	t.Logf("b's shards %v back %v after the kill", orphans, time.Since(killedAt).Round(time.Millisecond))
	for _, v := range identifyViolations(c.Sim) {
		t.Errorf("identify violation: %+v", v)
	}
}
