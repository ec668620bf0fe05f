// Command voice measures the voice pool's two figures:
//
//   - allocations per second under contention: two allocators (two nodes:
//     separate etcd clients and leases) offered the same agents allocate
//     and release voice channels as fast as they can; every allocation is a
//     real etcd transaction, and the one-agent-per-channel, one-channel-per-
//     agent invariants are checked at the end;
//   - the time from a Lavalink node's death (connections dropped without a
//     close frame) to playback running again on another node, with the
//     client's default settings, and the position error of the moved player.
//
// Usage:
//
//	go run ./bench/voice [-etcd 127.0.0.1:2379] [-duration 5s] [-workers 16] [-agents 100] [-channels 400] [-kills 20]
//
// Without -etcd it starts an embedded etcd in a temporary directory.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/agentpool"
	"github.com/chopsticks-bot/chopsticks/lavalink"
	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/localserver"
	"github.com/chopsticks-bot/chopsticks/voice"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench voice:", err)
		os.Exit(1)
	}
}

type agents []string

func (a agents) Candidates(string) []string { return append([]string(nil), a...) }

func run() error {
	etcdAddr := flag.String("etcd", "", "etcd endpoint (default: start an embedded one)")
	duration := flag.Duration("duration", 5*time.Second, "how long to allocate")
	workers := flag.Int("workers", 16, "concurrent allocation loops per allocator")
	nAgents := flag.Int("agents", 100, "agents in the pool")
	nChannels := flag.Int("channels", 400, "voice channels asking for agents")
	kills := flag.Int("kills", 20, "Lavalink node kills to time")
	flag.Parse()
	ctx := context.Background()

	endpoints := []string{*etcdAddr}
	if *etcdAddr == "" {
		dir, err := os.MkdirTemp("", "chopsticks-bench-voice-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		e, err := localserver.StartEtcd(ctx, dir, 0)
		if err != nil {
			return err
		}
		defer e.Stop()
		endpoints = e.Endpoints()
	}
	if err := benchAllocate(ctx, endpoints, *duration, *workers, *nAgents, *nChannels); err != nil {
		return err
	}
	return benchFailover(*kills)
}

func benchAllocate(ctx context.Context, endpoints []string, d time.Duration, workers, nAgents, nChannels int) error {
	var pool agents
	for i := range nAgents {
		pool = append(pool, strconv.Itoa(700000+i))
	}
	prefix := fmt.Sprintf("/chopsticks-bench/%d", time.Now().UnixNano())
	var allocs []*agentpool.Allocator
	for i := range 2 {
		cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
		if err != nil {
			return err
		}
		defer cli.Close()
		a, err := agentpool.NewAllocator(ctx, agentpool.AllocatorConfig{Client: cli, Prefix: prefix, Node: strconv.Itoa(i), Candidates: pool})
		if err != nil {
			return err
		}
		defer a.Close()
		allocs = append(allocs, a)
	}
	var ok, refused, taken atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	stop := time.Now().Add(d)
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for _, a := range allocs {
		for range workers {
			wg.Go(func() {
				var mine []time.Duration
				for time.Now().Before(stop) {
					c := rand.IntN(nChannels)
					guild, channel := strconv.Itoa(1000+c%50), strconv.Itoa(100000+c)
					t0 := time.Now()
					agent, err := a.Allocate(ctx, guild, channel)
					mine = append(mine, time.Since(t0))
					switch {
					case errors.Is(err, agentpool.ErrChannelTaken):
						taken.Add(1)
						continue
					case errors.Is(err, voice.ErrNoAgentFree):
						refused.Add(1)
						continue
					case err != nil:
						firstErr.CompareAndSwap(nil, err)
						return
					}
					ok.Add(1)
					if err := a.Release(ctx, guild, channel, agent); err != nil {
						firstErr.CompareAndSwap(nil, err)
						return
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
		}
	}
	// Check the invariants while the allocators run.
	checks, violations := 0, 0
	for time.Now().Before(stop) {
		ag, ch, err := allocs[0].Snapshot(ctx)
		if err != nil {
			return err
		}
		checks++
		for gc, agent := range ch {
			if al, ok := ag[agent]; ok && al.Guild+"/"+al.Channel != gc {
				violations++
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	wg.Wait()
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	ag, ch, err := allocs[0].Snapshot(ctx)
	if err != nil {
		return err
	}
	slices.Sort(lat)
	pct := func(p int) time.Duration { return lat[min(len(lat)-1, len(lat)*p/100)] }
	fmt.Printf("allocate: 2 allocators x %d workers, %d agents, %d channels, %s\n", workers, nAgents, nChannels, d)
	fmt.Printf("  allocations/s (allocate+release) %.0f\n", float64(ok.Load())/d.Seconds())
	fmt.Printf("  attempts %d: ok %d, channel taken %d, no agent free %d\n", len(lat), ok.Load(), taken.Load(), refused.Load())
	fmt.Printf("  Allocate latency p50 %s p99 %s max %s\n", pct(50).Round(time.Microsecond), pct(99).Round(time.Microsecond), lat[len(lat)-1].Round(time.Microsecond))
	fmt.Printf("  invariant checks %d (during run), violations %d; left allocated %d agents / %d channels\n", checks, violations, len(ag), len(ch))
	if violations > 0 || len(ag) != 0 || len(ch) != 0 {
		return errors.New("allocation invariants broken")
	}
	return nil
}

func benchFailover(kills int) error {
	var took, drift []time.Duration
	for i := range kills {
		t, d, err := failoverOnce(i)
		if err != nil {
			return err
		}
		took, drift = append(took, t), append(drift, d)
	}
	report := func(name string, ds []time.Duration) {
		slices.Sort(ds)
		fmt.Printf("  %s p50 %s p95 %s max %s\n", name, ds[len(ds)/2].Round(time.Millisecond),
			ds[min(len(ds)-1, len(ds)*95/100)].Round(time.Millisecond), ds[len(ds)-1].Round(time.Millisecond))
	}
	fmt.Printf("lavalink failover: %d node kills, FailoverAfter default (1s)\n", kills)
	report("death -> playing on survivor", took)
	report("|position error|            ", drift)
	return nil
}

// failoverOnce kills the node playing a track and times the move.
func failoverOnce(i int) (time.Duration, time.Duration, error) {
	var sims []*lavalinksim.Server
	var nodes []lavalink.NodeConfig
	for j := range 2 {
		s, err := lavalinksim.Start(lavalinksim.Config{PlayerUpdateInterval: time.Second})
		if err != nil {
			return 0, 0, err
		}
		defer s.Close()
		sims = append(sims, s)
		nodes = append(nodes, lavalink.NodeConfig{Name: string(rune('a' + j)), Address: s.Addr(), Password: s.Password()})
	}
	c, err := lavalink.New(lavalink.Config{Nodes: nodes, UserID: "1"})
	if err != nil {
		return 0, 0, err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx, 2); err != nil {
		return 0, 0, err
	}
	res, err := c.LoadTracks(ctx, "https://example.com/bench.mp3?length=600000")
	if err != nil {
		return 0, 0, err
	}
	guild := strconv.Itoa(42 + i)
	p := c.Player(guild)
	if err := p.UpdateVoice(ctx, "t", "e", "s", "c"); err != nil {
		return 0, 0, err
	}
	if err := p.Play(ctx, res.Tracks[0], 10*time.Second); err != nil {
		return 0, 0, err
	}
	victim := sims[p.Node()[0]-'a']
	survivor := sims[1-(p.Node()[0]-'a')]
	time.Sleep(time.Duration(100+rand.IntN(400)) * time.Millisecond) // play a little
	before, _ := victim.Player(guild)
	start := time.Now()
	victim.Kill()
	for ctx.Err() == nil {
		if sp, ok := survivor.Player(guild); ok && sp.Connected && sp.Track != nil && !sp.Paused {
			// Polled every millisecond: sp.Position is where the moved
			// player resumed, to compare with where it was at the kill.
			return time.Since(start), (sp.Position - before.Position).Abs(), nil
		}
		time.Sleep(time.Millisecond)
	}
	return 0, 0, fmt.Errorf("kill %d: playback did not resume within 15 s", i)
}
