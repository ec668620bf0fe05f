package sandbox

import (
	"context"
	"io"
	"strings"
	"testing"
)

// TestConfigZeroValueMeansTheDocumentedDefaults: each optional field of a
// zero Config stands for the default its comment gives; set fields stay.
func TestConfigZeroValueMeansTheDocumentedDefaults(t *testing.T) {
	got := Config{Nodes: 2}.withDefaults()
	if got.Listen != "127.0.0.1:0" || got.Guilds != 3 || got.Shards != 1 || got.MaxConcurrency != 1 || got.Out != io.Discard {
		t.Errorf("defaults: %+v", got)
	}
	set := Config{Listen: "127.0.0.1:9", Guilds: 7, Shards: 4, MaxConcurrency: 16}.withDefaults()
	if set.Listen != "127.0.0.1:9" || set.Guilds != 7 || set.Shards != 4 || set.MaxConcurrency != 16 {
		t.Errorf("set fields were replaced: %+v", set)
	}
}

// TestRunRefusesAConfigWithoutItsRequiredFields: Nodes and Binary have no
// default, and Run says so before it starts anything.
func TestRunRefusesAConfigWithoutItsRequiredFields(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no nodes", Config{Binary: "chopsticks"}, "--nodes"},
		{"no binary", Config{Nodes: 1}, "Binary"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.Dir = t.TempDir()
			err := Run(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Run: %v, want an error naming %s", err, tt.want)
			}
		})
	}
}
