package economy_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// TestEventsReloadOnSignalKeepsTheLastGoodCalendar: Run reloads the file
// when signalled; an invalid file is reported and the calendar in use
// stays; a valid change is put in use and reported.
func TestEventsReloadOnSignalKeepsTheLastGoodCalendar(t *testing.T) {
	path := filepath.Join(t.TempDir(), "events.json")
	event := func(key string) string {
		return `{"events": [{"key": "` + key + `", "name": "E", "start": "2030-01-01T00:00:00Z", "end": "2030-01-02T00:00:00Z",
			"work_percent": 100, "gather_percent": 100, "token": {"name": "T"}}]}`
	}
	if err := os.WriteFile(path, []byte(event("first")), 0o600); err != nil {
		t.Fatal(err)
	}
	ev, err := economy.LoadEvents(path, economy.DefaultCatalog())
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var loaded, failed []string
	hup := make(chan os.Signal)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		ev.Run(ctx, time.Hour, hup,
			func(c *economy.Calendar) { mu.Lock(); loaded = append(loaded, c.Events[0].Key); mu.Unlock() },
			func(err error) { mu.Lock(); failed = append(failed, err.Error()); mu.Unlock() })
	}()
	t.Cleanup(func() { cancel(); <-done })
	key := func() string { return ev.Current().Events[0].Key }

	if err := os.WriteFile(path, []byte(`{"events": [{"key": "Bad Key"}]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	hup <- os.Interrupt
	poll.Eventually(t, 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(failed) == 1 }, "the failed reload reported")
	if key() != "first" || !strings.Contains(failed[0], path) {
		t.Fatalf("after a bad file: calendar %q, report %q", key(), failed[0])
	}
	if err := os.WriteFile(path, []byte(event("second")), 0o600); err != nil {
		t.Fatal(err)
	}
	hup <- os.Interrupt
	poll.Eventually(t, 5*time.Second, func() bool { mu.Lock(); defer mu.Unlock(); return len(loaded) == 1 }, "the reload reported")
	if key() != "second" || loaded[0] != "second" {
		t.Fatalf("after a good file: calendar %q, reported %v", key(), loaded)
	}
	hup <- os.Interrupt // unchanged: nothing reported
	hup <- os.Interrupt // (the second send waits until the first is handled)
	mu.Lock()
	defer mu.Unlock()
	if len(loaded) != 1 || len(failed) != 1 {
		t.Errorf("an unchanged file reported: loaded %v, failed %v", loaded, failed)
	}
}
