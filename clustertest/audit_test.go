package clustertest

import (
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/clustertest/harness"
	"github.com/chopsticks-bot/chopsticks/discordsim"
)

// auditStream stops the stream, waits until every interaction has its
// outcome, and checks that none was answered twice and none was lost:
// each reached a session and was claimed by a node. Interactions that
// missed the deadline are counted, not failed here; the caller decides
// what it tolerates.
func (c *cluster) auditStream(s *harness.Stream) harness.InteractionReport {
	t := c.t
	t.Helper()
	r := c.AuditInteractions(s)
	for _, err := range r.Errors {
		t.Errorf("invoke: %v", err)
	}
	if r.Total == 0 {
		t.Fatal("the stream invoked nothing")
	}
	if r.Unsettled != "" {
		t.Fatalf("timed out after 15s waiting for every interaction to be answered or failed, and claimed (last pending: %s)", r.Unsettled)
	}
	for _, in := range r.Twice {
		t.Errorf("interaction %s answered more than once: %+v", in.ID, in)
	}
	for _, in := range r.Undelivered {
		if in.DoubleAcks == 0 && len(in.FollowupIDs) == 0 {
			t.Errorf("interaction %s reached no session: %+v", in.ID, in)
		}
	}
	t.Logf("interactions: %d invoked, %d answered in time, %d missed the deadline (%d answered late), 0 twice",
		r.Total, r.AnsweredInTime, r.Failed, r.Late)
	return r
}

// checkDeliveries fails t on every sequence gap (the first 20 of them) of
// the bot's sessions, and on their number.
func checkDeliveries(t testing.TB, sim *discordsim.Sim) {
	t.Helper()
	gaps, _ := harness.DeliveryGaps(sim)
	for i, g := range gaps {
		if i == 20 {
			break
		}
		t.Error(g)
	}
	if len(gaps) > 0 {
		t.Errorf("%d delivery gaps", len(gaps))
	}
}

// checkNoIdentifySince fails t if a shard identified since the instant of
// a fault (after names it): every move must resume.
func checkNoIdentifySince(t testing.TB, sim *discordsim.Sim, since time.Time, after string) {
	t.Helper()
	if ids := sim.IdentifiesSince(since); len(ids) > 0 {
		t.Errorf("%d IDENTIFY after %s, want none: %+v", len(ids), after, ids)
	}
}

// identifyViolations returns the violations of identify rules.
func identifyViolations(sim *discordsim.Sim) []discordsim.Violation {
	return append(sim.ViolationsOf(discordsim.ViolationIdentifyRateLimited), sim.ViolationsOf(discordsim.ViolationSessionStartLimit)...)
}
