package discordrest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func startSim(t *testing.T, cfg discordsim.Config) *discordsim.Sim {
	t.Helper()
	sim, err := discordsim.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	if err := sim.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sim.Close() })
	return sim
}

func simGet(ctx context.Context, c *http.Client, sim *discordsim.Sim, path string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", sim.APIURL(10)+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bot "+sim.Token())
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

// TestDiscordsimThreeNodes drives discordsim (global 50/s, 5 per 5 s per
// route and channel) from three nodes with more demand than both limits
// allow: the emulator must record no 429.
func TestDiscordsimThreeNodes(t *testing.T) {
	addr := servertest.Redis(t)
	sim := startSim(t, discordsim.Config{Guilds: 4})
	var channels []discordsim.Snowflake
	for _, g := range sim.Guilds() {
		for i := range 30 {
			c, err := sim.CreateChannel(g.ID, discordsim.ChannelOptions{Name: fmt.Sprintf("c%d", i), Type: discordsim.ChannelGuildText})
			if err != nil {
				t.Fatal(err)
			}
			channels = append(channels, c.ID)
		}
	}
	var nodes []*node
	for range 3 {
		nodes = append(nodes, newNode(t, addr, Config{Name: sim.AppID().String()}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2200*time.Millisecond)
	defer cancel()
	var ok atomic.Int64
	var wg sync.WaitGroup
	for ni, n := range nodes {
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := ni*8 + g; ctx.Err() == nil; i += 24 {
					code, err := simGet(ctx, n.client, sim, fmt.Sprintf("/channels/%d", channels[i%len(channels)]))
					if err == nil && code == 200 {
						ok.Add(1)
					} else if err == nil {
						t.Errorf("status %d", code)
					}
				}
			}()
		}
	}
	wg.Wait()
	if v := sim.ViolationsOf(discordsim.ViolationRateLimited); len(v) != 0 {
		t.Fatalf("discordsim recorded %d rate-limit violations, first %+v", len(v), v[0])
	}
	if ok.Load() < 80 {
		t.Fatalf("only %d requests succeeded in 2.2s", ok.Load())
	}
	t.Logf("3 nodes: %d requests in 2.2s, no 429", ok.Load())
}

// TestDiscordsim429Backoff exhausts a bucket behind the limiter's back, so
// the limiter's request meets a real 429: it must wait retry_after and
// succeed on the retry.
func TestDiscordsim429Backoff(t *testing.T) {
	addr := servertest.Redis(t)
	sim := startSim(t, discordsim.Config{Guilds: 1, RouteRateLimit: 2, RouteRateWindow: 400 * time.Millisecond})
	ch, ok := sim.TextChannel(sim.Guilds()[0].ID)
	if !ok {
		t.Fatal("no text channel")
	}
	path := fmt.Sprintf("/channels/%d", ch)
	ctx := context.Background()
	for range 2 {
		if code, err := simGet(ctx, http.DefaultClient, sim, path); err != nil || code != 200 {
			t.Fatalf("raw request: %d %v", code, err)
		}
	}
	n := newNode(t, addr, Config{Name: sim.AppID().String()})
	start := time.Now()
	code, err := simGet(ctx, n.client, sim, path)
	if err != nil || code != 200 {
		t.Fatalf("limited request: %d %v", code, err)
	}
	if v := sim.ViolationsOf(discordsim.ViolationRateLimited); len(v) != 1 {
		t.Fatalf("%d 429s, want exactly the one provoked", len(v))
	}
	if got := testutil.ToFloat64(n.tr.tooMany.WithLabelValues("user")); got != 1 {
		t.Fatalf("429_total{scope=user} = %v, want 1", got)
	}
	t.Logf("429 waited out and retried in %v", time.Since(start))
	// The bucket is now known: the next request waits instead of meeting a 429.
	for range 3 {
		if code, err := simGet(ctx, n.client, sim, path); err != nil || code != 200 {
			t.Fatalf("follow-up: %d %v", code, err)
		}
	}
	if v := sim.ViolationsOf(discordsim.ViolationRateLimited); len(v) != 1 {
		t.Fatalf("%d 429s after the bucket was learned, want still 1", len(v))
	}
}
