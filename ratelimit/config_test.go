package ratelimit

import (
	"testing"

	"github.com/redis/go-redis/v9"
)

// TestConfigDefaults: zero fields take the defaults documented on Config,
// and Layout resolves by the kind of client unless it is set.
func TestConfigDefaults(t *testing.T) {
	t.Parallel()
	// New makes no call, so neither client needs a server.
	single := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	cluster := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:1"}})
	t.Cleanup(func() { _ = single.Close(); _ = cluster.Close() })

	l, err := New(single, Config{})
	if err != nil {
		t.Fatal(err)
	}
	c := l.Config()
	if c.Channel != DefaultChannel || c.Logger == nil || c.LiveNodes == nil || c.LiveNodes() != 1 ||
		c.Layout != LayoutAuto || c.Registerer != nil || c.String() != DefaultConfig().String() {
		t.Fatalf("Config{} filled as %+v", c)
	}

	for _, tt := range []struct {
		name   string
		rdb    redis.UniversalClient
		layout Layout
		split  bool
	}{
		{"auto, one Redis", single, LayoutAuto, false},
		{"auto, Redis Cluster", cluster, LayoutAuto, true},
		{"shared on Redis Cluster", cluster, LayoutShared, false},
		{"split on one Redis", single, LayoutSplit, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l, err := New(tt.rdb, Config{Layout: tt.layout})
			if err != nil {
				t.Fatal(err)
			}
			if l.split != tt.split {
				t.Fatalf("split = %v, want %v", l.split, tt.split)
			}
		})
	}
	if _, err := New(single, Config{Layout: LayoutSplit + 1}); err == nil {
		t.Fatal("an unknown Layout was accepted")
	}
}
