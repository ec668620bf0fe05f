package poll

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// recorder is a TB that keeps the failure instead of stopping.
type recorder struct{ failed string }

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = fmt.Sprintf(format, args...)
}

func TestEventually(t *testing.T) {
	t.Parallel()
	var n atomic.Int32
	later := func() bool { return n.Add(1) >= 3 }
	tests := []struct {
		name string
		run  func(r *recorder)
		want string // the failure message; "" when it must not fail
	}{
		{"holds at once", func(r *recorder) { Eventually(r, time.Second, func() bool { return true }, "x") }, ""},
		{"holds later", func(r *recorder) { Eventually(r, time.Second, later, "x") }, ""},
		{"never", func(r *recorder) {
			Eventually(r, 30*time.Millisecond, func() bool { return false }, "node %s", "a")
		}, "timed out after 30ms waiting for node a"},
		{"never, with a reason", func(r *recorder) {
			Eventually(r, 30*time.Millisecond, func() (bool, string) { return false, "2 of 3 ready" }, "the cluster")
		}, "timed out after 30ms waiting for the cluster: 2 of 3 ready"},
		{"last state in a variable", func(r *recorder) {
			var last string
			Eventually(r, 30*time.Millisecond, func() bool { last = "b down"; return false }, "(last: %s)", &last)
		}, "timed out after 30ms waiting for (last: b down)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r recorder
			tt.run(&r)
			if r.failed != tt.want {
				t.Errorf("failure %q, want %q", r.failed, tt.want)
			}
		})
	}
}

func TestUntilReturnsOnceItHolds(t *testing.T) {
	t.Parallel()
	start := time.Now()
	var n atomic.Int32
	why, ok := Until(10*time.Second, func() (bool, string) { return n.Add(1) >= 2, "not yet" })
	if !ok || why != "" {
		t.Fatalf("Until = %q, %v", why, ok)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Until took %v for a condition that held on the second check", d)
	}
	if why, ok := Until(0, func() (bool, string) { return false, "no" }); ok || !strings.Contains(why, "no") {
		t.Errorf("Until(0) = %q, %v", why, ok)
	}
}
