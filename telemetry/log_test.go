package telemetry_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/telemetry"
)

// TestLoggerWritesARepeatedAttributeOnce: a package that adds "node" to a
// logger that already has it (the coordinator does) must not produce a
// line with the key twice; a group's attributes are its own.
func TestLoggerWritesARepeatedAttributeOnce(t *testing.T) {
	tests := []struct {
		name string
		log  func(*slog.Logger)
		want string
	}{
		{"With twice", func(l *slog.Logger) { l.With("node", "n1").Info("x") }, `"msg":"x","node":"n1"}`},
		{"record repeats With", func(l *slog.Logger) { l.Info("x", "node", "n1", "shard", 2) }, `"msg":"x","node":"n1","shard":2}`},
		{"With after a group", func(l *slog.Logger) { l.WithGroup("g").With("node", "n1").Info("x") }, `"msg":"x","node":"n1","g":{"node":"n1"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := telemetry.NewLogger(&buf, slog.LevelInfo).With("node", "n1")
			tt.log(l)
			if line := strings.TrimSpace(buf.String()); !strings.HasSuffix(line, tt.want) {
				t.Errorf("line %s\nwant it to end with %s", line, tt.want)
			}
		})
	}
}
