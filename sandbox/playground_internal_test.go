package sandbox

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/chopsticks-bot/chopsticks/discordsim"
)

// TestPlaygroundActingRequests: every playground call that acts as a user
// reads user_id and guild_id the same way (a missing one is a 400 that says
// which to pick, an unknown field a 400), and a well-formed call acts.
func TestPlaygroundActingRequests(t *testing.T) {
	api := newPlayground(t)
	sim := api.sim
	guild := sim.Guilds()[0].ID.String()
	user := sim.DefaultUsers()[1].String()
	errorOf := func(t *testing.T, path string, body map[string]any) (int, string) {
		t.Helper()
		code, out := api.post(path, body)
		msg, _ := out["error"].(string)
		return code, msg
	}
	for _, path := range []string{"/api/invoke", "/api/click", "/api/submit", "/api/autocomplete", "/api/voice", "/api/subscription", "/api/premium-click"} {
		t.Run(strings.TrimPrefix(path, "/api/"), func(t *testing.T) {
			for _, tc := range []struct {
				name string
				body map[string]any
				want string
			}{
				{"no user", map[string]any{"guild_id": guild}, "pick a user"},
				{"bad user", map[string]any{"user_id": "bob", "guild_id": guild}, "pick a user"},
				{"no guild", map[string]any{"user_id": user}, "pick a guild"},
				{"unknown field", map[string]any{"user_id": user, "guild_id": guild, "nonsense": 1}, "bad request body"},
			} {
				if code, msg := errorOf(t, path, tc.body); code != http.StatusBadRequest || !strings.Contains(msg, tc.want) {
					t.Errorf("%s: %d %q, want 400 %q", tc.name, code, msg, tc.want)
				}
			}
		})
	}
	// Well formed: the user joins the guild's voice channel.
	if code, out := api.post("/api/voice", map[string]any{"user_id": user, "guild_id": guild, "join": true}); code != http.StatusOK {
		t.Fatalf("join voice: %d %v", code, out)
	}
	uid, _ := discordsim.ParseSnowflake(user)
	if sim.VoiceChannelOf(sim.Guilds()[0].ID, uid) == 0 {
		t.Fatal("the user is not in a voice channel after joining")
	}
}

// playgroundAPI is a playground served on a discordsim of one guild, with
// no nodes.
type playgroundAPI struct {
	t   *testing.T
	s   *Sandbox
	sim *discordsim.Sim
	url string
}

func newPlayground(t *testing.T) playgroundAPI {
	t.Helper()
	sim, err := discordsim.New(discordsim.Config{Guilds: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); _ = sim.Close() })
	if err := sim.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	s := &Sandbox{sim: sim, nodes: &nodes{procs: map[string]*nodeProc{}}}
	srv := httptest.NewServer(s.playground())
	t.Cleanup(srv.Close)
	return playgroundAPI{t: t, s: s, sim: sim, url: srv.URL}
}

// post sends body as JSON to path and returns the status and the decoded
// answer.
func (p playgroundAPI) post(path string, body map[string]any) (int, map[string]any) {
	p.t.Helper()
	b, _ := json.Marshal(body)
	resp, err := http.Post(p.url+path, "application/json", strings.NewReader(string(b)))
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}
