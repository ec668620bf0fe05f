package harness

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordsim"
)

// Monitor polls discordsim and records when each session of the bot went
// live or not live, and any instant with two live sessions for one shard.
type Monitor struct {
	sim  *discordsim.Sim
	done chan struct{}

	mu      sync.Mutex
	live    map[string]bool
	changes map[string][]Change // by session
	overlap []string
}

// Change is a session going live (Live) or not live at Time, to within
// the monitor's interval.
type Change struct {
	Time time.Time
	Live bool
}

// StartMonitor polls sim every interval until t's test ends.
func StartMonitor(t TB, sim *discordsim.Sim, interval time.Duration) *Monitor {
	ctx, cancel := context.WithCancel(context.Background())
	m := &Monitor{sim: sim, done: make(chan struct{}), live: map[string]bool{}, changes: map[string][]Change{}}
	go m.run(ctx, interval)
	t.Cleanup(func() { cancel(); <-m.done })
	return m
}

func (m *Monitor) run(ctx context.Context, interval time.Duration) {
	defer close(m.done)
	tick := time.NewTicker(interval)
	defer tick.Stop()
	app := m.sim.AppID()
	for {
		now := time.Now()
		// A shard is its number and the count it was identified with: two
		// generations of one number are live together while resharding.
		perShard := map[[2]int][]string{}
		m.mu.Lock()
		for _, s := range m.sim.Sessions() {
			if s.AppID != app {
				continue
			}
			if s.Live {
				perShard[s.Shard] = append(perShard[s.Shard], s.ID)
			}
			if m.live[s.ID] != s.Live {
				m.live[s.ID] = s.Live
				m.changes[s.ID] = append(m.changes[s.ID], Change{now, s.Live})
			}
		}
		for sh, ids := range perShard {
			if len(ids) > 1 && len(m.overlap) < 20 {
				m.overlap = append(m.overlap, fmt.Sprintf("%s: shard %d of %d has live sessions %v", now.Format("15:04:05.000"), sh[0], sh[1], ids))
			}
		}
		m.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Overlaps describes the first instants seen with two live sessions of one
// shard.
func (m *Monitor) Overlaps() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.overlap)
}

// History returns the live/not-live changes of a session.
func (m *Monitor) History(session string) []Change {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.changes[session])
}

// FirstDown returns when session first went not live at or after from.
func (m *Monitor) FirstDown(session string, from time.Time) (time.Time, bool) {
	for _, ch := range m.History(session) {
		if !ch.Live && !ch.Time.Before(from) {
			return ch.Time, true
		}
	}
	return time.Time{}, false
}

// UpAfter returns when session next went live at or after from.
func (m *Monitor) UpAfter(session string, from time.Time) (time.Time, bool) {
	for _, ch := range m.History(session) {
		if ch.Live && !ch.Time.Before(from) {
			return ch.Time, true
		}
	}
	return time.Time{}, false
}

// WentDownSince reports whether session was not live at any poll since from.
func (m *Monitor) WentDownSince(session string, from time.Time) bool {
	_, down := m.FirstDown(session, from)
	return down
}
