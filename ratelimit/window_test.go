package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// TestWindowBound checks the limiter's admissions through the Limiter API
// against GCRA's window guarantee: in any window of one Period at most
// 2·Limit−1 admissions, and at most Limit in any window of one emission
// interval times Limit minus one (the burst).
func TestWindowBound(t *testing.T) {
	t.Parallel()
	addr := servertest.Redis(t)
	const limit = 5
	period := 100 * time.Millisecond
	n := startNode(t, addr, Config{HTTP: Rule{Limit: limit, Period: period}})
	var times []time.Time
	deadline := time.Now().Add(700 * time.Millisecond)
	for time.Now().Before(deadline) {
		d, err := n.lim.AllowHTTP(context.Background(), "192.0.2.7")
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed {
			times = append(times, time.Now())
		}
	}
	// Sustained rate: about limit per period over the run.
	if got, max := len(times), int(700*time.Millisecond/period)*limit+limit; got > max || got < max/2 {
		t.Fatalf("admitted %d over 700ms, want between %d and %d", got, max/2, max)
	}
	for i := range times {
		j := i
		for j < len(times) && times[j].Sub(times[i]) < period-5*time.Millisecond {
			j++
		}
		if j-i > 2*limit-1 {
			t.Fatalf("%d admissions within one period starting at %d", j-i, i)
		}
	}
}
