package discordsim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
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

// TestDriverWorld: the driver routes that build the world answer 200 with
// what they made, or 204 when they make nothing to show, and the Sim holds
// the change; a refused change is a 4xx with the driver's error.
func TestDriverWorld(t *testing.T) {
	s := startSim(t, fastConfig())
	var u User
	if r := do(t, "POST", s.URL()+"/_sim/users", "", map[string]any{"username": "ann"}, &u); r.StatusCode != 200 || u.Username != "ann" {
		t.Fatalf("user: %d %+v", r.StatusCode, u)
	}
	var g Guild
	if r := do(t, "POST", s.URL()+"/_sim/guilds", "", map[string]any{"name": "g", "owner_id": u.ID.String()}, &g); r.StatusCode != 200 || g.Name != "g" {
		t.Fatalf("guild: %d %+v", r.StatusCode, g)
	}
	gp := s.URL() + "/_sim/guilds/" + g.ID.String()
	var c Channel
	if r := do(t, "POST", gp+"/channels", "", map[string]any{"name": "talk", "type": ChannelGuildVoice}, &c); r.StatusCode != 200 || c.Name != "talk" {
		t.Fatalf("channel: %d %+v", r.StatusCode, c)
	}
	other, err := s.CreateUser(UserOptions{Username: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	app := s.AppID().String()
	steps := []struct {
		name, method, url string
		body              any
		status            int
	}{
		{"member", "POST", gp + "/members", map[string]any{"user_id": other.ID.String()}, 204},
		{"bot in", "PUT", gp + "/bots/" + app, nil, 204},
		{"bot out", "DELETE", gp + "/bots/" + app, nil, 204},
		{"redirect URIs", "PUT", s.URL() + "/_sim/applications/" + app + "/redirect_uris", []string{"https://example.invalid/cb"}, 204},
		{"redirect URIs of no app", "PUT", s.URL() + "/_sim/applications/1/redirect_uris", []string{}, 404},
		{"join voice", "POST", s.URL() + "/_sim/voice", map[string]any{"guild_id": g.ID.String(), "user_id": other.ID.String(), "channel_id": c.ID.String()}, 204},
		{"join a voice channel of no guild", "POST", s.URL() + "/_sim/voice", map[string]any{"guild_id": "1", "user_id": other.ID.String(), "channel_id": c.ID.String()}, 400},
	}
	for _, st := range steps {
		var e map[string]string
		r := do(t, st.method, st.url, "", st.body, &e)
		if r.StatusCode != st.status || (st.status >= 400) != (e["error"] != "") {
			t.Fatalf("%s: %d %v, want %d", st.name, r.StatusCode, e, st.status)
		}
	}
	if got := s.VoiceChannelOf(g.ID, other.ID); got != c.ID {
		t.Fatalf("voice channel of bob = %s, want %s", got, c.ID)
	}
	if bots := s.BotGuilds(s.AppID(), 0, 1); slices.Contains(bots, g.ID) {
		t.Fatalf("bot still in guild %s after DELETE", g.ID)
	}
}
