package node_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/node"
)

// TestEventsFileIsCheckedAtLoad: EVENTS_FILE is read and validated with
// the other settings, before anything connects, and a bad file is named.
func TestEventsFileIsCheckedAtLoad(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	valid := write("ok.json", `{"events": []}`)
	for _, tt := range []struct {
		name, path, want string
	}{
		{"embedded", "", ""},
		{"valid file", valid, ""},
		{"missing file", filepath.Join(dir, "nope.json"), "EVENTS_FILE: events: open"},
		{"not JSON", write("bad.json", `{"events": [`), "EVENTS_FILE: "},
		{"overlapping events", write("overlap.json", `{"events": [
			{"key": "a", "name": "A", "start": "2030-01-01T00:00:00Z", "end": "2030-01-03T00:00:00Z", "work_percent": 100,
			 "gather_percent": 100, "token": {"name": "T"}},
			{"key": "b", "name": "B", "start": "2030-01-02T00:00:00Z", "end": "2030-01-04T00:00:00Z", "work_percent": 100,
			 "gather_percent": 100, "token": {"name": "T"}}]}`), `events "a" and "b" overlap`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			values := map[string]string{"events-file": tt.path}
			for k, v := range minimal {
				values[k] = v
			}
			c, err := configWith(t, values).Load()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want == "" && c.EventsFile != tt.path:
				t.Errorf("EventsFile %q, want %q", c.EventsFile, tt.path)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("got %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestTestClockOnlyInTests: the offset clock is honoured with NODE_ENV=test
// only, and follows its file as the test rewrites it.
func TestTestClockOnlyInTests(t *testing.T) {
	path := filepath.Join(t.TempDir(), "clock")
	env := func(k string) string {
		if k == node.TestClockEnv {
			return path
		}
		return ""
	}
	if node.TestClock("production", env) != nil || node.TestClock("development", env) != nil {
		t.Fatal("a clock override outside NODE_ENV=test")
	}
	if node.TestClock("test", func(string) string { return "" }) != nil {
		t.Fatal("a clock override without the variable")
	}
	clock := node.TestClock("test", env)
	if clock == nil {
		t.Fatal("no clock override with NODE_ENV=test")
	}
	if d := time.Until(clock()); d < -time.Second || d > time.Second {
		t.Errorf("without a file the clock is off by %v", d)
	}
	if err := os.WriteFile(path, []byte("48h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if d := time.Until(clock()); d < 47*time.Hour || d > 49*time.Hour {
		t.Errorf("right after the file says 48h the clock is %v ahead", d)
	}
}
