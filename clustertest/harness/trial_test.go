package harness

import (
	"bytes"
	"strings"
	"testing"
)

// TestRunTrial: a trial's failures come back joined, Fatalf ends the
// trial at once, cleanups run last registered first even after a Fatalf,
// and Logf writes to the trial's log.
func TestRunTrial(t *testing.T) {
	var order []string
	var log bytes.Buffer
	err := RunTrial(&log, func(tr *Trial) {
		tr.Cleanup(func() { order = append(order, "first") })
		tr.Cleanup(func() { order = append(order, "second") })
		tr.Logf("node %s log", "a")
		if tr.Failed() {
			t.Error("a fresh trial has failed")
		}
		tr.Errorf("one %d", 1)
		if !tr.Failed() {
			t.Error("Failed after Errorf = false")
		}
		tr.Fatalf("two")
		order = append(order, "after Fatalf")
	})
	if err == nil || err.Error() != "one 1; two" {
		t.Errorf("RunTrial = %v, want the two failures joined", err)
	}
	if got := strings.Join(order, ","); got != "second,first" {
		t.Errorf("ran %s, want the cleanups last first and nothing after Fatalf", got)
	}
	if log.String() != "node a log\n" {
		t.Errorf("log %q", log.String())
	}
	if err := RunTrial(nil, func(tr *Trial) { tr.Logf("nowhere") }); err != nil {
		t.Errorf("a clean trial: %v", err)
	}
}
