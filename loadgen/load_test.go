package loadgen_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/bintest"
	"github.com/chopsticks-bot/chopsticks/loadgen"
)

// TestLoadCommand runs `chopsticks load` as an operator would, briefly and
// at a low rate, and checks that its report is well-formed and accounts for
// every interaction it sent.
func TestLoadCommand(t *testing.T) {
	out := filepath.Join(t.TempDir(), "report.json")
	profiles := t.TempDir()
	cmd := exec.Command(bintest.Chopsticks(t), "load", "--nodes", "1", "--guilds", "8", "--users", "40",
		"--rate", "20", "--duration", "3s", "--seed", "7", "--quiet", "--json", out, "--profile", profiles)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chopsticks load: %v\nstdout: %s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	if !strings.Contains(stdout.String(), "latency (dispatch to first response)") || !strings.Contains(stdout.String(), "command  writes  count") {
		t.Errorf("no human table on stdout:\n%s", stdout.String())
	}
	for _, f := range []string{"node-1-cpu.pprof", "node-1-heap.pprof"} {
		if st, err := os.Stat(filepath.Join(profiles, f)); err != nil || st.Size() == 0 {
			t.Errorf("profile %s: %v", f, err)
		}
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	// The fields operators' scripts rely on, read without the Go type.
	var raw map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"interactions", "errors", "past_deadline", "latency_ms", "nodes"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("JSON report lacks %q: %s", k, b)
		}
	}
	var rep loadgen.Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Interactions != 60 {
		t.Errorf("sent %d interactions, want 20/s for 3 s = 60", rep.Interactions)
	}
	sum := func(m map[string]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	}
	if n := sum(rep.Outcomes); n != rep.Interactions {
		t.Errorf("outcomes count %d interactions of %d: %v", n, rep.Interactions, rep.Outcomes)
	}
	perCommand := 0
	for _, c := range rep.Commands {
		perCommand += c.Interactions
		if sum(c.Outcomes) != c.Interactions {
			t.Errorf("command %s: outcomes %v for %d interactions", c.Name, c.Outcomes, c.Interactions)
		}
	}
	if perCommand != rep.Interactions {
		t.Errorf("commands count %d interactions of %d", perCommand, rep.Interactions)
	}
	if want := rep.Outcomes["no_response"] + rep.Outcomes["error"] + rep.Outcomes["invoke"]; rep.Errors != want {
		t.Errorf("errors %d, want %d from %v", rep.Errors, want, rep.Outcomes)
	}
	if rep.Errors > 0 || rep.PastDeadline > 0 {
		t.Errorf("a quiet cluster had %d errors and %d interactions past the deadline: %v %v", rep.Errors, rep.PastDeadline, rep.Outcomes, rep.InvokeErrors)
	}
	l := rep.LatencyMS
	if !(l.P50 > 0 && l.P50 <= l.P95 && l.P95 <= l.P99 && l.P99 <= l.Max) {
		t.Errorf("latency not ordered: %+v", l)
	}
	if len(rep.Nodes) != 1 || rep.Nodes[0].ID != "node-1" || rep.Nodes[0].RSSBytes <= 0 || rep.Nodes[0].CPUSeconds <= 0 {
		t.Errorf("nodes: %+v", rep.Nodes)
	}
	if rep.PostgresTxPerInteraction == nil || *rep.PostgresTxPerInteraction <= 0 ||
		rep.RedisCmdsPerInteraction == nil || *rep.RedisCmdsPerInteraction <= 0 {
		t.Errorf("no database costs: %s", b)
	}
}

func TestLoadCommandRefusesBadFlags(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--rate", "0"}, "--rate must be above 0"},
		{[]string{"--nodes", "10"}, "--nodes must be between 1 and 9"},
		{[]string{"--guilds", "0"}, "--guilds must be between 1 and 100000"},
		{[]string{"--duration", "10ms"}, "--duration must be at least 1s"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"--ramp", "--profile", "/tmp/p"}, "--profile profiles a run at one rate"},
		{[]string{"--profile", "/tmp/p", "--duration", "2s"}, "--profile needs a --duration of at least 3s"},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			cmd := exec.Command(bintest.Chopsticks(t), append([]string{"load"}, tc.args...)...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(stderr.String(), tc.want) {
				t.Errorf("exit %v, stderr %q; want status 2 and %q", err, stderr.String(), tc.want)
			}
		})
	}
}
