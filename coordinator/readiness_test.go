package coordinator

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

func TestReadinessCheck(t *testing.T) {
	tests := []struct {
		name string
		r    Readiness
		want string // "" means ready; otherwise a part of the error
	}{
		{"not synced", Readiness{Registered: true}, "not synced"},
		{"not registered", Readiness{Synced: true}, "not registered"},
		{"fresh node, nothing planned yet, share unmet", Readiness{Synced: true, Registered: true, Share: 5}, "below its share of 5"},
		{"planned shard not running", Readiness{Synced: true, Registered: true, Planned: []int{1, 2}, Running: []int{1}, Share: 1}, "planned shards not running: [2]"},
		{"runs its plan and share", Readiness{Synced: true, Registered: true, Planned: []int{1, 2}, Running: []int{1, 2}, Share: 2}, ""},
		{"still handing off an extra shard", Readiness{Synced: true, Registered: true, Planned: []int{1}, Running: []int{1, 7}, Share: 1}, ""},
		{"more nodes than shards", Readiness{Synced: true, Registered: true}, ""},
		{"draining", Readiness{Synced: true, Registered: true, Running: []int{3}}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.r.Check()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Check() = %v, want ready", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Check() = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestMemberReadiness follows a second node from join to its share: it is
// not ready until it runs the shards the plan moved to it, and a drained
// node owes nothing.
func TestMemberReadiness(t *testing.T) {
	endpoints := servertest.Etcd(t)
	w := newWorld(t)
	m1, _ := join(t, newClient(t, endpoints), w, "n1", 8)
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		r := m1.Readiness()
		return r.Check() == nil && len(r.Running) == 8, fmt.Sprintf("%+v", r)
	}, "n1 to run all 8 shards")
	m2, _ := join(t, newClient(t, endpoints), w, "n2", 8)
	if r := m2.Readiness(); r.Check() == nil {
		t.Fatalf("a node that just joined is ready: %+v", r)
	}
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		r := m2.Readiness()
		return r.Check() == nil, fmt.Sprintf("%+v: %v", r, r.Check())
	}, "n2 to run its half")
	if r := m2.Readiness(); r.Share != 4 || len(r.Running) < 4 {
		t.Errorf("n2 ready with %+v, want a share of 4 and 4 running", r)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := m2.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if r := m2.Readiness(); r.Share != 0 || len(r.Running) != 0 || r.Check() != nil {
		t.Errorf("drained node: %+v: %v", r, r.Check())
	}
}
