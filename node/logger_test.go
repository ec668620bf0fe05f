package node_test

import (
	"log/slog"
	"testing"
)

// TestRunLeavesTheDefaultLoggerAlone checks that a node logs through the
// logger it was given and leaves the process's default alone: tests run
// several nodes in one process.
func TestRunLeavesTheDefaultLoggerAlone(t *testing.T) {
	before := slog.Default()
	s := newStack(t, 1)
	s.startNode(t, "n1")
	if slog.Default() != before {
		t.Error("node.Run replaced slog's default logger")
	}
}
