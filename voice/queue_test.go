package voice

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/lavalink"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { servertest.Main(m) }

func newQueues(t *testing.T, max int) (*Queues, *Queues) {
	t.Helper()
	addr := servertest.Redis(t)
	// Two clients stand for two nodes sharing the queue.
	a := redis.NewClient(&redis.Options{Addr: addr})
	b := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { a.Close(); b.Close() })
	return NewQueues(a, max), NewQueues(b, max)
}

func item(n int) QueueItem {
	return QueueItem{Track: lavalink.Track{Encoded: fmt.Sprintf("enc%d", n), Info: lavalink.TrackInfo{Title: fmt.Sprintf("t%d", n), Length: 1000}}, RequesterID: "u"}
}

func titles(items []QueueItem) string {
	s := ""
	for _, it := range items {
		s += it.Track.Info.Title + " "
	}
	return s
}

func TestQueueAddListRemove(t *testing.T) {
	t.Parallel()
	q, other := newQueues(t, 12)
	ctx := context.Background()
	const g = "900"
	if pos, err := q.Add(ctx, g, item(1)); err != nil || pos != 1 {
		t.Fatalf("add: %d %v", pos, err)
	}
	var batch []QueueItem
	for i := 2; i <= 11; i++ {
		batch = append(batch, item(i))
	}
	if pos, err := other.Add(ctx, g, batch...); err != nil || pos != 2 {
		t.Fatalf("add batch: %d %v", pos, err)
	}
	if _, err := q.Add(ctx, g, item(12), item(13)); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("over limit: %v", err)
	}
	if n, _ := q.Len(ctx, g); n != 11 {
		t.Fatalf("a refused add changed the queue: %d", n)
	}
	tests := []struct {
		page         int
		want         string
		first, pages int
	}{
		{1, "t1 t2 t3 t4 t5 ", 1, 3},
		{3, "t11 ", 11, 3},
	}
	for _, tt := range tests {
		p, err := other.List(ctx, g, tt.page, 5)
		if err != nil || titles(p.Items) != tt.want || p.First != tt.first || p.Pages != tt.pages || p.Total != 11 || p.Duration.Seconds() != 11 {
			t.Fatalf("page %d: %+v %v", tt.page, p, err)
		}
	}
	if _, err := q.List(ctx, g, 4, 5); !errors.Is(err, ErrBadArgument) {
		t.Fatalf("page 4: %v", err)
	}
	if p, err := q.List(ctx, "empty", 1, 5); err != nil || p.Pages != 1 || len(p.Items) != 0 {
		t.Fatalf("empty queue: %+v %v", p, err)
	}
	it, err := q.Remove(ctx, g, 2)
	if err != nil || it.Track.Info.Title != "t2" {
		t.Fatalf("remove: %+v %v", it, err)
	}
	for _, bad := range []int{0, -1, 11} {
		if _, err := q.Remove(ctx, g, bad); !errors.Is(err, ErrBadArgument) {
			t.Fatalf("remove %d: %v", bad, err)
		}
	}
	if p, _ := q.List(ctx, g, 1, 3); titles(p.Items) != "t1 t3 t4 " {
		t.Fatalf("after remove: %s", titles(p.Items))
	}
}

func TestQueueAdvanceAndLoop(t *testing.T) {
	t.Parallel()
	q, other := newQueues(t, 0)
	ctx := context.Background()
	const g = "901"
	q.Add(ctx, g, item(1), item(2), item(3))
	next := func(skip bool) string {
		t.Helper()
		it, err := other.Advance(ctx, g, skip)
		if err != nil {
			t.Fatal(err)
		}
		if it == nil {
			return "-"
		}
		now, _ := q.NowPlaying(ctx, g)
		if now == nil || now.Track.Encoded != it.Track.Encoded {
			t.Fatalf("now playing %+v, advanced to %+v", now, it)
		}
		return it.Track.Info.Title
	}
	if m, _ := q.Loop(ctx, g); m != LoopOff {
		t.Fatalf("default loop %s", m)
	}
	if got := next(false); got != "t1" {
		t.Fatal(got)
	}
	q.SetLoop(ctx, g, LoopTrack)
	if a, b := next(false), next(false); a != "t1" || b != "t1" {
		t.Fatalf("loop track: %s %s", a, b)
	}
	if got := next(true); got != "t2" {
		t.Fatalf("skip under loop track: %s", got)
	}
	q.SetLoop(ctx, g, LoopQueue)
	got := next(false) + next(false) + next(false) + next(false)
	if got != "t3t2t3t2" { // t1 left the queue when skipped under loop track
		t.Fatalf("loop queue: %s", got)
	}
	q.SetLoop(ctx, g, LoopOff)
	if a, b, c := next(false), next(false), next(false); a != "t3" || b != "-" || c != "-" {
		t.Fatalf("off: %s %s %s", a, b, c)
	}
	if now, _ := q.NowPlaying(ctx, g); now != nil {
		t.Fatalf("now playing after the end: %+v", now)
	}
	if _, err := ParseLoopMode("sometimes"); !errors.Is(err, ErrBadArgument) {
		t.Fatal(err)
	}
	if err := q.SetLoop(ctx, g, "bogus"); !errors.Is(err, ErrBadArgument) {
		t.Fatal(err)
	}
}

func TestQueueShuffleAndClear(t *testing.T) {
	t.Parallel()
	q, _ := newQueues(t, 0)
	ctx := context.Background()
	const g = "902"
	var items []QueueItem
	for i := range 30 {
		items = append(items, item(i))
	}
	q.Add(ctx, g, items...)
	before, _ := q.List(ctx, g, 1, 30)
	n, err := q.Shuffle(ctx, g)
	if err != nil || n != 30 {
		t.Fatalf("shuffle: %d %v", n, err)
	}
	after, _ := q.List(ctx, g, 1, 30)
	if titles(after.Items) == titles(before.Items) {
		t.Fatal("order unchanged by shuffle (1 in 30! chance)")
	}
	seen := map[string]bool{}
	for _, it := range after.Items {
		seen[it.Track.Encoded] = true
	}
	if len(seen) != 30 {
		t.Fatalf("shuffle lost items: %d distinct", len(seen))
	}
	q.Advance(ctx, g, false)
	q.SetLoop(ctx, g, LoopQueue)
	if err := q.Clear(ctx, g); err != nil {
		t.Fatal(err)
	}
	now, _ := q.NowPlaying(ctx, g)
	m, _ := q.Loop(ctx, g)
	l, _ := q.Len(ctx, g)
	if now != nil || m != LoopOff || l != 0 {
		t.Fatalf("after clear: %v %s %d", now, m, l)
	}
}

func TestPlaybackPositionAt(t *testing.T) {
	t.Parallel()
	at := time.Unix(1_700_000_000, 0)
	for _, tt := range []struct {
		name string
		p    Playback
		t    time.Time
		want time.Duration
	}{
		{"playing", Playback{Position: 10 * time.Second, At: at}, at.Add(5 * time.Second), 15 * time.Second},
		{"paused", Playback{Position: 10 * time.Second, At: at, Paused: true}, at.Add(5 * time.Second), 10 * time.Second},
		{"sped up", Playback{Position: 10 * time.Second, At: at, Rate: 1.5}, at.Add(4 * time.Second), 16 * time.Second},
		{"before the save", Playback{Position: 10 * time.Second, At: at}, at.Add(-time.Second), 10 * time.Second},
	} {
		if got := tt.p.PositionAt(tt.t); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestPlaybackAndAgentChannels: what a node taking an agent over reads to
// restore its music is shared through Redis, and Clear removes the playback
// with the queue.
func TestPlaybackAndAgentChannels(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := newQueues(t, 0)
	if _, ok, err := b.SavedPlayback(ctx, "g:c"); ok || err != nil {
		t.Fatalf("playback before any save: %v %v", ok, err)
	}
	want := Playback{Position: 83250 * time.Millisecond, At: time.UnixMilli(1_700_000_123_456), Paused: true, Volume: 150, Filter: "nightcore", Rate: 1.25}
	if err := a.SavePlayback(ctx, "g:c", want); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := b.SavedPlayback(ctx, "g:c"); !ok || err != nil || got != want {
		t.Fatalf("playback %+v %v %v, want %+v", got, ok, err, want)
	}
	if err := a.Clear(ctx, "g:c"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.SavedPlayback(ctx, "g:c"); ok {
		t.Fatal("Clear left the playback")
	}

	for guild, ch := range map[string]string{"g1": "c1", "g2": "c2"} {
		if err := a.SaveAgentChannel(ctx, "201", guild, ch); err != nil {
			t.Fatal(err)
		}
	}
	if err := a.DropAgentChannel(ctx, "201", "g1"); err != nil {
		t.Fatal(err)
	}
	got, err := b.SavedAgentChannels(ctx, "201")
	if err != nil || len(got) != 1 || got["g2"] != "c2" {
		t.Fatalf("agent channels %v %v, want g2:c2 alone", got, err)
	}
	if other, _ := b.SavedAgentChannels(ctx, "202"); len(other) != 0 {
		t.Fatalf("another agent's channels: %v", other)
	}
}
