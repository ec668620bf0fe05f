package discordsim

import (
	"bytes"
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BenchmarkDispatch10kGuilds16Shards measures MESSAGE_CREATE dispatch
// throughput from the driver to 16 raw gateway clients covering 10,000 guilds,
// end to end (sequence, replay buffer, JSON framing, websocket write and read),
// and the emulator's heap for that state.
func BenchmarkDispatch10kGuilds16Shards(b *testing.B) {
	const guilds, shards = 10000, 16
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)
	s, err := New(Config{Guilds: guilds, Users: 3, RecommendedShards: shards, MaxConcurrency: shards, DisableDeliveryLog: true, ReplayBuffer: 1 << 20})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.Start(ctx, "127.0.0.1:0"); err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	runtime.GC()
	var afterState runtime.MemStats
	runtime.ReadMemStats(&afterState)

	var received atomic.Int64
	var ready sync.WaitGroup
	var readers sync.WaitGroup
	conns := make([]*websocket.Conn, shards)
	for shard := 0; shard < shards; shard++ {
		conn, _, err := websocket.DefaultDialer.Dial(s.GatewayURL()+"/?v=10&encoding=json", nil)
		if err != nil {
			b.Fatal(err)
		}
		conns[shard] = conn
		defer conn.Close()
		if _, _, err := conn.ReadMessage(); err != nil { // HELLO
			b.Fatal(err)
		}
		if err := conn.WriteJSON(identifyPayload(s.Token(), shard, shards, IntentGuilds|IntentGuildMessages|IntentMessageContent)); err != nil {
			b.Fatal(err)
		}
		want := len(s.BotGuilds(s.AppID(), shard, shards))
		ready.Add(1)
		readers.Add(1)
		go func() {
			defer readers.Done()
			creates := 0
			for {
				_, msg, err := conn.ReadMessage()
				if err != nil {
					return
				}
				switch {
				case bytes.HasPrefix(msg, []byte(`{"op":0,"t":"GUILD_CREATE"`)):
					creates++
					if creates == want {
						ready.Done()
					}
				case bytes.HasPrefix(msg, []byte(`{"op":0,"t":"MESSAGE_CREATE"`)):
					received.Add(1)
				}
			}
		}()
	}
	ready.Wait()
	runtime.GC()
	var afterReady runtime.MemStats
	runtime.ReadMemStats(&afterReady)

	all := s.Guilds()
	channels := make([]Snowflake, len(all))
	for k, g := range all {
		channels[k] = g.Channels[0].ID
	}
	author := s.DefaultUsers()[0]
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := s.SendMessage(MessageOptions{ChannelID: channels[i%len(channels)], AuthorID: author, Content: "benchmark message"}); err != nil {
			b.Fatal(err)
		}
	}
	deadline := time.Now().Add(time.Minute)
	for received.Load() < int64(b.N) && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	if received.Load() != int64(b.N) {
		b.Fatalf("received %d of %d events", received.Load(), b.N)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(afterState.HeapAlloc-before.HeapAlloc)/guilds, "state-B/guild")
	b.ReportMetric(float64(afterReady.HeapAlloc)/(1<<20), "heap-MiB-after-ready")
	for _, c := range conns {
		_ = c.Close()
	}
	readers.Wait()
}
