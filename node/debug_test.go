package node_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/localserver"
	"github.com/chopsticks-bot/chopsticks/node"
)

// TestProfilerOnlyOnDebugAddr: with DEBUG_ADDR the node serves Go's
// profiler there, and never on HTTP_ADDR, where the dashboard is.
func TestProfilerOnlyOnDebugAddr(t *testing.T) {
	port, err := localserver.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	debug := "127.0.0.1:" + strconv.Itoa(port)
	s := newStack(t, 1)
	addr := s.startNode(t, "n1", func(f *node.Flags) { f.DebugAddr = debug })
	for _, tt := range []struct {
		url  string
		want int
	}{
		{"http://" + debug + "/debug/pprof/heap?debug=1", http.StatusOK},
		{"http://" + debug + "/debug/pprof/goroutine?debug=1", http.StatusOK},
		{"http://" + addr + "/debug/pprof/heap?debug=1", http.StatusNotFound},
	} {
		resp, err := http.Get(tt.url)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tt.want {
			t.Errorf("GET %s: %s, want %d", tt.url, resp.Status, tt.want)
		}
		if tt.want == http.StatusOK && !strings.Contains(string(body), "goroutine") && !strings.Contains(string(body), "heap profile") {
			t.Errorf("GET %s: not a profile: %.200s", tt.url, body)
		}
	}
}
