package discordsim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestDriverBadPathID: a driver route whose path holds a value that is not
// a snowflake answers 400 with one {"error"} body, and changes nothing.
// With two IDs in the path, both bad, the answer is still one error.
func TestDriverBadPathID(t *testing.T) {
	s := startSim(t, fastConfig())
	guild := s.Guilds()[0].ID.String()
	app := s.AppID().String()
	cases := []struct {
		method, path, body string
	}{
		{"PUT", "/_sim/applications/x/redirect_uris", `[]`},
		{"POST", "/_sim/guilds/x/channels", `{"name":"c"}`},
		{"POST", "/_sim/guilds/x/members", `{}`},
		{"PUT", "/_sim/guilds/x/bots/y", ``},
		{"DELETE", "/_sim/guilds/x/bots/y", ``},
		{"PUT", "/_sim/guilds/" + guild + "/bots/y", ``},
		{"DELETE", "/_sim/guilds/x/bots/" + app, ``},
		{"GET", "/_sim/messages/x", ``},
		{"GET", "/_sim/channels/x/messages", ``},
		{"GET", "/_sim/interactions/x", ``},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.path, func(t *testing.T) {
			before := len(s.Guilds()[0].Channels)
			req, err := http.NewRequest(c.method, s.URL()+c.path, strings.NewReader(c.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 400 {
				t.Errorf("status %d, want 400", resp.StatusCode)
			}
			dec := json.NewDecoder(resp.Body)
			var e map[string]string
			if err := dec.Decode(&e); err != nil || e["error"] == "" {
				t.Fatalf("body: %v %v", e, err)
			}
			var more json.RawMessage
			if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
				t.Errorf("a second body follows the error: %s (%v)", more, err)
			}
			if after := len(s.Guilds()[0].Channels); after != before {
				t.Errorf("guild channels %d -> %d", before, after)
			}
		})
	}
}

// TestDriverUnknownEndpoint: a path under /_sim/ that no route matches is
// a 404 with the driver's error body.
func TestDriverUnknownEndpoint(t *testing.T) {
	s := startSim(t, fastConfig())
	var e map[string]string
	if r := do(t, "GET", s.URL()+"/_sim/nothing-here", "", nil, &e); r.StatusCode != 404 || e["error"] != "unknown driver endpoint" {
		t.Fatalf("%d %v", r.StatusCode, e)
	}
}
