package agentpool

import (
	"context"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// TestPoolSizeIsCountedAtMostOncePerMaxAge checks that a scrape does not
// query the registry when the last count is younger than PoolSizeMaxAge.
func TestPoolSizeIsCountedAtMostOncePerMaxAge(t *testing.T) {
	t.Parallel()
	pool, checker, _ := setup(t)
	ctx := context.Background()
	registry := NewRegistry(pool, mustKey(t, keyA), checker)
	metrics := prometheus.NewRegistry()
	r, err := NewRunner(RunnerConfig{Registry: registry, GatewayURL: "ws://127.0.0.1:1", Registerer: metrics,
		PoolSizeMaxAge: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	r.now = func() time.Time { return now }
	const name = "chopsticks_agent_pool_size_total"

	if got := gathered(t, metrics, name, ""); got != 0 {
		t.Fatalf("empty registry: %v agents", got)
	}
	if _, err := registry.Add(ctx, "one", NewToken(tokenOne)); err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Minute - time.Second)
	if got := gathered(t, metrics, name, ""); got != 0 {
		t.Fatalf("within the max age: %v agents, want the cached 0", got)
	}
	now = now.Add(time.Second)
	if got := gathered(t, metrics, name, ""); got != 1 {
		t.Fatalf("after the max age: %v agents, want 1", got)
	}
}
