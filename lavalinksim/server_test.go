package lavalinksim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chopsticks-bot/chopsticks/poll"
)

func start(t *testing.T, cfg Config) *Server {
	t.Helper()
	s, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// client is a minimal raw protocol client for the tests.
type client struct {
	t    *testing.T
	s    *Server
	c    *websocket.Conn
	msgs chan map[string]any
	id   string
}

func dial(t *testing.T, s *Server, sessionID string) (*client, *http.Response) {
	t.Helper()
	h := http.Header{"Authorization": {s.Password()}, "User-Id": {"170939974227541168"}, "Client-Name": {"test/1.0"}}
	if sessionID != "" {
		h.Set("Session-Id", sessionID)
	}
	c, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/v4/websocket", h)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	cl := &client{t: t, s: s, c: c, msgs: make(chan map[string]any, 1000)}
	go func() {
		defer close(cl.msgs)
		for {
			var m map[string]any
			if err := c.ReadJSON(&m); err != nil {
				return
			}
			cl.msgs <- m
		}
	}()
	t.Cleanup(func() { c.Close() })
	ready := cl.next(func(m map[string]any) bool { return m["op"] == "ready" })
	cl.id = ready["sessionId"].(string)
	return cl, resp
}

// next returns the first message matching ok within 5 s.
func (c *client) next(ok func(map[string]any) bool) map[string]any {
	c.t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case m, open := <-c.msgs:
			if !open {
				c.t.Fatal("websocket closed while waiting")
			}
			if ok(m) {
				return m
			}
		case <-deadline:
			c.t.Fatal("timed out waiting for a message")
		}
	}
}

func isEvent(typ string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["op"] == "event" && m["type"] == typ }
}

func (c *client) do(method, path, body string) (int, map[string]any) {
	c.t.Helper()
	return do(c.t, c.s, method, path, body, c.s.Password())
}

func do(t *testing.T, s *Server, method, path, body, password string) (int, map[string]any) {
	t.Helper()
	status, raw := request(t, s.Addr(), method, path, body, password)
	var m map[string]any
	json.Unmarshal(raw, &m)
	if m == nil {
		m = map[string]any{"raw": string(raw)}
	}
	return status, m
}

// request sends a JSON body to the server at addr with the password and
// returns the status and the raw answer.
func request(t *testing.T, addr, method, path, body, password string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, "http://"+addr+path, strings.NewReader(body))
	req.Header.Set("Authorization", password)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw
}

func TestHandshakeRequiresHeaders(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	full := http.Header{"Authorization": {s.Password()}, "User-Id": {"1"}, "Client-Name": {"test/1.0"}}
	tests := []struct {
		name   string
		drop   string
		set    [2]string
		status int
	}{
		{"no authorization", "Authorization", [2]string{}, 401},
		{"wrong authorization", "", [2]string{"Authorization", "nope"}, 401},
		{"no user id", "User-Id", [2]string{}, 400},
		{"bad user id", "", [2]string{"User-Id", "abc"}, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := full.Clone()
			if tt.drop != "" {
				h.Del(tt.drop)
			}
			if tt.set[0] != "" {
				h.Set(tt.set[0], tt.set[1])
			}
			_, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/v4/websocket", h)
			if err == nil {
				t.Fatal("handshake succeeded")
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("status = %v, want %d", resp, tt.status)
			}
			var e Error
			json.NewDecoder(resp.Body).Decode(&e)
			if e.Status != tt.status || e.Path != "/v4/websocket" || e.Message == "" || e.Timestamp == 0 {
				t.Fatalf("error body = %+v", e)
			}
		})
	}
}

func TestRESTErrorsAndInfo(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	if st, m := do(t, s, "GET", "/v4/info", "", "wrong"); st != 401 || m["error"] != "Unauthorized" {
		t.Fatalf("unauthorized: %d %v", st, m)
	}
	if st, m := do(t, s, "GET", "/version", "", s.Password()); st != 200 || m["raw"] != Version {
		t.Fatalf("version: %d %v", st, m)
	}
	st, m := do(t, s, "GET", "/v4/sessions/nope/players/1?trace=true", "", s.Password())
	if st != 404 || m["message"] != "Session not found" || m["trace"] == nil || m["path"] != "/v4/sessions/nope/players/1" {
		t.Fatalf("unknown session: %d %v", st, m)
	}
	if st, m := do(t, s, "GET", "/v4/stats", "", s.Password()); st != 200 || m["players"] != 0.0 || m["cpu"] == nil {
		t.Fatalf("stats: %d %v", st, m)
	} else if _, has := m["frameStats"]; has {
		t.Fatal("/v4/stats must not carry frameStats")
	}
	if st, m := do(t, s, "GET", "/v4/info", "", s.Password()); st != 200 || m["version"].(map[string]any)["major"] != 4.0 {
		t.Fatalf("info: %d %v", st, m)
	}
}

func TestLoadTracks(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	tests := []struct {
		identifier string
		loadType   string
	}{
		{"ytsearch:never gonna give you up", "search"},
		{"scsearch:lofi beats", "search"},
		{"ytsearch:nomatch at all", "empty"},
		{"ytsearch:loaderror", "error"},
		{"https://www.youtube.com/watch?v=dQw4w9WgXcQ", "track"},
		{"https://youtu.be/dQw4w9WgXcQ", "track"},
		{"https://www.youtube.com/playlist?list=PL123", "playlist"},
		{"https://example.com/song.mp3?length=3000", "track"},
		{"https://nomatch.invalid/x", "empty"},
		{"https://error.invalid/x", "error"},
		{"dQw4w9WgXcQ", "track"},
		{"just words", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.identifier, func(t *testing.T) {
			st, m := do(t, s, "GET", "/v4/loadtracks?identifier="+url.QueryEscape(tt.identifier), "", s.Password())
			if st != 200 || m["loadType"] != tt.loadType {
				t.Fatalf("got %d %v, want loadType %s", st, m["loadType"], tt.loadType)
			}
			switch tt.loadType {
			case "search":
				if n := len(m["data"].([]any)); n != SearchResults {
					t.Fatalf("%d results", n)
				}
			case "error":
				if m["data"].(map[string]any)["severity"] == nil {
					t.Fatal("error without severity")
				}
			}
		})
	}
	// Deterministic: the same search gives the same tracks.
	_, a := do(t, s, "GET", "/v4/loadtracks?identifier=ytsearch:abc", "", s.Password())
	_, b := do(t, s, "GET", "/v4/loadtracks?identifier=ytsearch:abc", "", s.Password())
	if a["data"].([]any)[0].(map[string]any)["encoded"] != b["data"].([]any)[0].(map[string]any)["encoded"] {
		t.Fatal("search is not deterministic")
	}
	if st, _ := do(t, s, "GET", "/v4/loadtracks", "", s.Password()); st != 400 {
		t.Fatalf("missing identifier: %d", st)
	}
	if n := s.Loads(); n != len(tests)+2 {
		t.Fatalf("Loads() = %d, want %d", n, len(tests)+2)
	}
}

func TestDecodeRoundTrip(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	res := resolve("https://example.com/a%20b.mp3?length=4242")
	tr := res.Data.(Track)
	st, m := do(t, s, "GET", "/v4/decodetrack?encodedTrack="+url.QueryEscape(tr.Encoded), "", s.Password())
	info := m["info"].(map[string]any)
	if st != 200 || info["length"] != 4242.0 || info["uri"] != "https://example.com/a%20b.mp3?length=4242" || info["sourceName"] != "http" {
		t.Fatalf("decode: %d %v", st, m)
	}
	body, _ := json.Marshal([]string{tr.Encoded, tr.Encoded})
	req, _ := http.NewRequest("POST", "http://"+s.Addr()+"/v4/decodetracks", strings.NewReader(string(body)))
	req.Header.Set("Authorization", s.Password())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tracks []Track
	json.NewDecoder(resp.Body).Decode(&tracks)
	resp.Body.Close()
	if len(tracks) != 2 || tracks[1].Info.Length != 4242 {
		t.Fatalf("decodetracks: %+v", tracks)
	}
	if st, _ := do(t, s, "GET", "/v4/decodetrack?encodedTrack=AAAA", "", s.Password()); st != 400 {
		t.Fatalf("bad track: %d", st)
	}
	// The documented example track (lavaplayer version 2) decodes too.
	const example = "QAAAjQIAJVJpY2sgQXN0bGV5IC0gTmV2ZXIgR29ubmEgR2l2ZSBZb3UgVXAADlJpY2tBc3RsZXlWRVZPAAAAAAADPCAAC2RRdzR3OVdnWGNRAAEAK2h0dHBzOi8vd3d3LnlvdXR1YmUuY29tL3dhdGNoP3Y9ZFF3NHc5V2dYY1EAB3lvdXR1YmUAAAAAAAAAAA=="
	ex, err := decodeTrack(example)
	if err != nil || ex.Info.Title != "Rick Astley - Never Gonna Give You Up" || ex.Info.Length != 212000 || ex.Info.SourceName != "youtube" {
		t.Fatalf("example: %+v %v", ex.Info, err)
	}
}

const voiceJSON = `{"token":"tok","endpoint":"us-east1.discord.media","sessionId":"vs1","channelId":"42"}`

func TestUpdatePlayerValidation(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := dial(t, s, "")
	enc := resolve("https://example.com/x.mp3").Data.(Track).Encoded
	tests := []struct{ name, body string }{
		{"volume too high", `{"volume":1001}`},
		{"volume negative", `{"volume":-1}`},
		{"endTime zero", `{"endTime":0}`},
		{"bad track", `{"track":{"encoded":"zzz"}}`},
		{"both encodings", `{"track":{"encoded":"` + enc + `"},"encodedTrack":"` + enc + `"}`},
		{"search identifier", `{"track":{"identifier":"ytsearch:x"}}`},
		{"voice without channel", `{"voice":{"token":"a","endpoint":"b","sessionId":"c"}}`},
		{"equalizer band", `{"filters":{"equalizer":[{"band":15,"gain":0.1}]}}`},
		{"equalizer gain", `{"filters":{"equalizer":[{"band":1,"gain":2}]}}`},
		{"unknown filter", `{"filters":{"reverb":{}}}`},
		{"not json", `{`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, m := c.do("PATCH", "/v4/sessions/"+c.id+"/players/1", tt.body)
			if st != 400 || m["status"] != 400.0 {
				t.Fatalf("got %d %v", st, m)
			}
		})
	}
	if len(s.Players()) != 0 {
		t.Fatal("a rejected update created a player")
	}
	st, m := c.do("PATCH", "/v4/sessions/"+c.id+"/players/1", `{"volume":250,"filters":{"rotation":{"rotationHz":0.2},"timescale":{"speed":1.2,"pitch":1.2,"rate":1}},"voice":`+voiceJSON+`}`)
	if st != 200 || m["volume"] != 250.0 {
		t.Fatalf("good update: %d %v", st, m)
	}
	p, ok := s.Player("1")
	if !ok || p.Volume != 250 || p.Filters.Rotation == nil || *p.Filters.Rotation.RotationHz != 0.2 || p.Voice.ChannelID != "42" || !p.Connected || p.VoiceUpdates != 1 {
		t.Fatalf("player = %+v", p)
	}
}

func TestPlaybackEvents(t *testing.T) {
	t.Parallel()
	s := start(t, Config{PlayerUpdateInterval: 50 * time.Millisecond})
	c, _ := dial(t, s, "")
	enc := resolve("https://example.com/short.mp3?length=400").Data.(Track).Encoded
	path := "/v4/sessions/" + c.id + "/players/7"
	if st, m := c.do("PATCH", path, `{"track":{"encoded":"`+enc+`","userData":{"requester":"u1"}}}`); st != 200 {
		t.Fatalf("%d %v", st, m)
	}
	// No voice yet: nothing plays.
	p, _ := s.Player("7")
	if p.Track == nil || p.Connected || p.Position != 0 {
		t.Fatalf("before voice: %+v", p)
	}
	c.do("PATCH", path, `{"voice":`+voiceJSON+`}`)
	start := c.next(isEvent("TrackStartEvent"))
	if start["track"].(map[string]any)["userData"].(map[string]any)["requester"] != "u1" {
		t.Fatalf("userData lost: %v", start)
	}
	upd := c.next(func(m map[string]any) bool { return m["op"] == "playerUpdate" })
	if upd["state"].(map[string]any)["connected"] != true {
		t.Fatalf("playerUpdate: %v", upd)
	}
	end := c.next(isEvent("TrackEndEvent"))
	if end["reason"] != "finished" {
		t.Fatalf("end: %v", end)
	}
	// Replace, then stop.
	long := resolve("https://example.com/long.mp3?length=600000").Data.(Track).Encoded
	c.do("PATCH", path, `{"track":{"encoded":"`+long+`"},"position":1000}`)
	c.next(isEvent("TrackStartEvent"))
	c.do("PATCH", path+"?noReplace=true", `{"track":{"encoded":"`+enc+`"}}`)
	if p, _ := s.Player("7"); p.Track.Info.Length != 600000 || p.Position < time.Second {
		t.Fatalf("noReplace replaced: %+v", p)
	}
	c.do("PATCH", path, `{"track":{"encoded":"`+enc+`"}}`)
	if e := c.next(isEvent("TrackEndEvent")); e["reason"] != "replaced" {
		t.Fatalf("replace: %v", e)
	}
	c.do("PATCH", path, `{"track":{"encoded":null}}`)
	if e := c.next(isEvent("TrackEndEvent")); e["reason"] != "stopped" {
		t.Fatalf("stop: %v", e)
	}
	// Driver-made failures.
	c.do("PATCH", path, `{"track":{"encoded":"`+long+`"}}`)
	c.next(isEvent("TrackStartEvent"))
	s.StickTrack("7", 10*time.Second)
	if e := c.next(isEvent("TrackStuckEvent")); e["thresholdMs"] != 10000.0 {
		t.Fatalf("stuck: %v", e)
	}
	s.FailTrack("7", "boom")
	c.next(isEvent("TrackExceptionEvent"))
	if e := c.next(isEvent("TrackEndEvent")); e["reason"] != "loadFailed" {
		t.Fatalf("fail: %v", e)
	}
	s.CloseVoice("7", 4006, "Your session is no longer valid.", true)
	if e := c.next(isEvent("WebSocketClosedEvent")); e["code"] != 4006.0 || e["byRemote"] != true {
		t.Fatalf("closed: %v", e)
	}
	if st, _ := c.do("DELETE", path, ""); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st, _ := c.do("GET", path, ""); st != 404 {
		t.Fatalf("get deleted: %d", st)
	}
}

func TestPauseSeekAndTimescale(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := dial(t, s, "")
	long := resolve("https://example.com/long.mp3?length=600000").Data.(Track).Encoded
	path := "/v4/sessions/" + c.id + "/players/9"
	c.do("PATCH", path, `{"track":{"encoded":"`+long+`"},"position":5000,"paused":true,"voice":`+voiceJSON+`}`)
	time.Sleep(100 * time.Millisecond) // measuring that time does not pass while paused
	if p, _ := s.Player("9"); p.Position != 5*time.Second {
		t.Fatalf("paused position = %v", p.Position)
	}
	begin := time.Now()
	c.do("PATCH", path, `{"paused":false,"filters":{"timescale":{"speed":2}}}`)
	time.Sleep(200 * time.Millisecond) // measuring the rate of play
	p, _ := s.Player("9")
	elapsed := time.Since(begin)
	if adv := p.Position - 5*time.Second; adv < 380*time.Millisecond || adv > 2*elapsed+20*time.Millisecond {
		t.Fatalf("advanced %v in %v at speed 2", adv, elapsed)
	}
	_, m := c.do("GET", path, "")
	if m["track"].(map[string]any)["info"].(map[string]any)["position"].(float64) < 5000 {
		t.Fatalf("GET player position: %v", m)
	}
}

func TestStatsOp(t *testing.T) {
	t.Parallel()
	s := start(t, Config{StatsInterval: 50 * time.Millisecond})
	c, _ := dial(t, s, "")
	s.SetLoad(0.7, 0.3)
	m := c.next(func(m map[string]any) bool {
		return m["op"] == "stats" && m["cpu"].(map[string]any)["systemLoad"] == 0.7
	})
	if _, ok := m["frameStats"]; !ok || m["frameStats"] != nil {
		t.Fatalf("frameStats must be null without players: %v", m)
	}
	c.do("PATCH", "/v4/sessions/"+c.id+"/players/1", `{"voice":`+voiceJSON+`}`)
	s.SetFrameStats(&FrameStats{Sent: 100, Nulled: 5, Deficit: 2900})
	m = c.next(func(m map[string]any) bool { return m["op"] == "stats" && m["frameStats"] != nil })
	if m["players"] != 1.0 || m["frameStats"].(map[string]any)["deficit"] != 2900.0 {
		t.Fatalf("stats: %v", m)
	}
}

func TestResuming(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := dial(t, s, "")
	if st, m := c.do("PATCH", "/v4/sessions/"+c.id, `{"resuming":true,"timeout":30}`); st != 200 || m["resuming"] != true || m["timeout"] != 30.0 {
		t.Fatalf("update session: %d %v", st, m)
	}
	short := resolve("https://example.com/s.mp3?length=300").Data.(Track).Encoded
	c.do("PATCH", "/v4/sessions/"+c.id+"/players/5", `{"track":{"encoded":"`+short+`"},"voice":`+voiceJSON+`}`)
	c.next(isEvent("TrackStartEvent"))
	s.DropConnections()
	poll.Eventually(t, 5*time.Second, func() bool { ss := s.Sessions(); return len(ss) == 1 && !ss[0].Connected && ss[0].QueuedEvents > 0 }, "the condition")
	// The track ended while disconnected; the event was queued and is replayed.
	c2, resp := dial(t, s, c.id)
	if resp.Header.Get("Session-Resumed") != "true" || c2.id != c.id {
		t.Fatalf("not resumed: header %q id %s", resp.Header.Get("Session-Resumed"), c2.id)
	}
	if e := c2.next(isEvent("TrackEndEvent")); e["reason"] != "finished" {
		t.Fatalf("replayed: %v", e)
	}
	// Without resuming, a drop destroys the session.
	c.do("PATCH", "/v4/sessions/"+c.id, `{"resuming":false}`)
	s.DropConnections()
	poll.Eventually(t, 5*time.Second, func() bool { return len(s.Sessions()) == 0 }, "the condition")
	c3, resp := dial(t, s, c.id)
	if resp.Header.Get("Session-Resumed") != "false" || c3.id == c.id {
		t.Fatal("resumed a destroyed session")
	}
}

func TestResumeTimeout(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := dial(t, s, "")
	c.do("PATCH", "/v4/sessions/"+c.id, `{"resuming":true,"timeout":0}`)
	s.DropConnections()
	poll.Eventually(t, 5*time.Second, func() bool { return len(s.Sessions()) == 0 }, "the condition")
}

func TestKill(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := dial(t, s, "")
	s.Kill()
	for range c.msgs {
	}
	if _, err := http.Get("http://" + s.Addr() + "/version"); err == nil {
		t.Fatal("server still answers after Kill")
	}
}

func TestCommand(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- Command(ctx, []string{"-addr", "127.0.0.1:0", "-password", "pw"}, w, io.Discard) }()
	line := make([]byte, 200)
	n, _ := r.Read(line)
	addr := strings.Fields(string(line[:n]))[4]
	req, _ := http.NewRequest("GET", "http://"+addr+"/version", nil)
	req.Header.Set("Authorization", "pw")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("version: %v %v", resp, err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := Command(context.Background(), []string{"-speed", "x"}, io.Discard, io.Discard); err == nil {
		t.Fatal("bad flag accepted")
	}
}
