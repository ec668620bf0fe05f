package lavalink

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/lavalinksim"
)

// BenchmarkFailover measures the time from a Lavalink node's death (SIGKILL
// semantics: connections drop without a close frame) to playback running on
// another node, with the client's default settings (FailoverAfter 1 s). It
// reports the p50, p95 and max of that time and of the position error
// against where the track was when the node died.
func BenchmarkFailover(b *testing.B) {
	var took, drift []time.Duration
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		var sims []*lavalinksim.Server
		var nodes []NodeConfig
		for j := range 2 {
			s, err := lavalinksim.Start(lavalinksim.Config{PlayerUpdateInterval: time.Second})
			if err != nil {
				b.Fatal(err)
			}
			sims = append(sims, s)
			nodes = append(nodes, NodeConfig{Name: string(rune('a' + j)), Address: s.Addr(), Password: s.Password()})
		}
		moved := make(chan PlayerMovedEvent, 1)
		c, err := New(Config{Nodes: nodes, UserID: "1", OnEvent: func(e Event) {
			if m, ok := e.(PlayerMovedEvent); ok {
				moved <- m
			}
		}})
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		if err := c.WaitReady(ctx, 2); err != nil {
			b.Fatal(err)
		}
		res, err := c.LoadTracks(ctx, "https://example.com/bench.mp3?length=600000")
		if err != nil {
			b.Fatal(err)
		}
		p := c.Player("42")
		if err := p.UpdateVoice(ctx, "t", "e", "s", "c"); err != nil {
			b.Fatal(err)
		}
		if err := p.Play(ctx, res.Tracks[0], 10*time.Second); err != nil {
			b.Fatal(err)
		}
		victim := sims[p.Node()[0]-'a']
		survivor := sims[1-(p.Node()[0]-'a')]
		time.Sleep(50 * time.Millisecond) // play a little before the kill
		before, _ := victim.Player("42")
		b.StartTimer()
		start := time.Now()
		victim.Kill()
		for {
			if sp, ok := survivor.Player("42"); ok && sp.Connected && sp.Track != nil && !sp.Paused {
				took = append(took, time.Since(start))
				drift = append(drift, (<-moved).Position-before.Position)
				break
			}
			time.Sleep(time.Millisecond)
		}
		b.StopTimer()
		cancel()
		c.Close()
		survivor.Close()
		b.StartTimer()
	}
	report := func(name string, ds []time.Duration) {
		slices.Sort(ds)
		b.ReportMetric(ds[len(ds)/2].Seconds(), name+"-p50-s")
		b.ReportMetric(ds[min(len(ds)-1, len(ds)*95/100)].Seconds(), name+"-p95-s")
		b.ReportMetric(ds[len(ds)-1].Seconds(), name+"-max-s")
	}
	report("resume", took)
	for i := range drift {
		drift[i] = drift[i].Abs()
	}
	report("drift", drift)
}
