package commands

import (
	"testing"
	"time"
)

func TestSpan(t *testing.T) {
	for d, want := range map[time.Duration]string{
		45 * time.Second: "45 s", 5 * time.Minute: "5 min", 2 * time.Hour: "2 h", 90 * time.Minute: "1 h 30 min",
	} {
		if got := span(d); got != want {
			t.Errorf("span(%v) = %q, want %q", d, got, want)
		}
	}
}
