package node

import (
	"context"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// Seasonal events: how often each node reloads the calendar file and
// looks for ended events to pay.
const (
	eventsReloadInterval = time.Minute
	eventsPayoutInterval = time.Second
)

// startSeasonLoops reloads the events calendar on SIGHUP and every minute,
// and pays ended events (every node tries each second; the event's
// advisory lock lets one pay, and a node that dies midway leaves the rest
// to the next); both stop with ctx.
func (n *Node) startSeasonLoops(ctx context.Context) {
	events := n.econ.Events()
	log := n.log.With("events_file", events.Path())
	now := n.econ.Now()
	log.Info("events calendar", "events", eventKeys(events.Current()), "clock", now, "clock_offset", time.Until(now).Round(time.Second), "test_clock", n.cfg.Clock != nil)
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	n.bg.Add(2)
	go func() {
		defer n.bg.Done()
		defer signal.Stop(hup)
		events.Run(ctx, eventsReloadInterval, hup,
			func(c *economy.Calendar) { log.Info("events calendar reloaded", "events", eventKeys(c)) },
			func(err error) { log.Warn("events calendar not reloaded; the previous one stays", "err", err) })
	}()
	go func() {
		defer n.bg.Done()
		n.econ.RunEventPayouts(ctx, n.cfg.NodeID, eventsPayoutInterval,
			func(paid int) { n.log.Info("event rewards paid", "payments", paid) },
			func(err error) { n.log.Warn("event rewards", "err", err) })
	}()
}

func eventKeys(c *economy.Calendar) string {
	keys := make([]string, len(c.Events))
	for i, e := range c.Events {
		keys[i] = e.Key
	}
	return strings.Join(keys, ",")
}

// TestClockEnv names the test-only variable that makes a node's economy
// clock read an offset from a file (see OffsetClock). The node reads it
// only with NODE_ENV=test; it is not a setting and is not documented as
// one.
const TestClockEnv = "CHOPSTICKS_TEST_CLOCK_FILE"

// TestClock returns the clock the test-only variable asks for, or nil:
// nil unless env is "test" and getenv(TestClockEnv) names a file.
func TestClock(env string, getenv func(string) string) func() time.Time {
	if env != "test" {
		return nil
	}
	if path := getenv(TestClockEnv); path != "" {
		return OffsetClock(path)
	}
	return nil
}

// OffsetClock is a clock running offset from the real one by a duration
// written in path ("36h", Go's syntax), read at every call (a test-only
// clock: a few microseconds), so that a test moves several node processes
// through time at once by rewriting one file, and a process never acts on
// an offset the test has replaced. A missing or unreadable file keeps the
// last offset.
func OffsetClock(path string) func() time.Time {
	var mu sync.Mutex
	var offset time.Duration
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		if b, err := os.ReadFile(path); err == nil {
			if d, err := time.ParseDuration(strings.TrimSpace(string(b))); err == nil {
				offset = d
			}
		}
		return time.Now().Add(offset)
	}
}
